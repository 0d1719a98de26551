import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ts from "typescript";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CliIo, main } from "../../rotator/cli";
import { loadConfig } from "../../rotator/config";
import { ALL_EVENTS, RotatorEmitter } from "../../rotator/events";
import { createMetrics } from "../../rotator/metrics";
import { repoRoot } from "../harness/tools";

// rotator/README.md is a contract: its flags table, environment table, config file fields and
// metric labels are read here and checked against what the CLI does, so the two cannot drift.

const readme = readFileSync(join(repoRoot, "rotator", "README.md"), "utf8");
const env = { LLAMA_CLOUD_API_KEY: "llx-docs-contract-key-not-real-00000000000000000000" };
const commands = ["rotate", "rotator", "status"] as const;

/** The rows of the markdown table that follows `heading`, cells trimmed, header and rule dropped. */
function tableAfter(heading: string): string[][] {
  const start = readme.indexOf(heading);
  if (start === -1) throw new Error(`rotator/README.md has no ${JSON.stringify(heading)}`);
  const lines = readme.slice(start).split("\n");
  const first = lines.findIndex((l) => l.startsWith("|"));
  const rows: string[][] = [];
  for (const line of lines.slice(first)) {
    if (!line.startsWith("|")) break;
    rows.push(
      line
        .slice(1, -1)
        .split(/(?<!\\)\|/)
        .map((c) => c.trim().replaceAll("\\|", "|")),
    );
  }
  return rows.slice(2);
}

const unquote = (cell: string) => cell.replaceAll("`", "");

async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const io: CliIo = {
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
    env,
  };
  const code = await main(argv, io);
  return { code, stdout, stderr };
}

describe("each command's --help matches the README's flags table", () => {
  const flags = tableAfter("### Flags").map(([flag, on, defaultValue]) => ({
    flag: unquote(flag as string).split(" ")[0] as string,
    commands: on === "all" ? [...commands] : (on as string).split(", "),
    defaultValue: unquote(defaultValue as string),
  }));

  it("documents the flags the CLI has", () => {
    expect(flags.map((f) => f.flag)).toContain("--llamacloud-timeout");
    expect(flags.length).toBeGreaterThanOrEqual(16);
  });

  it.each(commands)(
    "%s --help lists every documented flag of the command, with its default",
    async (command) => {
      const help = await run([command, "--help"]);
      expect(help.code).toBe(0);
      for (const { flag, commands: on, defaultValue } of flags) {
        if (!on.includes(command)) continue;
        expect(help.stdout, flag).toMatch(new RegExp(`^ {2}${flag}\\b`, "m"));
        // Literal defaults appear as written; "off", "none" and the prose ones have no literal.
        if (/^(\d+|[*/\d ]+|\d+[smhd]|[a-z-]+-keys)$/.test(defaultValue)) {
          const line = help.stdout
            .slice(help.stdout.indexOf(`  ${flag}`))
            .split("\n")
            .slice(0, 2)
            .join(" ");
          const shown = defaultValue.includes(" ") ? `"${defaultValue}"` : defaultValue;
          expect(line, flag).toContain(`default ${shown}`);
        }
      }
    },
  );

  it.each(commands)("%s refuses (exit 2) each flag the README does not give it", async (command) => {
    for (const { flag, commands: on } of flags) {
      if (on.includes(command)) continue;
      const refused = await run([command, flag, "x"]);
      expect(refused.code, `${command} ${flag}`).toBe(2);
      expect(refused.stderr).toContain(`Unknown option '${flag}'`);
    }
  });

  it.each(commands)("%s --help names every variable of the README's environment table", async (command) => {
    const help = await run([command, "--help"]);
    const names = tableAfter("### Environment").flatMap(([cell]) =>
      [...(cell as string).matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1] as string),
    );
    expect(names).toContain("LLAMACLOUD_KEYS_NOW_OFFSET_MS");
    for (const name of names) expect(help.stdout, name).toContain(name);
  });
});

