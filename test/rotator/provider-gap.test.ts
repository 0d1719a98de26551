import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { keyName } from "../../llamacloud/key-name";
import { formatResults } from "../../rotator/report";
import { processSecret } from "../../rotator/rotation";
import { runOnce } from "../../rotator/run-once";
import { STAGING_WINDOW_MS } from "../../rotator/services";
import { NO_KEY_YET } from "../../rotator/state";
import { collectStatus, formatStatus } from "../../rotator/status";
import { loadProvider, type ProviderUnderTest, stackConfig, useMoto } from "../provider/fixtures";
import {
  childEnv,
  createManagedSecret,
  createTaggedSecret,
  eventsOf,
  expectCurrentWorks,
  labelledKeys,
  requireBuilt,
  rotationContext,
  runCli,
  startWorld,
  testConfig,
  type World,
} from "./fixtures";

// Where the Pulumi provider and the rotator meet. `ProjectKeys` creates and tags the secret before
// its `ApiKey` writes the first key, so a pass can find a managed secret with no AWSCURRENT; and the
// provider's create can die between minting a key and writing it, after which a fresh `pulumi up`
// mints under a new create token and nothing ever references the first key again.

const HOUR = 3_600_000;

let world: World;
let provider: ProviderUnderTest;

beforeAll(async () => {
  requireBuilt();
  world = await startWorld("test-rotator-provider-gap");
  // The provider runs in this process (compiled, as the engine loads it), against the same
  // emulator and moto region as the rotator.
  useMoto(world.region);
  provider = loadProvider();
});
beforeEach(async () => {
  await provider.configure(
    stackConfig({ "llamacloud:apiKey": world.emulator.adminKey, "llamacloud:baseUrl": world.emulator.url }),
  );
});
afterAll(async () => {
  await world?.close();
});

function isLive(keyId: string): boolean {
  return world.emulator.state.allKeys().some((k) => k.id === keyId && k.live);
}

describe("a managed secret whose provider has not written the first key yet", () => {
  it("is skipped, untouched and not a failure: `skipped: no key yet (the provider has not written it)`", async () => {
    const pending = await createTaggedSecret(world, { rotateEvery: "1h" });
    // A key named for it from a create that has not finished, old enough for the sweep.
    const leftover = await world.client.createApiKey({
      projectId: pending.projectId,
      name: keyName("checkout-api", pending.projectId, pending.environment, randomUUID()),
    });
    const posts = world.emulator.requests("POST /api/v1/api-keys").length;
    const ctx = rotationContext(world, {
      now: () => Date.now() + 2 * HOUR,
      wallNow: () => Date.now() + STAGING_WINDOW_MS + 1_000,
    });

    const result = await processSecret(ctx, pending.arn, { force: true });

    expect(result).toMatchObject({
      ok: true,
      skipped: NO_KEY_YET,
      rotated: false,
      arn: pending.arn,
      projectId: pending.projectId,
      environment: pending.environment,
      actions: ["skipped: no key yet (the provider has not written it)"],
    });
    expect(result.error).toBeUndefined();
    expect(eventsOf(ctx.log, "rotation:failed")).toEqual([]);
    expect(eventsOf(ctx.log, "rotation:revoked")).toEqual([]);
    expect(eventsOf(ctx.log, "rotation:step").map((e) => `${e.step}:${e.phase}`)).toEqual([
      "guard:begin",
      "guard:end",
    ]);
    expect(world.emulator.requests("POST /api/v1/api-keys")).toHaveLength(posts);
    expect(await world.store.listVersions(pending.arn)).toEqual([]);
    expect(isLive(leftover.key.id)).toBe(true);
    await world.client.deleteApiKey(leftover.key.id);
  });

  it("a pass over it and a working secret exits 0, and rotate and status say why it was skipped", async () => {
    const pending = await createTaggedSecret(world, { rotateEvery: "1h" });
    const fine = await createManagedSecret(world, { rotateEvery: "1h" });
    const deps = { store: world.store, client: world.client, now: () => Date.now() + 2 * HOUR };

    const run = await runOnce(testConfig({ secrets: [pending.arn, fine.arn] }), {
      ...deps,
      testRetryDelaysMs: [],
    });
    expect(run.exitCode).toBe(0);
    expect(run.results.map((r) => [r.ok, r.skipped, r.rotated])).toEqual([
      [true, NO_KEY_YET, false],
      [true, undefined, true],
    ]);
    const text = formatResults(run, false);
    expect(text).toContain(
      `skip ${pending.arn}\n       skipped: no key yet (the provider has not written it)`,
    );
    expect(text).toMatch(/2 secret\(s\), 0 failed, 1 skipped, /);

    const statuses = await collectStatus(testConfig({ secrets: [pending.arn] }), deps);
    expect(statuses).toEqual([
      {
        arn: pending.arn,
        name: expect.any(String),
        projectId: pending.projectId,
        environment: pending.environment,
        skipped: NO_KEY_YET,
        next: "skipped: no key yet (the provider has not written it)",
      },
    ]);
    expect(formatStatus(statuses, Date.now()).split("\n").slice(2)).toEqual([
      `  project      ${pending.projectId}   environment ${pending.environment}`,
      "  next pass    skipped: no key yet (the provider has not written it)",
      "",
    ]);

    // The same through the CLI: exit 0 for both commands.
    const env = childEnv(world);
    const rotate = await runCli(["rotate", "--secret", pending.arn], env);
    expect(rotate.code, rotate.stderr).toBe(0);
    expect(rotate.stdout).toContain("skipped: no key yet (the provider has not written it)");
    const shown = await runCli(["status", "--secret", pending.arn], env);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toContain("skipped: no key yet (the provider has not written it)");
  });
});

