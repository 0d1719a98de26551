import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { processSecret } from "../../rotator/rotation";
import { runOnce } from "../../rotator/run-once";
import { createSecretStore, type SecretStore } from "../../secrets/store";
import { motoCredentials } from "../harness/moto";
import {
  createManagedSecret,
  expectCurrentWorks,
  fastClient,
  keyAccounting,
  labelledKeys,
  liveNamedKeys,
  type ManagedSecret,
  type ManagedSecretOptions,
  rotationContext,
  startWorld,
  testConfig,
  type World,
} from "./fixtures";
import { type HeldCall, type SmProxy, sequentialRoundTrips, startSmProxy } from "./sm-proxy";

/**
 * The call budget of issue #13, counted by loopback proxies in front of moto and of the LlamaCloud
 * emulator (every call the rotator makes goes through one of them; nothing is mocked):
 * - a due rotation (guard, createSecret, setSecret, testSecret, finishSecret): ≤ 7 calls in ≤ 5
 *   sequential round trips, besides the pass's own listing and its one key list per project;
 * - revoking the displaced key once grace has passed: ≤ 3 calls, the last read of who holds the key
 *   right before the DELETE;
 * - a pass over N managed secrets with nothing due: ≤ ⌈N/100⌉ + N Secrets Manager calls, and at most
 *   one LlamaCloud key list per project.
 * Every proxied call waits 40 ms before it is forwarded, so calls made together overlap for certain
 * and calls made one after the other cannot: the round-trip count does not depend on the machine.
 */

let world: World;
let sm: SmProxy;
let llama: SmProxy;
let store: SecretStore;
/** For setting up rotations whose calls are not counted. */
let setupClient: ReturnType<typeof fastClient>;

const LIST_KEYS = "GET /api/v1/api-keys";
const HOUR = 3_600_000;

beforeAll(async () => {
  world = await startWorld("test-rotator-budget");
  sm = await startSmProxy(world.motoEndpoint, { latencyMs: 40 });
  llama = await startSmProxy(world.emulator.url, { latencyMs: 40 });
  store = createSecretStore({
    endpoint: sm.url,
    credentials: motoCredentials,
    region: world.region,
    maxAttempts: 1,
  });
  setupClient = fastClient(llama.url, world.emulator.adminKey);
});
afterAll(async () => {
  await setupClient?.close();
  store?.close();
  await sm?.close();
  await llama?.close();
  await world?.close();
});

/** A managed secret whose payload points at the LlamaCloud proxy (the rotator refuses another host). */
function managed(options: ManagedSecretOptions): Promise<ManagedSecret> {
  return createManagedSecret(world, { ...options, baseUrl: llama.url });
}

/** Runs `fn` with the rotator on the proxies; resolves with the calls it made to each service. */
async function counted<T>(
  fn: (deps: { store: SecretStore; client: ReturnType<typeof fastClient> }) => Promise<T>,
) {
  const client = fastClient(llama.url, world.emulator.adminKey);
  const from = { sm: sm.calls.length, llama: llama.calls.length };
  try {
    const value = await fn({ store, client });
    const smCalls = sm.calls.slice(from.sm);
    const llamaCalls = llama.calls.slice(from.llama);
    return { value, sm: smCalls, llama: llamaCalls, all: [...smCalls, ...llamaCalls] };
  } finally {
    await client.close();
  }
}

const ops = (calls: HeldCall[]) => calls.map((c) => c.operation);