describe("the config file, as the README documents it", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "llamacloud-keys-docs-contract-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const fileWith = async (name: string, content: unknown) => {
    const file = join(dir, name);
    await writeFile(file, JSON.stringify(content));
    return file;
  };

  it("the README's example file loads as written, every value as documented", async () => {
    const example = /### Config file\n\n```json\n([\s\S]*?)```/.exec(readme)?.[1];
    if (example === undefined) throw new Error("rotator/README.md has no config file example");
    const file = join(dir, "example.json");
    await writeFile(file, example);
    const config = loadConfig("rotator", { config: file }, env);
    expect(config).toMatchObject({
      secrets: ["arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/search-AbCdEf"],
      schedule: "*/15 * * * *",
      concurrency: 4,
      listen: { host: "0.0.0.0", port: 9464 },
      prefix: "llamacloud-keys",
      llamaCloud: { baseUrl: "https://api.cloud.eu.llamaindex.ai", timeoutMs: 60_000 },
      aws: { region: "eu-west-1" },
      passDeadlineMs: 600_000,
      startDelayMaxMs: 30_000,
      shutdownTimeoutMs: 25_000,
      logFormat: "json",
    });
  });

  it("its field table is exactly the fields the file accepts; an unknown one is exit 2 naming it", async () => {
    const documented = tableAfter("| field ").map(([field]) => unquote(field as string));
    // The table after "### Config file" is the field table (the tableAfter heading is its header row).
    expect(documented).toContain("endpoint");
    const file = await fileWith("unknown.json", { concurency: 4 });
    const refused = await run(["rotate", "--config", file]);
    expect(refused.code).toBe(2);
    const accepted = /expected: ([a-zA-Z, ]+)/.exec(refused.stderr)?.[1]?.split(", ");
    expect(refused.stderr).toContain('unknown field(s) "concurency"');
    expect([...(accepted ?? [])].sort()).toEqual([...documented].sort());
  });

  it("flags win over the file, --all overrides its secrets, and its baseUrl/region/endpoint win over the environment", async () => {
    const file = await fileWith("precedence.json", {
      secrets: ["prod/a"],
      concurrency: 8,
      passDeadline: "5m",
      region: "eu-west-1",
      endpoint: "http://127.0.0.1:4566",
    });
    const fromEnv = {
      ...env,
      AWS_REGION: "us-east-1",
      AWS_ENDPOINT_URL_SECRETS_MANAGER: "http://127.0.0.1:1",
    };
    expect(loadConfig("rotate", { config: file }, fromEnv)).toMatchObject({
      secrets: ["prod/a"],
      concurrency: 8,
      passDeadlineMs: 300_000,
      aws: { region: "eu-west-1", endpoint: "http://127.0.0.1:4566" },
    });
    const flagged = loadConfig(
      "rotate",
      { config: file, concurrency: "2", "pass-deadline": "1m", secret: ["prod/b"] },
      fromEnv,
    );
    expect(flagged).toMatchObject({ secrets: ["prod/b"], concurrency: 2, passDeadlineMs: 60_000 });
    expect(loadConfig("rotate", { config: file, all: true }, fromEnv).secrets).toEqual([]);
  });

  it("--all excludes --secret, and LLAMA_CLOUD_API_KEY is read from the environment only (no file field)", async () => {
    const both = await run(["rotate", "--all", "--secret", "prod/a"]);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain("--all: --all and --secret exclude each other");
    const file = await fileWith("key.json", { apiKey: "llx-not-read-from-files" });
    const refused = await run(["status", "--config", file]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('unknown field(s) "apiKey"');
  });

  it("--start-delay 0 (or 0s) is no delay; durations are a whole number and one unit", () => {
    expect(loadConfig("rotator", { "start-delay": "0" }, env).startDelayMaxMs).toBe(0);
    expect(loadConfig("rotator", { "start-delay": "0s" }, env).startDelayMaxMs).toBe(0);
    for (const [d, ms] of [
      ["30d", 30 * 86_400_000],
      ["12h", 12 * 3_600_000],
      ["90m", 90 * 60_000],
      ["45s", 45_000],
    ] as const) {
      expect(loadConfig("rotator", { "pass-deadline": d }, env).passDeadlineMs).toBe(ms);
    }
    for (const bad of ["1.5h", "10ms", "90", "1h30m"]) {
      expect(() => loadConfig("rotator", { "pass-deadline": bad }, env), bad).toThrow(/--pass-deadline/);
    }
  });
});

