import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, afterEach, beforeAll, expect, inject, test } from "vitest";
import { createLlamaCloudClient, type LlamaCloudClient } from "../../llamacloud";
import { type EmulatorHandle, startEmulator } from "../../llamacloud/emulator";
import { createSecretStore, type SecretStore } from "../../secrets";
import { motoCredentials } from "../harness/moto";
import { killGroup, runProcess } from "../harness/processes";
import { repoRoot } from "../harness/tools";

// examples/app is an integration fixture (STYLE §18): the real program, run as a child process the
// way the demo runs it, against the emulator and moto. It loads the compiled dist/ (npm test builds).

const region = "test-examples-app";
const appPath = join(repoRoot, "examples", "app", "app.js");

let emulator: EmulatorHandle;
let admin: LlamaCloudClient;
let store: SecretStore;

beforeAll(async () => {
  emulator = await startEmulator();
  admin = createLlamaCloudClient({ apiKey: emulator.adminKey, baseUrl: emulator.url });
  store = createSecretStore({ endpoint: inject("motoEndpoint"), credentials: motoCredentials, region });
});
afterAll(async () => {
  await admin?.close();
  store?.close();
  await emulator?.close();
});

interface Counters {
  ok: number;
  failed: number;
  keyId: string | null;
  final?: boolean;
}

