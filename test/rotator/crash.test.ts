import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FaultSpec } from "../../llamacloud/emulator";
import { processSecret } from "../../rotator/rotation";
import {
  childEnv,
  createManagedSecret,
  expectCurrentWorks,
  keyAccounting,
  labelledKeys,
  type ManagedSecret,
  requireBuilt,
  rotationContext,
  runCli,
  spawnCli,
  startWorld,
  type World,
} from "./fixtures";
import { type SmProxy, startSmProxy } from "./sm-proxy";

/**
 * Invariant 4, with real processes: the rotator CLI is stopped with SIGKILL while blocked in each
 * API call of a rotation (held by the emulator's `hold` fault, or by a loopback proxy in front of
 * moto), the held call is then let through or dropped, and the CLI is run again. Every time:
 * AWSCURRENT works while the rotator is dead, the rerun converges, no key leaks, no key is lost.
 */

let world: World;
let proxy: SmProxy;

beforeAll(async () => {
  requireBuilt();
  world = await startWorld("test-rotator-crash");
  proxy = await startSmProxy(world.motoEndpoint);
});
afterAll(async () => {
  await proxy?.close();
  await world?.close();
});

const HOUR = 3_600_000;

type Hold =
  | { in: "llamacloud"; fault: FaultSpec }
  | { in: "secrets-manager"; operation: string; skip?: number; onRelease: "forward" | "drop" };

interface CrashCase {
  name: string;
  hold: Hold;
  /** `rotation`: a due secret is rotated. `revocation`: a rotated secret whose grace has passed. */
  scenario: "rotation" | "revocation";
}

const cases: CrashCase[] = [
  {
    name: "createSecret, POST create held before LlamaCloud handled it",
    scenario: "rotation",
    hold: {
      in: "llamacloud",
      fault: { route: "POST /api/v1/api-keys", kind: "hold", when: "before-handling" },
    },
  },
  {
    name: "createSecret, POST create held after LlamaCloud minted the key (its answer lost)",
    scenario: "rotation",
    hold: {
      in: "llamacloud",
      fault: { route: "POST /api/v1/api-keys", kind: "hold", when: "before-response" },
    },
  },
  {
    name: "createSecret, PutSecretValue that never reached Secrets Manager",
    scenario: "rotation",
    hold: { in: "secrets-manager", operation: "PutSecretValue", onRelease: "drop" },
  },
  {
    name: "createSecret, PutSecretValue that reached Secrets Manager",
    scenario: "rotation",
    hold: { in: "secrets-manager", operation: "PutSecretValue", onRelease: "forward" },
  },
  {
    name: "testSecret, GET project with the pending key",
    scenario: "rotation",
    hold: { in: "llamacloud", fault: { route: "GET /api/v1/projects/:id", kind: "hold" } },
  },
  {
    name: "finishSecret, moving AWSCURRENT (never reached)",
    scenario: "rotation",
    hold: { in: "secrets-manager", operation: "UpdateSecretVersionStage", onRelease: "drop" },
  },
  {
    name: "finishSecret, moving AWSCURRENT (reached)",
    scenario: "rotation",
    hold: { in: "secrets-manager", operation: "UpdateSecretVersionStage", onRelease: "forward" },
  },
  {
    name: "finishSecret, clearing AWSPENDING (reached)",
    scenario: "rotation",
    hold: { in: "secrets-manager", operation: "UpdateSecretVersionStage", skip: 1, onRelease: "forward" },
  },
  {
    name: "revokePrevious, DELETE held before LlamaCloud handled it",
    scenario: "revocation",
    hold: {
      in: "llamacloud",
      fault: { route: "DELETE /api/v1/api-keys/:id", kind: "hold", when: "before-handling" },
    },
  },
  {
    name: "revokePrevious, DELETE held after LlamaCloud revoked the key",
    scenario: "revocation",
    hold: {
      in: "llamacloud",
      fault: { route: "DELETE /api/v1/api-keys/:id", kind: "hold", when: "before-response" },
    },
  },
];

