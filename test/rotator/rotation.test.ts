import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RotatorEmitter } from "../../rotator/events";
import { createMetrics } from "../../rotator/metrics";
import { processSecret } from "../../rotator/rotation";
import { runOnce } from "../../rotator/run-once";
import { STAGING_WINDOW_MS } from "../../rotator/services";
import { TAG_GRACE } from "../../secrets/tags";
import {
  createManagedSecret,
  eventsOf,
  expectCurrentWorks,
  keyAccounting,
  labelledKeys,
  liveNamedKeys,
  rotationContext,
  startWorld,
  testConfig,
  type World,
} from "./fixtures";

let world: World;

beforeAll(async () => {
  world = await startWorld("test-rotator-rotation");
});
afterAll(async () => {
  await world?.close();
});

const HOUR = 3_600_000;

describe("a rotation against the emulator and moto", () => {
  it("rotates a due secret: a tested new key becomes AWSCURRENT, the old one AWSPREVIOUS and still live (invariant 2)", async () => {
    const secret = await createManagedSecret(world, { rotateEvery: "1h" });
    const ctx = rotationContext(world, { now: () => Date.now() + 2 * HOUR });

    const result = await processSecret(ctx, secret.arn);

    expect(result).toMatchObject({ ok: true, rotated: true });
    const labels = await labelledKeys(world, secret.arn);
    expect(labels.previous).toEqual({ versionId: secret.initialVersionId, keyId: secret.initialKeyId });
    expect(labels.pending).toBeUndefined();
    expect(labels.current.keyId).not.toBe(secret.initialKeyId);
    await expectCurrentWorks(world, secret.arn);
    // The old key stays live for its grace: readers that cached it keep working.
    expect(liveNamedKeys(world, secret)).toEqual([secret.initialKeyId, labels.current.keyId].sort());
    // The template's order, each step once.
    const steps = eventsOf(ctx.log, "rotation:step")
      .filter((e) => e.phase === "end" && e.step !== "guard")
      .map((e) => e.step);
    expect(steps).toEqual(["createSecret", "setSecret", "testSecret", "finishSecret"]);
    const tested = eventsOf(ctx.log, "rotation:tested");
    const promoted = eventsOf(ctx.log, "rotation:promoted");
    expect(tested).toHaveLength(1);
    expect(promoted).toEqual([
      expect.objectContaining({
        versionId: labels.current.versionId,
        previousVersionId: secret.initialVersionId,
      }),
    ]);
    // Promotion happened only after the test (invariant 2).
    expect(ctx.log.findIndex((e) => e.event === "rotation:tested")).toBeLessThan(
      ctx.log.findIndex((e) => e.event === "rotation:promoted"),
    );
  });

  it("warns when grace is shorter than the shipped reader's default TTL + revocation delay (invariant 3), and only then", async () => {
    const short = await createManagedSecret(world, { rotateEvery: "1h", grace: "90s" });
    const long = await createManagedSecret(world, { rotateEvery: "1h", grace: "2h" });
    const ctx = rotationContext(world, { now: () => Date.now() + 2 * HOUR });

    await processSecret(ctx, short.arn);
    await processSecret(ctx, long.arn);

    const warnings = eventsOf(ctx.log, "warning");
    expect(warnings.map((w) => w.secretArn)).toEqual([short.arn]);
    expect(warnings[0]?.message).toContain("grace 90s is shorter than the key reader's default TTL (5m)");
    expect(warnings[0]?.message).toContain("at least 6m");
  });

  it("a pending key that fails its test is revoked and AWSPENDING cleared; AWSCURRENT is untouched (invariant 2)", async () => {
    const secret = await createManagedSecret(world, { rotateEvery: "1h" });
    const ctx = rotationContext(world, { now: () => Date.now() + 2 * HOUR });
    world.emulator.faults.add({ route: "GET /api/v1/projects/:id", kind: "status", status: 401, times: 1 });
    try {
      const result = await processSecret(ctx, secret.arn);
      expect(result.ok).toBe(false);
      expect(result.error).toMatchObject({ code: "ROTATOR_TEST_FAILED", step: "testSecret" });
      expect(result.error?.message).toMatch(/was revoked and AWSPENDING cleared; AWSCURRENT is untouched/);
    } finally {
      world.emulator.faults.clear();
    }
    const labels = await labelledKeys(world, secret.arn);
    expect(labels).toEqual({ current: { versionId: secret.initialVersionId, keyId: secret.initialKeyId } });
    expect(liveNamedKeys(world, secret)).toEqual([secret.initialKeyId]);
    const revoked = eventsOf(ctx.log, "rotation:revoked");
    expect(revoked).toEqual([expect.objectContaining({ reason: "test-failed", alreadyRevoked: false })]);
    await expectCurrentWorks(world, secret.arn);

    // The next pass uses a new token (versions are immutable) and succeeds.
    const again = await processSecret(ctx, secret.arn);
    expect(again).toMatchObject({ ok: true, rotated: true });
    const started = eventsOf(ctx.log, "rotation:started");
    expect(started.map((s) => s.attempt)).toEqual([0, 1]);
    const { live, held } = await keyAccounting(world, secret);
    expect(live).toEqual(held);
  });

  it("revokes the previous key exactly when grace has passed since it stopped being AWSCURRENT, not before (invariant 3)", async () => {
    const secret = await createManagedSecret(world, { rotateEvery: "30d", grace: "90s" });
    const clock = { now: Date.now() };
    const ctx = rotationContext(world, { now: () => clock.now });
    expect(await processSecret(ctx, secret.arn, { force: true })).toMatchObject({ ok: true, rotated: true });
    // When the new version was written (GetSecretValue's CreatedDate; moto's version list reports
    // one date for every version).
    const current = await world.store.readPayload(secret.arn, { stage: "AWSCURRENT" });
    const currentCreated = current.createdDate.getTime();
    const revokeAt = currentCreated + STAGING_WINDOW_MS + 90_000;

    clock.now = revokeAt - 1;
    const early = await processSecret(ctx, secret.arn);
    expect(early.ok).toBe(true);
    expect(eventsOf(ctx.log, "rotation:revoked"), JSON.stringify(early)).toEqual([]);
    expect(liveNamedKeys(world, secret)).toContain(secret.initialKeyId);

    clock.now = revokeAt;
    const onTime = await processSecret(ctx, secret.arn);
    expect(onTime.ok).toBe(true);
    expect(eventsOf(ctx.log, "rotation:revoked")).toEqual([
      expect.objectContaining({
        keyId: secret.initialKeyId,
        reason: "grace-passed",
        versionId: secret.initialVersionId,
      }),
    ]);
    const labels = await labelledKeys(world, secret.arn);
    expect(liveNamedKeys(world, secret)).toEqual([labels.current.keyId]);
    await expectCurrentWorks(world, secret.arn);

    // Re-running revokePrevious changes nothing: the key is gone from the list, nothing to pick.
    const rerun = await processSecret(ctx, secret.arn);
    expect(rerun.ok).toBe(true);
    expect(eventsOf(ctx.log, "rotation:revoked")).toHaveLength(1);
  });

  it("catches up after downtime: a secret overdue by several periods rotates once, then waits for grace", async () => {
    const secret = await createManagedSecret(world, { rotateEvery: "1h", grace: "1d" });
    // Down for five rotation periods; the pass at start sees it from Secrets Manager alone.
    const ctx = rotationContext(world, { now: () => Date.now() + 5 * HOUR });
    const first = await processSecret(ctx, secret.arn);
    const second = await processSecret(ctx, secret.arn);
    expect(first).toMatchObject({ ok: true, rotated: true });
    expect(second).toMatchObject({ ok: true, rotated: false });
    expect(eventsOf(ctx.log, "rotation:promoted")).toHaveLength(1);
    // Due again (5 h > 1 h), but the previous key is in grace: never three live keys.
    expect(second.actions.join("\n")).toMatch(/no rotation: previous key .* is in grace until/);
    expect(second.overdue?.why).toMatch(/in grace until/);
    expect(liveNamedKeys(world, secret)).toHaveLength(2);
  });

  it("--dry-run reports the plan and changes nothing in Secrets Manager or LlamaCloud", async () => {
    const secret = await createManagedSecret(world, { rotateEvery: "1h" });
    const ctx = rotationContext(world, { now: () => Date.now() + 2 * HOUR });
    // Ids and labels only: on moto, listVersions' createdDate is the time of the call (secrets/store.ts).
    const versions = async () =>
      (await world.store.listVersions(secret.arn)).map((v) => [v.versionId, v.stages]);
    const before = {
      versions: await versions(),
      keys: world.emulator.state.allKeys(),
      creates: world.emulator.requests("POST /api/v1/api-keys").length,
      deletes: world.emulator.requests("DELETE /api/v1/api-keys/:id").length,
    };
    const result = await processSecret(ctx, secret.arn, { dryRun: true, revokeNow: true });
    expect(result.ok).toBe(true);
    expect(result.rotated).toBe(false);
    expect(result.actions.join("\n")).toMatch(
      /would rotate \(due\): mint a key and stage it as version [0-9a-f-]{36}/,
    );
    expect(result.actions.join("\n")).toMatch(
      /would then revoke the displaced key .* at once \(revoke-now\)/,
    );
    expect(await versions()).toEqual(before.versions);
    expect(world.emulator.state.allKeys()).toEqual(before.keys);
    expect(world.emulator.requests("POST /api/v1/api-keys")).toHaveLength(before.creates);
    expect(world.emulator.requests("DELETE /api/v1/api-keys/:id")).toHaveLength(before.deletes);
  });

  it("refuses a grace below 60 s with a clear error and changes nothing (invariant 3)", async () => {
    const secret = await createManagedSecret(world, { rotateEvery: "1h" });
    await world.store.tag(secret.arn, { [TAG_GRACE]: "30s" });
    const ctx = rotationContext(world, { now: () => Date.now() + 2 * HOUR });
    const result = await processSecret(ctx, secret.arn, { force: true });
    expect(result.ok).toBe(false);
    expect(result.error?.code).toBe("ROTATOR_GRACE_TOO_SHORT");
    expect(result.error?.message.replaceAll(secret.arn, "<arn>")).toMatchInlineSnapshot(
      `"Tag llamacloud-keys:grace on secret <arn> is "30s"; grace must be at least 60s: LlamaCloud revocation can take up to a minute, and readers cache the key. Nothing was changed. Fix it: aws secretsmanager tag-resource --secret-id <arn> --tags Key=llamacloud-keys:grace,Value=2h"`,
    );
    expect(liveNamedKeys(world, secret)).toEqual([secret.initialKeyId]);
    expect(await world.store.listVersions(secret.arn)).toHaveLength(1);
  });

  it("--force while the previous key is in grace is refused (never three live keys); with --revoke-now it rotates and revokes the old key at once", async () => {
    const secret = await createManagedSecret(world, { rotateEvery: "30d" });
    const ctx = rotationContext(world);
    expect(await processSecret(ctx, secret.arn, { force: true })).toMatchObject({ ok: true, rotated: true });
    const afterFirst = await labelledKeys(world, secret.arn);

    const refused = await processSecret(ctx, secret.arn, { force: true });
    expect(refused.ok).toBe(false);
    expect(refused.error?.code).toBe("ROTATOR_PREVIOUS_IN_GRACE");
    expect(refused.error?.message).toMatch(
      new RegExp(`previous key ${secret.initialKeyId} of secret .* is in grace until .*add --revoke-now`),
    );
    expect(await labelledKeys(world, secret.arn)).toEqual(afterFirst);

    // A leaked key: rotate now and revoke every displaced key right after promotion.
    const leaked = await processSecret(ctx, secret.arn, { force: true, revokeNow: true });
    expect(leaked).toMatchObject({ ok: true, rotated: true });
    const labels = await labelledKeys(world, secret.arn);
    expect(labels.previous?.keyId).toBe(afterFirst.current.keyId);
    expect(liveNamedKeys(world, secret)).toEqual([labels.current.keyId]);
    const reasons = eventsOf(ctx.log, "rotation:revoked").map((r) => [r.keyId, r.reason]);
    expect(reasons).toEqual([
      [secret.initialKeyId, "revoke-now"],
      [afterFirst.current.keyId, "revoke-now"],
    ]);
    await expectCurrentWorks(world, secret.arn);
  });

  it("sweeps keys named for the secret that no version holds, once old enough, and never touches keys it did not name (invariant 4)", async () => {
    const secret = await createManagedSecret(world, { rotateEvery: "30d" });
    const prefix = `llamacloud-keys/${secret.projectId}/${secret.environment}/`;
    const orphan = await world.client.createApiKey({
      projectId: secret.projectId,
      name: `${prefix}00000000-0000-4000-8000-000000000001`,
    });
    const foreign = await world.client.createApiKey({
      projectId: secret.projectId,
      name: `${prefix}not-a-uuid`,
    });
    const other = await world.client.createApiKey({ projectId: secret.projectId, name: "someone-elses-key" });

    // Young: possibly another rotator (or pulumi up) about to write it. Left alone.
    const young = await processSecret(rotationContext(world), secret.arn);
    expect(young.ok).toBe(true);
    expect(young.actions.join("\n")).toContain(`left key ${orphan.key.id} alone until`);

    // Past the staging window on the wall clock: revoked; the others untouched.
    const ctx = rotationContext(world, { wallNow: () => Date.now() + STAGING_WINDOW_MS + 1_000 });
    const old = await processSecret(ctx, secret.arn);
    expect(old.ok).toBe(true);
    expect(eventsOf(ctx.log, "rotation:revoked")).toEqual([
      expect.objectContaining({ keyId: orphan.key.id, reason: "orphan" }),
    ]);
    const live = new Set(
      world.emulator.state
        .allKeys()
        .filter((k) => k.live)
        .map((k) => k.id),
    );
    expect(live.has(foreign.key.id)).toBe(true);
    expect(live.has(other.key.id)).toBe(true);
    expect(live.has(secret.initialKeyId)).toBe(true);
    await world.client.deleteApiKey(foreign.key.id);
    await world.client.deleteApiKey(other.key.id);
  });

  it("an ambiguous create (socket reset after the key was minted) is reconciled by name: the lost key is revoked, a new one staged", async () => {
    const secret = await createManagedSecret(world, { rotateEvery: "1h" });
    world.emulator.faults.add({ route: "POST /api/v1/api-keys", kind: "reset", times: 1 });
    const ctx = rotationContext(world, { now: () => Date.now() + 2 * HOUR });
    const result = await processSecret(ctx, secret.arn);
    expect(result).toMatchObject({ ok: true, rotated: true });
    expect(world.emulator.requests("POST /api/v1/api-keys").slice(-2)).toHaveLength(2);
    expect(eventsOf(ctx.log, "rotation:revoked")).toEqual([expect.objectContaining({ reason: "orphan" })]);
    const { live, held } = await keyAccounting(world, secret);
    expect(live).toEqual(held);
    await expectCurrentWorks(world, secret.arn);
  });

  it("a stale interrupted rotation is abandoned, not promoted (its grace clock would start too early)", async () => {
    const secret = await createManagedSecret(world, { rotateEvery: "1h" });
    const ctx = rotationContext(world, { now: () => Date.now() + 2 * HOUR });
    // Stage a key and stop before the test, as a crash would.
    const { readSecretState } = await import("../../rotator/state");
    const { createSecret } = await import("../../rotator/steps");
    const { nextToken } = await import("../../rotator/plan");
    const state = await readSecretState(ctx, secret.arn);
    const { token } = nextToken(state);
    const staged = await createSecret(ctx, { secretId: secret.arn, token });
    // Ten minutes later on the wall clock: too old to promote. (The clock returns to real time
    // once it is abandoned, so the fresh attempt is staged and promoted "at once".)
    const wall = { offsetMs: 10 * 60_000 };
    const later = rotationContext(world, {
      now: () => Date.now() + 2 * HOUR,
      wallNow: () => Date.now() + wall.offsetMs,
    });
    later.events.on("rotation:step", (e) => {
      if (e.step === "abandonPending" && e.phase === "end") wall.offsetMs = 0;
    });
    const result = await processSecret(later, secret.arn);
    expect(result.ok).toBe(true);
    expect(result.actions[0]).toMatch(new RegExp(`abandoned stale pending version ${token}`));
    expect(eventsOf(later.log, "rotation:revoked")).toEqual([
      expect.objectContaining({ keyId: staged.keyId, reason: "stale-pending" }),
    ]);
    // …and a fresh attempt (attempt 1) is staged, tested and promoted in the same pass.
    expect(eventsOf(later.log, "rotation:started")).toEqual([
      expect.objectContaining({ attempt: 1, reason: "due" }),
    ]);
    const { live, held } = await keyAccounting(world, secret);
    expect(live).toEqual(held);
    await expectCurrentWorks(world, secret.arn);
  });

  // rotator/README.md: the project-id and environment tags "must match the payload", and "a secret
  // whose payload names another host is refused, not rotated" (ROTATOR_SECRET_MISMATCH).
  it("refuses a secret whose payload names another LlamaCloud host or disagrees with its tags; nothing changes", async () => {
    const elsewhere = await createManagedSecret(world, {
      rotateEvery: "1h",
      baseUrl: "https://api.cloud.eu.llamaindex.ai",
    });
    const mistagged = await createManagedSecret(world, { rotateEvery: "1h" });
    await world.store.tag(mistagged.arn, { "llamacloud-keys:environment": "not-the-payloads" });
    const ctx = rotationContext(world, { now: () => Date.now() + 2 * HOUR });
    for (const [secret, says] of [
      [elsewhere, /holds a key for https:\/\/api\.cloud\.eu\.llamaindex\.ai, but the rotator talks to/],
      [mistagged, /the secret's tags say .* \/ not-the-payloads/],
    ] as const) {
      const keysBefore = world.emulator.state.allKeys().length;
      const result = await processSecret(ctx, secret.arn, { force: true });
      expect(result).toMatchObject({ ok: false, rotated: false, error: { code: "ROTATOR_SECRET_MISMATCH" } });
      expect(result.error?.message).toMatch(says);
      expect(await world.store.listVersions(secret.arn)).toHaveLength(1);
      expect(world.emulator.state.allKeys()).toHaveLength(keysBefore);
    }
  });

  // rotator/README.md, `--pass-deadline D`: "stop starting new steps after D (the step in flight
  // finishes)"; the pass is counted `abandoned` and the secret fails with ROTATOR_ABANDONED.
  it("the pass deadline lets the step in flight finish, starts no other, and the next run resumes there", async () => {
    const secret = await createManagedSecret(world, { rotateEvery: "1h", grace: "1d" });
    const now = () => Date.now() + 2 * HOUR;
    const events = new RotatorEmitter();
    const metrics = createMetrics(events);
    const deps = { store: world.store, client: world.client, now, events, testRetryDelaysMs: [] };
    // The mint is held, so createSecret is in flight when the 100 ms deadline passes.
    world.emulator.faults.add({ route: "POST /api/v1/api-keys", kind: "hold", times: 1 });
    const pass = runOnce(testConfig({ secrets: [secret.arn], passDeadlineMs: 100 }), deps);
    try {
      await world.emulator.faults.waitForHeld();
      // Registered after the deadline's timer and expiring later: it fires after the deadline has.
      await new Promise((resolve) => setTimeout(resolve, 300));
    } finally {
      world.emulator.faults.release();
      world.emulator.faults.clear();
    }
    const result = await pass;
    expect(result).toMatchObject({ exitCode: 1, abandoned: true });
    expect(result.results[0]).toMatchObject({
      ok: false,
      rotated: false,
      error: { code: "ROTATOR_ABANDONED", step: "setSecret" },
    });
    expect(metrics.render()).toMatch(/^llamacloud_keys_passes_total\{result="abandoned"\} 1$/m);
    metrics.detach();
    // createSecret finished: its key is staged under AWSPENDING, nothing was promoted.
    const staged = await labelledKeys(world, secret.arn);
    expect(staged.current.versionId).toBe(secret.initialVersionId);
    expect(staged.pending).toBeDefined();

    const resumed = await runOnce(testConfig({ secrets: [secret.arn] }), { ...deps, events: undefined });
    expect(resumed.exitCode, JSON.stringify(resumed.results)).toBe(0);
    const after = await labelledKeys(world, secret.arn);
    expect(after.current).toEqual(staged.pending);
    expect(after.pending).toBeUndefined();
    await expectCurrentWorks(world, secret.arn);
  });
});
