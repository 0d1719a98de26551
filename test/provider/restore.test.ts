import { randomUUID } from "node:crypto";
import { mkdir, mkdtemp, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, inject, test, vi } from "vitest";
import type { LlamaCloudClient } from "../../llamacloud";
import { type EmulatorHandle, startEmulator } from "../../llamacloud/emulator";
import { keyName } from "../../llamacloud/key-name";
import { redacted } from "../../redaction";
import type { SecretStore } from "../../secrets/store";
import { motoCredentials } from "../harness/moto";
import { createPulumiWorkspace, type PulumiWorkspace } from "../harness/pulumi";
import { repoRoot } from "../harness/tools";
import {
  adminClient,
  keyById,
  leakedSecrets,
  loadProvider,
  type ProviderUnderTest,
  requireDist,
  stackConfig,
  storeFor,
  useMoto,
} from "./fixtures";

// What `destroy` leaves, and what a later create does with it (#19): a secret destroyed with a
// recovery window waits, pending deletion, under its name; a create of that name (this stack or
// another) restores it. That restore is recorded (output `secretRestored`, a line on stderr), and
// the restored secret's earlier versions (keys the destroy revoked) carry no AWSPREVIOUS or
// AWSPENDING, so `llamacloud-keys status` never shows a key of the deleted secret's past life as
// this secret's previous key.

const region = "test-provider-restore";
const timeout = 240_000;
let emulator: EmulatorHandle;
let provider: ProviderUnderTest;
let store: SecretStore;
let client: LlamaCloudClient;

type Props = Record<string, unknown>;
// The compiled rotator, as the CLI runs it (its LlamaCloud client is required lazily, which vitest's
// transform of the sources does not follow).
const rotator = () => requireDist<typeof import("../../rotator")>("rotator/index.js");

beforeAll(async () => {
  useMoto(region);
  emulator = await startEmulator();
  provider = loadProvider();
  store = storeFor(region);
  client = adminClient(emulator);
  await provider.configure(
    stackConfig({ "llamacloud:apiKey": emulator.adminKey, "llamacloud:baseUrl": emulator.url }),
  );
});

afterAll(async () => {
  store?.close();
  await client?.close();
  await emulator?.close();
});

afterEach(() => {
  vi.restoreAllMocks();
});

async function checked(news: Props): Promise<Props> {
  const { inputs, failures } = await provider.check({}, news);
  expect(failures).toBeUndefined();
  return inputs;
}

/** Versions that carry a label (moto also lists those it left with none). */
function labelled(stages: Record<string, string[]>): Record<string, string[]> {
  return Object.fromEntries(Object.entries(stages).filter(([, labels]) => labels.length > 0));
}

/** Runs `fn` and gives back what it wrote on stderr (where the provider reports a restore). */
async function stderrOf<T>(fn: () => Promise<T>): Promise<{ value: T; stderr: string }> {
  let stderr = "";
  const original = process.stderr.write.bind(process.stderr);
  vi.spyOn(process.stderr, "write").mockImplementation(((chunk: string | Uint8Array, ...rest: never[]) => {
    stderr += String(chunk);
    return original(chunk, ...rest);
  }) as typeof process.stderr.write);
  const value = await fn();
  vi.restoreAllMocks();
  return { value, stderr };
}

/** The rotator's own reading, as `llamacloud-keys status` gives it. */
async function statusOf(arn: string) {
  const { collectStatus, formatStatus } = rotator();
  const [status] = await collectStatus(
    {
      secrets: [arn],
      prefix: "llamacloud-keys",
      llamaCloud: { apiKey: redacted(emulator.adminKey), baseUrl: emulator.url },
      aws: { region, endpoint: inject("motoEndpoint") },
      nowOffsetMs: 0,
      concurrency: 1,
    },
    {},
  );
  return { status: status!, text: formatStatus([status!], Date.now()) };
}

