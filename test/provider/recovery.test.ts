import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import type { LlamaCloudClient } from "../../llamacloud";
import { type EmulatorHandle, startEmulator } from "../../llamacloud/emulator";
import { parseKeyName } from "../../llamacloud/key-name";
import type { SecretStore } from "../../secrets/store";
import {
  adminClient,
  keyById,
  leakedSecrets,
  loadProvider,
  type ProviderUnderTest,
  projectIdOf,
  requireDist,
  stackConfig,
  storeFor,
  useMoto,
} from "./fixtures";

// DESIGN.md invariant 8 at the provider's level: what a killed `pulumi up` leaves (a secret without
// a value, a key minted but never written, a secret written but never recorded in state) is
// recognised by the next create of the same resource (same hidden `__identity`), which takes it
// over and revokes the dead attempt's stray keys, while secrets and keys of anybody else are refused
// or left alone exactly as before. The leftovers are built here with the real provider's own
// conventions; test/provider/kill.test.ts produces them by killing the real Pulumi CLI.

interface Identity {
  ownerDigest(identity: string, secretTarget: string): string;
  ownedToken(digest: string): string;
  tokenCarries(token: string, digest: string): boolean;
  keyNameCarries(name: string | null | undefined, digest: string, projectId: string, env: string): boolean;
}

const region = "test-provider-recovery";
let emulator: EmulatorHandle;
let provider: ProviderUnderTest;
let store: SecretStore;
let client: LlamaCloudClient;
let identity: Identity;

beforeAll(async () => {
  useMoto(region);
  emulator = await startEmulator();
  provider = loadProvider();
  identity = requireDist<Identity>("provider/identity.js");
  store = storeFor(region);
  client = adminClient(emulator);
});

beforeEach(async () => {
  await provider.configure(
    stackConfig({ "llamacloud:apiKey": emulator.adminKey, "llamacloud:baseUrl": emulator.url }),
  );
  emulator.faults.reset();
});

afterAll(async () => {
  store?.close();
  await client?.close();
  await emulator?.close();
});

async function checked(news: Record<string, unknown>, olds: Record<string, unknown> = {}) {
  const result = await provider.check(olds, news);
  expect(result.failures).toBeUndefined();
  return result.inputs;
}

async function codeOf(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    return { code: (error as { code?: string }).code ?? "(none)", message: (error as Error).message };
  }
  throw new Error("expected a rejection");
}

/** An `ApiKey`'s inputs as the class passes them: with its identity, as a program would. */
function program(environment: string, extra: Record<string, unknown> = {}) {
  return {
    projectName: "default",
    environment,
    secretName: `test/recovery/${randomUUID()}`,
    recoveryWindowInDays: 0,
    __identity: `organization/infra/dev/${environment}-${randomUUID().slice(0, 8)}`,
    ...extra,
  };
}

function ownerOf(inputs: Record<string, unknown>): string {
  const target =
    typeof inputs["secretId"] === "string" ? `id:${inputs["secretId"]}` : `name:${inputs["secretName"]}`;
  return identity.ownerDigest(inputs["__identity"] as string, target);
}

/** Keys of the project whose name is `<any prefix>/<projectId>/<environment>/<token>`. */
function keysFor(environment: string) {
  const projectId = projectIdOf(emulator, "default");
  return emulator.state.allKeys().filter((key) => {
    const parts = parseKeyName(key.name);
    return parts?.projectId === projectId && parts.environment === environment;
  });
}

/**
 * What a create killed after minting leaves: the secret it created (tags as prepareSecret writes
 * them, owner included) and a key named after its token, never written anywhere.
 */
