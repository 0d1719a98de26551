import { randomUUID } from "node:crypto";
import { mkdir, mkdtemp, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CancelRotateSecretCommand,
  DescribeSecretCommand,
  type DescribeSecretCommandOutput,
  RotateSecretCommand,
} from "@aws-sdk/client-secrets-manager";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { motoCredentials } from "../harness/moto";
import type { DeployedFunction } from "../harness/native-engine";
import { createPulumiWorkspace, type PulumiWorkspace } from "../harness/pulumi";
import { repoRoot } from "../harness/tools";
import { type NativeWorld, startNativeWorld } from "../native/fixtures";
import { expectCurrentWorks, labelledKeys, requireBuilt } from "../rotator/fixtures";
import { keyById, leakedSecrets } from "./fixtures";

// `ApiKey`'s native rotation input (rotation.lambdaArn/schedule/window) through the real Pulumi CLI,
// against the native engine (moto whose RotateSecret invokes the packaged function under the Lambda
// Runtime Interface Emulator) and the LlamaCloud emulator. Secrets Manager's own state
// (DescribeSecret), the keys in LlamaCloud and the function's invocations are checked at each step.

const timeout = 300_000;
let world: NativeWorld;
let fn: DeployedFunction;
let other: DeployedFunction;
let workspace: PulumiWorkspace;
let nodePath: string;
const secretName = `test/native-input/${randomUUID()}`;
const transcript: string[] = [];

async function pulumi(args: string[]): Promise<string> {
  const result = await workspace.runOk(args);
  transcript.push(result.output);
  return result.output;
}

/** The ApiKey's outputs in state (stack outputs change only with `up`; refresh changes these). */
async function outputs(): Promise<Record<string, unknown>> {
  const exported = JSON.parse((await workspace.runOk(["stack", "export"])).stdout) as {
    deployment: { resources?: { type: string; outputs?: Record<string, unknown> }[] };
  };
  const key = (exported.deployment.resources ?? []).find(
    (r) => r.type === "pulumi-nodejs:dynamic/llamacloud:ApiKey",
  );
  return key?.outputs ?? {};
}

function describeSecret(): Promise<DescribeSecretCommandOutput> {
  return world.sm.send(new DescribeSecretCommand({ SecretId: secretName }));
}

/** The function's invocations for this secret, by step (moto sends the secret's name). */
function invocationsOf(step: string): number {
  return world.engine
    .invocations()
    .filter((i) => i.phase === "start" && i.step === step && i.secretId === secretName).length;
}

beforeAll(async () => {
  requireBuilt();
  world = await startNativeWorld("test-native-input");
  [fn, other] = await Promise.all([world.deploy("rotator"), world.deploy("rotator-other")]);
  nodePath = await mkdtemp(join(tmpdir(), "llamacloud-keys-node-path-"));
  await mkdir(nodePath, { recursive: true });
  await symlink(repoRoot, join(nodePath, "llamacloud-keys"), "dir");
  workspace = await createPulumiWorkspace({
    files: {
      "Pulumi.yaml": "name: native-input\nruntime: nodejs\n",
      "package.json": JSON.stringify({ name: "native-input", private: true }),
      "index.js": `
const pulumi = require("@pulumi/pulumi");
const { ApiKey } = require("llamacloud-keys/provider");
const config = new pulumi.Config();
const lambdaArn = config.get("lambdaArn");
const schedule = config.get("schedule");
const window = config.get("window");
const key = new ApiKey("native", {
  projectId: ${JSON.stringify(world.emulator.projects[0]!.id)},
  environment: "prod",
  secretName: ${JSON.stringify(secretName)},
  recoveryWindowInDays: 7,
  rotation: {
    every: "30d",
    grace: "2h",
    ...(lambdaArn === undefined ? {} : { lambdaArn }),
    ...(schedule === undefined ? {} : { schedule: /^\\d+$/.test(schedule) ? Number(schedule) : schedule }),
    ...(window === undefined ? {} : { window }),
  },
});
exports.secretArn = key.secretArn;
exports.keyId = key.keyId;
exports.versionId = key.versionId;
exports.nativeRotation = key.nativeRotation;
`,
    },
    env: {
      NODE_PATH: nodePath,
      AWS_REGION: world.region,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: world.engine.endpoint,
      AWS_ACCESS_KEY_ID: motoCredentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: motoCredentials.secretAccessKey,
      LLAMA_CLOUD_API_KEY: world.emulator.adminKey,
      LLAMA_CLOUD_BASE_URL: world.emulator.url,
    },
  });
}, timeout);

afterAll(async () => {
  await workspace?.cleanup();
  if (nodePath !== undefined) await rm(nodePath, { recursive: true, force: true });
  await world?.close();
});