describe("a create that finds its secret pending deletion", () => {
  test("restores it, records that in its outputs and on stderr, and leaves no previous key from the past life", async () => {
    const secretName = `test/restore/${randomUUID()}`;
    const news = {
      projectName: "default",
      environment: "prod",
      secretName,
      recoveryWindowInDays: 7,
      rotation: { every: "30d", grace: "2h" },
    };

    // The earlier life: created, then a rotation interrupted after staging its key (AWSPENDING),
    // then destroyed. (A rotation finished through UpdateSecretVersionStage is not used here: moto
    // then mislabels the next PutSecretValue's old version, which AWS does not.)
    const first = await provider.create(await checked(news));
    expect(first.outs["secretRestored"]).toBe(false);
    const projectId = first.outs["projectId"] as string;
    const pendingToken = randomUUID();
    const pendingName = keyName("llamacloud-keys", projectId, "prod", pendingToken);
    const pending = await client.createApiKey({ projectId, name: pendingName });
    const current = await store.readPayload(first.id, { stage: "AWSCURRENT" });
    await store.writeVersion(first.id, {
      token: pendingToken,
      stage: "AWSPENDING",
      payload: { ...current.payload, apiKey: pending.secret, keyId: pending.key.id, keyName: pendingName },
    });
    const pastKeys = [first.outs["keyId"] as string, pending.key.id];
    await provider.delete(first.id, first.outs);
    expect((await store.describe(first.id)).deletedDate).toBeDefined();
    for (const keyId of pastKeys) expect(keyById(emulator, keyId).live).toBe(false);

    // Another stack declares the same secret name: a fresh check, so a fresh create token.
    const { value: second, stderr } = await stderrOf(async () => provider.create(await checked(news)));
    expect(second.id).toBe(first.id);
    expect(second.outs["secretRestored"]).toBe(true);
    expect(stderr).toContain(
      `llamacloud-keys: secret ${first.id} was pending deletion, left by an earlier destroy`,
    );
    expect(stderr).toContain(`create restored it and wrote new key ${second.outs["keyId"]} as AWSCURRENT`);
    expect(stderr).toContain('"recoveryWindowInDays: 0"');
    expect(leakedSecrets(emulator, stderr)).toEqual([]);

    // Only the new version is labelled; the past life's versions hold revoked keys and no label.
    const after = await store.describe(second.id);
    expect(after.deletedDate).toBeUndefined();
    expect(labelled(after.versionIdsToStages)).toEqual({
      [second.outs["versionId"] as string]: ["AWSCURRENT"],
    });
    expect(keyById(emulator, second.outs["keyId"]).live).toBe(true);

    const { status, text } = await statusOf(second.id);
    expect(status.error).toBeUndefined();
    expect(status.current?.keyId).toBe(second.outs["keyId"]);
    expect(status.previous).toBeUndefined();
    expect(status.interrupted).toBeUndefined();
    expect(text).not.toMatch(/previous|interrupted/);
    for (const keyId of pastKeys) expect(text).not.toContain(keyId);

    // An update (here: a rename) keeps the record; refresh keeps it too.
    const renamed = await provider.update(
      second.id,
      second.outs,
      await checked({ ...news, name: "renamed" }),
    );
    expect(renamed.outs["secretRestored"]).toBe(true);
    const read = await provider.read(second.id, { ...second.outs, ...renamed.outs });
    expect(read.props?.["secretRestored"]).toBe(true);

    await provider.delete(second.id, { ...renamed.outs, __inputs: { recoveryWindowInDays: 0 } });
  });

  test("a secret created fresh, or deleted at once by recoveryWindowInDays: 0, is not a restore", async () => {
    const secretName = `test/restore/${randomUUID()}`;
    const news = { projectName: "default", environment: "dev", secretName, recoveryWindowInDays: 0 };
    const { value: first, stderr: quiet } = await stderrOf(async () => provider.create(await checked(news)));
    expect(first.outs["secretRestored"]).toBe(false);
    expect(quiet).not.toContain("pending deletion");
    await provider.delete(first.id, first.outs);
    await expect(store.describe(secretName)).rejects.toMatchObject({ code: "SECRET_NOT_FOUND" });

    const second = await provider.create(await checked(news));
    expect(second.outs["secretRestored"]).toBe(false);
    expect(labelled((await store.describe(second.id)).versionIdsToStages)).toEqual({
      [second.outs["versionId"] as string]: ["AWSCURRENT"],
    });
    await provider.delete(second.id, second.outs);
  });
});

