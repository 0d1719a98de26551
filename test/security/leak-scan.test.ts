import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, inject, test } from "vitest";
import { startEmulator } from "../../llamacloud/emulator";
import { ISSUED_DIR_ENV } from "../../llamacloud/emulator/issued-keys";
import { defaultSeed, resolveSeed } from "../../llamacloud/emulator/seed";
import { EmulatorState, mintSecret } from "../../llamacloud/emulator/state";
import {
  ARTIFACTS_ENV,
  ISSUED_ENV,
  ISSUED_SUBDIR,
  preserveDir,
  readIssuedKeys,
  recordError,
  recordText,
} from "../harness/artifacts";
import { base64Core, type LeakHit, LeakScanner, needlesFor, scanArtifacts } from "../harness/leak-scan";
import { runProcess } from "../harness/processes";

// The suite-wide leak scan (global teardown) is only as good as its scanner: prove it finds a key
// planted in every encoding and in every kind of artifact the harness records, reports the artifact
// and line, and leaves masked forms and exempt files alone. Planted keys here are fresh random keys,
// never emulator-issued ones, so they cannot trip the suite's own scan.

const planted = mintSecret();

describe("needles", () => {
  test("base64 cores are found inside any encoding of any text around the key", () => {
    for (let before = 0; before < 6; before++) {
      for (let after = 0; after < 4; after++) {
        const text = `${"p".repeat(before)}${planted}${"s".repeat(after)}`;
        for (const urlSafe of [false, true]) {
          const encoded = Buffer.from(text).toString(urlSafe ? "base64url" : "base64");
          const offset = (before % 3) as 0 | 1 | 2;
          expect(encoded).toContain(base64Core(planted, offset, urlSafe));
        }
      }
    }
  });

  test("an alphanumeric key URL-encodes to itself, so its needles hold no duplicate", () => {
    const forms = needlesFor(planted).map((needle) => needle.form);
    expect(forms).toEqual(expect.arrayContaining(["exact", "base64@0", "base64@1", "base64@2"]));
    expect(forms).not.toContain("url-encoded");
    expect(new Set(needlesFor(planted).map((needle) => needle.text)).size).toBe(forms.length);
    expect(needlesFor("llx-a/b c").map((needle) => needle.form)).toContain("url-encoded");
  });
});

describe("the scanner", () => {
  const scanner = new LeakScanner([planted, mintSecret()]);
  const encodings: [string, string][] = [
    ["exact", `error: bad key ${planted} given`],
    ["url-encoded", `GET /x?k=${encodeURIComponent(`${planted}/ü`)}`],
    ["base64@0", `auth: ${Buffer.from(planted).toString("base64")}`],
    ["base64@1", Buffer.from(`{${planted}}`).toString("base64")],
    ["base64@2", Buffer.from(JSON.stringify({ apiKey: planted })).toString("base64")],
    ["base64url@2", Buffer.from(`:"${planted}"~~~>>>`).toString("base64url")],
    ["basic-auth header", `Authorization: Basic ${Buffer.from(`user:${planted}`).toString("base64")}`],
  ];
  for (const [name, text] of encodings) {
    test(`finds the key ${name}`, () => {
      const hits = scanner.scanText(`first line\nsecond\n${text}\n`, "artifact.log");
      expect(hits.length).toBeGreaterThan(0);
      expect(hits[0]).toMatchObject({
        artifact: "artifact.log",
        line: 3,
        maskedKey: `llx-…${planted.slice(-4)}`,
      });
    });
  }

  test("URL-encoded keys with special characters are found in their encoded form", () => {
    const odd = "llx-odd key/with+chars";
    const hits = new LeakScanner([odd]).scanText(`q=${encodeURIComponent(odd)}`);
    expect(hits.map((hit) => hit.form)).toContain("url-encoded");
  });

  test("ignores masked forms, other keys, and a key cut short", () => {
    const text = [
      `key llx-…${planted.slice(-4)}`,
      `key ${planted.slice(0, -1)}`,
      `key ${mintSecret()}`,
      "key llx-[redacted]",
    ].join("\n");
    expect(scanner.scanText(text)).toEqual([]);
  });

  test("reports line and column of every occurrence", () => {
    const hits = scanner.scanText(`a\nbb ${planted}\n\n  ${planted}`);
    expect(hits.map(({ line, column }) => ({ line, column }))).toEqual([
      { line: 2, column: 4 },
      { line: 4, column: 3 },
    ]);
  });

  test("scans megabytes of key-like text quickly", () => {
    const many = new LeakScanner(Array.from({ length: 2000 }, () => mintSecret()));
    const noise = Array.from({ length: 20_000 }, () => mintSecret()).join("\n");
    const started = performance.now();
    expect(many.scanText(noise)).toEqual([]);
    expect(performance.now() - started).toBeLessThan(5_000);
  });
});

