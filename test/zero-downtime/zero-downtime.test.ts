import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseKeyName } from "../../llamacloud/key-name";
import { RotatorEmitter, type RotatorEvents } from "../../rotator/events";
import { type RunOnceResult, runOnce } from "../../rotator/run-once";
import { GRACE_FLOOR_MS, STAGING_WINDOW_MS } from "../../rotator/services";
import { TAG_GRACE } from "../../secrets/tags";
import {
  createManagedSecret,
  expectCurrentWorks,
  labelledKeys,
  liveNamedKeys,
  type ManagedSecret,
  startWorld,
  testConfig,
  type World,
} from "../rotator/fixtures";
import { type Load, type ReaderSpec, startLoad } from "./load";

// The zero-downtime proof (issue 7): apps reading their key through the cached reader keep working
// while the rotator rotates it, because a key is revoked only after every reader has had a TTL to
// move on (DESIGN.md, invariants 2 and 3).
//
// Two clocks. The readers, the emulator and Secrets Manager run on real time: a reader's TTL is
// 200 ms of real time, and the emulator's revocation delay 300 ms of real time. The rotator decides
// on a clock of its own (its injected `now`): real time plus a gap, set per pass, so that it sees
// the current version as old enough to be due, or its predecessor as past grace, without the test
// waiting an hour. (The rotator keeps nothing between passes; every decision comes from Secrets
// Manager's version dates and that clock, so the gap can differ from pass to pass.)
//
// In production, grace (at least 60 s, default 2 h) is what stands between a promotion and the
// revocation of the key it displaced, and it must outlast the readers' TTL plus LlamaCloud's
// revocation delay plus a margin. Here the rotator's clock skips grace, so the REAL time the test
// waits between a promotion pass and the revoking pass plays the role of grace: GRACE_STAND_IN_MS,
// several reader TTLs plus the revocation delay. The counter-example shrinks that wait to nothing
// (`revokeNow`) while readers cache for 10 s, and the failures appear.

const HOUR = 3_600_000;
const REVOCATION_DELAY_MS = 300;
const READER_TTL_MS = 200;
/** The real wait between promotion and revocation: grace, scaled to the test's reader TTL. */
const GRACE_STAND_IN_MS = 5 * READER_TTL_MS + REVOCATION_DELAY_MS;
const ROTATIONS = 4;
const READERS_PER_SECRET = 4;
/** The secrets' grace tag: the floor the rotator accepts. */
const GRACE = "60s";
const GRACE_MS = GRACE_FLOOR_MS;
const ROTATE_EVERY = "1h";
/** Rotator clock for a promotion pass: the current version looks 2 h old, so it is due (every 1 h). */
const PROMOTE_GAP_MS = 2 * HOUR;
/**
 * Rotator clock for a revoking pass: past the displaced key's grace clock (created(current) + 5 min
 * staging window + 60 s grace), still short of the next due time (1 h), so the pass only revokes.
 */
const REVOKE_GAP_MS = STAGING_WINDOW_MS + GRACE_MS + 60_000;
/** Rotator clock for a pass inside grace (a daemon tick during the wait): 30 s short of the grace clock. */
const IN_GRACE_GAP_MS = STAGING_WINDOW_MS + GRACE_MS - 30_000;

let world: World;

beforeAll(async () => {
  // The emulator runs in this process: the test reads its key state (revokedAt) directly. The
  // store keeps the SDK's default retries: this test is about readers, not Secrets Manager faults.
  world = await startWorld("test-zero-downtime", { revocationDelayMs: REVOCATION_DELAY_MS }, 3);
});

afterAll(async () => {
  await world?.close();
});

/** A rotator wired to the world, its events recorded, deciding on real time plus `gapMs`. */
function rotator(secrets: ManagedSecret[]) {
  const events = new RotatorEmitter();
  const clock = { gapMs: 0 };
  const now = () => Date.now() + clock.gapMs;
  let passAt = Number.NaN;
  const promotions = new Map<string, RotatorEvents["rotation:promoted"] & { at: number }>();
  const revocations: (RotatorEvents["rotation:revoked"] & { passAt: number })[] = [];
  const failures: RotatorEvents["rotation:failed"][] = [];
  // The rotator's clock as the pass saw it when it began: every decision in the pass came later.
  events.on("pass:started", (e) => {
    passAt = Date.parse(e.at);
  });
  // Keyed by the key the promotion displaced; `at` is real time, the readers' clock.
  events.on("rotation:promoted", (e) => {
    if (e.previousKeyId !== undefined) promotions.set(e.previousKeyId, { ...e, at: Date.now() });
  });
  events.on("rotation:revoked", (e) => revocations.push({ ...e, passAt }));
  events.on("rotation:failed", (e) => failures.push(e));
  return {
    promotions,
    revocations,
    failures,
    async pass(gapMs: number, options: { revokeNow?: boolean; only?: ManagedSecret[] } = {}) {
      clock.gapMs = gapMs;
      return runOnce(
        testConfig({
          secrets: (options.only ?? secrets).map((s) => s.arn),
          revokeNow: options.revokeNow === true,
        }),
        { store: world.store, client: world.client, events, now, testRetryDelaysMs: [] },
      );
    },
  };
}

