import { readFileSync } from "node:fs";
import { DescribeSecretCommand } from "@aws-sdk/client-secrets-manager";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { listArtifacts } from "../harness/leak-scan";
import type { DeployedFunction } from "../harness/native-engine";
import {
  createManagedSecret,
  expectCurrentWorks,
  keyAccounting,
  labelledKeys,
  requireBuilt,
} from "../rotator/fixtures";
import { type NativeWorld, scheduledEvent, startNativeWorld } from "./fixtures";

/**
 * Native rotation on the local engine: moto's RotateSecret creates the token's empty AWSPENDING
 * version and invokes our packaged function for each step, running under the AWS Lambda Runtime
 * Interface Emulator with aws-lambda-ric (tools/moto/native_engine.py). Nothing runs in this process
 * but the LlamaCloud emulator and the assertions.
 */

let world: NativeWorld;
let fn: DeployedFunction;
/** The same function with a clock 2 days ahead: its revoke pass finds a 1 d grace over. */
let later: DeployedFunction;

beforeAll(async () => {
  requireBuilt();
  world = await startNativeWorld("test-native");
  fn = await world.deploy("rotator");
  later = await world.deploy("rotator-later", { LLAMACLOUD_KEYS_NOW_OFFSET_MS: String(2 * 86_400_000) });
});
afterAll(async () => {
  await world?.close();
});

async function keyWorks(apiKey: string, projectId: string): Promise<boolean> {
  try {
    await world.client.withApiKey(apiKey).getProject(projectId);
    return true;
  } catch {
    return false;
  }
}

describe("RotateSecret drives the packaged function through the four steps", () => {
  it("rotates at once: the new key is AWSCURRENT and works, the old one AWSPREVIOUS and works through grace, no AWSPENDING, LastRotatedDate set", async () => {
    const secret = await createManagedSecret(world, { rotateEvery: "30d", grace: "1d" });
    const before = await labelledKeys(world, secret.arn);

    await world.rotate(secret.arn, fn);

    const after = await labelledKeys(world, secret.arn);
    expect(after.pending).toBeUndefined();
    expect(after.previous).toEqual(before.current);
    expect(after.current.keyId).not.toBe(before.current.keyId);
    await expectCurrentWorks(world, secret.arn);
    const previous = await world.store.readPayload(secret.arn, { stage: "AWSPREVIOUS" });
    expect(await keyWorks(previous.payload.apiKey.reveal(), secret.projectId)).toBe(true);
    const described = await world.sm.send(new DescribeSecretCommand({ SecretId: secret.arn }));
    expect(described.RotationEnabled).toBe(true);
    expect(described.LastRotatedDate).toBeInstanceOf(Date);
    expect(described.RotationLambdaARN).toBe(fn.arn);

    // The scheduled pass within grace revokes nothing: AWSPREVIOUS readers keep working.
    const within = await world.invoke(fn, scheduledEvent());
    expect(within.ok, JSON.stringify(within.payload)).toBe(true);
    expect(await keyWorks(previous.payload.apiKey.reveal(), secret.projectId)).toBe(true);

    // Past grace, the pass revokes the previous key and nothing else; the secret is unchanged.
    const past = await world.invoke(later, scheduledEvent());
    expect(past.ok, JSON.stringify(past.payload)).toBe(true);
    expect(await labelledKeys(world, secret.arn)).toEqual(after);
    const { live } = await keyAccounting(world, secret);
    expect(live).toEqual([after.current.keyId]);
    await expectCurrentWorks(world, secret.arn);
  });

  it("the scheduled pass never starts a rotation, even of a secret that is due", async () => {
    // Due on the later function's clock (rotate-every 1h, two days ahead), and not natively rotated yet.
    const secret = await createManagedSecret(world, { rotateEvery: "1h", grace: "1d" });
    const before = await labelledKeys(world, secret.arn);
    const pass = await world.invoke(later, scheduledEvent());
    expect(pass.ok, JSON.stringify(pass.payload)).toBe(true);
    expect(await labelledKeys(world, secret.arn)).toEqual(before);
    expect((await world.store.listVersions(secret.arn)).length).toBe(1);
  });
});

