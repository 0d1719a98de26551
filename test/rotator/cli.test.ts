import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../rotator/cli";
import {
  childEnv,
  createManagedSecret,
  labelledKeys,
  requireBuilt,
  runCli,
  startWorld,
  type World,
} from "./fixtures";

/** Invariant 7 for the CLI: bad input is a clear error naming the flag, exit 2, before any change. */

function io(env: Record<string, string | undefined> = { LLAMA_CLOUD_API_KEY: "llx-test" }) {
  const out = { stdout: "", stderr: "" };
  return {
    out,
    io: {
      stdout: (t: string) => {
        out.stdout += t;
      },
      stderr: (t: string) => {
        out.stderr += t;
      },
      env,
    },
  };
}

describe("flags and configuration", () => {
  it("prints --help for each command and exits 0", async () => {
    for (const command of ["rotate", "rotator", "status"]) {
      const { out, io: cli } = io();
      expect(await main([command, "--help"], cli)).toBe(0);
      expect(out.stdout).toMatch(new RegExp(`^Usage: llamacloud-keys ${command}`));
    }
  });

  it("rejects unknown flags and commands with exit 2", async () => {
    const a = io();
    expect(await main(["rotate", "--forse"], a.io)).toBe(2);
    expect(a.out.stderr).toMatch(/Unknown option '--forse'/);
    const b = io();
    expect(await main(["rotat"], b.io)).toBe(2);
    expect(b.out.stderr).toMatchInlineSnapshot(`
      "llamacloud-keys: unknown command "rotat"; expected rotate, rotator or status
      "
    `);
  });

  it("names every bad value at once, before touching anything", async () => {
    const { out, io: cli } = io({ LLAMA_CLOUD_BASE_URL: "ftp://x" });
    expect(
      await main(
        [
          "rotator",
          "--schedule",
          "61 * * * *",
          "--concurrency",
          "0",
          "--listen",
          "nowhere",
          "--start-delay",
          "5x",
        ],
        cli,
      ),
    ).toBe(2);
    expect(out.stderr).toMatchInlineSnapshot(`
      "llamacloud-keys: Invalid configuration for \`llamacloud-keys rotator\` (nothing was changed):
        --schedule: expected a cron expression (5 fields, or 6 with seconds), e.g. "*/15 * * * *"; "61 * * * *": 61 is a invalid expression for minute
        --concurrency: expected a whole number from 1 to 64
        --listen: expected HOST:PORT, e.g. 127.0.0.1:9464 or [::1]:9464; got "nowhere"
        --start-delay: expected 0 or a whole number and one unit, e.g. 30s, 10m
        LLAMA_CLOUD_API_KEY: not set: the rotator mints and revokes keys with it. Export a key of a user who is an admin of every managed project (it is read from the environment only, never from flags or files)
        LLAMA_CLOUD_BASE_URL: expected an http(s) URL, e.g. https://api.cloud.llamaindex.ai
      Run \`llamacloud-keys rotator --help\` for the flags.
      "
    `);
  });

  it("reports config-file problems with the file and field", async () => {
    const dir = mkdtempSync(join(tmpdir(), "rotator-config-"));
    const file = join(dir, "rotator.json");
    writeFileSync(file, JSON.stringify({ concurency: 4, passDeadline: "soon" }));
    const { out, io: cli } = io();
    expect(await main(["rotate", "--config", file], cli)).toBe(2);
    expect(out.stderr.replaceAll(file, "<file>")).toMatch(
      /<file>: \(file\): unknown field\(s\) "concurency"/,
    );
    expect(out.stderr.replaceAll(file, "<file>")).toMatch(
      /<file>: passDeadline: expected a whole number and one unit/,
    );
  });
});

