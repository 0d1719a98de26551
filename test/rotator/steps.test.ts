import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nextToken } from "../../rotator/plan";
import { processSecret } from "../../rotator/rotation";
import { readSecretState } from "../../rotator/state";
import {
  createSecret,
  finishSecret,
  revokeKey,
  revokePrevious,
  setSecret,
  testSecret,
} from "../../rotator/steps";
import { SecretNotFoundError } from "../../secrets/errors";
import type { SecretStore } from "../../secrets/store";
import {
  createManagedSecret,
  eventsOf,
  expectCurrentWorks,
  keyAccounting,
  labelledKeys,
  rotationContext,
  startWorld,
  type World,
} from "./fixtures";

let world: World;

beforeAll(async () => {
  // A little latency widens the window in which two rotators interleave.
  world = await startWorld("test-rotator-steps", { latencyMs: 20 });
});
afterAll(async () => {
  await world?.close();
});

describe("every step is re-runnable (invariant 4)", () => {
  it("running each step twice equals running it once", async () => {
    const secret = await createManagedSecret(world, { rotateEvery: "30d", grace: "60s" });
    const ctx = rotationContext(world);
    const state = await readSecretState(ctx, secret.arn);
    const target = { secretId: secret.arn, token: nextToken(state).token };
    const snapshot = async () => ({
      labels: await labelledKeys(world, secret.arn),
      versions: (await world.store.listVersions(secret.arn)).map((v) => [v.versionId, v.stages]),
      keys: world.emulator.state.allKeys().map((k) => [k.id, k.live]),
    });

    const posts = world.emulator.requests("POST /api/v1/api-keys").length;
    const created = await createSecret(ctx, target);
    const afterCreate = await snapshot();
    const createdAgain = await createSecret(ctx, target);
    expect(createdAgain).toEqual({ ...created, how: "resumed" });
    expect(await snapshot()).toEqual(afterCreate);
    expect(afterCreate.labels.pending).toEqual({ versionId: target.token, keyId: created.keyId });

    await setSecret(ctx, target);
    await setSecret(ctx, target);
    expect(await snapshot()).toEqual(afterCreate);

    expect(await testSecret(ctx, target)).toEqual({ keyId: created.keyId });
    expect(await testSecret(ctx, target)).toEqual({ keyId: created.keyId });
    expect(await snapshot()).toEqual(afterCreate);

    expect(await finishSecret(ctx, target)).toMatchObject({ promoted: true });
    const afterFinish = await snapshot();
    expect(await finishSecret(ctx, target)).toEqual({ promoted: false });
    expect(await testSecret(ctx, target)).toEqual({ keyId: created.keyId });
    expect(await snapshot()).toEqual(afterFinish);
    expect(afterFinish.labels).toEqual({
      current: { versionId: target.token, keyId: created.keyId },
      previous: { versionId: secret.initialVersionId, keyId: secret.initialKeyId },
    });

    expect(await revokePrevious(ctx, secret.arn, { revokeNow: true })).toBe(1);
    const afterRevoke = await snapshot();
    // Run again: the key is no longer listed, so there is nothing left to pick.
    expect(await revokePrevious(ctx, secret.arn, { revokeNow: true })).toBe(0);
    expect(await snapshot()).toEqual(afterRevoke);
    // And a DELETE repeated by hand counts as done (LlamaCloud's 404).
    const revocation = {
      keyId: secret.initialKeyId,
      versionId: secret.initialVersionId,
      reason: "revoke-now" as const,
    };
    expect(await revokeKey(ctx, secret.arn, revocation)).toBe(true);
    expect(eventsOf(ctx.log, "rotation:revoked").map((r) => r.alreadyRevoked)).toEqual([false, true]);
    // One mint for the rotation: no rerun minted again.
    expect(world.emulator.requests("POST /api/v1/api-keys")).toHaveLength(posts + 1);
    await expectCurrentWorks(world, secret.arn);
  });

  it("never revokes the key AWSCURRENT holds, even if asked to", async () => {
    const secret = await createManagedSecret(world, { rotateEvery: "30d" });
    const ctx = rotationContext(world);
    const revoked = await revokeKey(ctx, secret.arn, {
      keyId: secret.initialKeyId,
      versionId: secret.initialVersionId,
      reason: "grace-passed",
    });
    expect(revoked).toBe(false);
    expect(eventsOf(ctx.log, "warning")[0]?.message).toMatch(
      /Refused to revoke key .*: AWSCURRENT .* holds it now/,
    );
    await expectCurrentWorks(world, secret.arn);
  });
});