async function deadAttemptBeforeWrite(inputs: Record<string, unknown>) {
  const projectId = projectIdOf(emulator, "default");
  const token = identity.ownedToken(ownerOf(inputs));
  const { arn } = await store.createSecret({
    name: inputs["secretName"] as string,
    tags: {
      "llamacloud-keys:project-id": projectId,
      "llamacloud-keys:environment": inputs["environment"] as string,
      "llamacloud-keys:owner": ownerOf(inputs),
    },
  });
  const minted = await client.createApiKey({
    projectId,
    name: `llamacloud-keys/${projectId}/${inputs["environment"]}/${token}`,
  });
  return { arn, token, keyId: minted.key.id };
}

describe("identity tokens", () => {
  test("a create token carries its owner and stays a key-name token (the rotator parses it unchanged)", () => {
    const digest = identity.ownerDigest("organization/infra/dev/a", "name:s");
    expect(digest).toMatch(/^[0-9a-f]{32}$/);
    const tokens = Array.from({ length: 50 }, () => identity.ownedToken(digest));
    expect(new Set(tokens).size).toBe(50);
    for (const token of tokens) {
      expect(token).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(identity.tokenCarries(token, digest)).toBe(true);
      const projectId = randomUUID();
      expect(parseKeyName(`p/${projectId}/prod/${token}`)).toEqual({
        prefix: "p",
        projectId,
        environment: "prod",
        token,
      });
    }
    const other = identity.ownerDigest("organization/infra/prod/a", "name:s");
    expect(identity.tokenCarries(tokens[0]!, other)).toBe(false);
    // Tokens of older provider versions and of the rotator (random version-4 uuids) never match.
    expect(identity.tokenCarries(randomUUID(), digest)).toBe(false);
  });

  test("another secret is another owner: a replacement into a new secret never claims the old one's keys", () => {
    const id = "organization/infra/dev/a";
    expect(identity.ownerDigest(id, "name:a")).not.toBe(identity.ownerDigest(id, "name:b"));
  });

  test("check makes tokens that carry the owner; diff ignores the hidden identity", async () => {
    const news = program("idcheck");
    const inputs = await checked(news);
    expect(identity.tokenCarries(inputs["__createToken"] as string, ownerOf(news))).toBe(true);
    // State written before identities existed (no __identity, a random token) shows no diff.
    const oldOuts = { __inputs: { ...news, __identity: undefined } };
    delete (oldOuts.__inputs as Record<string, unknown>)["__identity"];
    expect(await provider.diff("id", oldOuts, inputs)).toMatchObject({ changes: false, replaces: [] });
  });
});

