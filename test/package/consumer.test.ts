import { readFileSync } from "node:fs";
import { readFile, rm, symlink, unlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import { type EmulatorHandle, startEmulator } from "../../llamacloud/emulator";
import type { SecretStore } from "../../secrets/store";
import { motoCredentials } from "../harness/moto";
import { runProcess } from "../harness/processes";
import { createPulumiWorkspace, type PulumiWorkspace } from "../harness/pulumi";
import { repoRoot } from "../harness/tools";
import { leakedSecrets, projectIdOf, storeFor } from "../provider/fixtures";
import { moduleSubpaths, npmInstall, type PackedTarball, packTarball, userNpmEnv } from "./npm";

// examples/typescript as a user gets it: the program `pulumi new typescript` writes, with our packed
// tarball installed by npm's own defaults beside the program's own @pulumi/pulumi. One SDK copy; the
// types of every subpath resolve under each module resolution users have; the Pulumi side asks for
// @pulumi/aws by name when it is missing; and the real CLI runs the program against the LlamaCloud
// emulator and moto: preview, up, a preview that must find no change, destroy.

const region = "test-package-consumer";
const timeout = 600_000;
const example = join(repoRoot, "examples", "typescript");
const tsc = join(repoRoot, "node_modules", "typescript", "bin", "tsc");
const timings: Record<string, number> = {};
const transcript: string[] = [];

let tarball: PackedTarball;
let emulator: EmulatorHandle;
let store: SecretStore;
let workspace: PulumiWorkspace;
let program: string;

function awsEnv(): NodeJS.ProcessEnv {
  return {
    AWS_REGION: region,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: inject("motoEndpoint"),
    AWS_ACCESS_KEY_ID: motoCredentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: motoCredentials.secretAccessKey,
  };
}

async function timed<T>(name: string, run: () => Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    return await run();
  } finally {
    timings[name] = Math.round(performance.now() - started);
  }
}

beforeAll(async () => {
  tarball = await timed("npm pack", packTarball);
  emulator = await startEmulator();
  store = storeFor(region);
  const file = (name: string) => readFile(join(example, name), "utf8");
  const packageJson = JSON.parse(await file("package.json")) as { dependencies: Record<string, string> };
  packageJson.dependencies["llamacloud-keys"] = `file:${tarball.path}`;
  workspace = await createPulumiWorkspace({
    files: {
      "Pulumi.yaml": await file("Pulumi.yaml"),
      "package.json": JSON.stringify(packageJson, null, 2),
      "tsconfig.json": await file("tsconfig.json"),
      "index.ts": await file("index.ts"),
    },
    stack: "dev",
    // The admin key comes from secret stack config (set in the CLI test below).
    env: { ...awsEnv(), LLAMA_CLOUD_API_KEY: "", LLAMA_CLOUD_BASE_URL: emulator.url },
  });
  program = workspace.dir;
  // The harness links the repository's node_modules into every program; this one must have only
  // what its own `npm install` brings.
  await unlink(join(program, "node_modules"));
  const install = await timed("npm install", () => npmInstall(program));
  transcript.push(install.output);
}, timeout);

afterAll(async () => {
  // Measured per run, for the report.
  console.info(`consumer timings (ms): ${JSON.stringify(timings)}`);
  await workspace?.cleanup();
  store?.close();
  await emulator?.close();
  if (tarball !== undefined) await rm(dirname(tarball.path), { recursive: true, force: true });
});

test("the program and the package share one @pulumi/pulumi", async () => {
  const result = await runProcess("npm", ["ls", "@pulumi/pulumi", "--all", "--parseable"], {
    cwd: program,
    env: userNpmEnv(),
    timeoutMs: 60_000,
  });
  expect(result.code, result.output).toBe(0);
  const copies = result.stdout.split("\n").filter((line) => line.trim() !== "");
  expect(copies).toEqual([join(program, "node_modules", "@pulumi", "pulumi")]);
  const tree = await runProcess("npm", ["ls", "@pulumi/pulumi", "--all"], {
    cwd: program,
    env: userNpmEnv(),
    timeoutMs: 60_000,
  });
  // The package's peer is satisfied by the program's copy, not by one of its own.
  expect(tree.stdout).toMatch(/llamacloud-keys@[^\n]*\n[\s│└├─]*@pulumi\/pulumi@[\d.]+ deduped/);
});

