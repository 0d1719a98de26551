import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, beforeEach, describe, expect, inject, test } from "vitest";
import { createLlamaCloudClient, type LlamaCloudClient } from "../../llamacloud";
import { type EmulatorHandle, startEmulator } from "../../llamacloud/emulator";
import type { SecretStore } from "../../secrets/store";
import { recordChild } from "../harness/artifacts";
import { motoCredentials } from "../harness/moto";
import { alive, descendants, killGroup, type Proc } from "../harness/processes";
import { createPulumiWorkspace, type PulumiWorkspace } from "../harness/pulumi";
import { pulumiBinDir, repoRoot } from "../harness/tools";
import { adminClient, leakedSecrets, projectIdOf, storeFor } from "./fixtures";

// DESIGN.md invariant 8, end to end: the real Pulumi CLI runs the root program (two ApiKeys, dev and
// prod) against the LlamaCloud emulator and moto, and is SIGKILLed (its whole process group) at the
// points the emulator's hold faults make deterministic: while LlamaCloud's create answer is held,
// after the secret was written (by a provider plugin that outlived the CLI), during destroy, and
// during a rename. Then the user runs only what Pulumi's own messages direct (`pulumi cancel`,
// `pulumi refresh --clear-pending-creates`, the same command again), with no change to the program,
// and the stack converges:
// - the command exits 0 and `pulumi preview --expect-no-changes` passes;
// - every secret holds a key that works against LlamaCloud;
// - no key minted for the stack is live unless a labelled secret version holds it;
// - no minted key appears in state or in anything the CLI printed.
//
// Pulumi starts its plugins (language host, provider) in process groups of their own, so they
// outlive a kill of the CLI's group, as they would when CI cancels only the CLI. Each test records
// the CLI's descendants before the kill and, once it is done with them, kills those exact processes
// and polls until they are gone, so nothing from the killed run acts after the recovery starts.

const region = "test-provider-kill";
const timeout = 420_000;
const environments = ["dev", "prod"] as const;

let emulator: EmulatorHandle;
let store: SecretStore;
let client: LlamaCloudClient;
let workspace: PulumiWorkspace;
let prefix: string;
const transcript: string[] = [];

function secretName(environment: string): string {
  return `${prefix}/default/${environment}`;
}

beforeEach(async () => {
  emulator = await startEmulator();
  store = storeFor(region);
  client = adminClient(emulator);
  prefix = `kill-${randomUUID().slice(0, 8)}`;
  workspace = await createPulumiWorkspace({
    files: {
      "Pulumi.yaml":
        "name: llamacloud-keys\nruntime:\n  name: nodejs\n  options:\n    typescript: false\nmain: index.js\n",
      "package.json": JSON.stringify({ name: "llamacloud-keys-kill-test", main: "index.js" }),
      "index.js": `module.exports = require(${JSON.stringify(join(repoRoot, "dist", "index.js"))});\n`,
      "Pulumi.test.yaml": [
        "config:",
        "  llamacloud-keys:projects:",
        "    - name: default",
        `      environments: [${environments.join(", ")}]`,
        `  llamacloud-keys:secretPrefix: ${prefix}`,
        "  llamacloud-keys:recoveryWindowInDays: 0",
        "",
      ].join("\n"),
    },
    env: {
      AWS_REGION: region,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: inject("motoEndpoint"),
      AWS_ACCESS_KEY_ID: motoCredentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: motoCredentials.secretAccessKey,
      LLAMA_CLOUD_API_KEY: emulator.adminKey,
      LLAMA_CLOUD_BASE_URL: emulator.url,
    },
  });
}, timeout);

afterEach(async () => {
  await workspace?.cleanup();
  store?.close();
  await client?.close();
  emulator.faults.reset();
  await emulator?.close();
});

// ---------------------------------------------------------------------------------------------
// Running and killing the CLI

async function pulumi(args: string[]): Promise<string> {
  const result = await workspace.runOk(args);
  transcript.push(result.output);
  return result.stdout;
}

interface Started {
  child: ChildProcess;
  /** Resolves with the output once the CLI has exited (it will be killed). */
  exited: Promise<string>;
}

/** Starts `pulumi <args>` in its own process group, as the harness does, but hands back the child. */
function startPulumi(args: string[]): Started {
  const command = join(pulumiBinDir(), "pulumi");
  const fullArgs = [...args, "--non-interactive"];
  const child = spawn(command, fullArgs, {
    cwd: workspace.dir,
    env: workspace.env,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  recordChild(child, command, fullArgs, workspace.dir);
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk;
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk;
  });
  const exited = new Promise<string>((resolve) => {
    child.on("close", () => {
      transcript.push(output);
      resolve(output);
    });
  });
  return { child, exited };
}

/** Polls until `condition()` holds; fails naming `what` after `limitMs`. */
async function until(what: string, condition: () => boolean | Promise<boolean>, limitMs = 120_000) {
  const deadline = Date.now() + limitMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await sleep(100);
  }
}