describe("two rotators at once (invariant 5)", () => {
  it("rotate each secret once and leave no extra live key", async () => {
    const secrets = await Promise.all([1, 2, 3].map(() => createManagedSecret(world, { rotateEvery: "1h" })));
    const now = () => Date.now() + 2 * 3_600_000;
    const a = rotationContext(world, { now });
    const b = rotationContext(world, { now });
    const results = await Promise.all(
      secrets.flatMap((secret) => [processSecret(a, secret.arn), processSecret(b, secret.arn)]),
    );
    expect(
      results.every((r) => r.ok),
      JSON.stringify(results.filter((r) => !r.ok)),
    ).toBe(true);
    // The race really happened: both rotators started every rotation (same deterministic token).
    const started = [...eventsOf(a.log, "rotation:started"), ...eventsOf(b.log, "rotation:started")];
    expect(started).toHaveLength(6);
    expect(new Set(started.map((s) => s.versionId)).size).toBe(3);
    for (const secret of secrets) {
      const versions = await world.store.listVersions(secret.arn);
      // The first version and exactly one rotation.
      expect(versions).toHaveLength(2);
      const { live, held } = await keyAccounting(world, secret);
      expect(held).toHaveLength(2);
      expect(live).toEqual(held);
      await expectCurrentWorks(world, secret.arn);
    }
  });
});

describe("the steps as Secrets Manager's rotation function calls them", () => {
  /**
   * Before invoking createSecret, Secrets Manager's RotateSecret adds the token as a version labelled
   * AWSPENDING with no value: GetSecretValue(VersionId=token) raises ResourceNotFound until
   * createSecret writes it. moto only does that with a rotation Lambda behind it, so here the store
   * (real, on moto) is seen through a view that adds that empty version until the token is written.
   */
  function withEmptyPending(store: SecretStore, token: string): SecretStore {
    let written = false;
    return {
      ...store,
      async describe(secretId) {
        const d = await store.describe(secretId);
        if (written || token in d.versionIdsToStages) return d;
        return {
          ...d,
          versionIdsToStages: { ...d.versionIdsToStages, [token]: ["AWSPENDING"] },
          pendingVersionId: token,
        };
      },
      async readPayload(secretId, selector) {
        if (!written && "versionId" in selector && selector.versionId === token) {
          throw new SecretNotFoundError(`no value yet for version ${token}`, { secretId, versionId: token });
        }
        return store.readPayload(secretId, selector);
      },
      async writeVersion(secretId, input) {
        const out = await store.writeVersion(secretId, input);
        written = true;
        return out;
      },
    };
  }

  it("createSecret fills RotateSecret's empty AWSPENDING version (by name, as moto sends it); the four steps then promote it", async () => {
    const secret = await createManagedSecret(world, { rotateEvery: "30d", grace: "60s" });
    const name = (await world.store.describe(secret.arn)).name;
    const token = randomUUID();
    const ctx = rotationContext(world, { store: withEmptyPending(world.store, token) });
    const input = { secretId: name, token };

    const created = await createSecret(ctx, input);
    expect(created).toMatchObject({ versionId: token, how: "minted" });
    await setSecret(ctx, input);
    expect(await testSecret(ctx, input)).toEqual({ keyId: created.keyId });
    expect(await finishSecret(ctx, input)).toMatchObject({ promoted: true });

    // finishSecret leaves no AWSPENDING behind (moto refuses the next RotateSecret otherwise).
    expect(await labelledKeys(world, secret.arn)).toEqual({
      current: { versionId: token, keyId: created.keyId },
      previous: { versionId: secret.initialVersionId, keyId: secret.initialKeyId },
    });
    // Each step again, as a retried invocation would: nothing changes.
    expect(await createSecret(ctx, input)).toEqual({ ...created, how: "resumed" });
    expect(await finishSecret(ctx, input)).toEqual({ promoted: false });
    const { live, held } = await keyAccounting(world, secret);
    expect(live).toEqual(held);
    await expectCurrentWorks(world, secret.arn);
  });

  it("a step refuses a token that is not AWSPENDING, and changes nothing", async () => {
    const secret = await createManagedSecret(world, { rotateEvery: "30d" });
    const ctx = rotationContext(world);
    const input = { secretId: secret.arn, token: randomUUID() };
    await expect(testSecret(ctx, input)).rejects.toMatchObject({
      code: "ROTATOR_INTERRUPTED",
      step: "testSecret",
    });
    await expect(finishSecret(ctx, input)).rejects.toMatchObject({
      code: "ROTATOR_INTERRUPTED",
      step: "finishSecret",
    });
    await expect(setSecret(ctx, input)).rejects.toMatchObject({
      code: "ROTATOR_INTERRUPTED",
      step: "setSecret",
    });
    expect(await labelledKeys(world, secret.arn)).toEqual({
      current: { versionId: secret.initialVersionId, keyId: secret.initialKeyId },
    });
  });
});
