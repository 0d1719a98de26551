import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import type { LlamaCloudClient } from "../../llamacloud";
import { type EmulatorHandle, startEmulator } from "../../llamacloud/emulator";
import type { SecretStore } from "../../secrets/store";
import { motoCredentials } from "../harness/moto";
import { createPulumiWorkspace, type PulumiWorkspace } from "../harness/pulumi";
import { repoRoot } from "../harness/tools";
import { adminClient, leakedSecrets, projectIdOf, storeFor } from "./fixtures";

// The real engine: the Pulumi CLI v3.276.0 with its Node language host, a local file backend, the
// compiled root program and examples/minimal, against the LlamaCloud emulator and moto. Each step
// checks both LlamaCloud (keys live or revoked) and Secrets Manager (payloads), and every line the
// CLI printed, plus the exported state, is scanned for every key the emulator ever issued.

const region = "test-provider-engine";
const timeout = 240_000;
let emulator: EmulatorHandle;
let store: SecretStore;
let client: LlamaCloudClient;
const transcript: string[] = [];
const timings: Record<string, number[]> = {};

function awsEnv(): NodeJS.ProcessEnv {
  return {
    AWS_REGION: region,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: inject("motoEndpoint"),
    AWS_ACCESS_KEY_ID: motoCredentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: motoCredentials.secretAccessKey,
  };
}

/** Runs pulumi, keeps its output for the leak scan, and records how long it took. */
async function pulumi(workspace: PulumiWorkspace, args: string[]): Promise<string> {
  const started = performance.now();
  const result = await workspace.runOk(args);
  const name = args[0]!;
  timings[name] = [...(timings[name] ?? []), Math.round(performance.now() - started)];
  transcript.push(result.output);
  return result.stdout;
}

beforeAll(async () => {
  if (!existsSync(join(repoRoot, "dist", "index.js"))) {
    throw new Error("dist/index.js is missing: run `npm run build` first (npm test does it)");
  }
  emulator = await startEmulator();
  store = storeFor(region);
  client = adminClient(emulator);
});

afterAll(async () => {
  // Measured per run, for the report: how long each kind of engine operation takes here.
  console.info(`pulumi timings (ms): ${JSON.stringify(timings)}`);
  store?.close();
  await client?.close();
  await emulator?.close();
});

async function currentKeyId(secretId: string): Promise<string> {
  return (await store.readPayload(secretId, { stage: "AWSCURRENT" })).payload.keyId;
}

function key(id: string) {
  const found = emulator.state.allKeys().find((k) => k.id === id);
  if (found === undefined) throw new Error(`no key ${id} in the emulator`);
  return found;
}