/** SIGKILL to the CLI's process group, as CI does when it cancels the job; returns its plugins. */
async function killCli(started: Started): Promise<Proc[]> {
  const plugins = descendants(started.child.pid!);
  killGroup(started.child, "SIGKILL");
  await started.exited;
  return plugins;
}

/** Kills what is left of the killed run (by pid, each in its own group) and waits until it is gone. */
async function reap(plugins: Proc[]): Promise<void> {
  for (const proc of plugins.filter(alive)) {
    try {
      process.kill(-proc.pid, "SIGKILL");
    } catch {
      // not a group leader: the process alone
      try {
        process.kill(proc.pid, "SIGKILL");
      } catch {
        // gone
      }
    }
  }
  await until("the killed run's plugins to exit", () => plugins.every((proc) => !alive(proc)));
}

/** The steps Pulumi's own messages direct after an interrupted update. */
async function recover(command: string[], { clearPendingCreates }: { clearPendingCreates: boolean }) {
  await pulumi(["cancel", "--yes"]);
  if (clearPendingCreates) await pulumi(["refresh", "--yes", "--skip-preview", "--clear-pending-creates"]);
  await pulumi([...command, "--yes", "--skip-preview"]);
}

// ---------------------------------------------------------------------------------------------
// What every case must end with

/** Every key minted in the stack's project (the seeded admin key is user-wide, in no project). */
function stackKeys() {
  const projectId = projectIdOf(emulator, "default");
  return emulator.state.allKeys().filter((key) => key.projectId === projectId);
}

/** Key ids held by any labelled version of the stack's secrets. */
async function heldKeyIds(): Promise<Set<string>> {
  const held = new Set<string>();
  for (const environment of environments) {
    const description = await store.describe(secretName(environment)).catch(() => undefined);
    if (description === undefined || description.deletedDate !== undefined) continue;
    for (const [versionId, stages] of Object.entries(description.versionIdsToStages)) {
      if (stages.length === 0) continue;
      held.add((await store.readPayload(description.arn, { versionId })).payload.keyId);
    }
  }
  return held;
}

async function expectConverged(): Promise<void> {
  await pulumi(["preview", "--expect-no-changes"]);
  const projectId = projectIdOf(emulator, "default");
  for (const environment of environments) {
    const current = await store.readPayload(secretName(environment), { stage: "AWSCURRENT" });
    // The key works: it reads its own project from LlamaCloud.
    const reader = createLlamaCloudClient({
      apiKey: current.payload.apiKey.reveal(),
      baseUrl: emulator.url,
      env: {},
    });
    try {
      expect((await reader.getProject(projectId)).id).toBe(projectId);
    } finally {
      await reader.close();
    }
  }
  const held = await heldKeyIds();
  const liveUnheld = stackKeys().filter((key) => key.live && !held.has(key.id));
  expect(liveUnheld.map((key) => key.name)).toEqual([]);
  await expectNoKeyInStateOrOutput();
}

async function expectNoKeyInStateOrOutput(): Promise<void> {
  const exported = await pulumi(["stack", "export"]);
  expect(leakedSecrets(emulator, exported)).toEqual([]);
  expect(leakedSecrets(emulator, transcript.join("\n"))).toEqual([]);
  const outputs = await pulumi(["stack", "output", "--json", "--show-secrets"]);
  expect(leakedSecrets(emulator, outputs)).toEqual([]);
}

// ---------------------------------------------------------------------------------------------

