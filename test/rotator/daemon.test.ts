import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  childEnv,
  createManagedSecret,
  expectCurrentWorks,
  labelledKeys,
  requireBuilt,
  spawnCli,
  startWorld,
  type World,
} from "./fixtures";

let world: World;

beforeAll(async () => {
  requireBuilt();
  world = await startWorld("test-rotator-daemon");
});
afterAll(async () => {
  await world?.close();
});

describe("the daemon (llamacloud-keys rotator)", () => {
  it("catches up at start, fires on schedule, serves /healthz and /metrics, and exits 0 on SIGTERM", async () => {
    const secret = await createManagedSecret(world, { rotateEvery: "1h", grace: "1d" });
    const env = childEnv(world, { LLAMACLOUD_KEYS_NOW_OFFSET_MS: String(2 * 3_600_000) });
    const daemon = spawnCli(
      ["rotator", "--schedule", "*/1 * * * * *", "--listen", "127.0.0.1:0", "--start-delay", "0"],
      env,
    );
    try {
      const listening = await daemon.waitForLine((l) => l.event === "daemon:listening");
      const url = String(listening.url);

      // The pass at start rotates the overdue secret (missed while the daemon was down).
      const first = await daemon.waitForLine((l) => l.event === "pass:finished");
      expect(first).toMatchObject({ ok: 1, failed: 0 });
      expect(daemon.lines.some((l) => l.event === "rotation:promoted" && l.secretArn === secret.arn)).toBe(
        true,
      );
      // The schedule fires (every second) and re-derives due-ness: nothing more to do.
      const second = await daemon.waitForLine(
        (l) => l.event === "pass:finished" && l.passId !== first.passId,
      );
      expect(second).toMatchObject({ ok: 1, failed: 0 });
      expect(daemon.lines.filter((l) => l.event === "rotation:promoted")).toHaveLength(1);

      const health = await fetch(`${url}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.json()).toMatchObject({ status: "ok", lastSuccessfulPassAt: expect.any(String) });
      const metrics = await fetch(`${url}/metrics`);
      expect(metrics.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
      const text = await metrics.text();
      expect(text).toMatch(/^llamacloud_keys_passes_total\{result="ok"\} [2-9]\d*$/m);
      expect(text).toMatch(/^llamacloud_keys_rotations_total\{result="promoted"\} 1$/m);
      expect(text).toMatch(/^llamacloud_keys_last_successful_pass_timestamp_seconds \d+(\.\d+)?$/m);
      expect(text).toMatch(/^llamacloud_keys_secrets_overdue 1$/m); // due again, but blocked by grace
      expect((await fetch(`${url}/nope`)).status).toBe(404);

      daemon.kill("SIGTERM");
      const exit = await daemon.exited;
      expect(exit, daemon.stderr()).toEqual({ code: 0, signal: null });
      expect(daemon.lines.some((l) => l.event === "daemon:stopping" && l.signal === "SIGTERM")).toBe(true);
      expect(daemon.lines.at(-1)?.event).toBe("daemon:stopped");
    } finally {
      daemon.kill("SIGKILL");
    }
    expect((await labelledKeys(world, secret.arn)).previous?.keyId).toBe(secret.initialKeyId);
    await expectCurrentWorks(world, secret.arn);
    // Never the key, in any log line.
    const issued = world.emulator.state.issuedSecrets();
    for (const key of issued) expect(daemon.stderr()).not.toContain(key);
  });

  // rotator/README.md, the `rotator` row of "Commands": 0 after SIGTERM/SIGINT/SIGHUP, 1 when the
  // shutdown watchdog fires or a second signal arrives.
  const idle = ["rotator", "--schedule", "0 0 1 1 *", "--start-delay", "0"];

  it.each(["SIGINT", "SIGHUP"] as const)(
    "exits 0 on %s, like SIGTERM, after the pass in flight",
    async (signal) => {
      const daemon = spawnCli(idle, childEnv(world));
      try {
        await daemon.waitForLine((l) => l.event === "pass:finished");
        daemon.kill(signal);
        expect(await daemon.exited, daemon.stderr()).toEqual({ code: 0, signal: null });
        expect(daemon.lines.some((l) => l.event === "daemon:stopping" && l.signal === signal)).toBe(true);
        expect(daemon.lines.at(-1)?.event).toBe("daemon:stopped");
      } finally {
        daemon.kill("SIGKILL");
      }
    },
  );

  it.each([
    {
      how: "the shutdown watchdog fires",
      timeout: "1s",
      second: undefined,
      says: /shutdown is taking longer than 1 s; still waiting on: createSecret of /,
    },
    {
      how: "a second signal arrives",
      timeout: "10m",
      second: "SIGINT" as const,
      says: /second SIGINT: exiting now\. Waiting on: createSecret of /,
    },
  ])("exits 1 naming the stuck step when $how", async ({ timeout, second, says }) => {
    const secret = await createManagedSecret(world, { rotateEvery: "1h", grace: "1d" });
    const env = childEnv(world, { LLAMACLOUD_KEYS_NOW_OFFSET_MS: String(2 * 3_600_000) });
    // The daemon has no --secret: the config file's `secrets` field keeps it to this one secret.
    const dir = await mkdtemp(join(tmpdir(), "llamacloud-keys-daemon-"));
    const config = join(dir, "rotator.json");
    await writeFile(config, JSON.stringify({ secrets: [secret.arn] }));
    // The mint never answers until released: createSecret is stuck in flight.
    world.emulator.faults.add({ route: "POST /api/v1/api-keys", kind: "hold", times: 1 });
    const daemon = spawnCli(
      [...idle, "--config", config, "--shutdown-timeout", timeout, "--listen", "127.0.0.1:0"],
      env,
    );
    try {
      await world.emulator.faults.waitForHeld();
      daemon.kill("SIGTERM");
      await daemon.waitForLine((l) => l.event === "daemon:stopping");
      if (second !== undefined) {
        // rotator/README.md: /healthz answers 503 while stopping.
        const listening = await daemon.waitForLine((l) => l.event === "daemon:listening");
        const health = await fetch(`${String(listening.url)}/healthz`);
        expect(health.status).toBe(503);
        expect(await health.json()).toMatchObject({ status: "stopping" });
        daemon.kill(second);
      }
      expect(await daemon.exited, daemon.stderr()).toEqual({ code: 1, signal: null });
      const warning = daemon.lines.find((l) => l.event === "warning" && says.test(String(l.message)));
      expect(warning, daemon.stderr()).toBeDefined();
      expect(String(warning?.message)).toContain(`createSecret of ${secret.arn}`);
    } finally {
      daemon.kill("SIGKILL");
      world.emulator.faults.release();
      world.emulator.faults.clear();
      await rm(dir, { recursive: true, force: true });
    }
    // Readers were never without a working key, and the next run resumes from where it stopped.
    await expectCurrentWorks(world, secret.arn);
  });
});