describe("events that are not a step of a live rotation change nothing", () => {
  it.each([
    [
      "an unknown step",
      { Step: "rotateSecret", SecretId: "x", ClientRequestToken: "a".repeat(36) },
      /"Step": must be one of/,
    ],
    ["a missing token", { Step: "createSecret", SecretId: "x" }, /"ClientRequestToken"/],
    ["a missing SecretId", { Step: "finishSecret", ClientRequestToken: "a".repeat(36) }, /"SecretId"/],
    [
      "an unknown field",
      { Step: "createSecret", SecretId: "x", ClientRequestToken: "a".repeat(36), Extra: 1 },
      /unknown field\(s\) Extra/,
    ],
    // `source` is optional (rotator/README.md names only the detail-type), but when sent it is a string.
    ["a bad scheduled event", { "detail-type": "Scheduled Event", source: 42 }, /"source"/],
  ])("%s is refused naming the field", async (_name, event, message) => {
    const secret = await createManagedSecret(world, { rotateEvery: "30d", grace: "1d" });
    // Version ids and labels (moto's reported CreatedDate of a version can move by a second).
    const versions = async () =>
      (await world.store.listVersions(secret.arn)).map((v) => ({ versionId: v.versionId, stages: v.stages }));
    const before = await versions();
    const result = await world.invoke(fn, JSON.parse(JSON.stringify(event)));
    expect(result.ok).toBe(false);
    const payload = result.payload as { errorType?: string; errorMessage?: string };
    expect(payload.errorType).toBe("NativeRotationError");
    expect(payload.errorMessage).toMatch(message);
    expect(await versions()).toEqual(before);
  });

  it("a step invoked twice, out of order, or with a stale token is a no-op or a refusal; nothing is lost", async () => {
    const secret = await createManagedSecret(world, { rotateEvery: "30d", grace: "1d" });
    await world.rotate(secret.arn, fn);
    const rotated = await labelledKeys(world, secret.arn);
    const token = rotated.current.versionId;

    // Twice: every step of the finished rotation again, with its token (now AWSCURRENT): no-ops.
    await world.retry(fn, secret.arn, token);
    expect(await labelledKeys(world, secret.arn)).toEqual(rotated);

    // Stale: the token of the first version (AWSPREVIOUS now), and a token that is no version.
    for (const stale of [rotated.previous!.versionId, "0f0e0d0c-0b0a-4908-8706-050403020100"]) {
      for (const Step of ["createSecret", "testSecret", "finishSecret"]) {
        const result = await world.invoke(fn, { Step, SecretId: secret.arn, ClientRequestToken: stale });
        expect(result.ok).toBe(false);
        expect((result.payload as { errorMessage: string }).errorMessage).toMatch(/did nothing/);
      }
    }
    // Out of order: a fresh rotation's testSecret and finishSecret before its createSecret. moto's
    // RotateSecret cannot be stopped half-way, so the test stages the token itself, as AWSPENDING
    // with a placeholder where AWS leaves no value until createSecret writes it.
    const fresh = "1a2b3c4d-5e6f-4a8b-9c0d-1e2f3a4b5c6d";
    await world.sm.send(
      new (await import("@aws-sdk/client-secrets-manager")).PutSecretValueCommand({
        SecretId: secret.arn,
        ClientRequestToken: fresh,
        SecretString: "{}",
        VersionStages: ["AWSPENDING"],
      }),
    );
    for (const Step of ["testSecret", "finishSecret"]) {
      const result = await world.invoke(fn, { Step, SecretId: secret.arn, ClientRequestToken: fresh });
      expect(result.ok).toBe(false);
    }
    const described = await world.store.describe(secret.arn);
    expect(described.currentVersionId).toBe(rotated.current.versionId);
    expect(described.previousVersionId).toBe(rotated.previous!.versionId);
    await expectCurrentWorks(world, secret.arn);
    const live = world.emulator.state
      .allKeys()
      .filter((k) => k.live)
      .map((k) => k.id);
    expect(live).toContain(rotated.current.keyId);
    expect(live).toContain(rotated.previous!.keyId);
  });
});

describe("two RotateSecret calls at once on one secret", () => {
  it("rotate it once", async () => {
    const secret = await createManagedSecret(world, { rotateEvery: "30d", grace: "1d" });
    const before = await labelledKeys(world, secret.arn);
    // Slow LlamaCloud so the two rotations overlap inside their steps.
    world.emulator.faults.latencyMs = 100;
    let outcomes: PromiseSettledResult<void>[];
    try {
      outcomes = await Promise.allSettled([world.rotate(secret.arn, fn), world.rotate(secret.arn, fn)]);
    } finally {
      world.emulator.faults.latencyMs = 0;
    }
    expect(outcomes.filter((o) => o.status === "fulfilled").length).toBeGreaterThanOrEqual(1);
    const after = await labelledKeys(world, secret.arn);
    expect(after.pending).toBeUndefined();
    // Rotated once: AWSPREVIOUS is the original version, not a key of the other attempt.
    expect(after.previous).toEqual(before.current);
    await expectCurrentWorks(world, secret.arn);
    // The loser's key (if it minted one) is swept by the revoke pass; at most two live keys remain.
    const pass = await world.invoke(fn, scheduledEvent());
    expect(pass.ok, JSON.stringify(pass.payload)).toBe(true);
    const { live } = await keyAccounting(world, secret);
    expect(live.length).toBeLessThanOrEqual(2);
    expect(live).toContain(after.current.keyId);
  });
});

describe("the leak scan covers the function runtime's output", () => {
  it("every line the runtime printed is in the recorded output of the engine, which the suite's scan reads", async () => {
    const secret = await createManagedSecret(world, { rotateEvery: "30d", grace: "1d" });
    await world.rotate(secret.arn, fn);
    const dir = inject("artifactsDir");
    const { scanned } = listArtifacts(dir);
    const engineLogs = scanned
      .filter((file) => file.endsWith(".stderr.log"))
      .map((file) => readFileSync(file, "utf8"))
      .filter((text) => text.includes("[native-engine]"));
    expect(engineLogs.length).toBeGreaterThan(0);
    const text = engineLogs.join("\n");
    // The runtime's own lines (RIE and aws-lambda-ric) and the function's step log for this secret.
    expect(text).toMatch(/\[lambda rotator-[^\]]+\] .*INVOKE START/);
    expect(text).toContain(`"step":"finishSecret"`);
    expect(text).toContain(secret.environment);
  });
});