describe("the log's events", () => {
  it("are exactly the README's list (`a:b|c` meaning a:b and a:c)", () => {
    const list = /Events: ([\s\S]*?)\. Never the key\./.exec(readme)?.[1];
    if (list === undefined) throw new Error("rotator/README.md lists no events");
    const names = [...list.matchAll(/`([a-z]+)(?::([a-z|]+))?`/g)].flatMap(([, head, tails]) =>
      tails === undefined ? [head as string] : tails.split("|").map((tail) => `${head}:${tail}`),
    );
    expect([...names].sort()).toEqual([...ALL_EVENTS].sort());
  });
});

describe("metrics labels", () => {
  it("/metrics exposes exactly the README's metrics, each with its documented type", () => {
    const documented = tableAfter("| metric ").map(([name, type]) => [unquote(name as string), type]);
    expect(documented).toHaveLength(8);
    const metrics = createMetrics(new RotatorEmitter());
    const types = [...metrics.render().matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1], m[2]]);
    expect(types).toEqual(documented);
    metrics.detach();
  });

  it("llamacloud_keys_revocations_total's reason is one of the README's reasons, failed revocations included", () => {
    const reasons = /`reason` \(([a-z-, ]+)\)/.exec(readme)?.[1]?.split(", ") ?? [];
    expect(reasons).toContain("orphan");
    const events = new RotatorEmitter();
    const metrics = createMetrics(events);
    for (const step of ["revokePrevious", "sweepOrphans"] as const) {
      events.emit("rotation:failed", {
        secretArn: "arn:x",
        step,
        code: "LLAMACLOUD_SERVER",
        message: "down",
      });
    }
    const lines = metrics.render().split("\n");
    const failed = lines.filter((l) => l.startsWith("llamacloud_keys_revocations_total{"));
    expect(failed).toHaveLength(2);
    for (const line of failed) {
      const reason = /reason="([^"]+)"/.exec(line)?.[1];
      expect(reasons, line).toContain(reason);
      expect(line).toContain('result="failed"');
    }
    metrics.detach();
  });
});

describe("the README's TypeScript snippet", () => {
  it("type-checks, strict, against the package's entry points as an embedder imports them", () => {
    const snippets = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] as string);
    expect(snippets).toHaveLength(1);
    const manifest = JSON.parse(ts.sys.readFile(join(repoRoot, "package.json")) as string) as {
      name: string;
      exports: Record<string, string>;
    };
    // `llamacloud-keys/rotator` → rotator/index.ts: the sources the package's dist/ is built from.
    const paths = Object.fromEntries(
      Object.entries(manifest.exports).flatMap(([subpath, target]) => {
        const match = /^\.\/dist\/(.+)\.js$/.exec(target);
        return match === null ? [] : [[`${manifest.name}${subpath.slice(1)}`, [`${match[1]}.ts`]]];
      }),
    );
    const file = join(repoRoot, "test", "rotator", "__readme-snippet__.ts");
    const host = ts.createCompilerHost({});
    const readFile = host.readFile;
    host.readFile = (name) => (name === file ? (snippets[0] as string) : readFile(name));
    const exists = host.fileExists;
    host.fileExists = (name) => name === file || exists(name);
    const program = ts.createProgram({
      rootNames: [file],
      options: {
        strict: true,
        noEmit: true,
        skipLibCheck: true,
        target: ts.ScriptTarget.ES2022,
        module: ts.ModuleKind.CommonJS,
        moduleResolution: ts.ModuleResolutionKind.Node10,
        esModuleInterop: true,
        types: ["node"],
        baseUrl: repoRoot,
        paths,
      },
      host,
    });
    const diagnostics = ts
      .getPreEmitDiagnostics(program)
      .map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"));
    expect(diagnostics).toEqual([]);
  }, 60_000);
});