describe("the call budget (issue #13), counted by proxies", () => {
  it("a due rotation in a pass: ≤ 7 calls in ≤ 5 sequential round trips, besides the listing and the project's key list", async () => {
    const secret = await managed({ rotateEvery: "1h", grace: "1d" });
    // A region of this test file's own: the pass's listing holds this secret only.
    const run = await counted(({ store, client }) =>
      runOnce(testConfig({ secrets: [] }), {
        store,
        client,
        now: () => Date.now() + 2 * HOUR,
        testRetryDelaysMs: [],
      }),
    );
    expect(run.value.exitCode, JSON.stringify(run.value.results)).toBe(0);
    expect(run.value.results).toEqual([expect.objectContaining({ secretId: secret.arn, rotated: true })]);

    const listing = run.sm.filter((c) => c.operation === "ListSecrets");
    const keyLists = run.llama.filter((c) => c.operation === LIST_KEYS);
    const rotation = run.all.filter((c) => c.operation !== "ListSecrets" && c.operation !== LIST_KEYS);
    expect(listing).toHaveLength(1);
    expect(keyLists).toHaveLength(1);
    expect(rotation.length, ops(rotation).join(", ")).toBeLessThanOrEqual(7);
    // After the listing: the AWSCURRENT value with the key list, mint, write with test, the two label
    // moves together (4; the budget is 5).
    const afterListing = run.all.filter((c) => c.operation !== "ListSecrets");
    expect(sequentialRoundTrips(afterListing), ops(afterListing).join(", ")).toBeLessThanOrEqual(5);
    // rotator/README.md states the measured cost ("7 calls in 4 sequential round trips"): printed beside the budget.
    console.info(
      `due rotation in a pass: ${rotation.length} calls, ${sequentialRoundTrips(afterListing)} sequential round trips after the listing`,
    );

    // The budget bought nothing unsafe: the tested key is current, the old one previous and live.
    const labels = await labelledKeys(world, secret.arn);
    expect(labels.previous).toEqual({ versionId: secret.initialVersionId, keyId: secret.initialKeyId });
    const { live, held } = await keyAccounting(world, secret);
    expect(live).toEqual(held);
    await expectCurrentWorks(world, secret.arn);
  });

  it("a due rotation of a secret named by id: the same ≤ 7 calls (DescribeSecret instead of the listing)", async () => {
    const secret = await managed({ rotateEvery: "1h", grace: "1d" });
    const run = await counted(({ store, client }) =>
      processSecret(rotationContext(world, { store, client, now: () => Date.now() + 2 * HOUR }), secret.arn),
    );
    expect(run.value).toMatchObject({ ok: true, rotated: true });
    const rotation = run.all.filter((c) => c.operation !== LIST_KEYS);
    expect(rotation.length, ops(rotation).join(", ")).toBeLessThanOrEqual(7);
    expect(run.llama.filter((c) => c.operation === LIST_KEYS)).toHaveLength(1);
    // The key list needs the project, which the tags name: it waits for DescribeSecret.
    expect(sequentialRoundTrips(run.all), ops(run.all).join(", ")).toBeLessThanOrEqual(6);
    console.info(
      `due rotation of a secret named by id: ${rotation.length} calls besides the key list, ${sequentialRoundTrips(run.all)} sequential round trips`,
    );
  });

  it("revoking the displaced key once grace has passed: ≤ 3 calls, and who holds it is read right before the DELETE", async () => {
    const secret = await managed({ rotateEvery: "30d", grace: "60s" });
    const first = await processSecret(rotationContext(world, { client: setupClient }), secret.arn, {
      force: true,
    });
    expect(first).toMatchObject({ ok: true, rotated: true });

    // Half an hour on: past the staging window and the 60 s grace, not yet due again.
    const run = await counted(({ store, client }) =>
      processSecret(rotationContext(world, { store, client, now: () => Date.now() + HOUR / 2 }), secret.arn),
    );
    expect(run.value).toMatchObject({ ok: true, rotated: false });
    expect(run.value.actions[0]).toMatch(/^revoked key .* \(grace-passed\)$/);
    const revocation = run.all.filter((c) => c.operation !== LIST_KEYS);
    expect(revocation.length, ops(revocation).join(", ")).toBeLessThanOrEqual(3);
    const deletes = run.llama.filter((c) => c.operation.startsWith("DELETE "));
    expect(deletes).toHaveLength(1);
    // The AWSCURRENT value was read (after nothing was written) and answered before the DELETE left.
    const del = deletes[0] as HeldCall;
    const currentRead = run.sm.filter((c) => c.operation === "GetSecretValue");
    expect(currentRead).toHaveLength(1);
    expect((currentRead[0] as HeldCall).endMs).toBeLessThanOrEqual(del.startMs as number);
    expect(
      run.sm.filter((c) => ["PutSecretValue", "UpdateSecretVersionStage"].includes(c.operation)),
    ).toEqual([]);
    expect(liveNamedKeys(world, secret)).not.toContain(secret.initialKeyId);
    await expectCurrentWorks(world, secret.arn);
  });

  it("a pass over N managed secrets with nothing due: ≤ ⌈N/100⌉ + N Secrets Manager calls, one key list per project", async () => {
    // Six more secrets in two projects; three of them rotated already (previous key in grace).
    const secrets = await Promise.all(
      [0, 1, 2, 3, 4, 5].map((i) =>
        managed({ rotateEvery: "30d", grace: "1d", project: i % 2 === 0 ? "default" : "search" }),
      ),
    );
    for (const secret of secrets.slice(0, 3)) {
      const rotated = await processSecret(rotationContext(world, { client: setupClient }), secret.arn, {
        force: true,
      });
      expect(rotated).toMatchObject({ ok: true, rotated: true });
    }
    const before = await store.listManagedSecrets();
    const n = before.length;
    const run = await counted(({ store, client }) =>
      runOnce(testConfig({ secrets: [] }), { store, client, testRetryDelaysMs: [] }),
    );
    expect(run.value.exitCode, JSON.stringify(run.value.results)).toBe(0);
    expect(run.value.results).toHaveLength(n);
    expect(run.value.results.every((r) => !r.rotated)).toBe(true);
    expect(run.sm.length, ops(run.sm).join(", ")).toBeLessThanOrEqual(Math.ceil(n / 100) + n);
    const projects = new Set(before.map((s) => s.tags["llamacloud-keys:project-id"]));
    expect(projects.size).toBe(2);
    expect(run.llama.filter((c) => c.operation === LIST_KEYS).length).toBeLessThanOrEqual(projects.size);
    expect(run.llama.filter((c) => c.operation !== LIST_KEYS)).toEqual([]);
  });
});
