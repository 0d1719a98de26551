import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runEmulatorCommand } from "../../llamacloud/emulator/cli";
import { ISSUED_DIR_ENV } from "../../llamacloud/emulator/issued-keys";
import { wire } from "./wire";

const root = resolve(__dirname, "../..");
const bin = join(root, "bin/llamacloud-keys.js");
let dir: string;

beforeAll(async () => {
  // The CLI is tested as users run it: the built JavaScript behind the bin script.
  if (!existsSync(join(root, "dist/llamacloud/emulator/cli.js"))) {
    throw new Error(
      "dist/llamacloud/emulator/cli.js is missing: run `npm run build` (or `npm test`, which builds) first",
    );
  }
  dir = await mkdtemp(join(tmpdir(), "llamacloud-emulator-cli-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Spawns the bin script and resolves with the first stdout line (the ready line). */
function start(args: string[]): {
  child: ChildProcess;
  firstLine: Promise<string>;
  exit: Promise<number | null>;
} {
  const child = spawn(process.execPath, [bin, ...args], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  const lines = createInterface({ input: child.stdout! });
  const firstLine = new Promise<string>((resolveLine, reject) => {
    lines.once("line", resolveLine);
    child.once("exit", (code) =>
      reject(new Error(`the emulator exited (${code}) before printing its ready line`)),
    );
  });
  const exit = new Promise<number | null>((resolveExit) => child.once("exit", (code) => resolveExit(code)));
  return { child, firstLine, exit };
}

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { stdout: (t: string) => out.push(t), stderr: (t: string) => err.push(t) }, out, err };
}

describe("llamacloud-keys emulator (the built bin)", () => {
  it("prints exactly one JSON ready line, serves the API, and exits 0 on SIGTERM", async () => {
    const { child, firstLine, exit } = start(["emulator", "--port", "0"]);
    const ready = JSON.parse(await firstLine) as {
      url: string;
      adminKey: string;
      organizationId: string;
      projects: { id: string; name: string }[];
    };
    expect(Object.keys(ready)).toEqual(["url", "adminKey", "organizationId", "projects"]);
    expect(ready.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(ready.adminKey).toMatch(/^llx-[A-Za-z0-9]{48}$/);
    expect(ready.projects.map((p) => p.name)).toEqual(["default", "search"]);
    const orgs = await wire(ready.url, "GET", "/api/v1/organizations", { key: ready.adminKey });
    expect(orgs).toMatchObject({ status: 200, json: [{ id: ready.organizationId }] });
    child.kill("SIGTERM");
    expect(await exit).toBe(0);
  });

  it("reads --seed, applies --revocation-delay-ms, and exits 0 on SIGINT", async () => {
    const seedFile = join(dir, "seed.json");
    await writeFile(
      seedFile,
      JSON.stringify({
        organizations: [{ id: "0a000000-0000-4000-8000-000000000000", name: "acme" }],
        projects: [{ id: "0b000000-0000-4000-8000-000000000000", name: "payments", isDefault: true }],
        users: [{ name: "ops", admin: "*", keys: [{ secret: "llx-demoDEMOdemoDEMOdemoDEMO1234" }] }],
      }),
    );
    const { child, firstLine, exit } = start([
      "emulator",
      "--port",
      "0",
      "--seed",
      seedFile,
      "--revocation-delay-ms",
      "60000",
    ]);
    const ready = JSON.parse(await firstLine);
    expect(ready).toMatchObject({
      adminKey: "llx-demoDEMOdemoDEMOdemoDEMO1234",
      organizationId: "0a000000-0000-4000-8000-000000000000",
      projects: [{ id: "0b000000-0000-4000-8000-000000000000", name: "payments" }],
    });
    const state = await wire(ready.url, "GET", "/_emulator/state");
    expect(state.json).toMatchObject({ config: { revocationDelayMs: 60_000, latencyMs: 0 } });
    child.kill("SIGINT");
    expect(await exit).toBe(0);
  });

  it("--issued-keys-file FILE: every key it issues, seeded or minted, is in FILE before it is handed out", async () => {
    // Inside the run's issued-key directory when the suite set one, so the leak scan knows these keys.
    const issuedDir = process.env[ISSUED_DIR_ENV] || dir;
    const file = join(issuedDir, `cli-flag-${process.pid}-${Date.now()}.txt`);
    const { child, firstLine, exit } = start(["emulator", "--port", "0", "--issued-keys-file", file]);
    const ready = JSON.parse(await firstLine) as { url: string; adminKey: string };
    expect(readFileSync(file, "utf8")).toBe(`${ready.adminKey}\n`);
    const created = await wire(ready.url, "POST", "/api/v1/api-keys", { key: ready.adminKey, body: {} });
    const minted = (created.json as { redacted_api_key: string }).redacted_api_key;
    expect(readFileSync(file, "utf8")).toBe(`${ready.adminKey}\n${minted}\n`);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    child.kill("SIGTERM");
    expect(await exit).toBe(0);
  });

  it("top-level --help lists the commands", async () => {
    const { child, firstLine, exit } = start(["--help"]);
    expect(await firstLine).toBe("Usage: llamacloud-keys <command> [flags]");
    expect(await exit).toBe(0);
    child.kill();
  });
});

describe("runEmulatorCommand flag validation (exit 2, clear message, nothing started)", () => {
  const table: [string[], RegExp][] = [
    [["--port", "abc"], /--port expects a whole number/],
    [["--port", "70000"], /--port must be at most 65535/],
    [["--latency-ms", "-5"], /--latency-ms/],
    [["--bogus"], /Unknown option '--bogus'/],
    [["--seed", "/nonexistent/seed.json"], /cannot read --seed \/nonexistent\/seed\.json \(ENOENT\)/],
    [["extra"], /Unexpected argument 'extra'/],
    [["--issued-keys-file", ""], /--issued-keys-file expects a file path/],
  ];
  for (const [argv, message] of table) {
    it(`rejects ${argv.join(" ")}`, async () => {
      const { io, out, err } = capture();
      expect(await runEmulatorCommand(argv, io)).toBe(2);
      expect(err.join("")).toMatch(message);
      expect(out).toEqual([]);
    });
  }

  it("rejects an invalid seed file naming the field", async () => {
    const seedFile = join(dir, "bad-seed.json");
    await writeFile(seedFile, JSON.stringify({ organizations: [{ name: "o" }], projects: [], users: [] }));
    const { io, err } = capture();
    expect(await runEmulatorCommand(["--seed", seedFile], io)).toBe(2);
    expect(err.join("")).toMatch(/Invalid emulator seed: projects: at least one project is needed/);
  });

  it("--help prints usage and exits 0", async () => {
    const { io, out } = capture();
    expect(await runEmulatorCommand(["--help"], io)).toBe(0);
    expect(out.join("")).toMatch(/^Usage: llamacloud-keys emulator/);
    // Every flag the READMEs document is in the usage, with its argument.
    for (const flag of [
      "--port N",
      "--host H",
      "--seed FILE",
      "--latency-ms N",
      "--revocation-delay-ms N",
      "--issued-keys-file FILE",
    ]) {
      expect(out.join("")).toContain(`[${flag}]`);
    }
  });

  // llamacloud/emulator/README: "a port in use exits 1".
  it("a port in use: the bin exits 1 naming the port, and prints no ready line", async () => {
    const first = start(["emulator", "--port", "0"]);
    const { url } = JSON.parse(await first.firstLine) as { url: string };
    const port = new URL(url).port;
    try {
      const second = spawn(process.execPath, [bin, "emulator", "--port", port], {
        cwd: root,
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      second.stdout!.on("data", (chunk) => (stdout += chunk));
      second.stderr!.on("data", (chunk) => (stderr += chunk));
      const code = await new Promise<number | null>((done) => second.once("close", done));
      expect(code).toBe(1);
      expect(stderr).toContain(`port ${port} is in use`);
      expect(stdout).toBe("");
    } finally {
      first.child.kill("SIGTERM");
      expect(await first.exit).toBe(0);
    }
  });
});