interface RunningApp {
  child: ChildProcessWithoutNullStreams;
  lines: Counters[];
  /** Everything it printed, stdout and stderr, for the leak check and for failure messages. */
  output(): string;
  /** Resolves with the first counter line (already printed or to come) that satisfies `predicate`. */
  waitFor(predicate: (c: Counters) => boolean, what: string): Promise<Counters>;
  /** Resolves when it has exited and its output is all read. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, then the exit. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const running: RunningApp[] = [];
afterEach(() => {
  for (const app of running.splice(0)) killGroup(app.child, "SIGKILL");
});

function startApp(env: Record<string, string>): RunningApp {
  const child = spawn(process.execPath, [appPath], {
    cwd: repoRoot,
    // Own process group, so afterEach can reap it whatever happened.
    detached: true,
    env: {
      PATH: process.env.PATH ?? "",
      AWS_REGION: region,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: inject("motoEndpoint"),
      AWS_ACCESS_KEY_ID: motoCredentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: motoCredentials.secretAccessKey,
      CALL_INTERVAL_MS: "20",
      REPORT_INTERVAL_MS: "100",
      ...env,
    },
  });
  let output = "";
  const lines: Counters[] = [];
  const waiters = new Set<() => void>();
  child.stderr.on("data", (chunk: Buffer) => {
    output += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("close", (code, signal) => resolve({ code, signal })),
  );
  createInterface({ input: child.stdout }).on("line", (line) => {
    output += `${line}\n`;
    lines.push(JSON.parse(line) as Counters);
    for (const wake of waiters) wake();
  });
  const app: RunningApp = {
    child,
    lines,
    exited,
    output: () => output,
    waitFor(predicate, what) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const hit = lines.find(predicate);
          if (hit === undefined) return;
          waiters.delete(check);
          resolve(hit);
        };
        waiters.add(check);
        check();
        void exited.then((exit) => {
          if (!waiters.has(check)) return;
          waiters.delete(check);
          reject(new Error(`the app exited (${exit.code ?? exit.signal}) before ${what}:\n${output}`));
        });
      });
    },
    async stop() {
      child.kill("SIGTERM");
      return exited;
    },
  };
  running.push(app);
  return app;
}

/** A secret in moto whose AWSCURRENT holds a key just minted in the emulator. */
async function secretWithNewKey(): Promise<{ arn: string; keyId: string; apiKey: string }> {
  const { arn } = await store.createSecret({ name: `examples-app/${randomUUID()}` });
  const minted = await writeNewKey(arn, "AWSCURRENT");
  return { arn, ...minted };
}

async function writeNewKey(
  arn: string,
  stage: "AWSCURRENT" | "AWSPENDING",
): Promise<{ keyId: string; apiKey: string; versionId: string }> {
  const projectId = emulator.projects[0]!.id;
  const { key, secret } = await admin.createApiKey({ projectId, name: `examples-app/${randomUUID()}` });
  const { versionId } = await store.writeVersion(arn, {
    token: randomUUID(),
    stage,
    payload: {
      format: 1,
      apiKey: secret,
      keyId: key.id,
      keyName: key.name ?? "examples-app",
      projectId,
      organizationId: emulator.organizationId,
      environment: "test",
      baseUrl: emulator.url,
      createdAt: key.createdAt ?? new Date().toISOString(),
    },
  });
  return { keyId: key.id, apiKey: secret.reveal(), versionId };
}

const projectCalls = () => emulator.requests("GET /api/v1/projects/:id");

test("the example app calls LlamaCloud with the key in its secret, counts, and exits 0 on SIGTERM without printing the key", async () => {
  const { arn, keyId, apiKey } = await secretWithNewKey();
  const callsBefore = projectCalls().length;
  const app = startApp({ SECRET_ID: arn, KEY_TTL: "5m" });

  const seen = await app.waitFor((c) => c.ok >= 3, "3 successful calls");
  expect(seen).toMatchObject({ failed: 0, keyId });
  // The counter is not the app's word alone: the emulator served those calls.
  expect(projectCalls().length - callsBefore).toBeGreaterThanOrEqual(3);

  const exit = await app.stop();
  expect(exit).toEqual({ code: 0, signal: null });
  const last = app.lines.at(-1);
  expect(last).toMatchObject({ final: true, failed: 0, keyId });
  expect(last!.ok).toBeGreaterThanOrEqual(3);
  expect(app.output()).not.toContain(apiKey);
});

test("after a rotation whose old key is already revoked, withKey's one refresh keeps the app at zero failures", async () => {
  const { arn, keyId: oldKeyId, apiKey: oldKey } = await secretWithNewKey();
  // A TTL far beyond the test: only the 401 → refresh → retry path can pick up the new key.
  const app = startApp({ SECRET_ID: arn, KEY_TTL: "1h" });
  const before = await app.waitFor((c) => c.ok >= 2, "2 successful calls with the first key");
  expect(before).toMatchObject({ failed: 0, keyId: oldKeyId });

  // The rotation, done by hand: stage and promote a new key, then revoke the old one at once
  // (the emulator's revocation delay is 0), which no real rotator would do within the TTL.
  const { keyId: newKeyId, apiKey: newKey, versionId } = await writeNewKey(arn, "AWSPENDING");
  await store.promote(arn, versionId);
  await admin.deleteApiKey(oldKeyId);

  const after = await app.waitFor(
    (c) => c.keyId === newKeyId && c.ok >= before.ok + 3,
    "3 calls with the new key",
  );
  expect(after.failed).toBe(0);
  // The retry path really ran: LlamaCloud refused the old key at least once.
  expect(projectCalls().some((r) => r.status === 401)).toBe(true);

  expect(await app.stop()).toEqual({ code: 0, signal: null });
  expect(app.lines.at(-1)).toMatchObject({ final: true, failed: 0, keyId: newKeyId });
  expect(app.output()).not.toContain(oldKey);
  expect(app.output()).not.toContain(newKey);
});

test("without SECRET_ID the app says what to set and exits 2", async () => {
  const app = startApp({});
  expect((await app.exited).code).toBe(2);
  expect(app.output()).toContain("SECRET_ID: set it to the secret's name or ARN");
});

test("README's local run: local-secret.js prints the ARN of a secret holding a new key; the app reads it and prints its final counters on Ctrl-C (SIGINT)", async () => {
  const motoEnv = {
    PATH: process.env.PATH ?? "",
    AWS_REGION: region,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: inject("motoEndpoint"),
    AWS_ACCESS_KEY_ID: motoCredentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: motoCredentials.secretAccessKey,
  };
  const made = await runProcess(process.execPath, [join(repoRoot, "examples", "app", "local-secret.js")], {
    cwd: repoRoot,
    env: { ...motoEnv, EMULATOR_URL: emulator.url, ADMIN_KEY: emulator.adminKey },
    timeoutMs: 60_000,
  });
  expect(made.code, made.output).toBe(0);
  const arn = made.stdout.trim();
  expect(arn).toMatch(/^arn:aws:secretsmanager:[^:]+:\d+:secret:llamacloud\/.+/);
  const { payload } = await store.readPayload(arn, { stage: "AWSCURRENT" });
  expect(payload).toMatchObject({ format: 1, baseUrl: emulator.url, projectId: emulator.projects[0]!.id });

  const app = startApp({ SECRET_ID: arn, KEY_TTL: "30s" });
  await app.waitFor((c) => c.ok >= 2, "2 successful calls");
  app.child.kill("SIGINT");
  expect(await app.exited).toEqual({ code: 0, signal: null });
  expect(app.lines.at(-1)).toMatchObject({ final: true, failed: 0, keyId: payload.keyId });
  expect(`${made.output}${app.output()}`).not.toContain(payload.apiKey.reveal());
});
