import { randomUUID } from "node:crypto";
import { inspect } from "node:util";
import { PutSecretValueCommand, type SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import { isSecretsError } from "../../secrets/errors";
import { createKeyReader, isAuthFailure, type KeyReader, type KeyReaderOptions } from "../../secrets/reader";
import type { SecretStore, StoreCallEvent } from "../../secrets/store";
import { motoCredentials } from "../harness/moto";
import { fakeApiKey, makePayload, motoStore, rawClient, uniqueName } from "./fixtures";

const region = "test-secrets-reader-1";
let store: SecretStore;
let raw: SecretsManagerClient;

beforeAll(() => {
  store = motoStore(region);
  raw = rawClient(region);
});

afterAll(() => {
  store.close();
  raw.destroy();
});

/** A secret whose AWSCURRENT holds `keys[0]`; each later key is rotated in (AWSPREVIOUS follows). */
async function secretWithKeys(...keys: string[]): Promise<{ arn: string; versions: string[] }> {
  const { arn } = await store.createSecret({ name: uniqueName("reader") });
  const versions: string[] = [];
  for (const [i, apiKey] of keys.entries()) {
    const token = randomUUID();
    await store.writeVersion(arn, {
      token,
      payload: makePayload({ apiKey }),
      stage: i === 0 ? "AWSCURRENT" : "AWSPENDING",
    });
    if (i > 0) await store.promote(arn, token);
    versions.push(token);
  }
  return { arn, versions };
}

async function rotate(arn: string, apiKey: string): Promise<string> {
  const token = randomUUID();
  await store.writeVersion(arn, { token, payload: makePayload({ apiKey }), stage: "AWSPENDING" });
  await store.promote(arn, token);
  return token;
}

interface Harness {
  reader: KeyReader;
  events: StoreCallEvent[];
  /** GetSecretValue calls so far. */
  gets(): number;
  clock: { now: number };
}

const open: KeyReader[] = [];
afterAll(() => {
  for (const reader of open) reader.close();
});

function makeReader(secretId: string, options: Partial<KeyReaderOptions> = {}): Harness {
  const events: StoreCallEvent[] = [];
  const clock = { now: 1_700_000_000_000 };
  const reader = createKeyReader({
    secretId,
    endpoint: inject("motoEndpoint"),
    credentials: motoCredentials,
    region,
    maxAttempts: 1,
    now: () => clock.now,
    random: () => 0,
    onCall: (event) => events.push(event),
    ...options,
  });
  open.push(reader);
  return {
    reader,
    events,
    clock,
    gets: () => events.filter((event) => event.operation === "GetSecretValue").length,
  };
}

class Unauthorized extends Error {
  readonly status = 401;
}

/** A stand-in for LlamaCloud: accepts only the keys in `valid`, answers 401 otherwise. */
function llamaCloud(valid: Set<string>) {
  const seen: string[] = [];
  const call = async (apiKey: string, baseUrl: string) => {
    seen.push(apiKey);
    if (!valid.has(apiKey)) throw new Unauthorized("Invalid API key");
    return { ok: true, baseUrl };
  };
  return { call, seen };
}

describe("get", () => {
  test("returns the AWSCURRENT key and its metadata; the key stays out of JSON, inspect and spread", async () => {
    const apiKey = fakeApiKey();
    const { arn, versions } = await secretWithKeys(apiKey);
    const { reader } = makeReader(arn);
    const reading = await reader.get();
    expect(reading.apiKey).toBe(apiKey);
    expect(reading).toMatchObject({
      baseUrl: "https://api.cloud.llamaindex.ai",
      environment: "prod",
      projectId: "3f1a2b4c-5d6e-4f70-8a91-b2c3d4e5f601",
      versionId: versions[0],
    });
    expect(JSON.parse(JSON.stringify(reading)).apiKey).toBe("[redacted]");
    expect(inspect(reading)).toContain("apiKey: '[redacted]'");
    expect(inspect(reading, { showHidden: true, depth: 5 })).not.toContain(apiKey);
    expect(`${JSON.stringify({ reading })} ${String(reading)}`).not.toContain(apiKey);
    expect({ ...reading }).not.toHaveProperty("apiKey");
    expect(Object.isFrozen(reading)).toBe(true);
  });

  test("TTL: the cache answers until the TTL ends, then Secrets Manager is asked again", async () => {
    const { arn } = await secretWithKeys(fakeApiKey());
    const { reader, gets, clock } = makeReader(arn, { ttl: "5m" });
    const first = await reader.get();
    expect(gets()).toBe(1);
    clock.now += 300_000 - 1;
    expect(await reader.get()).toBe(first);
    expect(gets()).toBe(1);
    clock.now += 1;
    // Same version: a refetch reuses the cached reading (versions are immutable).
    expect(await reader.get()).toBe(first);
    expect(gets()).toBe(2);
  });

  test("a rotation is seen once the TTL ends, not before", async () => {
    const oldKey = fakeApiKey();
    const newKey = fakeApiKey();
    const { arn } = await secretWithKeys(oldKey);
    const { reader, clock } = makeReader(arn, { ttl: 60_000 });
    expect((await reader.get()).apiKey).toBe(oldKey);
    const token = await rotate(arn, newKey);
    clock.now += 59_999;
    expect((await reader.get()).apiKey).toBe(oldKey);
    clock.now += 1;
    const fresh = await reader.get();
    expect(fresh.apiKey).toBe(newKey);
    expect(fresh.versionId).toBe(token);
  });

  test.each([0, 0.25, 0.5, 0.999])(
    "jitter only shortens the TTL, within [ttl × (1 − jitter), ttl] (random = %d)",
    async (r) => {
      const { arn } = await secretWithKeys(fakeApiKey());
      const ttl = 100_000;
      const { reader, gets, clock } = makeReader(arn, { ttl, jitter: 0.2, random: () => r });
      const start = clock.now;
      await reader.get();
      const lifetime = ttl * (1 - 0.2 * r);
      expect(lifetime).toBeGreaterThanOrEqual(ttl * 0.8);
      expect(lifetime).toBeLessThanOrEqual(ttl);
      clock.now = start + Math.ceil(lifetime) - 1;
      await reader.get();
      expect(gets()).toBe(1);
      clock.now = start + Math.ceil(lifetime);
      await reader.get();
      expect(gets()).toBe(2);
    },
  );

  test("1,000 concurrent cold get() calls make exactly one GetSecretValue", async () => {
    const apiKey = fakeApiKey();
    const { arn } = await secretWithKeys(apiKey);
    const { reader, gets } = makeReader(arn);
    const readings = await Promise.all(Array.from({ length: 1000 }, () => reader.get()));
    expect(gets()).toBe(1);
    expect(new Set(readings).size).toBe(1);
    expect(readings[0]?.apiKey).toBe(apiKey);
  });

  test("1,000 concurrent get() calls after the TTL share one refetch", async () => {
    const { arn } = await secretWithKeys(fakeApiKey());
    const { reader, gets, clock } = makeReader(arn, { ttl: 1_000 });
    await reader.get();
    clock.now += 1_000;
    await Promise.all(Array.from({ length: 1000 }, () => reader.get()));
    expect(gets()).toBe(2);
  });

  test("stale-on-error: serves the last key up to maxStale past its TTL, backing off, then throws", async () => {
    const apiKey = fakeApiKey();
    const { arn } = await secretWithKeys(apiKey);
    const { reader, gets, clock, events } = makeReader(arn, { ttl: 10_000, maxStale: 5_000 });
    const start = clock.now;
    await reader.get();
    await store.deleteSecret(arn, { recoveryWindowInDays: 7 }); // GetSecretValue now fails

    clock.now = start + 10_000; // TTL over: fetch fails, stale served
    expect((await reader.get()).apiKey).toBe(apiKey);
    expect(gets()).toBe(2);
    expect(events.filter((event) => event.operation === "GetSecretValue").at(-1)).toMatchObject({
      operation: "GetSecretValue",
      error: "SECRET_SCHEDULED_FOR_DELETION",
    });

    clock.now = start + 10_500; // within the 1 s backoff: no call
    expect((await reader.get()).apiKey).toBe(apiKey);
    expect(gets()).toBe(2);

    clock.now = start + 11_000; // backoff over: tries again (fails), next backoff 2 s
    expect((await reader.get()).apiKey).toBe(apiKey);
    expect(gets()).toBe(3);
    clock.now = start + 12_999;
    await reader.get();
    expect(gets()).toBe(3);
    clock.now = start + 13_000;
    await reader.get();
    expect(gets()).toBe(4);

    clock.now = start + 15_001; // 5,001 ms past the TTL: too stale
    const error = await reader.get().catch((e: unknown) => e);
    expect(isSecretsError(error, "SECRET_SCHEDULED_FOR_DELETION")).toBe(true);
    expect(String((error as Error).message)).not.toContain(apiKey);

    await store.restoreSecret(arn);
    clock.now = start + 30_000;
    expect((await reader.get()).apiKey).toBe(apiKey);
  });

  test("a cold reader with Secrets Manager failing throws, and backs off instead of hammering", async () => {
    const { reader, gets, clock } = makeReader(uniqueName("missing"));
    const first = await reader.get().catch((e: unknown) => e);
    expect(isSecretsError(first, "SECRET_NOT_FOUND")).toBe(true);
    expect(gets()).toBe(1);
    expect(await reader.get().catch((e: unknown) => e)).toBe(first);
    expect(gets()).toBe(1);
    clock.now += 1_000;
    await reader.get().catch(() => undefined);
    expect(gets()).toBe(2);
  });

  test("refresh() ignores the TTL and the backoff", async () => {
    const { arn } = await secretWithKeys(fakeApiKey());
    const { reader, gets } = makeReader(arn);
    await reader.get();
    const newKey = fakeApiKey();
    await rotate(arn, newKey);
    expect((await reader.refresh()).apiKey).toBe(newKey);
    expect(gets()).toBe(2);
  });

  test("a malformed AWSCURRENT is a clear error, never a partial value, even with a good value cached", async () => {
    const apiKey = fakeApiKey();
    const { arn } = await secretWithKeys(apiKey);
    await raw.send(
      new PutSecretValueCommand({
        SecretId: arn,
        SecretString: JSON.stringify({ apiKey: fakeApiKey(), format: 1 }),
      }),
    );
    const cold = makeReader(arn);
    const error = await cold.reader.get().catch((e: unknown) => e);
    expect(isSecretsError(error, "SECRET_MALFORMED_PAYLOAD")).toBe(true);
    expect((error as Error).message).toContain(`Secret ${arn} (version `);
    expect((error as Error).message).toContain("keyId: expected the LlamaCloud key id as a UUID");

    // Warm reader: the good key was cached, then AWSCURRENT turned malformed.
    const { arn: arn2 } = await secretWithKeys(apiKey);
    const warm = makeReader(arn2, { ttl: 1_000 });
    await warm.reader.get();
    await raw.send(new PutSecretValueCommand({ SecretId: arn2, SecretString: "not json" }));
    warm.clock.now += 1_000;
    const warmError = await warm.reader.get().catch((e: unknown) => e);
    expect(isSecretsError(warmError, "SECRET_MALFORMED_PAYLOAD")).toBe(true);
    expect(await warm.reader.get().catch((e: unknown) => e)).toBe(warmError); // backing off, still an error
  });

  test("close() releases the reader; later calls throw a clear error", async () => {
    const { arn } = await secretWithKeys(fakeApiKey());
    const { reader } = makeReader(arn);
    await reader.get();
    reader.close();
    await expect(reader.get()).rejects.toThrow(
      `The key reader for secret ${arn} was closed; create a new one.`,
    );
  });

  test("options are validated, naming the field", () => {
    expect(() => createKeyReader({ secretId: "s", ttl: "5 minutes" })).toThrow(
      /"ttl" must be a whole number/,
    );
    expect(() => createKeyReader({ secretId: "s", maxStale: -1 })).toThrow(/"maxStale" must be/);
    expect(() => createKeyReader({ secretId: "s", jitter: 1 })).toThrow(
      /"jitter" must be at least 0 and below 1/,
    );
    expect(() => createKeyReader({ secretId: "" })).toThrow(/"secretId" must be/);
  });

  test("sets no timers: nothing keeps a Lambda or a CLI alive", async () => {
    const { arn } = await secretWithKeys(fakeApiKey());
    const { reader, clock } = makeReader(arn, { ttl: 1_000 });
    const timers = () => process.getActiveResourcesInfo().filter((kind) => kind === "Timeout").length;
    const before = timers();
    await reader.get();
    clock.now += 1_000;
    await reader.get();
    expect(timers()).toBeLessThanOrEqual(before);
  });
});

// README ("For app developers") and KeyReaderOptions document these defaults: a cache that lives
// 5 minutes minus up to 10 % jitter, stale values served up to 15 minutes past it, and forced
// refreshes at most once per 5 seconds. The tests above pass each option explicitly.
describe("documented defaults", () => {
  // makeReader sets none of ttl, maxStale, jitter or minForcedRefreshInterval: only the random draw.
  const defaults = (r: number) => ({ random: () => r });

  test("ttl defaults to 5 minutes: cached until then, fetched again at 5 minutes (no jitter drawn)", async () => {
    const { arn } = await secretWithKeys(fakeApiKey());
    const { reader, gets, clock } = makeReader(arn, defaults(0));
    const start = clock.now;
    await reader.get();
    clock.now = start + 300_000 - 1;
    await reader.get();
    expect(gets()).toBe(1);
    clock.now = start + 300_000;
    await reader.get();
    expect(gets()).toBe(2);
  });

  test("jitter defaults to 10 %: the largest draw shortens the 5-minute TTL to no less than 4.5 minutes", async () => {
    const { arn } = await secretWithKeys(fakeApiKey());
    const { reader, gets, clock } = makeReader(arn, defaults(0.999_999));
    const start = clock.now;
    await reader.get();
    clock.now = start + 270_000 - 1;
    await reader.get();
    expect(gets()).toBe(1);
    clock.now = start + 270_001;
    await reader.get();
    expect(gets()).toBe(2);
  });

  test("maxStale defaults to 15 minutes past the TTL while Secrets Manager fails", async () => {
    const apiKey = fakeApiKey();
    const { arn } = await secretWithKeys(apiKey);
    const { reader, clock } = makeReader(arn, defaults(0));
    const start = clock.now;
    await reader.get();
    await store.deleteSecret(arn, { recoveryWindowInDays: 7 }); // GetSecretValue now fails
    clock.now = start + 300_000 + 900_000;
    expect((await reader.get()).apiKey).toBe(apiKey);
    clock.now += 1;
    const error = await reader.get().catch((e: unknown) => e);
    expect(isSecretsError(error, "SECRET_SCHEDULED_FOR_DELETION")).toBe(true);
    await store.restoreSecret(arn);
  });

  test("forced refreshes default to at most one per 5 seconds", async () => {
    const { arn } = await secretWithKeys(fakeApiKey());
    const { reader, gets, clock } = makeReader(arn);
    const cloud = llamaCloud(new Set());
    await reader.get();
    await expect(reader.withKey(cloud.call)).rejects.toBeInstanceOf(Unauthorized);
    const afterFirst = gets(); // AWSCURRENT again, then AWSPREVIOUS (none): it was the failing key
    expect(afterFirst).toBe(3);
    clock.now += 4_999;
    await expect(reader.withKey(cloud.call)).rejects.toBeInstanceOf(Unauthorized);
    expect(gets()).toBe(afterFirst);
    clock.now += 1;
    await expect(reader.withKey(cloud.call)).rejects.toBeInstanceOf(Unauthorized);
    expect(gets()).toBe(afterFirst + 2);
  });
});

describe("withKey", () => {
  test("passes the key and base URL; other failures pass through without a refresh", async () => {
    const apiKey = fakeApiKey();
    const { arn } = await secretWithKeys(apiKey);
    const { reader, gets } = makeReader(arn);
    expect(await reader.withKey(async (key, baseUrl) => `${key === apiKey}:${baseUrl}`)).toBe(
      "true:https://api.cloud.llamaindex.ai",
    );
    const boom = Object.assign(new Error("server error"), { status: 500 });
    await expect(reader.withKey(() => Promise.reject(boom))).rejects.toBe(boom);
    expect(gets()).toBe(1);
  });

  test("after AWSCURRENT moved, a 401 refreshes and retries once with the new key", async () => {
    const oldKey = fakeApiKey();
    const newKey = fakeApiKey();
    const { arn } = await secretWithKeys(oldKey);
    const { reader, gets } = makeReader(arn);
    await reader.get(); // cache holds the old key
    await rotate(arn, newKey); // ...and the old key is revoked early
    const cloud = llamaCloud(new Set([newKey]));
    expect(await reader.withKey(cloud.call)).toEqual({
      ok: true,
      baseUrl: "https://api.cloud.llamaindex.ai",
    });
    expect(cloud.seen).toEqual([oldKey, newKey]);
    expect(gets()).toBe(2);
    expect((await reader.get()).apiKey).toBe(newKey);
  });

  test("when AWSCURRENT is the key that failed, the retry uses AWSPREVIOUS", async () => {
    const goodKey = fakeApiKey();
    const badKey = fakeApiKey();
    const { arn } = await secretWithKeys(goodKey, badKey); // AWSCURRENT = bad, AWSPREVIOUS = good
    const { reader, events } = makeReader(arn);
    const cloud = llamaCloud(new Set([goodKey]));
    expect(await reader.withKey(cloud.call)).toMatchObject({ ok: true });
    expect(cloud.seen).toEqual([badKey, goodKey]);
    expect(events.map((event) => event.operation)).toEqual([
      "GetSecretValue",
      "GetSecretValue",
      "GetSecretValue",
    ]);
  });

  test("forced refreshes are rate-limited: a burst of 401s costs one refresh per interval", async () => {
    const apiKey = fakeApiKey();
    const { arn } = await secretWithKeys(apiKey);
    const { reader, gets, clock } = makeReader(arn, { minForcedRefreshInterval: "5s" });
    const cloud = llamaCloud(new Set());
    await reader.get();
    expect(gets()).toBe(1);

    const results = await Promise.allSettled(Array.from({ length: 50 }, () => reader.withKey(cloud.call)));
    expect(
      results.every((result) => result.status === "rejected" && result.reason instanceof Unauthorized),
    ).toBe(true);
    // One AWSCURRENT refresh, plus one AWSPREVIOUS look-up (there is none) because AWSCURRENT was the failing key.
    const afterBurst = gets();
    expect(afterBurst).toBe(3);

    clock.now += 4_999;
    await expect(reader.withKey(cloud.call)).rejects.toBeInstanceOf(Unauthorized);
    expect(gets()).toBe(afterBurst);
    clock.now += 1;
    await expect(reader.withKey(cloud.call)).rejects.toBeInstanceOf(Unauthorized);
    expect(gets()).toBe(afterBurst + 2);
  });

  test("a returned fetch Response with 401 is retried with the new key, and its body released", async () => {
    const oldKey = fakeApiKey();
    const newKey = fakeApiKey();
    const { arn } = await secretWithKeys(oldKey);
    const { reader } = makeReader(arn);
    await reader.get();
    await rotate(arn, newKey);
    let cancelled = 0;
    const response = await reader.withKey(async (key) => {
      const res = new Response(key === newKey ? "ok" : "unauthorized", {
        status: key === newKey ? 200 : 401,
      });
      const cancel = res.body?.cancel.bind(res.body);
      if (res.body && cancel) {
        res.body.cancel = (reason?: unknown) => {
          cancelled++;
          return cancel(reason);
        };
      }
      return res;
    });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("ok");
    expect(cancelled).toBe(1);
  });

  test("the key never appears in what withKey throws or in the reader's own errors", async () => {
    const apiKey = fakeApiKey();
    const { arn } = await secretWithKeys(apiKey);
    const { reader } = makeReader(arn);
    const error = await reader
      .withKey(async () => {
        throw Object.assign(new Error("Invalid API key"), { code: "LLAMACLOUD_AUTHENTICATION" });
      })
      .catch((e: unknown) => e);
    expect(inspect(error, { showHidden: true, depth: 10 })).not.toContain(apiKey);
    expect(inspect(reader, { showHidden: true, depth: 10 })).not.toContain(apiKey);
    expect(JSON.stringify(await reader.get())).not.toContain(apiKey);
  });
});

test.each([
  [{ status: 401 }, true],
  [{ status: 403 }, true],
  [{ statusCode: 401 }, true],
  [{ response: { status: 403 } }, true],
  [{ code: "LLAMACLOUD_AUTHENTICATION" }, true],
  [{ code: "LLAMACLOUD_PERMISSION" }, true],
  [new Response(null, { status: 401 }), true],
  [{ status: 404 }, false],
  [{ status: 500 }, false],
  [{ code: "ECONNRESET" }, false],
  [new Error("401"), false],
  ["401", false],
  [null, false],
])("isAuthFailure(%o) is %s", (value, expected) => {
  expect(isAuthFailure(value)).toBe(expected);
});
