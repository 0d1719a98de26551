import { afterAll, beforeAll, expect, it } from "vitest";
import type { DeployedFunction } from "../harness/native-engine";
import { createManagedSecret, keyAccounting, labelledKeys, requireBuilt } from "../rotator/fixtures";
import { startLoad } from "../zero-downtime/load";
import { type NativeWorld, scheduledEvent, startNativeWorld } from "./fixtures";

/**
 * Zero downtime under native rotation: app-like readers (each with its own cached reader, calling
 * LlamaCloud in a loop) keep working through five rotations that Secrets Manager drives through the
 * packaged function, each followed by the scheduled revoke pass once every reader has moved on.
 */

let world: NativeWorld;
let fn: DeployedFunction;
/** Its clock 10 minutes ahead: past created(current) + 5 min staging window + 60 s grace. */
let revoker: DeployedFunction;

const READER_TTL_MS = 300;
const ROTATIONS = 5;

beforeAll(async () => {
  requireBuilt();
  world = await startNativeWorld("test-native-load");
  fn = await world.deploy("rotator");
  revoker = await world.deploy("revoker", { LLAMACLOUD_KEYS_NOW_OFFSET_MS: String(10 * 60_000) });
});
afterAll(async () => {
  await world?.close();
});

it(`readers see no failure through ${ROTATIONS} native rotations and revoke passes`, async () => {
  const secret = await createManagedSecret(world, { rotateEvery: "30d", grace: "60s" });
  const readers = [0, 1, 2, 3].map((i) => ({
    group: i % 2 === 0 ? "withKey" : "get",
    secretArn: secret.arn,
    projectId: secret.projectId,
    ttlMs: READER_TTL_MS,
    mode: (i % 2 === 0 ? "withKey" : "get") as "withKey" | "get",
  }));
  const load = startLoad({ region: world.region, motoEndpoint: world.engine.endpoint, readers, paceMs: 10 });
  const currentKeys: string[] = [];
  try {
    for (let i = 0; i < ROTATIONS; i++) {
      await world.rotate(secret.arn, fn);
      const current = (
        await world.store.readPayload(secret.arn, { stage: "AWSCURRENT" })
      ).payload.apiKey.reveal();
      const previous = (
        await world.store.readPayload(secret.arn, { stage: "AWSPREVIOUS" })
      ).payload.apiKey.reveal();
      currentKeys.push(current);
      // Every reader has moved to the new key, and nobody has sent the previous one for a TTL
      // (what grace stands for here); only then does the revoke pass run.
      await load.until(
        () =>
          (load.keyUse.get(current)?.readers.size ?? 0) === readers.length &&
          Date.now() - (load.keyUse.get(previous)?.lastSentAt ?? 0) > 2 * READER_TTL_MS,
        `every reader on rotation ${i + 1}'s key`,
        60_000,
      );
      const pass = await world.invoke(revoker, scheduledEvent());
      expect(pass.ok, JSON.stringify(pass.payload)).toBe(true);
      const { live } = await keyAccounting(world, secret);
      expect(live).toEqual([(await labelledKeys(world, secret.arn)).current.keyId]);
    }
    // A few more calls on the last key after the last revocation.
    const seen = load.totals().calls;
    await load.until(() => load.totals().calls >= seen + 20, "calls after the last revoke pass", 30_000);
  } finally {
    await load.stop();
  }
  const totals = load.totals();
  expect(new Set(currentKeys).size).toBe(ROTATIONS);
  expect(totals.successes).toBeGreaterThan(0);
  expect(totals.appAuthFailures).toBe(0);
  expect(totals.otherFailures).toBe(0);
  expect(totals.successes).toBe(totals.calls);
});