describe("the root program (index.ts → dist/index.js) from stack config", () => {
  let workspace: PulumiWorkspace;
  const prefix = `engine-${randomUUID().slice(0, 8)}`;
  const dev = `${prefix}/default/dev`;
  const prod = `${prefix}/default/prod`;
  const firstKeys: Record<string, string> = {};

  beforeAll(async () => {
    workspace = await createPulumiWorkspace({
      files: {
        "Pulumi.yaml":
          "name: llamacloud-keys\nruntime:\n  name: nodejs\n  options:\n    typescript: false\nmain: index.js\n",
        "package.json": JSON.stringify({ name: "llamacloud-keys-engine-test", main: "index.js" }),
        "index.js": `module.exports = require(${JSON.stringify(join(repoRoot, "dist", "index.js"))});\n`,
        "Pulumi.test.yaml": [
          "config:",
          "  llamacloud-keys:projects:",
          "    - name: default",
          "      environments: [dev, prod]",
          `  llamacloud-keys:secretPrefix: ${prefix}`,
          "  llamacloud-keys:recoveryWindowInDays: 0",
          "  llamacloud-keys:rotation:",
          "    every: 30d",
          "    grace: 2h",
          "",
        ].join("\n"),
      },
      // Credentials from the environment here; examples/minimal below uses secret stack config.
      env: { ...awsEnv(), LLAMA_CLOUD_API_KEY: emulator.adminKey, LLAMA_CLOUD_BASE_URL: emulator.url },
    });
  }, timeout);

  afterAll(async () => {
    await workspace?.cleanup();
  });

  test(
    "up creates a live key per pair, its payload in its secret",
    async () => {
      const out = await pulumi(workspace, ["up", "--yes", "--skip-preview"]);
      expect(out).toMatch(/\+ 3 created/);
      const projectId = projectIdOf(emulator, "default");
      for (const secret of [dev, prod]) {
        const id = await currentKeyId(secret);
        firstKeys[secret] = id;
        expect(key(id)).toMatchObject({ live: true, projectId });
        expect(key(id).name).toMatch(new RegExp(`^llamacloud-keys/${projectId}/(dev|prod)/`));
      }
      expect((await store.readTags(dev))["llamacloud-keys:rotate-every"]).toBe("30d");
      // README "The ready-to-use program": outputs `secretArns` and `redactedKeys` keyed
      // `<project>/<environment>`; the IAM policies only with useProjectKeys.
      const outputs = JSON.parse(await pulumi(workspace, ["stack", "output", "--json"])) as Record<
        string,
        Record<string, string>
      >;
      expect(Object.keys(outputs).sort()).toEqual(["redactedKeys", "secretArns"]);
      expect(Object.keys(outputs["secretArns"]!).sort()).toEqual(["default/dev", "default/prod"]);
      expect(outputs["secretArns"]!["default/dev"]).toBe((await store.describe(dev)).arn);
      expect(Object.values(outputs["redactedKeys"]!)).toEqual([
        expect.stringMatching(/^llx-…\w{4}$/),
        expect.stringMatching(/^llx-…\w{4}$/),
      ]);
    },
    timeout,
  );

  test(
    "invalid stack config fails before anything is declared, naming the key",
    async () => {
      const path = "llamacloud-keys:projects[0].environments[1]";
      await pulumi(workspace, ["config", "set", "--path", path, "Prod"]);
      try {
        const result = await workspace.run(["preview"]);
        transcript.push(result.output);
        expect(result.code).not.toBe(0);
        expect(result.output).toContain(`${path} must be a short lowercase label`);
        expect(result.output).toContain("Invalid stack config");
        // Nothing declared: no resource step planned, not even a create or delete of the keys.
        expect(result.output).not.toMatch(/llamacloud:ApiKey|to (create|delete)/);
      } finally {
        await pulumi(workspace, ["config", "set", "--path", path, "prod"]);
      }
    },
    timeout,
  );

  test(
    "a second up changes nothing",
    async () => {
      const out = await pulumi(workspace, ["up", "--yes", "--skip-preview", "--expect-no-changes"]);
      expect(out).toMatch(/3 unchanged/);
    },
    timeout,
  );

  test(
    "renaming (keyPrefix) updates the keys in place",
    async () => {
      await pulumi(workspace, ["config", "set", "llamacloud-keys:keyPrefix", "renamed"]);
      const out = await pulumi(workspace, ["up", "--yes", "--skip-preview"]);
      expect(out).toMatch(/~ 2 updated/);
      for (const secret of [dev, prod]) {
        expect(await currentKeyId(secret)).toBe(firstKeys[secret]);
        expect(key(firstKeys[secret]!).name).toMatch(/^renamed\//);
      }
    },
    timeout,
  );

  test(
    "refresh after a rotation (store + client, as the rotator does it) leaves nothing to do",
    async () => {
      const current = await store.readPayload(dev, { stage: "AWSCURRENT" });
      const token = randomUUID();
      const projectId = current.payload.projectId;
      const next = await client.createApiKey({ projectId, name: `renamed/${projectId}/dev/${token}` });
      await store.writeVersion(dev, {
        token,
        stage: "AWSPENDING",
        payload: { ...current.payload, apiKey: next.secret, keyId: next.key.id, keyName: next.key.name! },
      });
      await store.promote(dev, token);

      await pulumi(workspace, ["refresh", "--yes", "--skip-preview"]);
      const preview = await pulumi(workspace, ["preview", "--expect-no-changes"]);
      expect(preview).toMatch(/3 unchanged/);
      expect(key(firstKeys[dev]!).live).toBe(true); // still in its grace period: the rotator's to revoke
    },
    timeout,
  );

  test(
    "refresh after an out-of-band revocation drops the key; the next up recreates it",
    async () => {
      await client.deleteApiKey(firstKeys[prod]!);
      const refresh = await pulumi(workspace, ["refresh", "--yes", "--skip-preview"]);
      expect(refresh).toMatch(/- 1 deleted/);
      const up = await pulumi(workspace, ["up", "--yes", "--skip-preview"]);
      expect(up).toMatch(/\+ 1 created/);
      const recreated = await currentKeyId(prod);
      expect(recreated).not.toBe(firstKeys[prod]);
      expect(key(recreated).live).toBe(true);
    },
    timeout,
  );

  test(
    "state holds ids and redacted forms, never a key",
    async () => {
      const exported = await pulumi(workspace, ["stack", "export"]);
      const state = JSON.parse(exported) as {
        deployment: { resources: { type: string; outputs?: object }[] };
      };
      const keys = state.deployment.resources.filter(
        (r) => r.type === "pulumi-nodejs:dynamic/llamacloud:ApiKey",
      );
      expect(keys).toHaveLength(2);
      expect(keys.map((r) => r.outputs)).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ secretName: dev, redactedKey: expect.stringMatching(/^llx-…/) }),
        ]),
      );
      expect(leakedSecrets(emulator, exported)).toEqual([]);
    },
    timeout,
  );

  test(
    "destroy revokes every key, the rotated-out one included",
    async () => {
      const projectId = projectIdOf(emulator, "default");
      const ours = () =>
        emulator.state
          .allKeys()
          .filter((k) => k.projectId === projectId && /^(renamed|llamacloud-keys)\//.test(k.name ?? ""));
      expect(ours().filter((k) => k.live).length).toBe(3); // dev previous + dev current + prod
      const out = await pulumi(workspace, ["destroy", "--yes", "--skip-preview"]);
      expect(out).toMatch(/- 3 deleted/);
      expect(ours().filter((k) => k.revokedAt === null)).toEqual([]);
      await expect(store.describe(dev)).rejects.toMatchObject({ code: "SECRET_NOT_FOUND" });
    },
    timeout,
  );

  test("no CLI output contained any key", () => {
    expect(transcript.length).toBeGreaterThan(5);
    expect(leakedSecrets(emulator, transcript.join("\n"))).toEqual([]);
  });
});

