import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_KEY_PREFIX, keyName, parseKeyName } from "../../llamacloud/key-name";
import { secretKeyPrefixes } from "../../llamacloud/key-ownership";
import type { ApiKeyInfo } from "../../llamacloud/schemas";
import { redacted } from "../../redaction";
import { processSecret } from "../../rotator/rotation";
import { STAGING_WINDOW_MS } from "../../rotator/services";
import type { SecretPayload } from "../../secrets/payload";
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

// Each ApiKey may set its own key-name prefix (`name`); the rotator's `--prefix` is only a fallback.
// The rotator reads a secret's prefix from its own key names, names rotated keys with it, and sweeps
// only keys named with a prefix it knows for that secret.

const projectId = "0f9c1a52-7d3e-4b8a-9c21-5e6f7a8b9c0d";
const environment = "prod";
const policy = { projectId, environment };

function payload(keyId: string, name: string): SecretPayload {
  return {
    format: 1,
    apiKey: redacted("llx-unused"),
    keyId,
    keyName: name,
    projectId,
    organizationId: null,
    environment,
    baseUrl: "https://api.cloud.llamaindex.ai",
    createdAt: "2025-01-31T12:00:00Z",
  };
}

function live(id: string, name: string | null): ApiKeyInfo {
  return { id, name, projectId, userId: "user", maskedKey: "llx-…abcd", createdAt: null, updatedAt: null };
}

describe("secretKeyPrefixes: where a secret's key-name prefix comes from", () => {
  const keyId = randomUUID();
  const ours = (prefix: string, env = environment, project = projectId) =>
    keyName(prefix, project, env, randomUUID());

  it.each([
    {
      case: "the current key's name carries a custom prefix: new keys keep it",
      payloadName: ours("checkout-api"),
      liveName: undefined,
      keyPrefix: "checkout-api",
      known: ["checkout-api"],
    },
    {
      case: "the key was renamed in place (pulumi `name` changed): the live name wins over the immutable payload",
      payloadName: ours("old-name"),
      liveName: ours("new-name"),
      keyPrefix: "new-name",
      known: ["new-name", "old-name"],
    },
    {
      case: "a hand-made first key: the configured prefix, and only it",
      payloadName: "hand-made",
      liveName: "hand-made",
      keyPrefix: "ops",
      known: ["ops"],
    },
    {
      case: "a name for another environment is not this secret's: the configured prefix",
      payloadName: ours("checkout-api", "staging"),
      liveName: undefined,
      keyPrefix: "ops",
      known: ["ops"],
    },
    {
      case: "a name for another project is not this secret's: the configured prefix",
      payloadName: ours("checkout-api", environment, randomUUID()),
      liveName: undefined,
      keyPrefix: "ops",
      known: ["ops"],
    },
  ])("$case", ({ payloadName, liveName, keyPrefix, known }) => {
    const liveKeys = liveName === undefined ? [] : [live(keyId, liveName)];
    const result = secretKeyPrefixes("ops", policy, liveKeys, payload(keyId, payloadName));
    expect(result.keyPrefix).toBe(keyPrefix);
    expect([...result.knownPrefixes].sort()).toEqual([...known].sort());
  });

  it("AWSPREVIOUS and AWSPENDING names add their prefixes; the configured one is not known unless it is the fallback", () => {
    const previousId = randomUUID();
    const result = secretKeyPrefixes(
      DEFAULT_KEY_PREFIX,
      policy,
      [live(previousId, ours("renamed-previous"))],
      payload(keyId, ours("checkout-api")),
      [payload(previousId, ours("before-rename")), undefined],
    );
    expect(result.keyPrefix).toBe("checkout-api");
    expect([...result.knownPrefixes].sort()).toEqual(["before-rename", "checkout-api", "renamed-previous"]);
    expect(result.knownPrefixes.has(DEFAULT_KEY_PREFIX)).toBe(false);
  });
});

let world: World;

beforeAll(async () => {
  world = await startWorld("test-rotator-prefix");
});
afterAll(async () => {
  await world?.close();
});

const HOUR = 3_600_000;

describe("a secret whose ApiKey set its own prefix, rotated by a rotator configured with the default one", () => {
  it("names the rotated key with the secret's prefix and sweeps its orphans, never keys of other prefixes", async () => {
    const secret = await createManagedSecret(world, { rotateEvery: "1h", keyPrefix: "checkout-api" });
    const named = (prefix: string, env = secret.environment) =>
      world.client.createApiKey({
        projectId: secret.projectId,
        name: keyName(prefix, secret.projectId, env, randomUUID()),
      });
    // A crash leftover of this secret (its own prefix, named after no version)…
    const orphan = await named("checkout-api");
    // …and keys this secret did not name: the configured (default) prefix for the same project and
    // environment (another secret's), its prefix for another environment, and a hand-made key.
    const otherSecrets = await named(DEFAULT_KEY_PREFIX);
    const otherEnvironment = await named("checkout-api", "other-env");
    const handMade = await world.client.createApiKey({
      projectId: secret.projectId,
      name: "someone-elses-key",
    });

    // The sweep, once the orphan is older than the staging window on the wall clock…
    const sweep = rotationContext(world, {
      prefix: DEFAULT_KEY_PREFIX,
      wallNow: () => Date.now() + STAGING_WINDOW_MS + 1_000,
    });
    const swept = await processSecret(sweep, secret.arn);
    expect(swept.error).toBeUndefined();
    expect(eventsOf(sweep.log, "rotation:revoked")).toEqual([
      expect.objectContaining({ keyId: orphan.key.id, reason: "orphan" }),
    ]);

    // …then a due rotation.
    const ctx = rotationContext(world, { prefix: DEFAULT_KEY_PREFIX, now: () => Date.now() + 2 * HOUR });
    const result = await processSecret(ctx, secret.arn);
    expect(result.error).toBeUndefined();
    expect(result).toMatchObject({ ok: true, rotated: true });
    const labels = await labelledKeys(world, secret.arn);
    const current = await world.store.readPayload(secret.arn, { versionId: labels.current.versionId });
    expect(parseKeyName(current.payload.keyName)).toEqual({
      prefix: "checkout-api",
      projectId: secret.projectId,
      environment: secret.environment,
      token: labels.current.versionId,
    });
    const liveKey = world.emulator.state.allKeys().find((k) => k.id === labels.current.keyId);
    expect(liveKey?.name).toBe(current.payload.keyName);
    expect(eventsOf(ctx.log, "rotation:revoked")).toEqual([]);

    const stillLive = new Set(
      world.emulator.state
        .allKeys()
        .filter((k) => k.live)
        .map((k) => k.id),
    );
    for (const untouched of [otherSecrets, otherEnvironment, handMade]) {
      expect(stillLive.has(untouched.key.id)).toBe(true);
    }
    // The keys named with the secret's prefix are exactly the ones its versions hold.
    const { live: liveNamed, held } = await keyAccounting(world, secret);
    expect(liveNamed).toEqual(held);
    await expectCurrentWorks(world, secret.arn);
    for (const extra of [otherSecrets, otherEnvironment, handMade])
      await world.client.deleteApiKey(extra.key.id);
  });
});
