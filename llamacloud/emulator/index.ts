import type { AddressInfo } from "node:net";
import { FaultInjector } from "./faults";
import { issuedKeysFileFromEnv, recordIssuedKeys } from "./issued-keys";
import { RequestLog } from "./request-log";
import { defaultSeed, type EmulatorSeed, resolveSeed } from "./seed";
import { createEmulatorServer } from "./server";
import { EmulatorState } from "./state";

/**
 * A local LlamaCloud for tests, demos and users' own tests: a real `node:http` server implementing
 * the key-management API (see `README.md` for coverage). Import it from here, not from the client's
 * `index.ts`, so the client never loads server code.
 */

export {
  type EmulatorRoute,
  emulatorRoutes,
  type Fault,
  FaultInjector,
  type FaultSpec,
  type HeldRequest,
} from "./faults";
export type { LoggedRequest } from "./request-log";
export { defaultSeed, type EmulatorSeed, emulatorSeedSchema, SeedError } from "./seed";
export { EmulatorState, type KeySnapshot, type Principal, StateError } from "./state";

export interface EmulatorOptions {
  /** Port to listen on; 0 (default) picks a free one. */
  port?: number;
  /** Interface to bind; default `127.0.0.1` (the control API hands out secrets). */
  host?: string;
  /** Added to every API request. */
  latencyMs?: number;
  /** How long a revoked key keeps authenticating (LlamaCloud: up to a minute). Default 0. */
  revocationDelayMs?: number;
  /** Organizations, projects, users and keys to start with; default {@link defaultSeed}. */
  seed?: EmulatorSeed;
  /** The clock for timestamps and revocation delays. */
  now?: () => number;
  /**
   * Append every key this emulator issues (seeded or minted), one per line, to this file (mode
   * 0600), for leak scans. Default: a file of its own under `LLAMACLOUD_KEYS_EMULATOR_ISSUED_DIR`
   * when that is set, else none.
   */
  issuedKeysFile?: string;
  /** Called once per key this emulator issues (seeded or minted), before it is usable. */
  onIssued?: (secret: string) => void;
}

export interface EmulatorHandle {
  /** Base URL to give the client, e.g. `http://127.0.0.1:41234`. */
  url: string;
  /** The first seeded key: user-wide, admin on every seeded project by default. */
  adminKey: string;
  /** The first seeded organization. */
  organizationId: string;
  /** Seeded projects, in seed order. */
  projects: { id: string; name: string }[];
  /** The model, for assertions and direct manipulation. */
  state: EmulatorState;
  /** Fault injection: `faults.add({ route: "POST /api/v1/api-keys", kind: "reset" })`. */
  faults: FaultInjector;
  /** API requests received (optionally of one route), oldest first. */
  requests(route?: string): import("./request-log").LoggedRequest[];
  /** Back to the seed: keys, faults, held requests and the request log. */
  reset(): void;
  /** Stops listening and drops every connection (hanging and held ones included). */
  close(): Promise<void>;
}

/** Starts an emulator and resolves once it is listening. Throws `SeedError` for a bad seed. */
export async function startEmulator(options: EmulatorOptions = {}): Promise<EmulatorHandle> {
  const now = options.now ?? Date.now;
  const seed = resolveSeed(options.seed ?? defaultSeed);
  const issuedKeysFile = options.issuedKeysFile ?? issuedKeysFileFromEnv();
  const recorders = [
    ...(issuedKeysFile === undefined ? [] : [recordIssuedKeys(issuedKeysFile)]),
    ...(options.onIssued === undefined ? [] : [options.onIssued]),
  ];
  const state = new EmulatorState(seed, {
    now,
    onIssued: (secret) => {
      for (const record of recorders) record(secret);
    },
    ...(options.revocationDelayMs === undefined ? {} : { revocationDelayMs: options.revocationDelayMs }),
  });
  const faults = new FaultInjector({
    now,
    ...(options.latencyMs === undefined ? {} : { latencyMs: options.latencyMs }),
  });
  const requests = new RequestLog(10_000, now);
  const server = createEmulatorServer({ state, faults, requests });
  const host = options.host ?? "127.0.0.1";

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const urlHost = host.includes(":") ? `[${host}]` : host;

  return {
    url: `http://${urlHost}:${port}`,
    adminKey: state.adminKey,
    organizationId: seed.organizations[0]!.id,
    projects: seed.projects.map(({ id, name }) => ({ id, name })),
    state,
    faults,
    requests: (route) => requests.list(route),
    reset() {
      faults.reset();
      state.reset();
      requests.clear();
    },
    close() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Hanging and held requests would otherwise keep close() waiting forever.
        server.closeAllConnections();
        faults.release();
      });
    },
  };
}