describe("the provider's crash-orphan gap (a create that died between minting and writing)", () => {
  it("the rotator's sweep revokes the orphaned key once it is old enough; keys AWSCURRENT and AWSPREVIOUS hold are never revoked", async () => {
    const secret = await createTaggedSecret(world, { grace: "1h" });
    const news = {
      projectId: secret.projectId,
      environment: secret.environment,
      secretId: secret.arn,
      name: "checkout-api",
    };

    // `pulumi up` #1: check records the create token, create mints the key named after it… and the
    // process dies before PutSecretValue (no rollback runs after a SIGKILL).
    const first = await provider.check({}, news);
    const oldToken = first.inputs["__createToken"] as string;
    const crashed = await world.client.createApiKey({
      projectId: secret.projectId,
      name: keyName("checkout-api", secret.projectId, secret.environment, oldToken),
    });

    // `pulumi up` #2: the pending create is dropped from state, check makes a new token.
    const second = await provider.check({}, news);
    expect(second.inputs["__createToken"]).not.toBe(oldToken);
    const { outs } = await provider.create(second.inputs);
    expect(isLive(crashed.key.id)).toBe(true); // the provider cannot know about it

    // Young: possibly a create in flight. Left alone.
    const young = rotationContext(world);
    const youngPass = await processSecret(young, secret.arn);
    expect(youngPass.ok, youngPass.error?.message).toBe(true);
    expect(youngPass.actions.join("\n")).toContain(`left key ${crashed.key.id} alone until`);
    expect(eventsOf(young.log, "rotation:revoked")).toEqual([]);

    // Older than the staging window on the wall clock: revoked, named after the dead token.
    const aged = rotationContext(world, { wallNow: () => Date.now() + STAGING_WINDOW_MS + 1_000 });
    const agedPass = await processSecret(aged, secret.arn);
    expect(agedPass.ok, agedPass.error?.message).toBe(true);
    expect(eventsOf(aged.log, "rotation:revoked")).toEqual([
      expect.objectContaining({ keyId: crashed.key.id, versionId: oldToken, reason: "orphan" }),
    ]);
    expect(isLive(crashed.key.id)).toBe(false);
    expect(isLive(outs["keyId"] as string)).toBe(true);
    await expectCurrentWorks(world, secret.arn);

    // After a rotation, AWSPREVIOUS holds the provider's key (in grace) and AWSCURRENT the new one:
    // however old the keys are, the sweep never takes a key a labelled version holds.
    const rotated = await processSecret(rotationContext(world), secret.arn, { force: true });
    expect(rotated).toMatchObject({ ok: true, rotated: true });
    const labels = await labelledKeys(world, secret.arn);
    expect(labels.previous?.keyId).toBe(outs["keyId"]);
    // …named with the resource's own prefix, not the rotator's default.
    const current = await world.store.readPayload(secret.arn, { versionId: labels.current.versionId });
    expect(current.payload.keyName).toBe(
      keyName("checkout-api", secret.projectId, secret.environment, labels.current.versionId),
    );
    const dayLater = rotationContext(world, { wallNow: () => Date.now() + 24 * HOUR });
    const later = await processSecret(dayLater, secret.arn);
    expect(later.ok, later.error?.message).toBe(true);
    expect(eventsOf(dayLater.log, "rotation:revoked")).toEqual([]);
    expect(isLive(labels.current.keyId)).toBe(true);
    expect(isLive(labels.previous?.keyId as string)).toBe(true);
  });
});
