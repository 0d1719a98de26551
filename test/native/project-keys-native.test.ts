import { beforeAll, expect, test } from "vitest";
import { type Registration, recordRegistrations, resolved } from "../harness/pulumi-mocks";
import { requireDist } from "../provider/fixtures";

// `ProjectKeys` with `rotation.mode: "native"`, under Pulumi mocks (the AWS provider plugin cannot be
// obtained here, so this is where the wiring is proven): the function from the packaged zip, its
// least-privilege role, the Secrets Manager permission scoped with the source account, one
// SecretRotation per secret after its ApiKey, the EventBridge revoke-pass schedule, the function ARN.

type Module = typeof import("../../provider/project-keys");
const { ProjectKeys } = requireDist<Module>("provider/project-keys.js");
type NativeModule = typeof import("../../provider/native-rotation");
const { nativeRotationRules } = requireDist<NativeModule>("provider/native-rotation.js");

let registrations: Registration[] = [];
const ACCOUNT = "123456789012";

beforeAll(async () => {
  registrations = await recordRegistrations("project-keys-native-test", "test", {
    resource(args) {
      if (args.type === "aws:lambda/function:Function") {
        const arn = `arn:aws:lambda:eu-west-1:${ACCOUNT}:function:${args.inputs["name"]}`;
        return { id: String(args.inputs["name"]), state: { ...args.inputs, arn } };
      }
      if (args.type === "aws:iam/role:Role" || args.type === "aws:cloudwatch/eventRule:EventRule") {
        const arn = `arn:aws:test:eu-west-1:${ACCOUNT}:${args.name}`;
        return { id: `${args.name}-id`, state: { ...args.inputs, arn, name: args.name } };
      }
      return undefined;
    },
    call(args) {
      if (args.token === "aws:index/getCallerIdentity:getCallerIdentity") {
        return { accountId: ACCOUNT, arn: `arn:aws:iam::${ACCOUNT}:user/deployer`, userId: "AIDA" };
      }
      if (args.token === "aws:index/getRegion:getRegion") return { name: "eu-west-1", region: "eu-west-1" };
      if (args.token === "aws:index/getPartition:getPartition")
        return { partition: "aws", dnsSuffix: "amazonaws.com" };
      return undefined;
    },
  });
});

const adminSecretArn = `arn:aws:secretsmanager:eu-west-1:${ACCOUNT}:secret:llamacloud/admin-XyZ123`;
const kmsKeyArn = `arn:aws:kms:eu-west-1:${ACCOUNT}:key/1111-2222`;

