import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RotatorEmitter } from "../../rotator/events";
import { processSecret } from "../../rotator/rotation";
import { runOnce } from "../../rotator/run-once";
import { createSecretStore, type SecretStore } from "../../secrets/store";
import { motoCredentials } from "../harness/moto";
import {
  createManagedSecret,
  eventsOf,
  expectCurrentWorks,
  fastClient,
  keyAccounting,
  labelledKeys,
  rotationContext,
  startWorld,
  testConfig,
  type World,
} from "./fixtures";
import { type SmProxy, startSmProxy } from "./sm-proxy";

/**
 * Faults from LlamaCloud (429 storms, 5xx, timeouts, resets) and from Secrets Manager (throttling,
 * 500s, via a loopback proxy in front of moto): retried within bounds, or the secret is left
 * consistent and reported failed while the other secrets still rotate.
 */

let world: World;
let proxy: SmProxy;
let proxiedStore: SecretStore;

beforeAll(async () => {
  world = await startWorld("test-rotator-faults");
  proxy = await startSmProxy(world.motoEndpoint);
  // The SDK's own retry strategy (3 attempts) handles throttling and 5xx.
  proxiedStore = createSecretStore({
    endpoint: proxy.url,
    credentials: motoCredentials,
    region: world.region,
    maxAttempts: 3,
  });
});
afterAll(async () => {
  proxiedStore?.close();
  await proxy?.close();
  await world?.close();
});

const HOUR = 3_600_000;
const due = () => Date.now() + 2 * HOUR;

describe("LlamaCloud faults", () => {
  it("rides out a 429 storm, 503s and connection resets on retryable calls", async () => {
    const secret = await createManagedSecret(world, { rotateEvery: "1h" });
    const f = world.emulator.faults;
    f.add({ route: "GET /api/v1/api-keys", kind: "status", status: 429, retryAfterMs: 5, times: 3 });
    f.add({ route: "GET /api/v1/projects/:id", kind: "reset", when: "before-handling", times: 2 });
    f.add({ route: "DELETE /api/v1/api-keys/:id", kind: "status", status: 503, times: 2 });
    try {
      const ctx = rotationContext(world, { now: due });
      const result = await processSecret(ctx, secret.arn, { revokeNow: true });
      expect(result).toMatchObject({ ok: true, rotated: true });
      expect(f.list()).toEqual([]); // every scripted fault was hit
    } finally {
      f.clear();
    }
    const labels = await labelledKeys(world, secret.arn);
    const { live } = await keyAccounting(world, secret);
    expect(live).toEqual([labels.current.keyId]);
    await expectCurrentWorks(world, secret.arn);
  });

  it("a test step that times out leaves the rotation interrupted but consistent; the next pass finishes it", async () => {
    const secret = await createManagedSecret(world, { rotateEvery: "1h" });
    const impatient = fastClient(world.emulator.url, world.emulator.adminKey, { totalMs: 500 });
    world.emulator.faults.add({ route: "GET /api/v1/projects/:id", kind: "hang", times: "always" });
    try {
      const result = await processSecret(rotationContext(world, { now: due, client: impatient }), secret.arn);
      expect(result.ok).toBe(false);
      expect(result.error).toMatchObject({ code: "LLAMACLOUD_TIMEOUT", step: "testSecret" });
    } finally {
      world.emulator.faults.clear();
      await impatient.close();
    }
    // Consistent: AWSCURRENT untouched and working, the new key waiting under AWSPENDING.
    const stuck = await labelledKeys(world, secret.arn);
    expect(stuck.current).toEqual({ versionId: secret.initialVersionId, keyId: secret.initialKeyId });
    expect(stuck.pending).toBeDefined();
    await expectCurrentWorks(world, secret.arn);

    const ctx = rotationContext(world, { now: due });
    const next = await processSecret(ctx, secret.arn);
    expect(next).toMatchObject({ ok: true, rotated: true });
    expect(eventsOf(ctx.log, "rotation:started")).toEqual([
      expect.objectContaining({ reason: "interrupted" }),
    ]);
    expect((await labelledKeys(world, secret.arn)).current).toEqual(stuck.pending);
  });

  it("an unanswered create (5xx every time) fails the secret before anything is written", async () => {
    const secret = await createManagedSecret(world, { rotateEvery: "1h" });
    world.emulator.faults.add({
      route: "POST /api/v1/api-keys",
      kind: "status",
      status: 500,
      times: "always",
    });
    try {
      const result = await processSecret(rotationContext(world, { now: due }), secret.arn);
      expect(result.ok).toBe(false);
      expect(result.error?.step).toBe("createSecret");
    } finally {
      world.emulator.faults.clear();
    }
    expect(await world.store.listVersions(secret.arn)).toHaveLength(1);
    const { live, held } = await keyAccounting(world, secret);
    expect(live).toEqual(held);
  });
});

describe("Secrets Manager faults", () => {
  it("retries throttling and 500s within the SDK's bounds", async () => {
    const secret = await createManagedSecret(world, { rotateEvery: "1h" });
    proxy.add({
      operation: "PutSecretValue",
      secret: secret.arn,
      action: { kind: "error", status: 400, type: "ThrottlingException", message: "Rate exceeded" },
    });
    proxy.add({
      operation: "UpdateSecretVersionStage",
      secret: secret.arn,
      action: { kind: "error", status: 500, type: "InternalServiceError" },
    });
    try {
      const result = await processSecret(
        rotationContext(world, { now: due, store: proxiedStore }),
        secret.arn,
      );
      expect(result).toMatchObject({ ok: true, rotated: true });
    } finally {
      proxy.clear();
    }
    await expectCurrentWorks(world, secret.arn);
  });

  it("a secret Secrets Manager keeps refusing is reported failed and left consistent; the others still rotate", async () => {
    const broken = await createManagedSecret(world, { rotateEvery: "1h" });
    const fine = await createManagedSecret(world, { rotateEvery: "1h" });
    proxy.add({
      operation: "PutSecretValue",
      secret: broken.arn,
      times: "always",
      action: { kind: "error", status: 500, type: "InternalServiceError" },
    });
    const events = new RotatorEmitter();
    let run: Awaited<ReturnType<typeof runOnce>>;
    try {
      run = await runOnce(testConfig({ secrets: [broken.arn, fine.arn] }), {
        store: proxiedStore,
        client: world.client,
        events,
        now: due,
        testRetryDelaysMs: [],
      });
    } finally {
      proxy.clear();
    }
    expect(run.exitCode).toBe(1);
    expect(run.results.map((r) => [r.secretId, r.ok])).toEqual([
      [broken.arn, false],
      [fine.arn, true],
    ]);
    expect(run.results[0]?.error).toMatchObject({ code: "SECRET_UNAVAILABLE", step: "createSecret" });
    // The broken secret: untouched, and the key minted for it revoked (it never reached the secret).
    expect(await labelledKeys(world, broken.arn)).toEqual({
      current: { versionId: broken.initialVersionId, keyId: broken.initialKeyId },
    });
    const brokenKeys = await keyAccounting(world, broken);
    expect(brokenKeys.live).toEqual(brokenKeys.held);
    await expectCurrentWorks(world, broken.arn);
    // The other one rotated.
    expect((await labelledKeys(world, fine.arn)).previous?.keyId).toBe(fine.initialKeyId);
  });
});
