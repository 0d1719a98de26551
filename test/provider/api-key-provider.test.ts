import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import type { LlamaCloudClient } from "../../llamacloud";
import { type EmulatorHandle, startEmulator } from "../../llamacloud/emulator";
import { redacted } from "../../redaction";
import type { SecretStore } from "../../secrets/store";
import {
  adminClient,
  keyById,
  leakedSecrets,
  loadProvider,
  type ProviderUnderTest,
  projectIdOf,
  stackConfig,
  storeFor,
  useMoto,
} from "./fixtures";

// The provider's methods called directly, as the engine would after `configure`, against the
// LlamaCloud emulator and moto. Every test looks at both sides: what LlamaCloud holds (live and
// revoked keys) and what Secrets Manager holds (payload, versions, tags).

const region = "test-provider-methods";
let emulator: EmulatorHandle;
let provider: ProviderUnderTest;
let store: SecretStore;
let client: LlamaCloudClient;

beforeAll(async () => {
  useMoto(region);
  emulator = await startEmulator();
  provider = loadProvider();
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

/** Inputs after `check`, as the engine passes them to `create`. */
async function checked(news: Record<string, unknown>, olds: Record<string, unknown> = {}) {
  const result = await provider.check(olds, news);
  expect(result.failures).toBeUndefined();
  return result.inputs;
}

function uniqueSecretName(): string {
  return `test/provider/${randomUUID()}`;
}

async function codeOf(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    return { code: (error as { code?: string }).code ?? "(none)", message: (error as Error).message };
  }
  throw new Error("expected a rejection");
}

describe("check", () => {
  test("names each bad field and what it expects", async () => {
    const result = await provider.check(
      {},
      {
        projectId: "not-a-uuid",
        projectName: "search",
        environment: "Prod",
        name: "has/slash",
        secretId: "arn:aws:secretsmanager:us-east-1:1:secret:x",
        secretName: "also-given",
        recoveryWindowInDays: 3,
        rotation: { every: "30 days", grace: "2h" },
        tags: { "llamacloud-keys:managed": "false" },
        region: "ap",
        projectID: "typo",
      },
    );
    expect(result.failures).toMatchInlineSnapshot(`
      [
        {
          "property": "",
          "reason": ""projectId" must be the LlamaCloud project id (a UUID); given "not-a-uuid"",
        },
        {
          "property": "",
          "reason": ""environment" must be a short lowercase label: a letter, then up to 31 letters, digits or dashes, e.g. prod; given "Prod"",
        },
        {
          "property": "",
          "reason": ""name" must be 1-100 letters, digits, dots, underscores or dashes (no slashes), e.g. checkout-api; given "has/slash"",
        },
        {
          "property": "",
          "reason": ""tags" must not use the reserved prefixes llamacloud-keys: (set "rotation" instead) or aws:; given the key "llamacloud-keys:managed"",
        },
        {
          "property": "",
          "reason": ""recoveryWindowInDays" must be 0 (delete without recovery) or 7 to 30; given 3",
        },
        {
          "property": "",
          "reason": ""rotation.every" must be a whole number and one unit (d, h, m, s), e.g. 30d, 12h, 90m or 45s; given "30 days"",
        },
        {
          "property": "",
          "reason": ""region" must be "us" or "eu" (the public LlamaCloud deployments); given "ap"",
        },
        {
          "property": "",
          "reason": "unknown property "projectID": check the spelling against ApiKeyArgs; given "typo"",
        },
      ]
    `);
  });

  test("check names the object holding an unknown property and counts a project name's length in characters", async () => {
    const reasons = async (news: Record<string, unknown>) =>
      ((await provider.check({}, news)).failures ?? []).map((f) => f.reason);
    expect(
      await reasons({
        projectName: "search",
        environment: "prod",
        rotation: { every: "30d", grace: "2h", "": 1 },
      }),
    ).toMatchInlineSnapshot(`
      [
        ""rotation": unknown property "": check the spelling against ApiKeyArgs; given 1",
      ]
    `);
    // 3,000 emoji are 6,000 UTF-16 units; LlamaCloud (pydantic) counts 3,000 characters.
    expect(await reasons({ projectName: "🔑".repeat(3000), environment: "prod" })).toEqual([]);
    expect(await reasons({ projectName: "🔑".repeat(3001), environment: "prod" })).toHaveLength(1);
  });

  test("cross-field rules: one project reference, secretId excludes creation options, grace ≥ 60s", async () => {
    const reasons = async (news: Record<string, unknown>) =>
      ((await provider.check({}, news)).failures ?? []).map((f) => f.reason);
    expect(await reasons({ environment: "prod" })).toMatchInlineSnapshot(`
      [
        "exactly one of "projectId" and "projectName" must be set; neither is set",
      ]
    `);
    expect(
      await reasons({
        projectName: "search",
        environment: "prod",
        secretId: "my-secret",
        kmsKeyId: "alias/x",
        rotation: { every: "30d", grace: "30s" },
      }),
    ).toMatchInlineSnapshot(`
      [
        ""kmsKeyId" configures a secret the provider creates; it cannot be combined with "secretId" (an existing secret); given "alias/x"",
        ""rotation.grace" must be a duration of at least 60s, e.g. 2h: LlamaCloud revocation can take up to a minute; given "30s"",
      ]
    `);
    expect(
      await reasons({ projectName: "search", environment: "prod", rotation: { every: "1h", grace: "2h" } }),
    ).toMatchInlineSnapshot(`
      [
        ""rotation.every" must be longer than "rotation.grace" (2h), e.g. 30d: the previous key must be revoked before the next rotation; given "1h"",
      ]
    `);
  });

  test("inputs unknown during preview are not judged", async () => {
    const unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
    const result = await provider.check(
      {},
      { projectName: "search", environment: unknown, secretId: unknown },
    );
    expect(result.failures).toBeUndefined();
  });

  test("the create token is generated once, kept while the identity holds, renewed for a replacement", async () => {
    const news = { projectName: "search", environment: "prod" };
    const first = await checked(news);
    expect(first["__createToken"]).toMatch(/^[0-9a-f-]{36}$/);
    const renamed = await checked({ ...news, name: "renamed" }, first);
    expect(renamed["__createToken"]).toBe(first["__createToken"]);
    const moved = await checked({ ...news, environment: "staging" }, first);
    expect(moved["__createToken"]).not.toBe(first["__createToken"]);
  });
});

describe("diff", () => {
  const base = { projectName: "search", environment: "prod", name: "app", secretName: "s/search/prod" };
  const olds = { __inputs: base, keyId: "k", __provider: "old text" };

  test.each([
    [
      "nothing but the provider code and hidden inputs",
      { __provider: "new text", __createToken: randomUUID() },
      false,
      [],
    ],
    ["name → rename in place", { name: "other" }, true, []],
    ["rotation → retag in place", { rotation: { every: "30d", grace: "2h" } }, true, []],
    ["tags → retag in place", { tags: { team: "x" } }, true, []],
    ["environment → replace", { environment: "staging" }, true, ["environment"]],
    ["project → replace", { projectName: "default" }, true, ["projectName"]],
    ["secret target → replace", { secretName: "s/other" }, true, ["secretName"]],
  ])("%s", async (_label, change, changes, replaces) => {
    const result = await provider.diff("arn", olds, { ...base, ...change });
    expect(result.changes).toBe(changes);
    expect(result.replaces).toEqual(replaces);
  });

  test("a replacement into the same secret deletes the old key first; into another, creates first", async () => {
    expect((await provider.diff("arn", olds, { ...base, projectName: "default" })).deleteBeforeReplace).toBe(
      true,
    );
    expect((await provider.diff("arn", olds, { ...base, secretName: "s/other" })).deleteBeforeReplace).toBe(
      false,
    );
  });
});

describe("create, read, update, delete", () => {
  test("create mints a named key, writes it as AWSCURRENT under the create token, tags the secret; state holds no plaintext", async () => {
    const secretName = uniqueSecretName();
    const inputs = await checked({
      projectName: "search",
      environment: "prod",
      secretName,
      rotation: { every: "30d", grace: "2h" },
      tags: { team: "search" },
      recoveryWindowInDays: 0,
    });
    const token = inputs["__createToken"] as string;
    const { id, outs } = await provider.create(inputs);
    const projectId = projectIdOf(emulator, "search");

    expect(id).toBe(outs["secretArn"]);
    expect(outs).toMatchObject({
      keyName: `llamacloud-keys/${projectId}/prod/${token}`,
      projectId,
      organizationId: emulator.organizationId,
      secretName,
      versionId: token,
    });
    const key = keyById(emulator, outs["keyId"]);
    expect(key).toMatchObject({ live: true, projectId, name: outs["keyName"] });
    expect(outs["redactedKey"]).toBe(`llx-…${key.secret.slice(-4)}`);

    const stored = await store.readPayload(id, { stage: "AWSCURRENT" });
    expect(stored.versionId).toBe(token);
    expect(stored.payload.apiKey.reveal()).toBe(key.secret);
    expect(stored.payload).toMatchObject({ keyId: key.id, environment: "prod", baseUrl: emulator.url });
    expect(await store.readTags(id)).toEqual({
      team: "search",
      "llamacloud-keys:managed": "true",
      "llamacloud-keys:project-id": projectId,
      "llamacloud-keys:environment": "prod",
      "llamacloud-keys:rotate-every": "30d",
      "llamacloud-keys:grace": "2h",
    });
    expect(leakedSecrets(emulator, JSON.stringify(outs))).toEqual([]);

    // read: nothing changed, so nothing differs.
    const read = await provider.read(id, outs);
    expect(read).toEqual({ id, props: outs });

    // update: rename in place (same key), drop rotation and a tag.
    const news = await checked(
      { projectName: "search", environment: "prod", secretName, name: "search-api", recoveryWindowInDays: 0 },
      inputs,
    );
    expect(news["__createToken"]).toBe(token);
    const { outs: updated } = await provider.update(id, outs, news);
    expect(updated["keyId"]).toBe(key.id);
    expect(updated["keyName"]).toBe(`search-api/${projectId}/prod/${token}`);
    expect(keyById(emulator, key.id).name).toBe(updated["keyName"]);
    expect(await store.readTags(id)).toEqual({
      "llamacloud-keys:managed": "true",
      "llamacloud-keys:project-id": projectId,
      "llamacloud-keys:environment": "prod",
    });

    // delete: key revoked, secret (ours, recovery window 0) gone.
    await provider.delete(id, updated);
    expect(keyById(emulator, key.id).revokedAt).not.toBeNull();
    expect((await codeOf(store.describe(id))).code).toBe("SECRET_NOT_FOUND");
    // Deleting again (the engine retrying) counts as done.
    await provider.delete(id, updated);
  });

  test("create resolves a project by id and writes into an existing secret it then does not delete", async () => {
    const { arn } = await store.createSecret({ name: uniqueSecretName() });
    const inputs = await checked({
      projectId: projectIdOf(emulator, "default"),
      environment: "dev",
      secretId: arn,
    });
    const { outs } = await provider.create(inputs);
    expect(outs["__ownsSecret"]).toBe(false);
    await provider.delete(arn, outs);
    expect(keyById(emulator, outs["keyId"]).revokedAt).not.toBeNull();
    const after = await store.describe(arn);
    expect(after.deletedDate).toBeUndefined();
    // The rotator must not rotate a secret whose resource is gone.
    expect(after.tags["llamacloud-keys:managed"]).toBeUndefined();
    // README "destroy": "its management tags are removed" (all of them, and the owner tag).
    expect(Object.keys(after.tags).filter((tag) => tag.startsWith("llamacloud-keys:"))).toEqual([]);
  });

  test("re-running a create that already finished adopts its own key instead of minting another", async () => {
    const inputs = await checked({
      projectName: "default",
      environment: "rerun",
      secretName: uniqueSecretName(),
    });
    const first = await provider.create(inputs);
    const keysBefore = emulator.state.allKeys().length;
    const second = await provider.create(inputs);
    expect(second).toEqual(first);
    expect(emulator.state.allKeys().length).toBe(keysBefore);
    await provider.delete(first.id, first.outs);
  });

  test("a key minted by an attempt that died before writing is found by its token and revoked", async () => {
    const inputs = await checked({
      projectName: "default",
      environment: "crash",
      secretName: uniqueSecretName(),
    });
    const projectId = projectIdOf(emulator, "default");
    const orphan = await client.createApiKey({
      projectId,
      name: `llamacloud-keys/${projectId}/crash/${inputs["__createToken"]}`,
    });
    const { id, outs } = await provider.create(inputs);
    expect(keyById(emulator, orphan.key.id).revokedAt).not.toBeNull();
    expect(outs["keyId"]).not.toBe(orphan.key.id);
    expect(keyById(emulator, outs["keyId"]).live).toBe(true);
    await provider.delete(id, outs);
  });

  test("an ambiguous create (connection reset after the key was made) leaves no live key behind", async () => {
    emulator.faults.add({ route: "POST /api/v1/api-keys", kind: "reset" });
    const inputs = await checked({
      projectName: "default",
      environment: "ambig",
      secretName: uniqueSecretName(),
    });
    const failure = await codeOf(provider.create(inputs));
    expect(failure.code).toBe("LLAMACLOUD_NETWORK");
    const minted = emulator.state
      .allKeys()
      .filter((k) => k.name?.endsWith(inputs["__createToken"] as string));
    expect(minted).toHaveLength(1);
    expect(minted[0]!.revokedAt).not.toBeNull();
  });
});

// README "What `destroy` leaves": AWS's 30 days without recoveryWindowInDays, else that many days;
// provider/README: a change of recoveryWindowInDays is applied in place and used at destroy.
describe("destroy's recovery window", () => {
  const daysUntil = (date: Date | undefined) =>
    Math.round(((date?.getTime() ?? 0) - Date.now()) / 86_400_000);

  test("no recoveryWindowInDays: the secret is scheduled for deletion in 30 days", async () => {
    const { id, outs } = await provider.create(
      await checked({ projectName: "default", environment: "window", secretName: uniqueSecretName() }),
    );
    await provider.delete(id, outs);
    expect(keyById(emulator, outs["keyId"]).revokedAt).not.toBeNull();
    expect(daysUntil((await store.describe(id)).deletedDate)).toBe(30);
  });

  test("recoveryWindowInDays set by an update (no replacement) is the window destroy uses", async () => {
    const args = { projectName: "default", environment: "window", secretName: uniqueSecretName() };
    const inputs = await checked(args);
    const { id, outs } = await provider.create(inputs);
    const news = await checked({ ...args, recoveryWindowInDays: 7 }, inputs);
    expect(await provider.diff(id, outs, news)).toMatchObject({ changes: true, replaces: [] });
    const { outs: updated } = await provider.update(id, outs, news);
    expect(updated["keyId"]).toBe(outs["keyId"]);
    await provider.delete(id, updated);
    expect(daysUntil((await store.describe(id)).deletedDate)).toBe(7);
  });
});

describe("failure after minting", () => {
  test("the secret vanishes while the key is being minted: the minted key is revoked before the error", async () => {
    const { arn } = await store.createSecret({ name: uniqueSecretName() });
    const inputs = await checked({ projectName: "default", environment: "rollback", secretId: arn });
    emulator.faults.add({ route: "POST /api/v1/api-keys", kind: "hold", when: "before-response" });
    const creating = codeOf(provider.create(inputs));
    await emulator.faults.waitForHeld(1);
    await store.deleteSecret(arn, { recoveryWindowInDays: 7 });
    emulator.faults.release();
    const failure = await creating;

    const minted = emulator.state
      .allKeys()
      .filter((k) => k.name?.endsWith(inputs["__createToken"] as string));
    expect(minted).toHaveLength(1);
    expect(minted[0]!.revokedAt).not.toBeNull();
    expect(failure.code).toBe("PROVIDER_CREATE_ROLLED_BACK");
    expect(failure.message).toContain(`the key ${minted[0]!.id} minted for it was revoked`);
    expect(leakedSecrets(emulator, failure.message)).toEqual([]);
  });

  // provider/README "Errors": PROVIDER_KEY_LEAKED when revoking after a failure also failed; the
  // message names the key id to revoke, and no key material.
  test("the write fails and so does the revocation: PROVIDER_KEY_LEAKED names the key id to revoke", async () => {
    const { arn } = await store.createSecret({ name: uniqueSecretName() });
    const inputs = await checked({ projectName: "default", environment: "leaked", secretId: arn });
    emulator.faults.add({ route: "POST /api/v1/api-keys", kind: "hold", when: "before-response" });
    emulator.faults.add({
      route: "DELETE /api/v1/api-keys/:id",
      kind: "status",
      status: 403,
      times: "always",
    });
    const creating = codeOf(provider.create(inputs));
    await emulator.faults.waitForHeld(1);
    await store.deleteSecret(arn, { recoveryWindowInDays: 7 });
    emulator.faults.release();
    const failure = await creating;
    emulator.faults.reset();

    const minted = emulator.state
      .allKeys()
      .filter((k) => k.name?.endsWith(inputs["__createToken"] as string));
    expect(minted).toHaveLength(1);
    expect(minted[0]!.revokedAt).toBeNull();
    expect(failure.code).toBe("PROVIDER_KEY_LEAKED");
    expect(failure.message).toContain(`revoke key ${minted[0]!.id} in LlamaCloud`);
    expect(leakedSecrets(emulator, failure.message)).toEqual([]);
    await client.deleteApiKey(minted[0]!.id);
  });

  test("a secret created by this create is deleted again when the write fails", async () => {
    const secretName = uniqueSecretName();
    const inputs = await checked({ projectName: "default", environment: "rollback2", secretName });
    emulator.faults.add({ route: "POST /api/v1/api-keys", kind: "hold", when: "before-response" });
    const creating = codeOf(provider.create(inputs));
    await emulator.faults.waitForHeld(1);
    // Another tool writes its own value first: the store refuses to bury it under ours.
    const { SecretsManagerClient, PutSecretValueCommand } = await import("@aws-sdk/client-secrets-manager");
    const raw = new SecretsManagerClient({});
    await raw.send(new PutSecretValueCommand({ SecretId: secretName, SecretString: "not ours" }));
    raw.destroy();
    emulator.faults.release();
    const failure = await creating;

    expect(failure.code).toBe("PROVIDER_CREATE_ROLLED_BACK");
    expect(failure.message).toContain(`the secret ${secretName} created for it was deleted`);
    expect((await codeOf(store.describe(secretName))).code).toBe("SECRET_NOT_FOUND");
    const minted = emulator.state
      .allKeys()
      .filter((k) => k.name?.endsWith(inputs["__createToken"] as string));
    expect(minted.map((k) => k.revokedAt !== null)).toEqual([true]);
  });
});

describe("credentials", () => {
  test("missing credentials: the error says which config key or variable to set", async () => {
    await provider.configure(stackConfig({}));
    const inputs = await checked({ projectName: "default", environment: "prod" });
    const failure = await codeOf(provider.create(inputs));
    expect(failure.code).toBe("PROVIDER_MISSING_CREDENTIALS");
    expect(failure.message).toMatchInlineSnapshot(
      `"No LlamaCloud API key for the llamacloud-keys provider. Set one with \`pulumi config set --secret llamacloud:apiKey <key>\` or the environment variable LLAMA_CLOUD_API_KEY; point at another host with \`pulumi config set llamacloud:baseUrl <url>\` or LLAMA_CLOUD_BASE_URL. The key must be able to create and revoke keys in the projects you declare."`,
    );
  });

  test("the environment is the fallback when stack config has no key", async () => {
    process.env["LLAMA_CLOUD_API_KEY"] = emulator.adminKey;
    process.env["LLAMA_CLOUD_BASE_URL"] = emulator.url;
    try {
      await provider.configure(stackConfig({}));
      const inputs = await checked({
        projectName: "default",
        environment: "envkey",
        secretName: uniqueSecretName(),
      });
      const { id, outs } = await provider.create(inputs);
      expect(keyById(emulator, outs["keyId"]).live).toBe(true);
      await provider.delete(id, outs);
    } finally {
      delete process.env["LLAMA_CLOUD_API_KEY"];
      delete process.env["LLAMA_CLOUD_BASE_URL"];
    }
  });
});

describe("secrets that already exist", () => {
  test("a secret left pending deletion by our own destroy is restored and reused", async () => {
    const secretName = uniqueSecretName();
    const first = await provider.create(
      await checked({ projectName: "default", environment: "again", secretName }),
    );
    await provider.delete(first.id, first.outs); // AWS's default recovery window
    expect((await store.describe(first.id)).deletedDate).toBeDefined();

    const second = await provider.create(
      await checked({ projectName: "default", environment: "again", secretName }),
    );
    expect(second.id).toBe(first.id);
    const description = await store.describe(second.id);
    expect(description.deletedDate).toBeUndefined();
    expect(description.currentVersionId).toBe(second.outs["versionId"]);
    expect(keyById(emulator, second.outs["keyId"]).live).toBe(true);
    await provider.delete(second.id, { ...second.outs, __inputs: { recoveryWindowInDays: 0 } });
  });

  test("a secret pending deletion that is not ours is refused before anything is minted", async () => {
    const secretName = uniqueSecretName();
    await store.createSecret({ name: secretName });
    await store.deleteSecret(secretName, { recoveryWindowInDays: 7 });
    const keysBefore = emulator.state.allKeys().length;
    const failure = await codeOf(
      provider.create(await checked({ projectName: "default", environment: "prod", secretName })),
    );
    expect(failure.code).toBe("PROVIDER_SECRET_CONFLICT");
    expect(failure.message).toContain("was not deleted by llamacloud-keys");
    expect(emulator.state.allKeys().length).toBe(keysBefore);
  });

  test("adopt: a secret holding a live key is refused without adopt and taken over with it, no mint", async () => {
    const projectId = projectIdOf(emulator, "search");
    const secretName = uniqueSecretName();
    const existing = await client.createApiKey({ projectId, name: "hand-made" });
    await store.createSecret({ name: secretName });
    const written = await store.writeVersion(secretName, {
      token: randomUUID(),
      stage: "AWSCURRENT",
      payload: {
        format: 1,
        apiKey: redacted(existing.secret.reveal()),
        keyId: existing.key.id,
        keyName: "hand-made",
        projectId,
        organizationId: emulator.organizationId,
        environment: "prod",
        baseUrl: emulator.url,
        createdAt: new Date().toISOString(),
      },
    });
    const args = { projectName: "search", environment: "prod", secretName };

    const refused = await codeOf(provider.create(await checked(args)));
    expect(refused.code).toBe("PROVIDER_SECRET_CONFLICT");
    expect(refused.message).toContain('set "adopt: true"');

    const wrongEnv = await codeOf(
      provider.create(await checked({ ...args, environment: "dev", adopt: true })),
    );
    expect(wrongEnv.code).toBe("PROVIDER_ADOPT_MISMATCH");

    const keysBefore = emulator.state.allKeys().length;
    const { id, outs } = await provider.create(await checked({ ...args, adopt: true }));
    expect(emulator.state.allKeys().length).toBe(keysBefore);
    expect(outs).toMatchObject({ keyId: existing.key.id, versionId: written.versionId, __ownsSecret: true });
    expect((await store.readTags(id))["llamacloud-keys:managed"]).toBe("true");
    await provider.delete(id, { ...outs, __inputs: { recoveryWindowInDays: 0 } });
    expect(keyById(emulator, existing.key.id).revokedAt).not.toBeNull();
  });

  // provider/README "Adopting an existing key": a value that is not a llamacloud-keys payload is
  // refused; with no value, or a key no longer live, there is nothing to take over and the create
  // mints into the secret; a secret adopted by name is the resource's, deleted by its destroy.
  test("adopt: a foreign value is refused; an empty secret or a revoked key gets a new key", async () => {
    const { SecretsManagerClient, PutSecretValueCommand } = await import("@aws-sdk/client-secrets-manager");
    const foreign = uniqueSecretName();
    await store.createSecret({ name: foreign });
    const raw = new SecretsManagerClient({});
    await raw.send(new PutSecretValueCommand({ SecretId: foreign, SecretString: "not ours" }));
    raw.destroy();
    const keysBefore = emulator.state.allKeys().length;
    const refused = await codeOf(
      provider.create(
        await checked({ projectName: "search", environment: "prod", secretName: foreign, adopt: true }),
      ),
    );
    expect(refused.code).toBe("SECRET_MALFORMED_PAYLOAD");
    expect(emulator.state.allKeys().length).toBe(keysBefore);
    expect((await store.describe(foreign)).currentVersionId).toBeDefined();

    const empty = uniqueSecretName();
    await store.createSecret({ name: empty });
    const first = await provider.create(
      await checked({ projectName: "search", environment: "prod", secretName: empty, adopt: true }),
    );
    expect(keyById(emulator, first.outs.keyId).revokedAt).toBeNull();
    // Its key revoked by hand: the next adopting create mints again, into the same secret.
    await client.deleteApiKey(String(first.outs.keyId));
    const second = await provider.create(
      await checked({ projectName: "search", environment: "prod", secretName: empty, adopt: true }),
    );
    expect(second.id).toBe(first.id);
    expect(second.outs.keyId).not.toBe(first.outs.keyId);
    expect(keyById(emulator, second.outs.keyId).revokedAt).toBeNull();
    await provider.delete(second.id, { ...second.outs, __inputs: { recoveryWindowInDays: 0 } });
    expect(keyById(emulator, second.outs.keyId).revokedAt).not.toBeNull();
    expect((await codeOf(store.describe(empty))).code).toBe("SECRET_NOT_FOUND");
  });
});

describe("refresh follows AWSCURRENT", () => {
  // provider/README: "Operations on existing secrets use the region in the secret's ARN, so state
  // keeps working if AWS_REGION changes later."
  test("refresh, update and destroy find the secret by its ARN's region after AWS_REGION changed", async () => {
    const { id, outs } = await provider.create(
      await checked({ projectName: "default", environment: "moved", secretName: uniqueSecretName() }),
    );
    expect(id).toContain(`:secretsmanager:${region}:`);
    process.env["AWS_REGION"] = `${region}-elsewhere`;
    // moto keeps regions apart: by name, the new region does not have the secret.
    const elsewhere = storeFor(`${region}-elsewhere`);
    expect((await codeOf(elsewhere.describe(String(outs["secretName"])))).code).toBe("SECRET_NOT_FOUND");
    elsewhere.close();
    try {
      const read = await provider.read(id, outs);
      expect(read).toMatchObject({ id, props: { keyId: outs["keyId"] } });
      const news = { ...(outs["__inputs"] as object), tags: { team: "moved" } };
      await provider.update(id, read.props!, await checked(news, read.props!));
      expect((await store.readTags(id))["team"]).toBe("moved");
      await provider.delete(id, { ...read.props!, __inputs: { recoveryWindowInDays: 0 } });
    } finally {
      process.env["AWS_REGION"] = region;
    }
    expect(keyById(emulator, outs["keyId"]).revokedAt).not.toBeNull();
    expect((await codeOf(store.describe(id))).code).toBe("SECRET_NOT_FOUND");
  });

  test("a rotation is not drift; delete revokes the current and the previous key", async () => {
    const { id, outs } = await provider.create(
      await checked({ projectName: "default", environment: "rotated", secretName: uniqueSecretName() }),
    );
    // Rotate as the rotator does: mint, stage AWSPENDING, promote.
    const projectId = projectIdOf(emulator, "default");
    const token = randomUUID();
    const next = await client.createApiKey({
      projectId,
      name: `llamacloud-keys/${projectId}/rotated/${token}`,
    });
    const current = await store.readPayload(id, { stage: "AWSCURRENT" });
    await store.writeVersion(id, {
      token,
      stage: "AWSPENDING",
      payload: { ...current.payload, apiKey: next.secret, keyId: next.key.id, keyName: next.key.name! },
    });
    await store.promote(id, token);

    const read = await provider.read(id, outs);
    expect(read.id).toBe(id);
    expect(read.props).toMatchObject({ keyId: next.key.id, versionId: token, keyName: next.key.name });
    expect(read.props!["__inputs"]).toEqual(outs["__inputs"]);
    // The engine diffs new inputs against refreshed outputs: still nothing to do.
    const inputs = { ...(outs["__inputs"] as object), __createToken: randomUUID() };
    expect((await provider.diff(id, read.props!, inputs)).changes).toBe(false);

    await provider.delete(id, { ...read.props!, __inputs: { recoveryWindowInDays: 0 } });
    expect(keyById(emulator, outs["keyId"]).revokedAt).not.toBeNull();
    expect(keyById(emulator, next.key.id).revokedAt).not.toBeNull();
  });

  // provider/README "Errors": PROVIDER_KEY_GONE, an update of a resource whose key is gone.
  test("renaming a key revoked out of band: PROVIDER_KEY_GONE, which says to run pulumi refresh", async () => {
    const args = { projectName: "default", environment: "gone", secretName: uniqueSecretName() };
    const inputs = await checked(args);
    const { id, outs } = await provider.create(inputs);
    await client.deleteApiKey(outs["keyId"] as string);
    const failure = await codeOf(
      provider.update(id, outs, await checked({ ...args, name: "renamed" }, inputs)),
    );
    expect(failure.code).toBe("PROVIDER_KEY_GONE");
    expect(failure.message).toContain(`Key ${outs["keyId"]} in secret ${id} was revoked outside Pulumi`);
    expect(failure.message).toContain("pulumi refresh");
    await provider.delete(id, { ...outs, __inputs: { recoveryWindowInDays: 0 } });
  });

  test("a current key revoked out of band, or a deleted secret, reads as gone", async () => {
    const a = await provider.create(
      await checked({ projectName: "default", environment: "revoked", secretName: uniqueSecretName() }),
    );
    await client.deleteApiKey(a.outs["keyId"] as string);
    expect(await provider.read(a.id, a.outs)).toEqual({ id: "" });

    // The next create (after refresh dropped it from state) reuses the secret and mints a new key.
    const again = await provider.create(
      await checked({ projectName: "default", environment: "revoked", secretName: a.outs["secretName"] }),
    );
    expect(again.id).toBe(a.id);
    expect(keyById(emulator, again.outs["keyId"]).live).toBe(true);

    await store.deleteSecret(a.id, { force: true });
    expect(await provider.read(a.id, again.outs)).toEqual({ id: "" });
    await provider.delete(a.id, again.outs);
    expect(keyById(emulator, again.outs["keyId"]).revokedAt).not.toBeNull();
  });
});
