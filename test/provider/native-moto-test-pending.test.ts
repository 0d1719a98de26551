import { randomUUID } from "node:crypto";
import { DescribeSecretCommand, RotateSecretCommand } from "@aws-sdk/client-secrets-manager";
import { afterAll, beforeAll, expect, test } from "vitest";
import { motoCredentials } from "../harness/moto";
import type { DeployedFunction } from "../harness/native-engine";
import { type NativeWorld, startNativeWorld } from "../native/fixtures";
import { createManagedSecret, labelledKeys, requireBuilt } from "../rotator/fixtures";
import { loadProvider, type ProviderUnderTest, stackConfig } from "./fixtures";

// moto's own RotateSecret(RotateImmediately=false) leaves AWSPENDING on the version it tested the
// configuration on (a copy of the current value); AWS removes that label. The engine reproduces
// moto here (LLAMACLOUD_KEYS_ENGINE_MOTO_TEST_PENDING=keep), and the provider, called as the engine
// calls it, still ends where AWS ends: no AWSPENDING, the current key untouched.

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