describe("every artifact kind the harness records", () => {
  let dir: string;
  let saved: string | undefined;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "llamacloud-keys-leak-scan-test-"));
    saved = process.env[ARTIFACTS_ENV];
    process.env[ARTIFACTS_ENV] = dir;
  });
  afterEach(() => {
    process.env[ARTIFACTS_ENV] = saved;
    rmSync(dir, { recursive: true, force: true });
  });

  function kinds(hits: LeakHit[]): string[] {
    return [...new Set(hits.map((hit) => hit.artifact.slice(dir.length + 1).split("/")[0]!))].sort();
  }

  test("process output, errors and their causes, Pulumi state, metrics and temp files", async () => {
    // The key reaches the child through its environment (not recorded), so only its output holds it.
    const script = `console.log("ok"); console.error(Buffer.from("k=" + process.env.PLANTED).toString("base64"));`;
    const run = await runProcess(process.execPath, ["-e", script], {
      env: { ...process.env, PLANTED: planted },
    });
    expect(run.code).toBe(0);

    const cause = new Error(`upstream said ${planted}`);
    recordError("wrapped", new Error("outer message is clean", { cause }));

    const state = mkdtempSync(join(tmpdir(), "llamacloud-keys-fake-state-"));
    mkdirSync(join(state, "backend", ".pulumi", "stacks"), { recursive: true });
    writeFileSync(
      join(state, "backend", ".pulumi", "stacks", "test.json"),
      JSON.stringify({
        outputs: { payload: Buffer.from(JSON.stringify({ apiKey: planted })).toString("base64") },
      }),
    );
    expect(preserveDir("pulumi", state, "workspace")).toBe(1);
    rmSync(state, { recursive: true, force: true });

    recordText("metrics", "127.0.0.1/metrics", `llamacloud_keys_up{key="${planted}"} 1\n`);
    recordText("temp", "scratch", `url=https://x/?key=${encodeURIComponent(planted)}\n`);
    recordText("cli-output", "status --json", JSON.stringify({ redactedKey: `llx-…${planted.slice(-4)}` }));

    const result = scanArtifacts(dir, [planted]);
    expect(kinds(result.hits)).toEqual(["error", "metrics", "process", "pulumi", "temp"]);
    const processHit = result.hits.find((hit) => hit.artifact.includes("/process/"))!;
    expect(processHit.artifact).toMatch(/\.stderr\.log$/);
    expect(processHit.form).toMatch(/^base64@/);
    // The masked form in the CLI output is not a hit; it is still scanned.
    expect(result.artifacts).toBeGreaterThanOrEqual(8);
  });

  test("the issued-key lists and the emulator CLI's ready line are exempt, nothing else", () => {
    mkdirSync(join(dir, ISSUED_SUBDIR));
    writeFileSync(join(dir, ISSUED_SUBDIR, "issued-1-1.txt"), `${planted}\n`);
    mkdirSync(join(dir, "emulator-stdout"));
    writeFileSync(
      join(dir, "emulator-stdout", "1-1-ready.stdout.log"),
      JSON.stringify({ adminKey: planted }),
    );
    mkdirSync(join(dir, "process", "issued"), { recursive: true });
    writeFileSync(join(dir, "process", "issued", "nested.txt"), planted);
    const result = scanArtifacts(dir, readIssuedKeys(dir));
    expect(result.exempt).toBe(2);
    expect(result.hits.map((hit) => hit.artifact)).toEqual([join(dir, "process", "issued", "nested.txt")]);
  });
});

describe("the emulator's issued-key lists (the scan's input)", () => {
  test("the state reports each key it issues once, seeded or minted, and writes nothing itself", () => {
    const issued: string[] = [];
    const state = new EmulatorState(resolveSeed(defaultSeed), { onIssued: (secret) => issued.push(secret) });
    const minted = state.createApiKey(state.authenticate(state.adminKey), { name: "k", projectId: null });
    state.reset(); // seeded keys come back with the same secrets: not issued again
    expect(issued).toEqual([state.adminKey, minted.secret]);
  });

  test("under the directory variable, every emulator appends each key it issues to a file of its own", async () => {
    const dir = mkdtempSync(join(tmpdir(), "llamacloud-keys-issued-test-"));
    const saved = process.env[ISSUED_DIR_ENV];
    process.env[ISSUED_DIR_ENV] = dir;
    try {
      const first = await startEmulator();
      const second = await startEmulator();
      const minted = first.state.createApiKey(first.state.authenticate(first.adminKey), {
        name: "k",
        projectId: null,
      });
      first.reset();
      await Promise.all([first.close(), second.close()]);
      const files = readdirSync(dir).sort();
      expect(files).toHaveLength(2);
      expect(files.every((file) => /^issued-\d+-\d+\.txt$/.test(file))).toBe(true);
      const lines = files.map((file) => readFileSync(join(dir, file), "utf8").trim().split("\n"));
      expect(lines).toContainEqual([first.adminKey, minted.secret]);
      expect(lines).toContainEqual([second.adminKey]);
    } finally {
      process.env[ISSUED_DIR_ENV] = saved;
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("an explicit issuedKeysFile wins over the directory variable; onIssued sees the same keys", async () => {
    const dir = mkdtempSync(join(tmpdir(), "llamacloud-keys-issued-test-"));
    const saved = process.env[ISSUED_DIR_ENV];
    process.env[ISSUED_DIR_ENV] = join(dir, "from-env");
    const seen: string[] = [];
    try {
      const emulator = await startEmulator({
        issuedKeysFile: join(dir, "named", "keys.txt"),
        onIssued: (secret) => seen.push(secret),
      });
      await emulator.close();
      expect(readdirSync(dir)).toEqual(["named"]);
      expect(readFileSync(join(dir, "named", "keys.txt"), "utf8")).toBe(`${emulator.adminKey}\n`);
      expect(seen).toEqual([emulator.adminKey]);
    } finally {
      process.env[ISSUED_DIR_ENV] = saved;
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("the suite's workers and children inherit the artifacts and issued-key directories", () => {
    const dir = inject("artifactsDir");
    expect(process.env[ARTIFACTS_ENV]).toBe(dir);
    expect(process.env[ISSUED_ENV]).toBe(join(dir, ISSUED_SUBDIR));
  });
});
