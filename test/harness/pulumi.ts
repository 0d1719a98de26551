import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { preserveDir } from "./artifacts";
import { type RunOptions, type RunResult, runProcess } from "./processes";
import { pulumiBinDir, repoRoot } from "./tools";

export interface PulumiWorkspaceOptions {
  /** Files of the program, by path relative to the workspace (e.g. `Pulumi.yaml`, `index.js`). */
  files: Record<string, string>;
  stack?: string;
  /** Extra environment for every command (e.g. AWS endpoint, LlamaCloud base URL). */
  env?: NodeJS.ProcessEnv;
}

export interface PulumiWorkspace {
  /** The program directory; its `node_modules` is the repo's, so `require("llamacloud-keys")` works too. */
  dir: string;
  backendDir: string;
  env: NodeJS.ProcessEnv;
  /** Runs `pulumi <args>` in the program directory with `--non-interactive`. */
  run(args: string[], options?: RunOptions): Promise<RunResult>;
  /** Runs `pulumi` and fails with its whole output unless it exits 0. */
  runOk(args: string[], options?: RunOptions): Promise<RunResult>;
  cleanup(): Promise<void>;
}

const testPassphrase = "llamacloud-keys-test-passphrase";

/**
 * A Pulumi program in a temporary directory, with a local file backend, a passphrase secrets
 * provider, and the variables that keep the CLI offline. The stack is created before it returns.
 */
export async function createPulumiWorkspace(options: PulumiWorkspaceOptions): Promise<PulumiWorkspace> {
  const binDir = pulumiBinDir();
  const base = await mkdtemp(join(tmpdir(), "llamacloud-keys-pulumi-"));
  const dir = join(base, "program");
  const backendDir = join(base, "backend");
  await mkdir(dir, { recursive: true });
  await mkdir(backendDir, { recursive: true });
  await mkdir(join(base, "tmp"), { recursive: true });
  await symlink(join(repoRoot, "node_modules"), join(dir, "node_modules"), "dir");
  for (const [name, content] of Object.entries(options.files)) {
    await mkdir(join(dir, name, ".."), { recursive: true });
    await writeFile(join(dir, name), content);
  }
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...options.env,
    PATH: `${binDir}${delimiter}${process.env.PATH ?? ""}`,
    PULUMI_HOME: join(base, "home"),
    // Temp files of the CLI, language host and program land here, so cleanup can keep them.
    TMPDIR: options.env?.["TMPDIR"] ?? join(base, "tmp"),
    PULUMI_BACKEND_URL: `file://${backendDir}`,
    PULUMI_CONFIG_PASSPHRASE: testPassphrase,
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK: "true",
    PULUMI_SKIP_CONFIRMATIONS: "true",
    NO_COLOR: "1",
  };
  const run = (args: string[], runOptions: RunOptions = {}) =>
    runProcess(join(binDir, "pulumi"), [...args, "--non-interactive"], {
      cwd: dir,
      env: { ...env, ...runOptions.env },
      timeoutMs: runOptions.timeoutMs ?? 240_000,
      input: runOptions.input,
    });
  const runOk = async (args: string[], runOptions?: RunOptions) => {
    const result = await run(args, runOptions);
    if (result.code !== 0) {
      throw new Error(
        `pulumi ${args.join(" ")} exited with ${result.code ?? result.signal}:\n${result.output}`,
      );
    }
    return result;
  };
  await runOk(["stack", "init", options.stack ?? "test"]);
  const cleanup = async () => {
    // Keep what a reader of this stack could see, for the suite's leak scan: the export (secrets
    // stay encrypted, as `pulumi stack export` prints them), the backend's state, history and
    // backups, the program directory with its stack config, PULUMI_HOME and the temp files.
    // (runProcess records the export's output like any other command's.)
    await run(["stack", "export"], { timeoutMs: 60_000 }).catch(() => undefined);
    preserveDir("pulumi", base, "workspace");
    await rm(base, { recursive: true, force: true });
  };
  return { dir, backendDir, env, run, runOk, cleanup };
}