describe("a killed `pulumi up` or `pulumi destroy` converges with Pulumi's own recovery steps", () => {
  test(
    "killed while LlamaCloud's create answers are held (keys minted, never written): cancel, refresh --clear-pending-creates, up",
    async () => {
      emulator.faults.add({
        route: "POST /api/v1/api-keys",
        kind: "hold",
        when: "before-response",
        times: 2,
      });
      const up = startPulumi(["up", "--yes", "--skip-preview"]);
      await emulator.faults.waitForHeld(2);
      const plugins = await killCli(up);
      await reap(plugins);
      await emulator.faults.waitForNoneHeld();
      const minted = stackKeys();
      expect(minted.filter((key) => key.live)).toHaveLength(2); // the dead run's keys, in no secret

      await recover(["up"], { clearPendingCreates: true });
      for (const key of minted)
        expect(emulator.state.allKeys().find((k) => k.id === key.id)?.live).toBe(false);
      await expectConverged();
    },
    timeout,
  );

  test(
    "killed with the creates held; the provider plugin outlives the CLI and writes both secrets after the kill",
    async () => {
      emulator.faults.add({
        route: "POST /api/v1/api-keys",
        kind: "hold",
        when: "before-response",
        times: 2,
      });
      const up = startPulumi(["up", "--yes", "--skip-preview"]);
      await emulator.faults.waitForHeld(2);
      const plugins = await killCli(up);
      expect(
        plugins
          .filter(alive)
          .map((proc) => proc.command)
          .join("\n"),
      ).toContain("dynamic-provider");
      // The engine is gone; the provider finishes its creates on its own.
      emulator.faults.release();
      await until("the orphaned provider to write and tag both secrets", async () => {
        for (const environment of environments) {
          const tags = await store
            .readTags(secretName(environment))
            .catch(() => ({}) as Record<string, string>);
          if (tags["llamacloud-keys:managed"] !== "true") return false;
        }
        return true;
      });
      await reap(plugins);
      const written = await Promise.all(
        environments.map(
          async (environment) =>
            (await store.readPayload(secretName(environment), { stage: "AWSCURRENT" })).payload.keyId,
        ),
      );

      await recover(["up"], { clearPendingCreates: true });
      // Taken over, not minted again: the keys the dead run wrote are the stack's keys.
      for (const [index, environment] of environments.entries()) {
        const current = await store.readPayload(secretName(environment), { stage: "AWSCURRENT" });
        expect(current.payload.keyId).toBe(written[index]);
      }
      expect(stackKeys()).toHaveLength(2);
      await expectConverged();
    },
    timeout,
  );

  test(
    "killed during destroy (a revocation held): cancel, destroy again converges; a later up recreates the stack",
    async () => {
      await pulumi(["up", "--yes", "--skip-preview"]);
      emulator.faults.add({ route: "DELETE /api/v1/api-keys/:id", kind: "hold", when: "before-response" });
      const destroy = startPulumi(["destroy", "--yes", "--skip-preview"]);
      await emulator.faults.waitForHeld(1);
      await reap(await killCli(destroy));
      await emulator.faults.waitForNoneHeld();

      await recover(["destroy"], { clearPendingCreates: false });
      expect(stackKeys().filter((key) => key.live)).toEqual([]);
      for (const environment of environments) {
        await expect(store.describe(secretName(environment))).rejects.toMatchObject({
          code: "SECRET_NOT_FOUND",
        });
      }
      const exported = JSON.parse(await pulumi(["stack", "export"])) as {
        deployment: { resources?: { type: string }[] };
      };
      expect(
        (exported.deployment.resources ?? []).filter(
          (r) => r.type === "pulumi-nodejs:dynamic/llamacloud:ApiKey",
        ),
      ).toEqual([]);

      await pulumi(["up", "--yes", "--skip-preview"]);
      await expectConverged();
    },
    timeout,
  );

  test(
    "killed during a rename (LlamaCloud's rename answer held): cancel, up again converges on the new name",
    async () => {
      await pulumi(["up", "--yes", "--skip-preview"]);
      const before = await Promise.all(
        environments.map(
          async (environment) =>
            (await store.readPayload(secretName(environment), { stage: "AWSCURRENT" })).payload.keyId,
        ),
      );
      await pulumi(["config", "set", "llamacloud-keys:keyPrefix", "renamed"]);
      emulator.faults.add({ route: "PUT /api/v1/api-keys/:id", kind: "hold", when: "before-response" });
      const up = startPulumi(["up", "--yes", "--skip-preview"]);
      await emulator.faults.waitForHeld(1);
      await reap(await killCli(up));
      await emulator.faults.waitForNoneHeld();

      await recover(["up"], { clearPendingCreates: false });
      for (const [index, environment] of environments.entries()) {
        const current = await store.readPayload(secretName(environment), { stage: "AWSCURRENT" });
        expect(current.payload.keyId).toBe(before[index]);
        expect(emulator.state.allKeys().find((k) => k.id === before[index])?.name).toMatch(/^renamed\//);
      }
      await expectConverged();
    },
    timeout,
  );
});

describe("two stacks that declare the same secrets", () => {
  test(
    "the second stack's up is refused with the usual conflict and changes nothing; the first stack is untouched",
    async () => {
      await pulumi(["up", "--yes", "--skip-preview"]);
      const before = await Promise.all(
        environments.map(
          async (environment) =>
            (await store.readPayload(secretName(environment), { stage: "AWSCURRENT" })).payload.keyId,
        ),
      );
      const keysBefore = stackKeys().length;
      // Same program, same config, another stack: same secret names, another identity.
      await writeFile(
        join(workspace.dir, "Pulumi.other.yaml"),
        await readFile(join(workspace.dir, "Pulumi.test.yaml"), "utf8"),
      );
      await pulumi(["stack", "init", "other"]);
      const other = await workspace.run(["up", "--yes", "--skip-preview", "--stack", "other"]);
      transcript.push(other.output);
      expect(other.code).not.toBe(0);
      expect(other.output).toContain("already holds live key");
      expect(other.output).toContain('set "adopt: true" to take it over without minting');
      // Refused before minting: no key was made, none revoked, the secrets still hold stack test's keys.
      expect(stackKeys()).toHaveLength(keysBefore);
      for (const [index, environment] of environments.entries()) {
        const current = await store.readPayload(secretName(environment), { stage: "AWSCURRENT" });
        expect(current.payload.keyId).toBe(before[index]);
      }
      await pulumi(["stack", "select", "test"]);
      await expectConverged();
    },
    timeout,
  );
});
