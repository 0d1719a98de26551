import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createRotationHandler,
  NATIVE_ERROR_CODES,
  parseEvent,
  ROTATION_STEPS,
  readFunctionConfig,
} from "../../rotator/lambda";
import type { SecretStore } from "../../secrets/store";
import { createManagedSecret, labelledKeys, startWorld, type World } from "../rotator/fixtures";

// The event and environment parsing of the rotation function, in process (beside the engine tests,
// which run the packaged zip under the runtime emulator).

const token = "6f9619ff-8b86-4d11-b42d-00c04fc964ff";

it("accepts Secrets Manager's event with or without RotationToken, and a scheduled event", () => {
  expect(parseEvent({ Step: "createSecret", SecretId: "arn:x", ClientRequestToken: token })).toEqual({
    Step: "createSecret",
    SecretId: "arn:x",
    ClientRequestToken: token,
  });
  expect(
    parseEvent({ Step: "finishSecret", SecretId: "name", ClientRequestToken: token, RotationToken: "rt-1" }),
  ).toMatchObject({ RotationToken: "rt-1" });
  expect(parseEvent({ "detail-type": "Scheduled Event", source: "aws.events", detail: {} })).toMatchObject({
    "detail-type": "Scheduled Event",
  });
});

it("refuses a malformed event with one line per field, never echoing the values", () => {
  let message = "";
  try {
    parseEvent({ Step: "deleteSecret", SecretId: "", ClientRequestToken: "short-token-value" });
  } catch (error) {
    expect((error as { code: string }).code).toBe("NATIVE_INVALID_EVENT");
    message = (error as Error).message;
  }
  expect(message).toMatch(/"Step": must be one of createSecret, setSecret, testSecret, finishSecret/);
  expect(message).toMatch(/"SecretId"/);
  expect(message).toMatch(/"ClientRequestToken"/);
  expect(message).not.toContain("short-token-value");
  expect(() => parseEvent(null)).toThrow(/\(event\)/);
  expect(() => parseEvent("createSecret")).toThrow(/Invalid rotation event/);
});

it("reads its configuration from the environment, naming each missing or malformed variable", () => {
  expect(
    readFunctionConfig({
      LLAMACLOUD_KEYS_ADMIN_SECRET_ARN: "arn:admin",
      LLAMACLOUD_KEYS_SECRET_IDS: "arn:a, arn:b,",
      LLAMACLOUD_KEYS_PREFIX: "team",
    }),
  ).toEqual({ adminSecretId: "arn:admin", secretIds: ["arn:a", "arn:b"], prefix: "team" });
  expect(() =>
    readFunctionConfig({ LLAMACLOUD_KEYS_PREFIX: "a/b", LLAMACLOUD_KEYS_ADMIN_TTL: "5 minutes" }),
  ).toThrow(
    /LLAMACLOUD_KEYS_ADMIN_SECRET_ARN: required[\s\S]*LLAMACLOUD_KEYS_PREFIX[\s\S]*LLAMACLOUD_KEYS_ADMIN_TTL/,
  );
  expect(NATIVE_ERROR_CODES).toContain("NATIVE_CONFIG");
});

it('runs the revoke-only pass for any event whose "detail-type" is "Scheduled Event", as rotator/README.md says', () => {
  // EventBridge always adds `source`; the documented contract is the detail-type alone.
  expect(parseEvent({ "detail-type": "Scheduled Event" })).toEqual({ "detail-type": "Scheduled Event" });
  expect(() => parseEvent({ "detail-type": "Object Created", source: "aws.s3" })).toThrow(
    /NATIVE_INVALID_EVENT|Invalid scheduled event/,
  );
});

it("LLAMACLOUD_KEYS_PREFIX follows the one key-name prefix rule of the CLI's --prefix and the provider's name", () => {
  for (const prefix of ["team-a", "llamacloud-keys", "svc_1.v2"]) {
    expect(
      readFunctionConfig({ LLAMACLOUD_KEYS_ADMIN_SECRET_ARN: "arn:admin", LLAMACLOUD_KEYS_PREFIX: prefix }),
    ).toMatchObject({ prefix });
  }
  for (const prefix of ["a/b", "-leading-dash", "has space", "x".repeat(101)]) {
    expect(
      () =>
        readFunctionConfig({ LLAMACLOUD_KEYS_ADMIN_SECRET_ARN: "arn:admin", LLAMACLOUD_KEYS_PREFIX: prefix }),
      prefix,
    ).toThrow(/LLAMACLOUD_KEYS_PREFIX/);
  }
});

// rotator/README.md, "Guard": judged on the step's own DescribeSecret read, before the step acts.
// In process against moto and the emulator; moto's secrets without a rotation function report
// rotation disabled, and one wrapper reports it enabled (moto enables it only through RotateSecret,
// which the engine tests in rotation.test.ts drive with the packaged function).
describe("the handler's guard, in process against moto and the emulator", () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld("test-native-guard");
  });
  afterAll(async () => {
    await world?.close();
  });

  const handlerFor = (store: SecretStore) =>
    createRotationHandler({
      config: { adminSecretId: "unused: the admin reader is injected" },
      store,
      adminReader: {
        get: async () => ({
          apiKey: world.emulator.adminKey,
          baseUrl: world.emulator.url,
          keyId: "admin",
          projectId: "admin",
          environment: "admin",
          versionId: "admin-v1",
        }),
      },
      clientFor: () => world.client,
      write: () => {},
      testRetryDelaysMs: [],
    });
  const codeOf = async (promise: Promise<unknown>) =>
    promise.then(
      () => "resolved",
      (error: { code?: string }) => error.code,
    );

  it("NATIVE_ROTATION_DISABLED: a secret without rotation enabled; nothing is changed", async () => {
    const secret = await createManagedSecret(world, { rotateEvery: "30d" });
    const before = await labelledKeys(world, secret.arn);
    const handler = handlerFor(world.store);
    for (const Step of ROTATION_STEPS) {
      const event = { Step, SecretId: secret.arn, ClientRequestToken: randomUUID() };
      expect(await codeOf(handler(event)), Step).toBe("NATIVE_ROTATION_DISABLED");
    }
    expect(await labelledKeys(world, secret.arn)).toEqual(before);
    expect(await world.store.listVersions(secret.arn)).toHaveLength(1);
  });

  it("NATIVE_TOKEN_NOT_PENDING for a token that is no version of the secret; already-current for AWSCURRENT's", async () => {
    const secret = await createManagedSecret(world, { rotateEvery: "30d" });
    const enabled: SecretStore = {
      ...world.store,
      describe: async (id) => ({
        ...(await world.store.describe(id)),
        rotation: { enabled: true, lambdaArn: "arn:aws:lambda:us-east-1:123456789012:function:rotator" },
      }),
    };
    const handler = handlerFor(enabled);
    const before = await labelledKeys(world, secret.arn);
    for (const Step of ROTATION_STEPS) {
      const stale = { Step, SecretId: secret.arn, ClientRequestToken: randomUUID() };
      expect(await codeOf(handler(stale)), Step).toBe("NATIVE_TOKEN_NOT_PENDING");
      const current = { Step, SecretId: secret.arn, ClientRequestToken: secret.initialVersionId };
      expect(await handler(current), Step).toMatchObject({
        kind: "step",
        step: Step,
        outcome: "already-current",
      });
    }
    expect(await labelledKeys(world, secret.arn)).toEqual(before);
  });
});