describe("through the real CLI: destroy with a recovery window, then another stack's up", () => {
  let workspace: PulumiWorkspace;
  let nodePath: string;
  const secretName = `test/restore-engine/${randomUUID()}`;

  beforeAll(async () => {
    nodePath = await mkdtemp(join(tmpdir(), "llamacloud-keys-node-path-"));
    await mkdir(nodePath, { recursive: true });
    await symlink(repoRoot, join(nodePath, "llamacloud-keys"), "dir");
    workspace = await createPulumiWorkspace({
      files: {
        "Pulumi.yaml": "name: restore\nruntime: nodejs\n",
        "package.json": JSON.stringify({ name: "restore", private: true }),
        "index.js": `
const { ApiKey } = require("llamacloud-keys/provider");
const key = new ApiKey("search-prod", {
  projectName: "search",
  environment: "prod",
  secretName: ${JSON.stringify(secretName)},
  recoveryWindowInDays: 7,
});
exports.secretArn = key.secretArn;
exports.keyId = key.keyId;
exports.secretRestored = key.secretRestored;
`,
      },
      env: {
        NODE_PATH: nodePath,
        AWS_REGION: region,
        AWS_ENDPOINT_URL_SECRETS_MANAGER: inject("motoEndpoint"),
        AWS_ACCESS_KEY_ID: motoCredentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: motoCredentials.secretAccessKey,
        LLAMA_CLOUD_API_KEY: emulator.adminKey,
        LLAMA_CLOUD_BASE_URL: emulator.url,
      },
    });
  }, timeout);

  afterAll(async () => {
    await workspace?.cleanup();
    if (nodePath !== undefined) await rm(nodePath, { recursive: true, force: true });
  });

  test(
    "the second stack's up says it restored the secret, outputs secretRestored, and status shows no previous key",
    async () => {
      const outputs = async () =>
        JSON.parse((await workspace.runOk(["stack", "output", "--json"])).stdout) as Record<string, unknown>;
      const transcript: string[] = [];
      transcript.push((await workspace.runOk(["up", "--yes", "--skip-preview"])).output);
      const first = await outputs();
      expect(first["secretRestored"]).toBe(false);
      transcript.push((await workspace.runOk(["destroy", "--yes", "--skip-preview"])).output);
      expect((await store.describe(secretName)).deletedDate).toBeDefined();

      await workspace.runOk(["stack", "init", "other"]);
      const up = await workspace.runOk(["up", "--yes", "--skip-preview"]);
      transcript.push(up.output);
      const second = await outputs();
      expect(second["secretRestored"]).toBe(true);
      expect(second["secretArn"]).toBe(first["secretArn"]);
      expect(up.output).toContain(`llamacloud-keys: secret ${second["secretArn"]} was pending deletion`);
      expect(keyById(emulator, first["keyId"]).live).toBe(false);

      const { status, text } = await statusOf(second["secretArn"] as string);
      expect(status.current?.keyId, JSON.stringify(status)).toBe(second["keyId"]);
      expect(status.previous).toBeUndefined();
      expect(text).not.toContain(first["keyId"] as string);

      transcript.push((await workspace.runOk(["destroy", "--yes", "--skip-preview"])).output);
      expect(leakedSecrets(emulator, transcript.join("\n"))).toEqual([]);
    },
    timeout,
  );
});