describe("types of every subpath resolve under each module resolution", () => {
  // One import per subpath of exports, so a new subpath is checked without editing this test.
  const subpathsFile = () =>
    moduleSubpaths()
      .map((subpath, i) => {
        const specifier = subpath === "" ? "llamacloud-keys" : `llamacloud-keys/${subpath}`;
        return `import * as m${i} from "${specifier}";\nexport const names${i}: string[] = Object.keys(m${i});\n`;
      })
      .join("");

  const tsVersion = async () => {
    const result = await runProcess(process.execPath, [tsc, "--version"], { timeoutMs: 60_000 });
    return Number(/Version (\d+)\./.exec(result.stdout)?.[1]);
  };

  // node10: projects from templates before 2026 (`module: commonjs`, `moduleResolution: node`).
  // Such a user adds what the README's TypeScript section says: `esModuleInterop` (zod 4's
  // declarations need it; TypeScript 6 defaults to it) and, from TypeScript 6 on, `ignoreDeprecations`
  // (checked by hand with TypeScript 6.0.3: node10 then fails without it, and passes with it alone).
  const modes: Record<string, (major: number) => Record<string, unknown>> = {
    node10: (major) => ({
      module: "commonjs",
      moduleResolution: "node",
      esModuleInterop: true,
      ...(major >= 6 ? { ignoreDeprecations: "6.0" } : {}),
    }),
    node16: () => ({ module: "node16", moduleResolution: "node16" }),
    nodenext: () => ({ module: "nodenext", moduleResolution: "nodenext" }),
    bundler: () => ({ module: "esnext", moduleResolution: "bundler" }),
  };

  for (const [mode, options] of Object.entries(modes)) {
    test(
      `${mode}: index.ts and an import of every subpath type-check, each from the package's own .d.ts`,
      async () => {
        await writeFile(join(program, "subpaths.ts"), subpathsFile());
        const base = JSON.parse(await readFile(join(program, "tsconfig.json"), "utf8")) as {
          compilerOptions: Record<string, unknown>;
        };
        const major = await tsVersion();
        const config = {
          compilerOptions: { ...base.compilerOptions, ...options(major), noEmit: true },
          files: ["index.ts", "subpaths.ts"],
        };
        await writeFile(join(program, `tsconfig.${mode}.json`), JSON.stringify(config, null, 2));
        const result = await timed(`tsc ${mode}`, () =>
          runProcess(
            process.execPath,
            [tsc, "-p", `tsconfig.${mode}.json`, "--listFiles", "--pretty", "false"],
            {
              cwd: program,
              timeoutMs: 180_000,
            },
          ),
        );
        if (mode === "node10" && major >= 7) {
          // TypeScript 7 removed node10 (checked by hand with 7.0.2): what the README tells such a
          // program is to move to nodenext, which the nodenext case proves works.
          expect(result.output).toContain("TS5108");
          return;
        }
        expect(result.code, result.output).toBe(0);
        const listed = result.stdout.split("\n").map((line) => line.trim());
        for (const subpath of moduleSubpaths()) {
          // The declaration beside the module the subpath's `exports` entry names.
          const declaration = subpathDeclaration(subpath);
          expect(listed, `${mode}: llamacloud-keys/${subpath}`).toContain(
            join(program, "node_modules", "llamacloud-keys", declaration),
          );
        }
        // The program's own SDK, not another copy's types.
        expect(
          listed.some((file) => file.startsWith(join(program, "node_modules", "@pulumi", "pulumi"))),
        ).toBe(true);
      },
      timeout,
    );
  }
});

test("ProjectKeys without @pulumi/aws: one error naming the package and range, nothing registered", async () => {
  await writeFile(
    join(program, "project-keys-probe.js"),
    `const pulumi = require("@pulumi/pulumi");
const registered = [];
pulumi.runtime.setMocks({ newResource(args) { registered.push(args.type); return { id: args.name, state: args.inputs }; }, call: (args) => args.inputs }, "probe", "dev", false).then(() => {
  const { ProjectKeys } = require("llamacloud-keys/provider");
  try {
    new ProjectKeys("llamacloud", { projects: [{ name: "search", environments: ["prod"] }] });
    console.log(JSON.stringify({ constructed: true }));
  } catch (error) {
    setTimeout(() => console.log(JSON.stringify({ code: error.code, packageName: error.packageName, range: error.range, message: error.message, registered })), 100);
  }
});
`,
  );
  const result = await runProcess(process.execPath, ["project-keys-probe.js"], {
    cwd: program,
    timeoutMs: 60_000,
  });
  expect(result.code, result.output).toBe(0);
  expect(JSON.parse(result.stdout.trim().split("\n").at(-1)!)).toEqual({
    code: "MISSING_PEER_DEPENDENCY",
    packageName: "@pulumi/aws",
    range: "^7.0.0",
    message:
      'ProjectKeys (llamacloud-keys/provider) needs @pulumi/aws (^7.0.0), which is not installed: run `npm install @pulumi/aws@"^7.0.0"` in your Pulumi program',
    registered: [],
  });
});