describe("a create recognises its own earlier attempt", () => {
  test("secret created, key minted, never written: the rerun writes a new key and revokes the stray one", async () => {
    const news = program("nowrite");
    const dead = await deadAttemptBeforeWrite(news);
    const inputs = await checked(news); // a new token: the engine forgot the pending create
    expect(inputs["__createToken"]).not.toBe(dead.token);

    const { id, outs } = await provider.create(inputs);
    expect(id).toBe(dead.arn);
    expect(keyById(emulator, dead.keyId).revokedAt).not.toBeNull();
    const current = await store.readPayload(id, { stage: "AWSCURRENT" });
    expect(current.versionId).toBe(inputs["__createToken"]);
    expect(keyById(emulator, current.payload.keyId).live).toBe(true);
    expect(
      keysFor("nowrite")
        .filter((k) => k.live)
        .map((k) => k.id),
    ).toEqual([current.payload.keyId]);
    expect(await store.readTags(id)).toMatchObject({
      "llamacloud-keys:managed": "true",
      "llamacloud-keys:owner": ownerOf(news),
    });
    expect(leakedSecrets(emulator, JSON.stringify(outs))).toEqual([]);
    await provider.delete(id, outs);
  });

  test("secret written but never recorded: the rerun takes it over without minting, as if the first create had finished", async () => {
    const news = program("written");
    const first = await provider.create(await checked(news));
    // The engine never heard back: state has nothing. The retry gets a new token.
    const keysBefore = emulator.state.allKeys().length;
    const inputs = await checked(news);
    const second = await provider.create(inputs);
    expect(emulator.state.allKeys().length).toBe(keysBefore);
    expect(second.id).toBe(first.id);
    expect(second.outs).toEqual({ ...first.outs, __inputs: second.outs["__inputs"] });
    expect(keyById(emulator, first.outs["keyId"]).live).toBe(true);
    await provider.delete(second.id, second.outs);
    expect(keyById(emulator, first.outs["keyId"]).revokedAt).not.toBeNull();
  });

  test("an existing secretId secret written but not yet tagged: recognised by the key's name", async () => {
    const { arn } = await store.createSecret({ name: `test/recovery/${randomUUID()}` });
    const news = program("byname", { secretId: arn, secretName: undefined, recoveryWindowInDays: undefined });
    delete (news as Record<string, unknown>)["secretName"];
    delete (news as Record<string, unknown>)["recoveryWindowInDays"];
    const first = await provider.create(await checked(news));
    // Undo the tagging, as if the attempt died between PutSecretValue and TagResource.
    await store.untag(arn, [
      "llamacloud-keys:managed",
      "llamacloud-keys:owner",
      "llamacloud-keys:project-id",
      "llamacloud-keys:environment",
    ]);
    const second = await provider.create(await checked(news));
    expect(second.outs["keyId"]).toBe(first.outs["keyId"]);
    expect(await store.readTags(arn)).toMatchObject({
      "llamacloud-keys:managed": "true",
      "llamacloud-keys:owner": ownerOf(news),
    });
    await provider.delete(arn, second.outs);
    // Released on destroy: an existing secret loses every tag that claimed it.
    const tags = await store.readTags(arn);
    expect(tags["llamacloud-keys:owner"]).toBeUndefined();
    expect(tags["llamacloud-keys:managed"]).toBeUndefined();
  });

  test("the stray keys of several dead attempts go; keys a version holds stay, keys of others are untouched", async () => {
    const news = program("sweep");
    const projectId = projectIdOf(emulator, "default");
    const dead = await deadAttemptBeforeWrite(news);
    const secondStray = await client.createApiKey({
      projectId,
      name: `renamed/${projectId}/sweep/${identity.ownedToken(ownerOf(news))}`,
    });
    // Same project and environment, other owners: another stack's resource, the rotator, an old version.
    const others = await Promise.all(
      [identity.ownedToken(identity.ownerDigest("organization/infra/prod/y", "name:z")), randomUUID()].map(
        (token) => client.createApiKey({ projectId, name: `llamacloud-keys/${projectId}/sweep/${token}` }),
      ),
    );
    const { id, outs } = await provider.create(await checked(news));
    expect(keyById(emulator, dead.keyId).revokedAt).not.toBeNull();
    expect(keyById(emulator, secondStray.key.id).revokedAt).not.toBeNull();
    for (const other of others) expect(keyById(emulator, other.key.id).live).toBe(true);
    for (const other of others) await client.deleteApiKey(other.key.id);
    await provider.delete(id, outs);
  });
});