/** A pass's outcome for an assertion message: codes, messages and actions (no key material). */
function outcome(result: RunOnceResult): string {
  return JSON.stringify(result.results.map((r) => ({ ok: r.ok, error: r.error, actions: r.actions })));
}

/** Every key ever named for the secret (its project and environment), revoked ones included. */
function keysOf(secret: ManagedSecret) {
  return world.emulator.state.allKeys().filter((k) => {
    const parts = parseKeyName(k.name);
    return k.projectId === secret.projectId && parts?.environment === secret.environment;
  });
}

/** The keys of the secret the rotator has not revoked (the emulator's `live` lags by the revocation delay). */
function unrevokedKeyIds(secret: ManagedSecret): string[] {
  return keysOf(secret)
    .filter((k) => k.revokedAt === null)
    .map((k) => k.id)
    .sort();
}

function readersFor(secrets: ManagedSecret[], specs: Omit<ReaderSpec, "secretArn" | "projectId">[]) {
  return secrets.flatMap((s) => specs.map((spec) => ({ ...spec, secretArn: s.arn, projectId: s.projectId })));
}

function startAppLoad(readers: ReaderSpec[]): Load {
  return startLoad({ region: world.region, motoEndpoint: world.motoEndpoint, readers, paceMs: 10 });
}