describe("examples/minimal, as a user would run it", () => {
  let workspace: PulumiWorkspace;
  let nodePath: string;

  beforeAll(async () => {
    // `require("llamacloud-keys/provider")` resolves through NODE_PATH to this repository, as it
    // would through node_modules in a user's project (the harness's node_modules is the repo's own).
    nodePath = await mkdtemp(join(tmpdir(), "llamacloud-keys-node-path-"));
    await mkdir(nodePath, { recursive: true });
    await symlink(repoRoot, join(nodePath, "llamacloud-keys"), "dir");
    const example = (file: string) => readFile(join(repoRoot, "examples", "minimal", file), "utf8");
    workspace = await createPulumiWorkspace({
      files: {
        "Pulumi.yaml": await example("Pulumi.yaml"),
        "package.json": await example("package.json"),
        "index.js": await example("index.js"),
      },
      env: { ...awsEnv(), NODE_PATH: nodePath, LLAMA_CLOUD_API_KEY: "", LLAMA_CLOUD_BASE_URL: emulator.url },
    });
  }, timeout);

  afterAll(async () => {
    await workspace?.cleanup();
    if (nodePath !== undefined) await rm(nodePath, { recursive: true, force: true });
  });

  test(
    "the admin key from secret stack config: up creates the key, destroy revokes it, nothing leaks",
    async () => {
      // Given on stdin, so it never appears on a command line either.
      const set = await workspace.runOk(["config", "set", "--secret", "llamacloud:apiKey"], {
        input: emulator.adminKey,
      });
      transcript.push(set.output);
      const up = await pulumi(workspace, ["up", "--yes", "--skip-preview"]);
      expect(up).toMatch(/\+ 2 created/);
      const keyId = await currentKeyId("llamacloud/search/prod");
      expect(key(keyId)).toMatchObject({ live: true, projectId: projectIdOf(emulator, "search") });

      const exported = await pulumi(workspace, ["stack", "export"]);
      expect(leakedSecrets(emulator, exported)).toEqual([]);
      expect(exported).not.toContain(emulator.adminKey);

      const destroy = await pulumi(workspace, ["destroy", "--yes", "--skip-preview"]);
      expect(destroy).toMatch(/- 2 deleted/);
      expect(key(keyId).revokedAt).not.toBeNull();
      await expect(store.describe("llamacloud/search/prod")).rejects.toMatchObject({
        code: "SECRET_NOT_FOUND",
      });
      expect(leakedSecrets(emulator, transcript.join("\n"))).toEqual([]);
      expect(transcript.join("\n")).not.toContain(emulator.adminKey);
    },
    timeout,
  );
});