describe("ApiKey with rotation.lambdaArn, through the Pulumi CLI on the native engine", () => {
  let first: Record<string, unknown>;

  test(
    "up turns native rotation on with our function and rules, after the first key, without rotating",
    async () => {
      await pulumi(["config", "set", "lambdaArn", fn.arn]);
      await pulumi(["config", "set", "schedule", "rate(30 days)"]);
      await pulumi(["config", "set", "window", "2h"]);
      await pulumi(["up", "--yes", "--skip-preview"]);
      first = await outputs();

      const described = await describeSecret();
      expect(described.RotationEnabled).toBe(true);
      expect(described.RotationLambdaARN).toBe(fn.arn);
      expect(described.RotationRules).toMatchObject({ ScheduleExpression: "rate(30 days)", Duration: "2h" });
      // RotateImmediately false: Secrets Manager only tested the configuration (testSecret on a copy
      // of the current value, whose AWSPENDING label it then removed). Nothing was rotated.
      expect(invocationsOf("testSecret")).toBe(1);
      expect(invocationsOf("createSecret")).toBe(0);
      const labelled = await labelledKeys(world, secretName);
      expect(labelled.current).toMatchObject({ keyId: first["keyId"], versionId: first["versionId"] });
      expect(labelled.pending).toBeUndefined();
      expect(labelled.previous).toBeUndefined();
      expect(described.LastRotatedDate).toBeUndefined();
      expect(first["nativeRotation"]).toEqual({
        enabled: true,
        lambdaArn: fn.arn,
        scheduleExpression: "rate(30 days)",
        duration: "2h",
      });
      await expectCurrentWorks(world, secretName);
      expect(keyById(world.emulator, first["keyId"]).live).toBe(true);

      // Read back, the rules are the ones asked for: nothing to do, and no second configuration test.
      await pulumi(["preview", "--expect-no-changes"]);
      await pulumi(["refresh", "--yes", "--skip-preview", "--expect-no-changes"]);
      expect(invocationsOf("testSecret")).toBe(1);
    },
    timeout,
  );

  test(
    "changing the rules or the function calls RotateSecret with the new ones, still without rotating",
    async () => {
      await pulumi(["config", "set", "schedule", "cron(0 4 1 * ? *)"]);
      await pulumi(["config", "set", "window", "3h"]);
      await pulumi(["config", "set", "lambdaArn", other.arn]);
      const up = await pulumi(["up", "--yes", "--skip-preview"]);
      expect(up).toMatch(/~ 1 updated/);
      const described = await describeSecret();
      expect(described.RotationEnabled).toBe(true);
      expect(described.RotationLambdaARN).toBe(other.arn);
      expect(described.RotationRules).toMatchObject({
        ScheduleExpression: "cron(0 4 1 * ? *)",
        Duration: "3h",
      });
      expect(invocationsOf("createSecret")).toBe(0);
      const labelled = await labelledKeys(world, secretName);
      expect(labelled.current.keyId).toBe(first["keyId"]);
      expect(labelled.pending).toBeUndefined();

      // Days, the third form of schedule, back on the first function.
      await pulumi(["config", "set", "schedule", "30"]);
      await pulumi(["config", "rm", "window"]);
      await pulumi(["config", "set", "lambdaArn", fn.arn]);
      await pulumi(["up", "--yes", "--skip-preview"]);
      const days = await describeSecret();
      expect(days.RotationLambdaARN).toBe(fn.arn);
      expect(days.RotationRules?.AutomaticallyAfterDays).toBe(30);
      expect(days.RotationRules?.ScheduleExpression).toBeUndefined();
      expect(days.RotationRules?.Duration).toBeUndefined();
      await pulumi(["preview", "--expect-no-changes"]);
    },
    timeout,
  );

  test(
    "rotation turned off by hand is drift: refresh records it, the next up turns it back on",
    async () => {
      await world.sm.send(new CancelRotateSecretCommand({ SecretId: secretName }));
      expect((await describeSecret()).RotationEnabled).toBe(false);
      const refresh = await pulumi(["refresh", "--yes", "--skip-preview"]);
      expect(refresh).toMatch(/~ 1 updated/);
      expect((await outputs())["nativeRotation"]).toMatchObject({ enabled: false });
      const preview = await workspace.run(["preview", "--expect-no-changes"]);
      transcript.push(preview.output);
      expect(preview.code).not.toBe(0);
      expect(preview.output).toMatch(/1 to update/);
      await pulumi(["up", "--yes", "--skip-preview"]);
      const described = await describeSecret();
      expect(described.RotationEnabled).toBe(true);
      expect(described.RotationLambdaARN).toBe(fn.arn);
      expect((await outputs())["nativeRotation"]).toMatchObject({ enabled: true, lambdaArn: fn.arn });
      expect((await labelledKeys(world, secretName)).current.keyId).toBe(first["keyId"]);
    },
    timeout,
  );

  test(
    "RotateSecret on the deployed secret rotates it through the function; refresh follows, no drift",
    async () => {
      const before = await labelledKeys(world, secretName);
      // Without RotationRules: Secrets Manager keeps the ones the provider set.
      await world.sm.send(new RotateSecretCommand({ SecretId: secretName, RotationLambdaARN: fn.arn }));
      const after = await labelledKeys(world, secretName);
      expect(after.current.keyId).not.toBe(before.current.keyId);
      expect(after.previous).toEqual(before.current);
      expect(after.pending).toBeUndefined();
      await expectCurrentWorks(world, secretName);
      expect(invocationsOf("createSecret")).toBe(1);
      expect((await describeSecret()).RotationRules?.AutomaticallyAfterDays).toBe(30);

      await pulumi(["refresh", "--yes", "--skip-preview"]);
      expect((await outputs())["keyId"]).toBe(after.current.keyId);
      await pulumi(["preview", "--expect-no-changes"]);
    },
    timeout,
  );

  test(
    "bad rules fail `pulumi preview`, naming the field and the fix; nothing changes",
    async () => {
      const before = await describeSecret();
      for (const [key, value, message] of [
        ["schedule", "rate(2 hours)", /"rotation\.schedule" must be at most every 4 hours/],
        ["schedule", "cron(30 4 1 * ? *)", /"rotation\.schedule" must have 0 in the minutes field/],
        ["window", "25h", /"rotation\.window" must be whole hours from 1h to 24h/],
      ] as const) {
        await pulumi(["config", "set", key, value]);
        const preview = await workspace.run(["preview"]);
        transcript.push(preview.output);
        expect(preview.code).not.toBe(0);
        expect(preview.output).toMatch(message);
        await pulumi([
          "config",
          key === "schedule" ? "set" : "rm",
          key,
          ...(key === "schedule" ? ["30"] : []),
        ]);
      }
      const after = await describeSecret();
      expect(after.RotationRules).toEqual(before.RotationRules);
      await pulumi(["preview", "--expect-no-changes"]);
    },
    timeout,
  );

  test(
    "removing rotation.lambdaArn turns native rotation off (the rotator's again); putting it back turns it on",
    async () => {
      await pulumi(["config", "rm", "lambdaArn"]);
      await pulumi(["config", "rm", "schedule"]);
      const off = await pulumi(["up", "--yes", "--skip-preview"]);
      expect(off).toMatch(/~ 1 updated/);
      const described = await describeSecret();
      expect(described.RotationEnabled).toBe(false);
      expect((await outputs())["nativeRotation"]).toBeUndefined();
      // The daemon's policy stays on the secret: the rotator (`rotate`, the daemon) takes it back.
      expect((await world.store.readTags(secretName))["llamacloud-keys:rotate-every"]).toBe("30d");
      await pulumi(["preview", "--expect-no-changes"]);

      await pulumi(["config", "set", "lambdaArn", fn.arn]);
      await pulumi(["up", "--yes", "--skip-preview"]);
      const on = await describeSecret();
      expect(on.RotationEnabled).toBe(true);
      // Without "schedule", the rules come from "every" (30d → 30 days).
      expect(on.RotationRules?.AutomaticallyAfterDays).toBe(30);
      expect((await labelledKeys(world, secretName)).pending).toBeUndefined();
    },
    timeout,
  );

  test(
    "destroy turns rotation off before revoking any key, then revokes the current and previous keys",
    async () => {
      const held = await labelledKeys(world, secretName);
      const keyIds = [held.current.keyId, held.previous!.keyId];
      world.emulator.faults.add({ route: "DELETE /api/v1/api-keys/:id", kind: "hold" });
      const destroy = workspace.run(["destroy", "--yes", "--skip-preview"]);
      // The first revocation is parked: by then rotation must already be off, every key still live.
      const parked = await Promise.race([
        world.emulator.faults.waitForHeld(1).then(() => true),
        destroy.then(() => false),
      ]);
      expect(parked, "destroy ended without revoking a key").toBe(true);
      expect((await describeSecret()).RotationEnabled).toBe(false);
      expect(keyIds.map((id) => keyById(world.emulator, id).live)).toEqual([true, true]);
      world.emulator.faults.release();
      const result = await destroy;
      transcript.push(result.output);
      expect(result.code, result.output).toBe(0);
      expect(keyIds.map((id) => keyById(world.emulator, id).live)).toEqual([false, false]);
      expect((await describeSecret()).DeletedDate).toBeInstanceOf(Date);
      expect(leakedSecrets(world.emulator, transcript.join("\n"))).toEqual([]);
    },
    timeout,
  );
});