describe("zero downtime: apps reading the key keep working through rotations", () => {
  it("a key is revoked only after every reader has had a TTL to move on: apps see zero authentication failures through rotations (invariants 2 and 3)", async () => {
    const started = performance.now();
    const secrets = [
      await createManagedSecret(world, { rotateEvery: ROTATE_EVERY, grace: GRACE }),
      await createManagedSecret(world, { rotateEvery: ROTATE_EVERY, grace: GRACE }),
    ];
    const rot = rotator(secrets);
    const load = startAppLoad(
      readersFor(
        secrets,
        Array.from({ length: READERS_PER_SECRET }, () => ({
          group: "withKey",
          mode: "withKey" as const,
          ttlMs: READER_TTL_MS,
        })),
      ),
    );
    try {
      await load.until(() => load.readers.every((r) => r.successes > 0), "every reader has a working key");
      for (let i = 0; i < ROTATIONS; i++) {
        const promoted = await rot.pass(PROMOTE_GAP_MS);
        expect(promoted.exitCode, outcome(promoted)).toBe(0);
        expect(promoted.results.map((r) => r.rotated)).toEqual([true, true]);
        for (const secret of secrets) expect(unrevokedKeyIds(secret)).toHaveLength(2);

        // Grace, in real time: every reader's cached key expires (TTL 200 ms) several times over,
        // and in-flight requests finish, before the displaced key is revoked. A pass halfway
        // through (a daemon tick) finds the key in grace by the rotator's clock and leaves it.
        await sleep(GRACE_STAND_IN_MS / 2);
        const inGrace = await rot.pass(IN_GRACE_GAP_MS);
        expect(inGrace.exitCode, outcome(inGrace)).toBe(0);
        expect(inGrace.results.map((r) => r.rotated)).toEqual([false, false]);
        for (const secret of secrets) expect(unrevokedKeyIds(secret)).toHaveLength(2);
        await sleep(GRACE_STAND_IN_MS / 2);

        const revoked = await rot.pass(REVOKE_GAP_MS);
        expect(revoked.exitCode, outcome(revoked)).toBe(0);
        expect(revoked.results.map((r) => r.rotated)).toEqual([false, false]);
        for (const secret of secrets) {
          const { current } = await labelledKeys(world, secret.arn);
          expect(unrevokedKeyIds(secret)).toEqual([current.keyId]);
        }
      }
      // A reader still holding a revoked key would fail once the revocation takes effect: keep the
      // load running until every reader has made a call after the last one did.
      const revokedAts = world.emulator.state
        .allKeys()
        .filter((k) => rot.revocations.some((r) => r.keyId === k.id))
        .map((k) => Date.parse(k.revokedAt ?? ""));
      const lastRevocationEffectiveAt = Math.max(...revokedAts) + REVOCATION_DELAY_MS;
      await load.until(
        () => load.readers.every((r) => r.lastCallStartedAt > lastRevocationEffectiveAt),
        "every reader has called after the last revocation took effect",
      );
    } finally {
      await load.stop();
    }
    const durationMs = Math.round(performance.now() - started);
    const totals = load.totals();

    // What the app saw: not one authentication failure, nothing else either.
    expect(load.readers.flatMap((r) => r.otherFailures)).toEqual([]);
    expect(totals.appAuthFailures).toBe(0);
    expect(rot.failures).toEqual([]);

    // Every displaced key was revoked, for grace, each after its successor's promotion.
    const allKeys = new Map(world.emulator.state.allKeys().map((k) => [k.id, k]));
    expect(rot.revocations).toHaveLength(ROTATIONS * secrets.length);
    let longestUseAfterPromotionMs = 0;
    for (const revocation of rot.revocations) {
      expect(revocation).toMatchObject({ reason: "grace-passed", alreadyRevoked: false });
      const successor = rot.promotions.get(revocation.keyId);
      expect(successor, `no promotion displaced ${revocation.keyId}`).toBeDefined();
      if (successor === undefined) continue;
      const key = allKeys.get(revocation.keyId)!;
      const revokedAt = Date.parse(key.revokedAt ?? "");
      // Real time: the revocation came at least the grace stand-in after the promotion.
      expect(revokedAt - successor.at, `key ${key.id}: promotion to revocation`).toBeGreaterThanOrEqual(
        GRACE_STAND_IN_MS,
      );
      // The rotator's clock: grace had passed by its own rule (created(successor) + 5 min + grace).
      const created = (
        await world.store.readPayload(revocation.secretArn, { versionId: successor.versionId })
      ).createdDate;
      expect(revocation.passAt).toBeGreaterThanOrEqual(created.getTime() + STAGING_WINDOW_MS + GRACE_MS);
      // The property itself: no reader sent a request with the key once it was revoked. Every
      // reader had moved on to the successor within about one TTL of the promotion.
      const use = load.keyUse.get(key.secret);
      expect(use, `key ${key.id} was never used by a reader`).toBeDefined();
      expect(
        use!.lastSentAt,
        `a reader sent key ${key.id} ${use!.lastSentAt - revokedAt} ms after its revocation`,
      ).toBeLessThan(revokedAt);
      longestUseAfterPromotionMs = Math.max(longestUseAfterPromotionMs, use!.lastSentAt - successor.at);
    }

    // Not vacuous: every reader used every key of its secret, across every rotation, successfully.
    for (const secret of secrets) {
      const keys = keysOf(secret);
      expect(keys).toHaveLength(ROTATIONS + 1);
      const readerIndexes = load.readers.flatMap((r, i) => (r.secretArn === secret.arn ? [i] : []));
      for (const key of keys) {
        const use = load.keyUse.get(key.secret);
        expect(use?.succeeded, `key ${key.id} never worked for a reader`).toBe(true);
        expect([...(use?.readers ?? [])].sort()).toEqual(readerIndexes);
      }
    }

    // The end state: one live key per secret, the one AWSCURRENT holds, and it works.
    for (const secret of secrets) {
      const { current } = await labelledKeys(world, secret.arn);
      const live = liveNamedKeys(world, secret);
      expect(live.length).toBeGreaterThanOrEqual(1);
      expect(live.length).toBeLessThanOrEqual(2);
      expect(live).toEqual([current.keyId]);
      await expectCurrentWorks(world, secret.arn);
    }

    console.info(
      `zero-downtime proof: ${JSON.stringify({
        ...totals,
        rotations: rot.promotions.size,
        revocations: rot.revocations.length,
        longestUseAfterPromotionMs,
        graceStandInMs: GRACE_STAND_IN_MS,
        readerTtlMs: READER_TTL_MS,
        durationMs,
      })}`,
    );
  });

  it("counter-example to invariant 3: with grace shorter than the readers' TTL, readers holding the displaced key fail (withKey masks it); hence the rotator refuses a grace below the floor", async () => {
    const started = performance.now();
    const secrets = [
      await createManagedSecret(world, { rotateEvery: ROTATE_EVERY, grace: GRACE }),
      await createManagedSecret(world, { rotateEvery: ROTATE_EVERY, grace: GRACE }),
    ];
    const rot = rotator(secrets);
    // Readers cache for 10 s; the rotator revokes the displaced key right after promotion
    // (`revokeNow`, the leaked-key path): a grace of zero, far below the TTL.
    const longTtlMs = 10_000;
    const load = startAppLoad(
      readersFor(secrets, [
        { group: "plain-get", mode: "get", ttlMs: longTtlMs },
        { group: "plain-get", mode: "get", ttlMs: longTtlMs },
        { group: "withKey", mode: "withKey", ttlMs: longTtlMs },
        { group: "withKey", mode: "withKey", ttlMs: longTtlMs },
      ]),
    );
    let warmAt = 0;
    let effectiveAt = 0;
    try {
      await load.until(() => load.readers.every((r) => r.successes > 0), "every reader has a working key");
      warmAt = Date.now();
      const result = await rot.pass(PROMOTE_GAP_MS, { revokeNow: true });
      expect(result.exitCode, outcome(result)).toBe(0);
      expect(result.results.map((r) => r.rotated)).toEqual([true, true]);
      expect(rot.revocations.map((r) => r.reason)).toEqual(["revoke-now", "revoke-now"]);
      const revokedAts = rot.revocations.map((r) =>
        Date.parse(world.emulator.state.allKeys().find((k) => k.id === r.keyId)?.revokedAt ?? ""),
      );
      effectiveAt = Math.max(...revokedAts) + REVOCATION_DELAY_MS;
      await load.until(
        () => load.readers.every((r) => r.lastCallStartedAt > effectiveAt),
        "every reader has called after the revocation took effect",
        8_000,
      );
    } finally {
      await load.stop();
    }
    // No wall-clock bound here (a loaded machine stretches any interval): the failures below already
    // show readers using a key revoked under them; how soon after warm-up that happened is reported.

    const plain = load.readers.filter((r) => r.group === "plain-get");
    const withKey = load.readers.filter((r) => r.group === "withKey");
    expect(load.readers.flatMap((r) => r.otherFailures)).toEqual([]);
    // Every app that keeps its cached key fails: the key it holds no longer authenticates.
    for (const r of plain) expect(r.appAuthFailures).toBeGreaterThan(0);
    // withKey saw the same 401s on the wire, refreshed, retried with the new AWSCURRENT key, and
    // its app saw none: a mitigation for a leaked key, not a licence for a short grace.
    for (const r of withKey) {
      expect(r.rawAuthFailures).toBeGreaterThan(0);
      expect(r.appAuthFailures).toBe(0);
    }

    // The guard: a grace below 60 s is refused, nothing minted, nothing relabelled. The rotator
    // cannot know the readers' TTL; it enforces the floor invariant 3 names (LlamaCloud's
    // revocation delay, up to a minute) and the default grace (2 h) covers the default TTL (5 min).
    // The full message is pinned in test/rotator/rotation.test.ts ("refuses a grace below 60 s").
    const [target] = secrets as [ManagedSecret, ManagedSecret];
    await world.store.tag(target.arn, { [TAG_GRACE]: "30s" });
    const labelsBefore = await labelledKeys(world, target.arn);
    const keysBefore = keysOf(target).map((k) => [k.id, k.revokedAt]);
    const refused = await rot.pass(PROMOTE_GAP_MS, { only: [target] });
    expect(refused.exitCode).toBe(1);
    expect(refused.results).toHaveLength(1);
    expect(refused.results[0]?.error?.code).toBe("ROTATOR_GRACE_TOO_SHORT");
    expect(refused.results[0]?.error?.message).toContain(
      `Tag ${TAG_GRACE} on secret ${target.arn} is "30s"; grace must be at least 60s`,
    );
    expect(await labelledKeys(world, target.arn)).toEqual(labelsBefore);
    expect(keysOf(target).map((k) => [k.id, k.revokedAt])).toEqual(keysBefore);
    await expectCurrentWorks(world, target.arn);

    const totals = (group: typeof plain) => ({
      calls: group.reduce((n, r) => n + r.calls, 0),
      requests: group.reduce((n, r) => n + r.requests, 0),
      successes: group.reduce((n, r) => n + r.successes, 0),
      rawAuthFailures: group.reduce((n, r) => n + r.rawAuthFailures, 0),
      appAuthFailures: group.reduce((n, r) => n + r.appAuthFailures, 0),
    });
    console.info(
      `zero-downtime counter-example: ${JSON.stringify({
        plainGet: totals(plain),
        withKey: totals(withKey),
        readerTtlMs: longTtlMs,
        revocationEffectiveAfterWarmMs: effectiveAt - warmAt,
        durationMs: Math.round(performance.now() - started),
      })}`,
    );
  });
});
