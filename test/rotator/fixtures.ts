import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { inject } from "vitest";
import { createLlamaCloudClient, type LlamaCloudClient } from "../../llamacloud";
import { type EmulatorHandle, startEmulator } from "../../llamacloud/emulator";
import { DEFAULT_KEY_PREFIX, keyName, parseKeyName } from "../../llamacloud/key-name";
import { redacted } from "../../redaction";
import type { RotatorConfig } from "../../rotator/config";
import { RotatorEmitter, type RotatorEventName, type RotatorEvents } from "../../rotator/events";
import type { RotatorServices } from "../../rotator/services";
import { createSecretStore, type SecretStore } from "../../secrets/store";
import { managementTags } from "../../secrets/tags";
import { motoCredentials } from "../harness/moto";
import { killGroup } from "../harness/processes";
import { repoRoot } from "../harness/tools";

/**
 * A LlamaCloud emulator (in this process, so tests read its state and hold its requests directly),
 * a Secrets Manager store on the shared moto in a region of the test file's own, and helpers that
 * set up managed secrets the way `pulumi up` leaves them and check the invariants afterwards.
 */

export interface World {
  emulator: EmulatorHandle;
  /** Admin client on the emulator with quick retries (tests must not wait seconds for backoff). */
  client: LlamaCloudClient;
  store: SecretStore;
  region: string;
  motoEndpoint: string;
  /** The clock the in-process rotator uses: real time plus `offsetMs`. */
  clock: { offsetMs: number; now: () => number };
  close(): Promise<void>;
}

export async function startWorld(
  regionPrefix: string,
  emulatorOptions: { latencyMs?: number; revocationDelayMs?: number } = {},
  /** Secrets Manager attempts per call: 1 by default, so fault tests see each failure. */
  storeMaxAttempts = 1,
): Promise<World> {
  const emulator = await startEmulator(emulatorOptions);
  const client = fastClient(emulator.url, emulator.adminKey);
  const region = `${regionPrefix}-${randomUUID().slice(0, 8)}`;
  const motoEndpoint = inject("motoEndpoint");
  const store = createSecretStore({
    endpoint: motoEndpoint,
    credentials: motoCredentials,
    region,
    maxAttempts: storeMaxAttempts,
  });
  const clock = {
    offsetMs: 0,
    now: () => Date.now() + clock.offsetMs,
  };
  return {
    emulator,
    client,
    store,
    region,
    motoEndpoint,
    clock,
    async close() {
      await client.close();
      store.close();
      await emulator.close();
    },
  };
}

/** A client whose retries back off in milliseconds, with short timeouts. */
export function fastClient(
  baseUrl: string,
  apiKey: string,
  timeouts = { totalMs: 10_000 },
): LlamaCloudClient {
  return createLlamaCloudClient({
    apiKey,
    baseUrl,
    env: {},
    retry: { initialDelayMs: 5, maxDelayMs: 20 },
    timeouts: { connectMs: 2_000, headersMs: 5_000, bodyMs: 5_000, ...timeouts },
  });
}

/** A rotation context on the world (events collected for assertions). */
export function rotationContext(
  world: World,
  overrides: Partial<RotatorServices> = {},
): RotatorServices & {
  log: { event: RotatorEventName; payload: unknown }[];
} {
  const events = new RotatorEmitter();
  const log: { event: RotatorEventName; payload: unknown }[] = [];
  events.onAny((event, payload) => log.push({ event, payload }));
  return {
    store: world.store,
    client: world.client,
    events,
    now: world.clock.now,
    prefix: DEFAULT_KEY_PREFIX,
    testRetryDelaysMs: [],
    ...overrides,
    log,
  };
}

/** Payloads of events of one kind, in order. */
export function eventsOf<E extends RotatorEventName>(
  log: { event: RotatorEventName; payload: unknown }[],
  event: E,
): RotatorEvents[E][] {
  return log.filter((e) => e.event === event).map((e) => e.payload as RotatorEvents[E]);
}

export interface ManagedSecret {
  arn: string;
  projectId: string;
  environment: string;
  initialVersionId: string;
  initialKeyId: string;
  /** The prefix of its keys' names (the `ApiKey`'s `name`). */
  keyPrefix: string;
}

export interface ManagedSecretOptions {
  environment?: string;
  rotateEvery?: string;
  grace?: string;
  project?: "default" | "search";
  /** The `ApiKey`'s `name`: the prefix of its keys' names (default `llamacloud-keys`). */
  keyPrefix?: string;
  /** The payload's `baseUrl` (default: the emulator's URL), e.g. a counting proxy in front of it. */
  baseUrl?: string;
}