describe("rotate and status as processes", () => {
  let world: World;
  beforeAll(async () => {
    requireBuilt();
    world = await startWorld("test-rotator-cli");
  });
  afterAll(async () => {
    await world?.close();
  });

  it("rotate --dry-run --json changes nothing; status shows the secret; rotate --force rotates; exit codes follow results", async () => {
    const secret = await createManagedSecret(world, { rotateEvery: "30d" });
    const env = childEnv(world);

    const dry = await runCli(["rotate", "--secret", secret.arn, "--force", "--dry-run", "--json"], env);
    expect(dry.code, dry.stderr).toBe(0);
    const plan = JSON.parse(dry.stdout) as { results: { actions: string[] }[] };
    expect(plan.results[0]?.actions.join("\n")).toMatch(/would rotate \(forced\)/);
    expect(await world.store.listVersions(secret.arn)).toHaveLength(1);

    const status = await runCli(["status", "--secret", secret.arn, "--json"], env);
    expect(status.code, status.stderr).toBe(0);
    const [row] = JSON.parse(status.stdout) as Record<string, unknown>[];
    expect(row).toMatchObject({
      arn: secret.arn,
      projectId: secret.projectId,
      environment: secret.environment,
      current: {
        versionId: secret.initialVersionId,
        keyId: secret.initialKeyId,
        key: expect.stringMatching(/^llx-…/),
      },
      nextDueAt: expect.any(String),
      next: expect.stringMatching(/^not due until/),
    });

    const rotated = await runCli(["rotate", "--secret", secret.arn, "--force"], env);
    expect(rotated.code, rotated.stderr).toBe(0);
    expect(rotated.stdout).toMatch(/rotated \(forced\)/);
    expect((await labelledKeys(world, secret.arn)).previous?.keyId).toBe(secret.initialKeyId);

    // Forced again during grace: refused, exit 1, nothing changed.
    const before = await labelledKeys(world, secret.arn);
    const refused = await runCli(["rotate", "--secret", secret.arn, "--force"], env);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(/ROTATOR_PREVIOUS_IN_GRACE/);
    expect(await labelledKeys(world, secret.arn)).toEqual(before);

    const after = await runCli(["status", "--secret", secret.arn], env);
    expect(after.stdout).toMatch(/previous {5}key .* revoked .*\(in /);

    // Never the key on stdout or stderr.
    for (const key of world.emulator.state.issuedSecrets()) {
      for (const run of [dry, status, rotated, refused, after])
        expect(run.stdout + run.stderr).not.toContain(key);
    }
  });

  // rotator/README.md, "`--json` output" and "Commands": the fields each document names, no others;
  // a secret that fails is exit 1 for `rotate` and `status`, the others still reported.
  it("rotate --json and status --json carry the documented fields; a failed secret is exit 1", async () => {
    const secret = await createManagedSecret(world, { rotateEvery: "30d" });
    const missing = "llamacloud-keys/test/no-such-secret";
    const env = childEnv(world);

    const pass = await runCli(["rotate", "--secret", secret.arn, "--secret", missing, "--json"], env);
    expect(pass.code, pass.stderr).toBe(1);
    const result = JSON.parse(pass.stdout) as Record<string, unknown> & {
      results: Record<string, unknown>[];
    };
    expect(Object.keys(result).sort()).toEqual(["abandoned", "durationMs", "exitCode", "passId", "results"]);
    expect(result.exitCode).toBe(1);
    const resultFields = [
      "secretId",
      "ok",
      "rotated",
      "actions",
      "durationMs",
      "arn",
      "projectId",
      "environment",
      "currentVersionId",
      "skipped",
      "overdue",
      "mode",
      "plan",
      "error",
    ];
    const [ok, failed] = result.results;
    for (const entry of result.results) {
      for (const key of Object.keys(entry)) expect(resultFields, key).toContain(key);
    }
    expect(ok).toMatchObject({ secretId: secret.arn, arn: secret.arn, ok: true, rotated: false });
    expect(failed).toMatchObject({
      secretId: missing,
      ok: false,
      error: { code: expect.stringMatching(/^[A-Z][A-Z0-9_]+$/), message: expect.any(String) },
    });
    expect(Object.keys(failed?.error as object).every((k) => ["code", "message", "step"].includes(k))).toBe(
      true,
    );

    const status = await runCli(["status", "--secret", secret.arn, "--secret", missing, "--json"], env);
    expect(status.code, status.stderr).toBe(1);
    const entries = JSON.parse(status.stdout) as Record<string, unknown>[];
    const statusFields = [
      "arn",
      "secretId",
      "name",
      "projectId",
      "environment",
      "current",
      "nextDueAt",
      "previous",
      "interrupted",
      "next",
      "mode",
      "lastRotatedDate",
      "nextRotationDate",
      "skipped",
      "error",
    ];
    for (const entry of entries) {
      for (const key of Object.keys(entry)) expect(statusFields, key).toContain(key);
    }
    expect(entries[0]).toMatchObject({ arn: secret.arn, mode: "daemon", next: expect.any(String) });
    expect(Object.keys(entries[0]?.current as object).sort()).toEqual([
      "ageMs",
      "key",
      "keyId",
      "since",
      "versionId",
    ]);
    expect(entries[1]).toEqual({
      secretId: missing,
      next: expect.any(String),
      error: { code: expect.any(String), message: expect.any(String) },
    });
  });
});
