import { randomUUID } from "node:crypto";
import { DescribeSecretCommand, RotateSecretCommand } from "@aws-sdk/client-secrets-manager";
import { afterAll, beforeAll, expect, test } from "vitest";
import { motoCredentials } from "../harness/moto";
import type { DeployedFunction } from "../harness/native-engine";
import { type NativeWorld, startNativeWorld } from "../native/fixtures";
import { createManagedSecret, labelledKeys, requireBuilt } from "../rotator/fixtures";
import { loadProvider, type ProviderUnderTest, stackConfig } from "./fixtures";

// The provider's native rotation (rotation.lambdaArn), its methods called as the engine calls them,
// on the native engine in moto's own mode (LLAMACLOUD_KEYS_ENGINE_MOTO_TEST_PENDING=keep): moto's
// RotateSecret(RotateImmediately=false) leaves AWSPENDING on the version it tested the configuration
// on (a copy of the current value), where AWS removes that label. The provider still ends where AWS
// ends. And a create that died between writing the key and RotateSecret converges on the next one.

let world: NativeWorld;
let fn: DeployedFunction;
let provider: ProviderUnderTest;
const saved = process.env["LLAMACLOUD_KEYS_ENGINE_MOTO_TEST_PENDING"];

beforeAll(async () => {
  requireBuilt();
  process.env["LLAMACLOUD_KEYS_ENGINE_MOTO_TEST_PENDING"] = "keep";
  try {
    world = await startNativeWorld("test-native-moto");
  } finally {
    if (saved === undefined) delete process.env["LLAMACLOUD_KEYS_ENGINE_MOTO_TEST_PENDING"];
    else process.env["LLAMACLOUD_KEYS_ENGINE_MOTO_TEST_PENDING"] = saved;
  }
  fn = await world.deploy("rotator");
  process.env["AWS_REGION"] = world.region;
  process.env["AWS_ENDPOINT_URL_SECRETS_MANAGER"] = world.engine.endpoint;
  process.env["AWS_ACCESS_KEY_ID"] = motoCredentials.accessKeyId;
  process.env["AWS_SECRET_ACCESS_KEY"] = motoCredentials.secretAccessKey;
  provider = loadProvider();
  await provider.configure(
    stackConfig({ "llamacloud:apiKey": world.emulator.adminKey, "llamacloud:baseUrl": world.emulator.url }),
  );
}, 180_000);

afterAll(async () => {
  await world?.close();
});

test("moto (as reproduced) leaves AWSPENDING on the configuration test's copy of the current value", async () => {
  const secret = await createManagedSecret(world, { rotateEvery: "30d", grace: "1d" });
  const before = await labelledKeys(world, secret.arn);
  await world.sm.send(
    new RotateSecretCommand({
      SecretId: secret.arn,
      RotationLambdaARN: fn.arn,
      RotationRules: { AutomaticallyAfterDays: 30 },
      RotateImmediately: false,
    }),
  );
  const after = await labelledKeys(world, secret.arn);
  expect(after.current).toEqual(before.current);
  expect(after.pending?.versionId).not.toBe(before.current.versionId);
  expect(after.pending?.keyId).toBe(before.current.keyId);
});

test("the provider's create ends as on AWS: rotation on, no AWSPENDING, the first key current", async () => {
  const secretName = `test/native-moto/${randomUUID()}`;
  const checked = await provider.check(
    {},
    {
      projectId: world.emulator.projects[0]!.id,
      environment: "prod",
      secretName,
      recoveryWindowInDays: 0,
      rotation: { every: "30d", grace: "2h", lambdaArn: fn.arn, window: "4h" },
    },
  );
  expect(checked.failures).toBeUndefined();
  const created = await provider.create(checked.inputs);
  const labelled = await labelledKeys(world, secretName);
  expect(labelled.pending).toBeUndefined();
  expect(labelled.current).toMatchObject({
    keyId: created.outs["keyId"],
    versionId: created.outs["versionId"],
  });
  const described = await world.sm.send(new DescribeSecretCommand({ SecretId: secretName }));
  expect(described.RotationEnabled).toBe(true);
  expect(described.RotationRules).toMatchObject({ AutomaticallyAfterDays: 30, Duration: "4h" });
  expect(created.outs["nativeRotation"]).toEqual({
    enabled: true,
    lambdaArn: fn.arn,
    automaticallyAfterDays: 30,
    duration: "4h",
  });

  await provider.delete(created.id, created.outs);
  expect(world.emulator.state.allKeys().find((k) => k.id === created.outs["keyId"])?.live).toBe(false);
});

test("a create that failed after writing its key (RotateSecret refused) converges on the next create: same key, rotation on", async () => {
  const secretName = `test/native-moto/${randomUUID()}`;
  const news = (lambdaArn: string) => ({
    projectId: world.emulator.projects[0]!.id,
    environment: "prod",
    secretName,
    recoveryWindowInDays: 0,
    rotation: { every: "30d", grace: "2h", lambdaArn },
    // What the ApiKey class passes: the same resource in the same stack, run after run.
    __identity: `organization/infra/dev/native-${secretName}`,
  });
  // A function that does not exist: Secrets Manager refuses RotateSecret after the key was written,
  // the same point a `pulumi up` killed between the write and RotateSecret stops at.
  const missing = fn.arn.replace(/function:[^:]+$/, "function:no-such-function");
  const attempt = await provider.check({}, news(missing));
  await expect(provider.create(attempt.inputs)).rejects.toThrow(
    /RotateSecret: Secrets Manager could not use the rotation function .*rotation\.lambdaArn/,
  );
  const left = await labelledKeys(world, secretName);
  expect(world.emulator.state.allKeys().find((k) => k.id === left.current.keyId)?.live).toBe(true);

  // The next `up` (a new check, so a new create token) with the program fixed.
  const retry = await provider.check({}, news(fn.arn));
  expect(retry.inputs["__createToken"]).not.toBe(attempt.inputs["__createToken"]);
  const created = await provider.create(retry.inputs);
  expect(created.outs["keyId"]).toBe(left.current.keyId);
  const described = await world.sm.send(new DescribeSecretCommand({ SecretId: secretName }));
  expect(described.RotationEnabled).toBe(true);
  expect(described.RotationLambdaARN).toBe(fn.arn);
  expect((await labelledKeys(world, secretName)).pending).toBeUndefined();
  // Nothing was minted for the retry's token: the key of the failed attempt is the one kept.
  const named = (token: unknown) =>
    world.emulator.state.allKeys().filter((k) => k.name?.endsWith(`/${String(token)}`));
  expect(named(retry.inputs["__createToken"])).toEqual([]);
  expect(named(attempt.inputs["__createToken"]).map((k) => [k.id, k.live])).toEqual([
    [left.current.keyId, true],
  ]);

  await provider.delete(created.id, created.outs);
  expect(world.emulator.state.allKeys().find((k) => k.id === left.current.keyId)?.live).toBe(false);
});