/**
 * A managed secret as `ProjectKeys` leaves it before its `ApiKey` has written anything: tagged,
 * no version. The project and environment are resolved as {@link createManagedSecret} does.
 */
export async function createTaggedSecret(
  world: World,
  options: ManagedSecretOptions = {},
): Promise<{ arn: string; projectId: string; environment: string }> {
  const project = world.emulator.projects.find((p) => p.name === (options.project ?? "default"));
  if (project === undefined) throw new Error("the emulator has no such project");
  const environment = options.environment ?? `env-${randomUUID().slice(0, 8)}`;
  const { arn } = await world.store.createSecret({
    name: `llamacloud-keys/test/${environment}`,
    tags: managementTags({
      projectId: project.id,
      environment,
      ...(options.rotateEvery === undefined ? {} : { rotateEvery: options.rotateEvery }),
      ...(options.grace === undefined ? {} : { grace: options.grace }),
    }),
  });
  return { arn, projectId: project.id, environment };
}

/**
 * A managed secret as `pulumi up` leaves it: a key minted in the emulator, named
 * `<prefix>/<project>/<env>/<version id>`, written as the first (AWSCURRENT) version, tags set.
 */
export async function createManagedSecret(
  world: World,
  options: ManagedSecretOptions = {},
): Promise<ManagedSecret> {
  const { arn, projectId, environment } = await createTaggedSecret(world, options);
  const keyPrefix = options.keyPrefix ?? DEFAULT_KEY_PREFIX;
  const versionId = randomUUID();
  const name = keyName(keyPrefix, projectId, environment, versionId);
  const { key, secret } = await world.client.createApiKey({ projectId, name });
  await world.store.writeVersion(arn, {
    token: versionId,
    stage: "AWSCURRENT",
    payload: {
      format: 1,
      apiKey: secret,
      keyId: key.id,
      keyName: name,
      projectId,
      organizationId: world.emulator.organizationId,
      environment,
      baseUrl: options.baseUrl ?? world.emulator.url,
      createdAt: new Date().toISOString(),
    },
  });
  return { arn, projectId, environment, initialVersionId: versionId, initialKeyId: key.id, keyPrefix };
}

/** Labels → version, and the key each labelled version holds. */
export async function labelledKeys(
  world: World,
  arn: string,
): Promise<{
  current: { versionId: string; keyId: string };
  previous?: { versionId: string; keyId: string };
  pending?: { versionId: string; keyId: string };
}> {
  const d = await world.store.describe(arn);
  const read = async (versionId: string | undefined) => {
    if (versionId === undefined) return undefined;
    const r = await world.store.readPayload(arn, { versionId });
    return { versionId, keyId: r.payload.keyId };
  };
  const current = await read(d.currentVersionId);
  if (current === undefined) throw new Error(`${arn} has no AWSCURRENT`);
  const previous = await read(d.previousVersionId);
  const pending = await read(d.pendingVersionId);
  return { current, ...(previous ? { previous } : {}), ...(pending ? { pending } : {}) };
}

/** Live emulator keys named for this secret (its prefix, project and environment). */
export function liveNamedKeys(world: World, secret: ManagedSecret): string[] {
  return world.emulator.state
    .allKeys()
    .filter((k) => {
      const parts = parseKeyName(k.name);
      return (
        k.live &&
        k.projectId === secret.projectId &&
        parts?.prefix === secret.keyPrefix &&
        parts.projectId === secret.projectId &&
        parts.environment === secret.environment
      );
    })
    .map((k) => k.id)
    .sort();
}

/** Invariant 2: the key AWSCURRENT holds authenticates and reaches its project. */
export async function expectCurrentWorks(world: World, arn: string): Promise<void> {
  const reading = await world.store.readPayload(arn, { stage: "AWSCURRENT" });
  const project = await world.client.withApiKey(reading.payload.apiKey).getProject(reading.payload.projectId);
  if (project.id !== reading.payload.projectId) throw new Error("AWSCURRENT's key reaches the wrong project");
}

/**
 * Invariant 4's "no key leaks, no key lost": the live keys named for the secret are exactly the
 * keys its labelled versions hold (AWSCURRENT always; AWSPREVIOUS while in grace).
 */