test("native mode provisions the function, its role, permissions, one SecretRotation per secret and the revoke schedule", async () => {
  const keys = new ProjectKeys("lk", {
    projects: [{ name: "search", environments: ["staging", "prod"] }],
    kmsKeyArn,
    rotation: {
      every: "30d",
      grace: "2h",
      mode: "native",
      native: { adminSecretArn, code: "/tmp/llamacloud-keys-rotator.zip", window: "3h" },
    },
  });
  const functionArn = await resolved(keys.rotationFunctionArn);
  const arns = await resolved(keys.secretArns);
  await Promise.all(Object.values(keys.keys).map((key) => resolved(key.keyId)));
  // Let the dependent registrations (rotations, targets) land.
  await new Promise((resolve) => setTimeout(resolve, 50));
  const of = (type: string) => registrations.filter((r) => r.type === type);

  expect(functionArn).toBe(`arn:aws:lambda:eu-west-1:${ACCOUNT}:function:lk-rotation`);
  const [fn] = of("aws:lambda/function:Function");
  expect(fn?.inputs).toMatchObject({
    handler: "index.handler",
    runtime: "nodejs22.x",
    environment: {
      variables: {
        LLAMACLOUD_KEYS_ADMIN_SECRET_ARN: adminSecretArn,
        LLAMACLOUD_KEYS_SECRET_IDS: Object.values(arns).sort().join(","),
      },
    },
  });

  // Least privilege: the four step actions on the managed secrets only, the admin secret read-only,
  // KMS through Secrets Manager, own logs; nothing else (no ListSecrets, no wildcard resource).
  const [policy] = of("aws:iam/rolePolicy:RolePolicy");
  const document = JSON.parse(String(policy?.inputs["policy"])) as {
    Statement: { Sid: string; Action: string[]; Resource: string | string[] }[];
  };
  const bySid = Object.fromEntries(document.Statement.map((s) => [s.Sid, s]));
  expect(bySid["RotateManagedSecrets"]).toMatchObject({
    Action: [
      "secretsmanager:DescribeSecret",
      "secretsmanager:GetSecretValue",
      "secretsmanager:PutSecretValue",
      "secretsmanager:UpdateSecretVersionStage",
    ],
    Resource: Object.values(arns).sort(),
  });
  expect(bySid["ReadAdminKey"]).toMatchObject({
    Action: ["secretsmanager:GetSecretValue"],
    Resource: adminSecretArn,
  });
  expect(bySid["UseSecretsKmsKey"]).toMatchObject({ Resource: kmsKeyArn });
  expect(document.Statement.every((s) => s.Resource !== "*")).toBe(true);
  expect(Object.keys(bySid).sort()).toEqual([
    "ReadAdminKey",
    "RotateManagedSecrets",
    "UseSecretsKmsKey",
    "WriteOwnLogs",
  ]);

  const permissions = of("aws:lambda/permission:Permission");
  expect(permissions.map((p) => p.inputs["principal"]).sort()).toEqual([
    "events.amazonaws.com",
    "secretsmanager.amazonaws.com",
  ]);
  expect(
    permissions.find((p) => p.inputs["principal"] === "secretsmanager.amazonaws.com")?.inputs,
  ).toMatchObject({
    action: "lambda:InvokeFunction",
    sourceAccount: ACCOUNT,
  });

  const rotations = of("aws:secretsmanager/secretRotation:SecretRotation");
  expect(rotations.map((r) => r.inputs["secretId"]).sort()).toEqual(Object.values(arns).sort());
  for (const rotation of rotations) {
    expect(rotation.inputs).toMatchObject({
      rotationLambdaArn: functionArn,
      rotateImmediately: false,
      rotationRules: { automaticallyAfterDays: 30, duration: "3h" },
    });
  }
  // The operators' rotator may ask Secrets Manager to rotate now (RotateSecret), which needs the
  // right to invoke this function and nothing wider.
  const rotator = JSON.parse(await resolved(keys.rotatorPolicy)) as {
    Statement: { Sid: string; Action: string[]; Resource: unknown }[];
  };
  expect(rotator.Statement.find((s) => s.Sid === "InvokeRotationFunction")).toEqual({
    Sid: "InvokeRotationFunction",
    Effect: "Allow",
    Action: ["lambda:InvokeFunction"],
    Resource: functionArn,
  });
  expect(rotator.Statement.find((s) => s.Sid === "RotateLlamaCloudKeys")?.Action).toContain(
    "secretsmanager:RotateSecret",
  );
  const [rule] = of("aws:cloudwatch/eventRule:EventRule");
  expect(rule?.inputs["scheduleExpression"]).toBe("rate(15 minutes)");
  expect(of("aws:cloudwatch/eventTarget:EventTarget")[0]?.inputs).toMatchObject({ arn: functionArn });
});

test("rotation rules are validated as Secrets Manager does: at most every 4 hours, window within the interval", () => {
  expect(nativeRotationRules("30d")).toEqual({ automaticallyAfterDays: 30 });
  expect(nativeRotationRules("12h", "2h")).toEqual({ scheduleExpression: "rate(12 hours)", duration: "2h" });
  expect(() => nativeRotationRules("2h")).toThrow(/at most every 4 hours/);
  expect(() => nativeRotationRules("4h", "5h")).toThrow(/must fit within/);
  expect(() => nativeRotationRules("1001d")).toThrow(/at most 1000 days/);
  expect(() => nativeRotationRules("90m")).toThrow(/at most every 4 hours/);
});

test("native mode without its admin secret is refused naming the field, before anything is declared", () => {
  const before = registrations.length;
  expect(
    () =>
      new ProjectKeys("bad", {
        projects: [{ name: "search", environments: ["prod"] }],
        rotation: { every: "30d", grace: "2h", mode: "native" },
      }),
  ).toThrow(/"rotation.native" is required/);
  // The component itself registers; no secret, function or rotation was declared for it.
  expect(registrations.slice(before).filter((r) => r.type.startsWith("aws:")).length).toBe(0);
});