test(
  "the real CLI runs the TypeScript program: preview, up, a no-change preview, destroy",
  async () => {
    const pulumi = async (name: string, args: string[], input?: string) => {
      const result = await timed(`pulumi ${name}`, () =>
        workspace.runOk(args, input === undefined ? {} : { input }),
      );
      transcript.push(result.output);
      return result.stdout;
    };
    await pulumi("config set", ["config", "set", "--secret", "llamacloud:apiKey"], emulator.adminKey);
    expect(await pulumi("preview", ["preview"])).toMatch(/\+ 2 to create/);
    expect(await pulumi("up", ["up", "--yes", "--skip-preview"])).toMatch(/\+ 2 created/);
    const payload = await store.readPayload("llamacloud/search/prod", { stage: "AWSCURRENT" });
    const key = emulator.state.allKeys().find((k) => k.id === payload.payload.keyId);
    expect(key).toMatchObject({ live: true, projectId: projectIdOf(emulator, "search") });
    const outputs = JSON.parse(await pulumi("stack output", ["stack", "output", "--json"])) as Record<
      string,
      string
    >;
    expect(outputs).toMatchObject({
      keyId: payload.payload.keyId,
      secretArn: expect.stringContaining(":secret:"),
    });

    await pulumi("preview --expect-no-changes", ["preview", "--expect-no-changes"]);

    expect(await pulumi("destroy", ["destroy", "--yes", "--skip-preview"])).toMatch(/- 2 deleted/);
    expect(emulator.state.allKeys().find((k) => k.id === payload.payload.keyId)?.revokedAt).not.toBeNull();
    await expect(store.describe("llamacloud/search/prod")).rejects.toMatchObject({
      code: "SECRET_NOT_FOUND",
    });

    expect(leakedSecrets(emulator, transcript.join("\n"))).toEqual([]);
    expect(transcript.join("\n")).not.toContain(emulator.adminKey);
  },
  timeout,
);

test(
  "the ready-to-use program runs from the installed package (main: node_modules/llamacloud-keys/dist/index.js)",
  async () => {
    const prefix = `from-package-${Date.now().toString(36)}`;
    const ready = await createPulumiWorkspace({
      files: {
        "Pulumi.yaml":
          "name: keys-from-package\nruntime: nodejs\nmain: node_modules/llamacloud-keys/dist/index.js\n",
        "Pulumi.dev.yaml": [
          "config:",
          "  llamacloud-keys:projects:",
          "    - name: search",
          "      environments: [prod]",
          `  llamacloud-keys:secretPrefix: ${prefix}`,
          "  llamacloud-keys:recoveryWindowInDays: 0",
          "",
        ].join("\n"),
      },
      stack: "dev",
      env: { ...awsEnv(), LLAMA_CLOUD_API_KEY: emulator.adminKey, LLAMA_CLOUD_BASE_URL: emulator.url },
    });
    try {
      // The packages the consumer program installed, as this project's own node_modules.
      await unlink(join(ready.dir, "node_modules"));
      await symlink(join(program, "node_modules"), join(ready.dir, "node_modules"), "dir");
      const up = await timed("pulumi up (ready-to-use program)", () =>
        ready.runOk(["up", "--yes", "--skip-preview"]),
      );
      transcript.push(up.output);
      expect(up.stdout).toMatch(/\+ 2 created/);
      const payload = await store.readPayload(`${prefix}/search/prod`, { stage: "AWSCURRENT" });
      expect(emulator.state.allKeys().find((k) => k.id === payload.payload.keyId)).toMatchObject({
        live: true,
      });
      const destroy = await ready.runOk(["destroy", "--yes", "--skip-preview"]);
      transcript.push(destroy.output);
      expect(destroy.stdout).toMatch(/- 2 deleted/);
      expect(leakedSecrets(emulator, transcript.join("\n"))).toEqual([]);
    } finally {
      await ready.cleanup();
    }
  },
  timeout,
);

/** `dist/…/x.d.ts` for a subpath (`""` is the root), from package.json's `exports`. */
function subpathDeclaration(subpath: string): string {
  const manifest = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as {
    exports: Record<string, string>;
  };
  const target = manifest.exports[subpath === "" ? "." : `./${subpath}`] as string;
  return target.replace(/^\.\//, "").replace(/\.js$/, ".d.ts");
}
