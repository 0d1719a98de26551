import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FaultSpec } from "../../llamacloud/emulator";
import type { DeployedFunction } from "../harness/native-engine";
import {
  createManagedSecret,
  expectCurrentWorks,
  keyAccounting,
  labelledKeys,
  requireBuilt,
} from "../rotator/fixtures";
import { type SmProxy, startSmProxy } from "../rotator/sm-proxy";
import { type NativeWorld, scheduledEvent, startNativeWorld } from "./fixtures";

/**
 * Invariant 4 under native rotation: for each step, the rotation function is killed (SIGKILL of its
 * runtime process) while blocked in one of that step's calls, held by the LlamaCloud emulator's
 * `hold` fault or by a loopback proxy in front of moto. RotateSecret reports the failure; the held
 * call is then let through or dropped; AWS's retry (the four steps again with the same
 * ClientRequestToken) converges; after the revoke pass no orphan is live: at most two keys.
 */

let world: NativeWorld;
let proxy: SmProxy;
let fn: DeployedFunction;

beforeAll(async () => {
  requireBuilt();
  world = await startNativeWorld("test-native-crash");
  proxy = await startSmProxy(world.engine.endpoint);
  fn = await world.deploy("held", {}, proxy.url);
});
afterAll(async () => {
  await proxy?.close();
  await world?.close();
});

type Hold =
  | { in: "llamacloud"; fault: FaultSpec }
  | { in: "secrets-manager"; operation: string; skip?: number; onRelease: "forward" | "drop" };

interface CrashCase {
  name: string;
  step: "createSecret" | "setSecret" | "testSecret" | "finishSecret";
  hold: Hold;
}

const cases: CrashCase[] = [
  {
    name: "createSecret, POST create held after LlamaCloud minted the key (its answer lost)",
    step: "createSecret",
    hold: {
      in: "llamacloud",
      fault: { route: "POST /api/v1/api-keys", kind: "hold", when: "before-response" },
    },
  },
  {
    name: "createSecret, PutSecretValue that reached Secrets Manager",
    step: "createSecret",
    hold: { in: "secrets-manager", operation: "PutSecretValue", onRelease: "forward" },
  },
  {
    name: "setSecret, its DescribeSecret (never answered)",
    step: "setSecret",
    hold: { in: "secrets-manager", operation: "DescribeSecret", onRelease: "drop" },
  },
  {
    name: "testSecret, GET project with the pending key",
    step: "testSecret",
    hold: { in: "llamacloud", fault: { route: "GET /api/v1/projects/:id", kind: "hold" } },
  },
  {
    name: "finishSecret, moving AWSCURRENT (reached)",
    step: "finishSecret",
    hold: { in: "secrets-manager", operation: "UpdateSecretVersionStage", onRelease: "forward" },
  },
  {
    name: "finishSecret, clearing AWSPENDING (reached)",
    step: "finishSecret",
    hold: { in: "secrets-manager", operation: "UpdateSecretVersionStage", skip: 1, onRelease: "forward" },
  },
];

describe("the rotation function killed mid-call in each step, then retried by Secrets Manager, converges", () => {
  it.each(cases)("$name", async ({ step, hold }) => {
    const secret = await createManagedSecret(world, { rotateEvery: "30d", grace: "1d" });
    const before = await labelledKeys(world, secret.arn);
    if (hold.in === "llamacloud") world.emulator.faults.add(hold.fault);
    else {
      proxy.add({
        operation: hold.operation,
        // The function is given the secret's name by moto; the environment label is in both.
        secret: secret.environment,
        when: () => world.engine.runningStep() === step,
        ...(hold.skip === undefined ? {} : { skip: hold.skip }),
        action: { kind: "hold", onRelease: hold.onRelease },
      });
    }
    let rotation: Promise<void> | undefined;
    try {
      rotation = world.rotate(secret.arn, fn);
      rotation.catch(() => undefined);
      const held = hold.in === "llamacloud" ? world.emulator.faults.waitForHeld() : proxy.waitForHeld();
      await Promise.race([
        held,
        rotation.then(() => {
          throw new Error("RotateSecret finished before the call was held");
        }),
      ]);
      expect(world.engine.runningStep()).toBe(step);
      // The function is blocked mid-call: readers still get a working key.
      await expectCurrentWorks(world, secret.arn);
      expect(world.engine.killRuntimes()).toBeGreaterThan(0);
      await expect(rotation).rejects.toThrow(new RegExp(`failed in ${step}`));
      if (hold.in === "llamacloud") world.emulator.faults.release();
      else await proxy.release();
      await expectCurrentWorks(world, secret.arn);
    } finally {
      world.emulator.faults.clear();
      proxy.clear();
    }

    // AWS retries the whole rotation with the same token.
    const token = world.engine
      .invocations()
      .filter((i) => i.phase === "start" && i.token !== null)
      .at(-1)!.token!;
    await world.retry(fn, secret.arn, token);
    const after = await labelledKeys(world, secret.arn);
    expect(after.pending).toBeUndefined();
    expect(after.current.versionId).toBe(token);
    expect(after.previous).toEqual(before.current);
    await expectCurrentWorks(world, secret.arn);

    const pass = await world.invoke(fn, scheduledEvent());
    expect(pass.ok, JSON.stringify(pass.payload)).toBe(true);
    const { live, held } = await keyAccounting(world, secret);
    // No orphan: the live keys named for the secret are exactly the current and the previous one.
    expect(live).toEqual(held);
    expect(live.length).toBeLessThanOrEqual(2);
  });
});
