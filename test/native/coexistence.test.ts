import { afterAll, beforeAll, expect, it } from "vitest";
import type { DeployedFunction } from "../harness/native-engine";
import {
  childEnv,
  createManagedSecret,
  expectCurrentWorks,
  labelledKeys,
  requireBuilt,
  runCli,
} from "../rotator/fixtures";
import { type NativeWorld, startNativeWorld } from "./fixtures";

/**
 * Invariant 9, one driver per secret: a managed secret with rotation enabled and a rotation Lambda
 * is rotated by Secrets Manager only. `rotate` (and so the daemon's pass) never rotates it itself,
 * even when it is due; `rotate --force --secret X` asks Secrets Manager (RotateSecret) and reports;
 * `status` shows the mode and Secrets Manager's dates.
 */

let world: NativeWorld;
let fn: DeployedFunction;
const HOUR = 3_600_000;

beforeAll(async () => {
  requireBuilt();
  world = await startNativeWorld("test-native-coexist");
  fn = await world.deploy("rotator");
});
afterAll(async () => {
  await world?.close();
});

interface RotateOutput {
  results: { ok: boolean; mode?: string; rotated: boolean; actions: string[]; currentVersionId?: string }[];
}

it("rotate never rotates a native secret itself, even when due; --force calls RotateSecret and reports it", async () => {
  // Due by its tag on the CLI's clock (1 h rotate-every, two hours ahead) once natively rotated.
  const secret = await createManagedSecret(world, { rotateEvery: "1h", grace: "60s" });
  await world.rotate(secret.arn, fn);
  const native = await labelledKeys(world, secret.arn);
  const env = childEnv(world, { LLAMACLOUD_KEYS_NOW_OFFSET_MS: String(2 * HOUR) });

  const pass = await runCli(["rotate", "--secret", secret.arn, "--json"], env);
  expect(pass.code, pass.stderr).toBe(0);
  const [result] = (JSON.parse(pass.stdout) as RotateOutput).results;
  expect(result).toMatchObject({ ok: true, mode: "native", rotated: false });
  expect(result!.actions.join("\n")).toMatch(/no rotation: rotated natively by Secrets Manager/);
  // The pass still revoked what grace released (the pre-native key, 60 s grace on a clock 2 h ahead).
  expect(result!.actions.join("\n")).toMatch(/revokePrevious: revoked 1 key/);
  const after = await labelledKeys(world, secret.arn);
  expect(after.current).toEqual(native.current);
  expect((await world.store.listVersions(secret.arn)).length).toBe(2);

  const forced = await runCli(["rotate", "--force", "--secret", secret.arn, "--json"], env);
  expect(forced.code, forced.stderr).toBe(0);
  const [forcedResult] = (JSON.parse(forced.stdout) as RotateOutput).results;
  expect(forcedResult).toMatchObject({ ok: true, mode: "native", rotated: true });
  expect(forcedResult!.actions.join("\n")).toMatch(/RotateSecret accepted/);
  const rotated = await labelledKeys(world, secret.arn);
  expect(rotated.previous).toEqual(native.current);
  expect(rotated.current.versionId).toBe(forcedResult!.currentVersionId);
  expect(rotated.pending).toBeUndefined();
  await expectCurrentWorks(world, secret.arn);
  // The function ran the rotation: its invocations name this secret's last token.
  expect(
    world.engine
      .invocations()
      .some((i) => i.step === "finishSecret" && i.token === rotated.current.versionId),
  ).toBe(true);
});

it("status shows each secret's mode, LastRotatedDate and NextRotationDate", async () => {
  const nativeSecret = await createManagedSecret(world, { rotateEvery: "30d", grace: "1d" });
  const daemonSecret = await createManagedSecret(world, { rotateEvery: "30d", grace: "1d" });
  await world.rotate(nativeSecret.arn, fn);
  const env = childEnv(world);
  const out = await runCli(
    ["status", "--secret", nativeSecret.arn, "--secret", daemonSecret.arn, "--json"],
    env,
  );
  expect(out.code, out.stderr).toBe(0);
  const [n, d] = JSON.parse(out.stdout) as {
    mode?: string;
    lastRotatedDate?: string;
    nextRotationDate?: string;
    next: string;
  }[];
  expect(n).toMatchObject({ mode: "native", next: "rotated by Secrets Manager; revoke and sweep only" });
  expect(Date.parse(n!.lastRotatedDate!)).not.toBeNaN();
  expect(Date.parse(n!.nextRotationDate!)).toBeGreaterThan(Date.parse(n!.lastRotatedDate!));
  expect(d).toMatchObject({ mode: "daemon" });
  expect(d!.lastRotatedDate).toBeUndefined();

  const text = await runCli(["status", "--secret", nativeSecret.arn], env);
  expect(text.stdout).toMatch(
    /mode {9}native \(Secrets Manager rotates it\) {3}last rotated \S+ {3}next rotation \S+/,
  );
});
