import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "../harness/tools";
import {
  childEnv,
  createManagedSecret,
  expectCurrentWorks,
  labelledKeys,
  requireBuilt,
  runCli,
  spawnCli,
  startWorld,
  type World,
} from "../rotator/fixtures";

// The deployment examples are documentation people copy: each command in them must be one the CLI
// accepts and that does its job, so they run here against the emulator and moto.

const example = (name: string) => readFileSync(join(repoRoot, "examples", "rotator-deploy", name), "utf8");

/** The CronJob's container `args`, a JSON-style flow sequence on one line. */
function cronJobArgs(): string[] {
  const line = example("cronjob.yaml").match(/^\s*args:\s*(\[.*\])\s*$/m);
  if (!line?.[1]) throw new Error("examples/rotator-deploy/cronjob.yaml has no one-line `args: [...]`");
  return JSON.parse(line[1]) as string[];
}

/** The systemd unit's ExecStart arguments after the CLI's path, with shell-style double quotes. */
function execStartArgs(): string[] {
  const line = example("llamacloud-keys-rotator.service").match(
    /^ExecStart=\S+\s+\S+llamacloud-keys\.js\s+(.*)$/m,
  );
  if (!line?.[1]) throw new Error("the unit's ExecStart does not run bin/llamacloud-keys.js");
  return [...line[1].matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2] ?? "");
}

let world: World;
beforeAll(async () => {
  requireBuilt();
  world = await startWorld("test-examples-rotator-deploy");
});
afterAll(async () => {
  await world?.close();
});

describe("examples/rotator-deploy", () => {
  it("the CronJob's pass (`rotate --all --json`) rotates a due secret and exits 0", async () => {
    const args = cronJobArgs();
    expect(args).toEqual(["rotate", "--all", "--json"]);
    const secret = await createManagedSecret(world, { rotateEvery: "1h", grace: "1d" });

    const run = await runCli(args, childEnv(world, { LLAMACLOUD_KEYS_NOW_OFFSET_MS: String(2 * 3_600_000) }));

    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ exitCode: 0 });
    expect((await labelledKeys(world, secret.arn)).previous?.keyId).toBe(secret.initialKeyId);
    await expectCurrentWorks(world, secret.arn);
  });

  it("the systemd unit's daemon command starts, serves /healthz, and stops with exit 0 on SIGTERM", async () => {
    const args = execStartArgs();
    expect(args.slice(0, 3)).toEqual(["rotator", "--schedule", "*/15 * * * *"]);
    // Same flags, but a free port instead of the unit's fixed 9464.
    const onFreePort = args.map((arg) => arg.replace(/^127\.0\.0\.1:\d+$/, "127.0.0.1:0"));
    const daemon = spawnCli([...onFreePort, "--start-delay", "0"], childEnv(world));
    try {
      const listening = await daemon.waitForLine((l) => l.event === "daemon:listening");
      await daemon.waitForLine((l) => l.event === "pass:finished");
      expect((await fetch(`${String(listening.url)}/healthz`)).status).toBe(200);
      daemon.kill("SIGTERM");
      expect(await daemon.exited, daemon.stderr()).toEqual({ code: 0, signal: null });
    } finally {
      daemon.kill("SIGKILL");
    }
  });
});