describe("anybody else's secret is refused as before", () => {
  test("a secret tagged for another owner with a live key: PROVIDER_SECRET_CONFLICT, the same message, nothing touched", async () => {
    const theirs = program("theirs");
    const created = await provider.create(await checked(theirs));
    const keysBefore = emulator.state.allKeys().filter((k) => k.live).length;
    // Another stack declares the same secret: same inputs, another identity.
    const mine = { ...theirs, __identity: `${theirs.__identity}-other-stack` };
    const failure = await codeOf(provider.create(await checked(mine)));
    expect(failure.code).toBe("PROVIDER_SECRET_CONFLICT");
    expect(failure.message).toBe(
      `Secret ${created.id} already holds live key ${created.outs["keyId"]} (version ${created.outs["versionId"]}): ` +
        `set "adopt: true" to take it over without minting, or choose another secret`,
    );
    expect(emulator.state.allKeys().filter((k) => k.live).length).toBe(keysBefore);
    expect((await store.readTags(created.id))["llamacloud-keys:owner"]).toBe(ownerOf(theirs));
    await provider.delete(created.id, created.outs);
  });

  test("two stacks, one secret: the first to write keeps it; the other is refused and leaves no key of its own live", async () => {
    const stackA = program("twostacks");
    const stackB = { ...stackA, __identity: `${stackA.__identity}-stack-b` };
    // Stack A's up was killed after creating the secret and minting; stack B then deploys.
    const dead = await deadAttemptBeforeWrite(stackA);
    const b = await provider.create(await checked(stackB));
    expect(b.id).toBe(dead.arn);
    expect((await store.readTags(b.id))["llamacloud-keys:owner"]).toBe(ownerOf(stackB));
    expect(keyById(emulator, dead.keyId).live).toBe(true); // not B's to revoke

    // Stack A recovers: refused with the usual message; its stray key goes, B's key stays.
    const failure = await codeOf(provider.create(await checked(stackA)));
    expect(failure.code).toBe("PROVIDER_SECRET_CONFLICT");
    expect(failure.message).toContain(`already holds live key ${b.outs["keyId"]}`);
    expect(keyById(emulator, dead.keyId).revokedAt).not.toBeNull();
    expect(keyById(emulator, b.outs["keyId"]).live).toBe(true);
    expect((await store.readPayload(b.id, { stage: "AWSCURRENT" })).payload.keyId).toBe(b.outs["keyId"]);
    await provider.delete(b.id, b.outs);
  });

  test("a secret without an owner tag whose key was not minted for us: refused as before", async () => {
    const old = program("legacy");
    delete (old as Record<string, unknown>)["__identity"]; // written by a provider version without identities
    const created = await provider.create(await checked(old));
    expect((await store.readTags(created.id))["llamacloud-keys:owner"]).toBeUndefined();
    const failure = await codeOf(
      provider.create(await checked({ ...old, __identity: "organization/infra/dev/legacy" })),
    );
    expect(failure.code).toBe("PROVIDER_SECRET_CONFLICT");
    expect(failure.message).toContain(`already holds live key ${created.outs["keyId"]}`);
    await provider.delete(created.id, created.outs);
  });
});

describe("state written by the previous provider version (no identity)", () => {
  test("refresh, rename and destroy of a resource created without __identity work; the rename adds the owner tag", async () => {
    const old = program("upgrade");
    delete (old as Record<string, unknown>)["__identity"];
    const oldInputs = await checked(old);
    const { id, outs } = await provider.create(oldInputs);
    expect((await provider.read(id, outs)).id).toBe(id);

    const news = { ...old, name: "renamed", __identity: "organization/infra/dev/upgrade" };
    const inputs = await checked(news, oldInputs);
    expect(inputs["__createToken"]).toBe(oldInputs["__createToken"]); // no replacement: same token
    const { outs: updated } = await provider.update(id, outs, inputs);
    expect(keyById(emulator, updated["keyId"]).name).toMatch(/^renamed\//);
    expect((await store.readTags(id))["llamacloud-keys:owner"]).toBe(ownerOf(news));
    await provider.delete(id, updated);
    expect(keyById(emulator, updated["keyId"]).revokedAt).not.toBeNull();
  });
});

describe("destroy is re-runnable", () => {
  test("a destroy that died after revoking, run again, converges: keys revoked, secret scheduled once", async () => {
    const news = program("redestroy", { recoveryWindowInDays: 7 });
    const { id, outs } = await provider.create(await checked(news));
    await client.deleteApiKey(outs["keyId"] as string); // the first run got this far
    await provider.delete(id, outs);
    const scheduled = await store.describe(id);
    expect(scheduled.deletedDate).toBeDefined();
    await provider.delete(id, outs); // and again, after the secret went pending deletion
    expect((await store.describe(id)).deletedDate).toEqual(scheduled.deletedDate);
    expect(keysFor("redestroy").filter((k) => k.live)).toEqual([]);
  });
});
