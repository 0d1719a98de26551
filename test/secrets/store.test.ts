import { randomUUID } from "node:crypto";
import {
  PutSecretValueCommand,
  type SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from "@aws-sdk/client-secrets-manager";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import {
  isSecretsError,
  type MalformedPayloadError,
  type SecretScheduledForDeletionError,
  type SecretsError,
} from "../../secrets/errors";
import { serializePayload } from "../../secrets/payload";
import { createSecretStore, resolveStoreLocation, type SecretStore } from "../../secrets/store";
import { managementTags, readManagementTags } from "../../secrets/tags";
import { motoCredentials } from "../harness/moto";
import { callLog, makePayload, motoStore, rawClient, uniqueName } from "./fixtures";

const region = "test-secrets-store-1";
const log = callLog();
let store: SecretStore;
let raw: SecretsManagerClient;

beforeAll(() => {
  store = motoStore(region, { onCall: log.onCall });
  raw = rawClient(region);
});

afterAll(() => {
  store.close();
  raw.destroy();
});

async function caught(promise: Promise<unknown>): Promise<SecretsError> {
  try {
    await promise;
  } catch (error) {
    if (isSecretsError(error)) return error;
    throw error;
  }
  throw new Error("expected a SecretsError, but the call succeeded");
}

/** A secret with one AWSCURRENT version written by the store. */
async function secretWithCurrent() {
  const name = uniqueName("store");
  const { arn } = await store.createSecret({ name });
  const token = randomUUID();
  const payload = makePayload();
  await store.writeVersion(arn, { token, payload, stage: "AWSCURRENT" });
  return { name, arn, token, payload };
}

/** Stable text for messages that embed ARNs and uuids. */
function normalize(text: string): string {
  return text
    .replace(/arn:aws:secretsmanager:[^\s`)]+/g, "<arn>")
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, "<uuid>")
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/g, "<date>")
    .replace(/request id [^\s:)]+/g, "request id <id>");
}

describe("create and describe", () => {
  test("createSecret makes a secret with no value; describe reports its metadata and tags", async () => {
    const name = uniqueName("store");
    const tags = managementTags({
      projectId: randomUUID(),
      environment: "prod",
      rotateEvery: "30d",
      grace: "1h",
    });
    const created = await store.createSecret({
      name,
      description: "LlamaCloud key",
      kmsKeyId: "alias/app",
      tags,
    });
    expect(created.name).toBe(name);
    expect(created.arn).toMatch(new RegExp(`^arn:aws:secretsmanager:${region}:\\d+:secret:${name}-`));

    const description = await store.describe(created.arn);
    expect(description).toMatchObject({
      arn: created.arn,
      name,
      description: "LlamaCloud key",
      kmsKeyId: "alias/app",
      tags,
    });
    expect(description.versionIdsToStages).toEqual({});
    expect(description.currentVersionId).toBeUndefined();
    expect(description.deletedDate).toBeUndefined();
    // By name and by ARN alike.
    expect((await store.describe(name)).arn).toBe(created.arn);
  });

  test("createSecret on a taken name is SECRET_EXISTS", async () => {
    const name = uniqueName("store");
    await store.createSecret({ name });
    const error = await caught(store.createSecret({ name }));
    expect(error.code).toBe("SECRET_EXISTS");
    expect(error.secretId).toBe(name);
    expect(error.message).toContain(`a secret named ${name} already exists in region ${region}`);
    expect(error.message).toContain("Choose another name");
  });

  test("describe of an unknown secret is SECRET_NOT_FOUND naming the secret and region", async () => {
    const name = uniqueName("missing");
    const error = await caught(store.describe(name));
    expect(error.code).toBe("SECRET_NOT_FOUND");
    // moto answers HTTP 404 where AWS answers 400.
    expect(normalize(error.message.replace(name, "<name>"))).toMatchInlineSnapshot(
      `"DescribeSecret: secret <name> was not found in region test-secrets-store-1 (HTTP 404, ResourceNotFoundException, request id <id>: Secrets Manager can't find the specified secret.). Check the secret name or ARN and the region (AWS_REGION), and that it was not force-deleted."`,
    );
  });
});

describe("versions", () => {
  test("the first version is AWSCURRENT and reads back by stage and by version id", async () => {
    const { arn, token, payload } = await secretWithCurrent();
    const byStage = await store.readPayload(arn, { stage: "AWSCURRENT" });
    expect(byStage.versionId).toBe(token);
    expect(byStage.stages).toEqual(["AWSCURRENT"]);
    expect(byStage.createdDate).toBeInstanceOf(Date);
    expect(byStage.payload.apiKey.reveal()).toBe(payload.apiKey.reveal());
    expect(serializePayload(byStage.payload)).toBe(serializePayload(payload));
    const byVersion = await store.readPayload(arn, { versionId: token });
    expect(serializePayload(byVersion.payload)).toBe(serializePayload(payload));
  });

  test("rewriting with the same token and value is a no-op reporting created: false", async () => {
    const { arn, token, payload } = await secretWithCurrent();
    const pendingToken = randomUUID();
    const pending = makePayload();
    expect(
      await store.writeVersion(arn, { token: pendingToken, payload: pending, stage: "AWSPENDING" }),
    ).toEqual({
      versionId: pendingToken,
      created: true,
    });
    expect(
      await store.writeVersion(arn, { token: pendingToken, payload: pending, stage: "AWSPENDING" }),
    ).toEqual({
      versionId: pendingToken,
      created: false,
    });
    expect(await store.writeVersion(arn, { token, payload, stage: "AWSCURRENT" })).toEqual({
      versionId: token,
      created: false,
    });
    expect((await store.listVersions(arn)).map((v) => v.versionId).sort()).toEqual(
      [token, pendingToken].sort(),
    );
  });

  test("the same token with another value is SECRET_TOKEN_CONFLICT and the version keeps its value", async () => {
    const { arn, token, payload } = await secretWithCurrent();
    const pendingToken = randomUUID();
    const pending = makePayload();
    await store.writeVersion(arn, { token: pendingToken, payload: pending, stage: "AWSPENDING" });

    // AWSPENDING versions too: moto would silently overwrite those, AWS refuses.
    for (const [t, original] of [
      [token, payload],
      [pendingToken, pending],
    ] as const) {
      const error = await caught(
        store.writeVersion(arn, { token: t, payload: makePayload(), stage: "AWSPENDING" }),
      );
      expect(error.code).toBe("SECRET_TOKEN_CONFLICT");
      expect(error.versionId).toBe(t);
      expect(normalize(error.message)).toMatchInlineSnapshot(
        `"PutSecretValue: ClientRequestToken <uuid> is already a version of secret <arn> with a different value. Versions are immutable: another writer (e.g. a concurrent rotation) used this token first. Write a new value under a new token."`,
      );
      const stored = await store.readPayload(arn, { versionId: t });
      expect(serializePayload(stored.payload)).toBe(serializePayload(original));
    }
  });

  test("AWSPENDING leaves AWSCURRENT alone; promote moves AWSCURRENT, AWSPREVIOUS follows, AWSPENDING goes", async () => {
    const { arn, token: first } = await secretWithCurrent();
    const second = randomUUID();
    await store.writeVersion(arn, { token: second, payload: makePayload(), stage: "AWSPENDING" });
    expect((await store.describe(arn)).versionIdsToStages).toEqual({
      [first]: ["AWSCURRENT"],
      [second]: ["AWSPENDING"],
    });
    expect((await store.readPayload(arn, { stage: "AWSCURRENT" })).versionId).toBe(first);
    expect((await store.readPayload(arn, { stage: "AWSPENDING" })).versionId).toBe(second);

    await store.promote(arn, second);
    const after = await store.describe(arn);
    expect(after.versionIdsToStages).toEqual({ [first]: ["AWSPREVIOUS"], [second]: ["AWSCURRENT"] });
    expect(after).toMatchObject({ currentVersionId: second, previousVersionId: first });
    expect(after.pendingVersionId).toBeUndefined();

    // A third rotation: AWSPREVIOUS moves on, the first version loses its last label.
    const third = randomUUID();
    await store.writeVersion(arn, { token: third, payload: makePayload(), stage: "AWSPENDING" });
    await store.promote(arn, third);
    const later = await store.describe(arn);
    expect(later).toMatchObject({ currentVersionId: third, previousVersionId: second });
    expect(later.versionIdsToStages[first] ?? []).toEqual([]);
    const versions = await store.listVersions(arn);
    expect(versions.map((v) => v.versionId).sort()).toEqual([first, second, third].sort());
    for (const version of versions) expect(version.createdDate).toBeInstanceOf(Date);
  });

  test("promote re-run is a no-op: no UpdateSecretVersionStage the second time", async () => {
    const { arn } = await secretWithCurrent();
    const next = randomUUID();
    await store.writeVersion(arn, { token: next, payload: makePayload(), stage: "AWSPENDING" });
    await store.promote(arn, next);
    const before = await store.describe(arn);
    const start = log.events.length;
    await store.promote(arn, next);
    const calls = log.events.slice(start).map((event) => event.operation);
    expect(calls).toEqual(["DescribeSecret"]);
    expect((await store.describe(arn)).versionIdsToStages).toEqual(before.versionIdsToStages);
  });

  test("promote finishes a half-done promotion (AWSCURRENT moved, AWSPENDING left)", async () => {
    const { arn, token: first } = await secretWithCurrent();
    const next = randomUUID();
    await store.writeVersion(arn, { token: next, payload: makePayload(), stage: "AWSPENDING" });
    await raw.send(
      new UpdateSecretVersionStageCommand({
        SecretId: arn,
        VersionStage: "AWSCURRENT",
        MoveToVersionId: next,
        RemoveFromVersionId: first,
      }),
    );
    expect((await store.describe(arn)).versionIdsToStages[next]?.sort()).toEqual([
      "AWSCURRENT",
      "AWSPENDING",
    ]);
    await store.promote(arn, next);
    expect((await store.describe(arn)).versionIdsToStages).toEqual({
      [first]: ["AWSPREVIOUS"],
      [next]: ["AWSCURRENT"],
    });
  });

  test("promote of a version the secret does not have is SECRET_NOT_FOUND", async () => {
    const { arn } = await secretWithCurrent();
    const error = await caught(store.promote(arn, randomUUID()));
    expect(error.code).toBe("SECRET_NOT_FOUND");
    expect(normalize(error.message)).toMatchInlineSnapshot(
      `"promote: secret <arn> has no labelled version <uuid>; write it (AWSPENDING) before promoting it."`,
    );
  });

  test("removeStage removes a label, is a no-op when the label is elsewhere, and refuses AWSCURRENT", async () => {
    const { arn, token: first } = await secretWithCurrent();
    const pending = randomUUID();
    await store.writeVersion(arn, { token: pending, payload: makePayload(), stage: "AWSPENDING" });
    await store.removeStage(arn, "AWSPENDING", first); // not there: no-op
    expect((await store.describe(arn)).pendingVersionId).toBe(pending);
    await store.removeStage(arn, "AWSPENDING", pending);
    expect((await store.describe(arn)).pendingVersionId).toBeUndefined();
    await store.removeStage(arn, "AWSPENDING", pending); // again: no-op
    const error = await caught(store.removeStage(arn, "AWSCURRENT", first));
    expect(error.code).toBe("SECRET_INVALID_REQUEST");
    expect(error.message).toContain("AWSCURRENT cannot be removed");
  });

  test("writeVersion validates its input before calling AWS", async () => {
    const { arn } = await secretWithCurrent();
    const start = log.events.length;
    const short = await caught(
      store.writeVersion(arn, { token: "abc", payload: makePayload(), stage: "AWSPENDING" }),
    );
    expect(short.code).toBe("SECRET_INVALID_REQUEST");
    expect(short.message).toContain("must be 32–64 characters (use a UUID); got 3");
    const stage = await caught(
      store.writeVersion(arn, {
        token: randomUUID(),
        payload: makePayload(),
        stage: "AWSPREVIOUS" as "AWSPENDING",
      }),
    );
    expect(stage.message).toContain("must be AWSCURRENT or AWSPENDING; got AWSPREVIOUS");
    const invalid = await caught(
      store.writeVersion(arn, {
        token: randomUUID(),
        payload: makePayload({ baseUrl: "not a url", environment: "" }),
        stage: "AWSPENDING",
      }),
    );
    expect(invalid.code).toBe("SECRET_MALFORMED_PAYLOAD");
    expect((invalid as MalformedPayloadError).issues).toEqual([
      "environment: expected a non-empty environment name, e.g. prod",
      "baseUrl: expected an http(s) URL, e.g. https://api.cloud.llamaindex.ai",
    ]);
    expect(log.events.length).toBe(start);
  });

  test("writeVersion refuses to bury a foreign AWSCURRENT value unless told to take over", async () => {
    const name = uniqueName("foreign");
    const { arn } = await store.createSecret({ name });
    await raw.send(new PutSecretValueCommand({ SecretId: arn, SecretString: '{"password":"hunter2"}' }));
    const error = await caught(
      store.writeVersion(arn, { token: randomUUID(), payload: makePayload(), stage: "AWSPENDING" }),
    );
    expect(error.code).toBe("SECRET_MALFORMED_PAYLOAD");
    expect(error.message).toContain("does not hold a llamacloud-keys payload");
    expect(error.message).not.toContain("hunter2");
    expect((await store.describe(arn)).pendingVersionId).toBeUndefined();

    const token = randomUUID();
    await store.writeVersion(arn, {
      token,
      payload: makePayload(),
      stage: "AWSCURRENT",
      allowForeignCurrent: true,
    });
    expect((await store.readPayload(arn, { stage: "AWSCURRENT" })).versionId).toBe(token);
  });
});

describe("reading", () => {
  test("a stage no version has, an unknown version and an unknown secret are SECRET_NOT_FOUND with distinct messages", async () => {
    const { arn } = await secretWithCurrent();
    const noPending = await caught(store.readPayload(arn, { stage: "AWSPENDING" }));
    expect(noPending.code).toBe("SECRET_NOT_FOUND");
    expect(normalize(noPending.message)).toMatchInlineSnapshot(
      `"No version of secret <arn> has the staging label AWSPENDING (labelled versions: <uuid>: AWSCURRENT)."`,
    );
    const noVersion = await caught(store.readPayload(arn, { versionId: randomUUID() }));
    expect(noVersion.code).toBe("SECRET_NOT_FOUND");
    expect(normalize(noVersion.message)).toMatchInlineSnapshot(
      `"Secret <arn> has no version <uuid> (labelled versions: <uuid>: AWSCURRENT); it may never have been written, or was pruned after losing its labels."`,
    );
    const noSecret = await caught(store.readPayload(uniqueName("missing"), { stage: "AWSCURRENT" }));
    expect(noSecret.code).toBe("SECRET_NOT_FOUND");
    expect(noSecret.message).toContain("DescribeSecret: secret missing/");
  });

  test("a secret with no value yet: AWSCURRENT is not found, and the message says to write one", async () => {
    const { arn } = await store.createSecret({ name: uniqueName("empty") });
    const error = await caught(store.readPayload(arn, { stage: "AWSCURRENT" }));
    expect(error.code).toBe("SECRET_NOT_FOUND");
    expect(error.message).toContain(
      "(labelled versions: none). The secret has no value yet: write one first.",
    );
  });

  test.each([
    ["plain text", "llx-not-json-at-all-0123456789", ["(value): expected JSON, found plain text"]],
    ["another tool's JSON", '{"username":"admin","password":"pw"}', ["format: expected 1"]],
    [
      "a future format",
      JSON.stringify({ ...JSON.parse(serializePayload(makePayload())), format: 2 }),
      ["format: expected 1"],
    ],
    [
      "a bad field",
      JSON.stringify({ ...JSON.parse(serializePayload(makePayload())), projectId: "p-1" }),
      ["projectId: expected the LlamaCloud project id as a UUID"],
    ],
  ])(
    "a secret holding %s is SECRET_MALFORMED_PAYLOAD naming secret, version and fields",
    async (_label, value, issues) => {
      const name = uniqueName("malformed");
      const { arn } = await store.createSecret({ name });
      const put = await raw.send(new PutSecretValueCommand({ SecretId: arn, SecretString: value }));
      const error = (await caught(store.readPayload(name, { stage: "AWSCURRENT" }))) as MalformedPayloadError;
      expect(error.code).toBe("SECRET_MALFORMED_PAYLOAD");
      expect(error.secretId).toBe(name);
      expect(error.versionId).toBe(put.VersionId);
      expect(error.message).toContain(
        `Secret ${name} (version ${put.VersionId}) does not hold a llamacloud-keys payload`,
      );
      for (const issue of issues) expect(error.issues.some((line) => line.startsWith(issue))).toBe(true);
      for (const line of error.issues) expect(error.message).toContain(`  ${line}`);
      expect(error.message).not.toContain(value);
    },
  );

  test("a binary secret is SECRET_MALFORMED_PAYLOAD", async () => {
    const { arn } = await store.createSecret({ name: uniqueName("binary") });
    await raw.send(new PutSecretValueCommand({ SecretId: arn, SecretBinary: new Uint8Array([1, 2, 3]) }));
    const error = (await caught(store.readPayload(arn, { stage: "AWSCURRENT" }))) as MalformedPayloadError;
    expect(error.code).toBe("SECRET_MALFORMED_PAYLOAD");
    expect(error.issues).toEqual(["(value): expected a JSON string, found SecretBinary"]);
  });
});

describe("deletion", () => {
  test("a secret pending deletion: describe shows it, reads and writes say when and how to get out", async () => {
    const { name, arn } = await secretWithCurrent();
    const { deletionDate } = await store.deleteSecret(arn, { recoveryWindowInDays: 7 });
    expect(deletionDate).toBeInstanceOf(Date);
    const description = await store.describe(arn);
    expect(description.deletedDate).toBeInstanceOf(Date);

    const read = (await caught(
      store.readPayload(arn, { stage: "AWSCURRENT" }),
    )) as SecretScheduledForDeletionError;
    expect(read.code).toBe("SECRET_SCHEDULED_FOR_DELETION");
    expect(read.deletedDate?.getTime()).toBe(description.deletedDate?.getTime());
    expect(normalize(read.message)).toMatchInlineSnapshot(
      `"Secret <arn> is scheduled for deletion (deleted date <date>), so GetSecretValue is refused. Either restore it: \`aws secretsmanager restore-secret --secret-id <arn>\`, or delete it for good: \`aws secretsmanager delete-secret --secret-id <arn> --force-delete-without-recovery\` and wait until it no longer appears in \`aws secretsmanager describe-secret\` before reusing the name."`,
    );

    const write = await caught(
      store.writeVersion(arn, { token: randomUUID(), payload: makePayload(), stage: "AWSPENDING" }),
    );
    expect(write.code).toBe("SECRET_SCHEDULED_FOR_DELETION");
    expect(write.message).toContain("so PutSecretValue is refused");
    const promote = await caught(store.promote(arn, randomUUID()));
    expect(promote.code).toBe("SECRET_SCHEDULED_FOR_DELETION");
    const create = await caught(store.createSecret({ name }));
    expect(create.code).toBe("SECRET_SCHEDULED_FOR_DELETION");
    expect(create.message).toContain(`aws secretsmanager restore-secret --secret-id ${name}`);

    // Deleting again is how a rerun of `destroy` looks: it succeeds.
    const again = await store.deleteSecret(arn, { recoveryWindowInDays: 7 });
    expect(again.deletionDate?.getTime()).toBe(description.deletedDate?.getTime());

    await store.restoreSecret(arn);
    expect((await store.describe(arn)).deletedDate).toBeUndefined();
    expect((await store.readPayload(arn, { stage: "AWSCURRENT" })).versionId).toBeDefined();
  });

  test("force delete removes the secret at once", async () => {
    const { arn } = await secretWithCurrent();
    const result = await store.deleteSecret(arn, { force: true });
    expect(result.deletionDate).toBeInstanceOf(Date);
    expect((await caught(store.describe(arn))).code).toBe("SECRET_NOT_FOUND");
  });

  test("a recovery window outside 7–30 days is refused before calling AWS", async () => {
    const { arn } = await secretWithCurrent();
    for (const days of [3, 31, 7.5]) {
      const error = await caught(store.deleteSecret(arn, { recoveryWindowInDays: days }));
      expect(error.code).toBe("SECRET_INVALID_REQUEST");
      expect(error.message).toContain(`must be a whole number from 7 to 30; got ${days}`);
    }
    expect((await store.describe(arn)).deletedDate).toBeUndefined();
  });
});

describe("native rotation settings", () => {
  test("RotateSecret naming a rotation function that does not exist says so, not that the secret is missing", async () => {
    const { arn } = await secretWithCurrent();
    const missing = `arn:aws:lambda:${region}:123456789012:function:no-such-rotator`;
    const error = await caught(
      store.configureRotation(arn, { lambdaArn: missing, rules: { automaticallyAfterDays: 30 } }),
    );
    expect(error.code).toBe("SECRET_INVALID_REQUEST");
    expect(error.message).toMatch(
      /^RotateSecret: Secrets Manager could not use the rotation function for secret /,
    );
    expect(error.message).toContain(missing);
    expect(error.message).toContain("rotation.lambdaArn");
    expect(error.message).not.toContain("Check the secret name");
  });
});

describe("tags", () => {
  test("tag, readTags and untag round-trip the management tags", async () => {
    const { arn } = await secretWithCurrent();
    const projectId = randomUUID();
    await store.tag(
      arn,
      managementTags({ projectId, environment: "staging", rotateEvery: "7d", grace: "2h" }),
    );
    await store.tag(arn, { team: "search" });
    const tags = await store.readTags(arn);
    expect(readManagementTags(tags, arn)).toEqual({
      managed: true,
      projectId,
      environment: "staging",
      rotateEveryMs: 7 * 86_400_000,
      graceMs: 7_200_000,
    });
    expect(tags.team).toBe("search");
    await store.tag(arn, { "llamacloud-keys:grace": "3h" });
    expect((await store.readTags(arn))["llamacloud-keys:grace"]).toBe("3h");
    await store.untag(arn, ["llamacloud-keys:grace", "team", "absent"]);
    const left = await store.readTags(arn);
    expect(left.team).toBeUndefined();
    expect(left["llamacloud-keys:grace"]).toBeUndefined();
    expect(left["llamacloud-keys:managed"]).toBe("true");
  });

  test("tagging an unknown secret is SECRET_NOT_FOUND", async () => {
    const error = await caught(store.tag(uniqueName("missing"), { a: "b" }));
    expect(error.code).toBe("SECRET_NOT_FOUND");
  });
});

describe("observability and configuration", () => {
  test("onCall reports each AWS call with operation, secret, duration and error code only", async () => {
    const events = callLog();
    const local = motoStore(region, { onCall: events.onCall });
    const name = uniqueName("events");
    await local.createSecret({ name });
    await caught(local.readPayload(name, { stage: "AWSCURRENT" }));
    local.close();
    expect(events.events.map(({ operation, secretId, error }) => ({ operation, secretId, error }))).toEqual([
      { operation: "CreateSecret", secretId: name, error: undefined },
      { operation: "GetSecretValue", secretId: name, error: "SECRET_NOT_FOUND" },
      { operation: "DescribeSecret", secretId: name, error: undefined },
    ]);
    for (const event of events.events) {
      expect(event.durationMs).toBeGreaterThanOrEqual(0);
      expect(Object.keys(event).sort()).toEqual(
        event.error === undefined
          ? ["durationMs", "operation", "secretId"]
          : ["durationMs", "error", "operation", "secretId"],
      );
    }
  });

  test("a throwing onCall hook does not fail the call", async () => {
    const local = motoStore(region, {
      onCall: () => {
        throw new Error("metrics backend down");
      },
    });
    const { name } = await local.createSecret({ name: uniqueName("hook") });
    expect((await local.describe(name)).name).toBe(name);
    local.close();
  });

  test("region and endpoint come from options, then the standard AWS environment variables", () => {
    const env = {
      AWS_REGION: "eu-west-3",
      AWS_DEFAULT_REGION: "us-east-2",
      AWS_ENDPOINT_URL: "http://generic:1",
      AWS_ENDPOINT_URL_SECRETS_MANAGER: "http://sm:2",
    };
    expect(resolveStoreLocation({ env })).toEqual({ region: "eu-west-3", endpoint: "http://sm:2" });
    expect(
      resolveStoreLocation({
        env: { AWS_DEFAULT_REGION: "us-east-2", AWS_ENDPOINT_URL: "http://generic:1" },
      }),
    ).toEqual({ region: "us-east-2", endpoint: "http://generic:1" });
    expect(resolveStoreLocation({ env, region: "ap-south-1", endpoint: "http://x:3" })).toEqual({
      region: "ap-south-1",
      endpoint: "http://x:3",
    });
    expect(resolveStoreLocation({ env: { AWS_REGION: "" } })).toEqual({});
  });

  test("a store configured only through the environment reaches moto", async () => {
    const envStore = createSecretStore({
      credentials: motoCredentials,
      env: { AWS_REGION: region, AWS_ENDPOINT_URL_SECRETS_MANAGER: inject("motoEndpoint") },
    });
    const { arn } = await secretWithCurrent();
    expect((await envStore.describe(arn)).arn).toBe(arn);
    envStore.close();
  });
});