export async function keyAccounting(
  world: World,
  secret: ManagedSecret,
): Promise<{ live: string[]; held: string[] }> {
  const labels = await labelledKeys(world, secret.arn);
  const held = [labels.current, labels.previous, labels.pending]
    .filter((v): v is { versionId: string; keyId: string } => v !== undefined)
    .map((v) => v.keyId)
    .filter((id, i, all) => all.indexOf(id) === i)
    .sort();
  return { live: liveNamedKeys(world, secret), held };
}

/** The env a child rotator needs to reach the world (plus moto's credentials). */
export function childEnv(world: World, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    LLAMA_CLOUD_API_KEY: world.emulator.adminKey,
    LLAMA_CLOUD_BASE_URL: world.emulator.url,
    AWS_REGION: world.region,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: world.motoEndpoint,
    AWS_ACCESS_KEY_ID: motoCredentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: motoCredentials.secretAccessKey,
    ...extra,
  };
}

const binPath = join(repoRoot, "bin", "llamacloud-keys.js");

/** Child-process tests run the built CLI: fail loudly rather than test stale or missing code. */
export function requireBuilt(): void {
  const cli = join(repoRoot, "dist", "rotator", "cli.js");
  if (!existsSync(cli)) {
    throw new Error(`${cli} is missing: run \`npm run build\` first (\`npm test\` does it for you).`);
  }
}

export interface Child {
  child: ChildProcess;
  /** JSON log lines from stderr, parsed as they arrive. */
  lines: Record<string, unknown>[];
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves with the first log line matching `predicate`. */
  waitForLine(
    predicate: (line: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  kill(signal: NodeJS.Signals): void;
}

/** Starts `node bin/llamacloud-keys.js <args>` in its own process group. */
export function spawnCli(args: string[], env: NodeJS.ProcessEnv): Child {
  const child = spawn(process.execPath, [binPath, ...args], {
    cwd: repoRoot,
    env,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  let partial = "";
  const lines: Record<string, unknown>[] = [];
  const waiters: {
    predicate: (l: Record<string, unknown>) => boolean;
    resolve: (l: Record<string, unknown>) => void;
  }[] = [];
  child.stdout?.on("data", (chunk: Buffer) => {
    stdout += chunk;
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk;
    partial += chunk;
    let newline = partial.indexOf("\n");
    while (newline !== -1) {
      const text = partial.slice(0, newline);
      partial = partial.slice(newline + 1);
      newline = partial.indexOf("\n");
      if (!text.startsWith("{")) continue;
      let line: Record<string, unknown>;
      try {
        line = JSON.parse(text) as Record<string, unknown>;
      } catch {
        continue;
      }
      lines.push(line);
      for (const waiter of [...waiters]) {
        if (waiter.predicate(line)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(line);
        }
      }
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once("close", (code, signal) => resolve({ code, signal }));
  });
  const guard = setTimeout(() => killGroup(child, "SIGKILL"), 90_000);
  void exited.then(() => clearTimeout(guard));
  return {
    child,
    lines,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    waitForLine(predicate, timeoutMs = 30_000) {
      const found = lines.find(predicate);
      if (found !== undefined) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(new Error(`no matching log line within ${timeoutMs} ms; stderr:\n${stderr.slice(-3000)}`)),
          timeoutMs,
        );
        waiters.push({
          predicate,
          resolve: (line) => {
            clearTimeout(timer);
            resolve(line);
          },
        });
      });
    },
    kill: (signal) => killGroup(child, signal),
  };
}

/** Runs the CLI to completion. */
export async function runCli(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stdout: string; stderr: string; lines: Record<string, unknown>[] }> {
  const c = spawnCli(args, env);
  const { code } = await c.exited;
  return { code, stdout: c.stdout(), stderr: c.stderr(), lines: c.lines };
}

/** A minimal config for in-process runOnce / runDaemon (the services are injected). */
export function testConfig(overrides: Partial<RotatorConfig> = {}): RotatorConfig {
  return {
    command: "rotate",
    secrets: [],
    force: false,
    revokeNow: false,
    dryRun: false,
    json: false,
    schedule: "*/15 * * * *",
    concurrency: 4,
    prefix: DEFAULT_KEY_PREFIX,
    passDeadlineMs: 60_000,
    startDelayMaxMs: 0,
    shutdownTimeoutMs: 10_000,
    llamaCloud: { apiKey: redacted("unused: the client is injected") },
    aws: {},
    nowOffsetMs: 0,
    ...overrides,
  };
}