async function prepare(
  scenario: CrashCase["scenario"],
): Promise<{ secret: ManagedSecret; offsetMs: number }> {
  if (scenario === "rotation") {
    // Due (1 h old on a clock two hours ahead); after one rotation the previous key's 1 d grace blocks another.
    return {
      secret: await createManagedSecret(world, { rotateEvery: "1h", grace: "1d" }),
      offsetMs: 2 * HOUR,
    };
  }
  const secret = await createManagedSecret(world, { rotateEvery: "30d", grace: "60s" });
  const result = await processSecret(rotationContext(world), secret.arn, { force: true });
  if (!result.ok) throw new Error(`setup rotation failed: ${result.error?.message}`);
  // Ten minutes ahead: past the staging window plus the 60 s grace; not due for 30 days.
  return { secret, offsetMs: 10 * 60_000 };
}

describe("a SIGKILL in any API call of a rotation, then a rerun, converges (invariant 4)", () => {
  it.each(cases)("$name", async ({ hold, scenario }) => {
    const { secret, offsetMs } = await prepare(scenario);
    const before = await labelledKeys(world, secret.arn);
    const env = childEnv(world, {
      LLAMACLOUD_KEYS_NOW_OFFSET_MS: String(offsetMs),
      AWS_ENDPOINT_URL_SECRETS_MANAGER: proxy.url,
    });
    if (hold.in === "llamacloud") world.emulator.faults.add(hold.fault);
    else {
      proxy.add({
        operation: hold.operation,
        secret: secret.arn,
        ...(hold.skip === undefined ? {} : { skip: hold.skip }),
        action: { kind: "hold", onRelease: hold.onRelease },
      });
    }
    try {
      const child = spawnCli(["rotate", "--secret", secret.arn], env);
      const held = hold.in === "llamacloud" ? world.emulator.faults.waitForHeld() : proxy.waitForHeld();
      await Promise.race([
        held,
        child.exited.then(() => {
          throw new Error(`the rotator exited before the call was held:\n${child.stderr()}`);
        }),
      ]);
      // The rotator is blocked mid-call: readers still get a working key.
      await expectCurrentWorks(world, secret.arn);
      child.kill("SIGKILL");
      expect((await child.exited).signal).toBe("SIGKILL");
      // Let the held call through (or drop it), as the network would after the client died.
      if (hold.in === "llamacloud") world.emulator.faults.release();
      else await proxy.release();
      await expectCurrentWorks(world, secret.arn);
    } finally {
      world.emulator.faults.clear();
      proxy.clear();
    }

    const rerun = await runCli(["rotate", "--secret", secret.arn, "--json"], env);
    expect(rerun.code, rerun.stderr).toBe(0);
    await expectCurrentWorks(world, secret.arn);
    const after = await labelledKeys(world, secret.arn);
    expect(after.pending).toBeUndefined();
    const { live, held } = await keyAccounting(world, secret);
    if (scenario === "rotation") {
      // Rotated exactly once: the old key is AWSPREVIOUS (in grace, still live), the new one current.
      expect(after.previous).toEqual(before.current);
      expect(after.current.keyId).not.toBe(before.current.keyId);
      expect(live).toEqual(held);
    } else {
      // The previous key is revoked; nothing else changed.
      expect(after).toEqual(before);
      expect(live).toEqual([after.current.keyId]);
    }
    // No key lost: everything the secret holds that should work, works.
    expect(live).toContain(after.current.keyId);
  });
});

describe("two rotator processes at once (invariant 5)", () => {
  it("rotate each secret once, with no extra live key", async () => {
    const secrets = await Promise.all(
      [1, 2, 3].map(() => createManagedSecret(world, { rotateEvery: "1h", grace: "1d" })),
    );
    const env = childEnv(world, { LLAMACLOUD_KEYS_NOW_OFFSET_MS: String(2 * HOUR) });
    const args = ["rotate", ...secrets.flatMap((s) => ["--secret", s.arn]), "--json"];
    // Slow LlamaCloud down so the two processes overlap inside each rotation.
    world.emulator.faults.latencyMs = 50;
    let runs: Awaited<ReturnType<typeof runCli>>[];
    try {
      runs = await Promise.all([runCli(args, env), runCli(args, env)]);
    } finally {
      world.emulator.faults.latencyMs = 0;
    }
    for (const run of runs) expect(run.code, run.stderr).toBe(0);
    for (const secret of secrets) {
      expect(await world.store.listVersions(secret.arn)).toHaveLength(2);
      const { live, held } = await keyAccounting(world, secret);
      expect(held).toHaveLength(2);
      expect(live).toEqual(held);
      await expectCurrentWorks(world, secret.arn);
    }
  });
});
