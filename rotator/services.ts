import type { LlamaCloudClient, LlamaCloudClientOptions } from "../llamacloud/client";
import { resolveClientOptions } from "../llamacloud/client-options";
import { DEFAULT_KEY_PREFIX } from "../llamacloud/key-name";
import type { ApiKeyInfo } from "../llamacloud/schemas";
import { createSecretStore, type SecretStore } from "../secrets/store";
import { llamaCloudClientOptions, type RotatorConfig } from "./config";
import { RotatorEmitter } from "./events";

/**
 * The rotator's outside world and its clocks: what every step is given, and the timing constants
 * every decision uses. One home for both, so "when is the previous key revoked?" is answered here
 * (see {@link STAGING_WINDOW_MS}) and in `plan.ts`, which applies it.
 */

/** Invariant 3's floor (`secrets/rotation-policy.ts`), re-exported for the rotator's embedders. */
export { GRACE_FLOOR_MS } from "../secrets/rotation-policy";
/** Grace when the secret has no `llamacloud-keys:grace` tag: outlasts AWS's hourly caching clients. */
export const DEFAULT_GRACE_MS = 2 * 3_600_000;
/**
 * Secrets Manager records when a version was written, not when it became AWSCURRENT. The rotator
 * writes the pending version, tests it and promotes it within seconds, and refuses to promote a
 * pending version older than {@link PROMOTE_WITHIN_MS}. So the version that is AWSCURRENT became
 * current at most this long after it was written, and the key it displaced stopped being current no
 * later than `created(AWSCURRENT) + STAGING_WINDOW_MS`: that is where that key's grace starts, and
 * it is revoked at `created(AWSCURRENT) + STAGING_WINDOW_MS + grace`. Also the age below which a key
 * named like ours but held by no version is presumed in flight (another rotator or `pulumi up`
 * about to write it).
 */
export const STAGING_WINDOW_MS = 5 * 60_000;
/** A pending version older than this is abandoned rather than promoted (margin for the promote call). */
export const PROMOTE_WITHIN_MS = 4 * 60_000;
/** Attempts (tokens) per rotation away from one version before the rotator gives up. */
export const MAX_ATTEMPTS = 10;
/** Waits before re-testing a pending key that got 401/403/404 (a new key may take a moment to propagate). */
export const DEFAULT_TEST_RETRY_DELAYS_MS: readonly number[] = [1_000, 3_000];

/**
 * What a step needs: the two services, the clocks, the event stream, and a stop signal. Build it
 * with {@link createServices} from explicit parts (a Lambda builds them from its own environment),
 * or let `runOnce`/`runDaemon` build it from the configuration.
 */
export interface RotatorServices {
  store: SecretStore;
  /** Authenticates with the rotator's LlamaCloud key (mints, lists and revokes keys). */
  client: LlamaCloudClient;
  events: RotatorEmitter;
  /**
   * The clock for policy decisions (is the secret due? has grace passed?), in milliseconds since the
   * epoch. Injected so tests control time; shifted by the `LLAMACLOUD_KEYS_NOW_OFFSET_MS` knob.
   */
  now: () => number;
  /**
   * The unshifted wall clock, for physical waits measured against Secrets Manager and LlamaCloud
   * timestamps: how long a pending version has waited, how old an unclaimed key is. `Date.now`
   * when unset.
   */
  wallNow?: () => number;
  /**
   * The configured key-name prefix (`--prefix`, `llamacloud-keys` unless configured). Only a
   * fallback: each secret's keys keep the prefix its own key names carry (`llamacloud/key-ownership.ts`).
   */
  prefix: string;
  /** Aborted by the pass deadline or a shutdown: the rotation stops at the next step boundary. */
  signal?: AbortSignal;
  /** Waits before re-testing a refused pending key; {@link DEFAULT_TEST_RETRY_DELAYS_MS} when unset. */
  testRetryDelaysMs?: readonly number[];
  /**
   * A pass's shared LlamaCloud key lists, one per project (see {@link projectKeys}). Set by `runOnce`
   * for the length of one pass; unset, every read lists afresh.
   */
  keyLists?: Map<string, Promise<ApiKeyInfo[]>>;
}

/** The explicit parts of {@link RotatorServices}; everything but the two services has a default. */
export interface ServiceParts {
  store: SecretStore;
  client: LlamaCloudClient;
  events?: RotatorEmitter;
  now?: () => number;
  wallNow?: () => number;
  prefix?: string;
  testRetryDelaysMs?: readonly number[];
  signal?: AbortSignal;
}

/**
 * Services from explicit parts: what a Lambda rotation function builds from its own environment
 * (`createSecretStore()`, `createLlamaCloudClient({ apiKey })`), then hands to the step functions.
 * The caller owns and closes the store and the client.
 */
export function createServices(parts: ServiceParts): RotatorServices {
  return {
    store: parts.store,
    client: parts.client,
    events: parts.events ?? new RotatorEmitter(),
    now: parts.now ?? Date.now,
    ...(parts.wallNow === undefined ? {} : { wallNow: parts.wallNow }),
    prefix: parts.prefix ?? DEFAULT_KEY_PREFIX,
    ...(parts.testRetryDelaysMs === undefined ? {} : { testRetryDelaysMs: parts.testRetryDelaysMs }),
    ...(parts.signal === undefined ? {} : { signal: parts.signal }),
  };
}

/**
 * The live keys of a project: the pass's shared list when there is one (one GET per project per
 * pass, whatever the number of its secrets), else a fresh list. A list shared by a pass may miss
 * keys minted since it was made, which is safe: a key the rotator does not see is never revoked.
 */
export function projectKeys(services: RotatorServices, projectId: string): Promise<ApiKeyInfo[]> {
  const lists = services.keyLists;
  if (lists === undefined) return services.client.listApiKeys({ projectId });
  let list = lists.get(projectId);
  if (list === undefined) {
    list = services.client.listApiKeys({ projectId });
    // A failed list is not kept: the next secret of the project asks again.
    list.catch(() => lists.delete(projectId));
    lists.set(projectId, list);
  }
  return list;
}

/**
 * The rotator's outside world, built from the configuration, or injected by tests (an in-process
 * emulator client, a store behind a fault proxy, a fake clock). Whoever builds a service closes it.
 */
export interface RotatorDeps {
  store?: SecretStore;
  client?: LlamaCloudClient;
  events?: RotatorEmitter;
  /** The clock; `Date.now` shifted by the config's `nowOffsetMs` when unset. */
  now?: () => number;
  /** Waits before re-testing a refused pending key (tests pass `[]`). */
  testRetryDelaysMs?: readonly number[];
}

export interface Services {
  ctx: Omit<RotatorServices, "signal">;
  /** Closes what this function created (not what was injected). */
  close(): Promise<void>;
}

export function buildServices(config: RotatorConfig, deps: RotatorDeps = {}): Services {
  const store =
    deps.store ??
    createSecretStore({
      ...(config.aws.region === undefined ? {} : { region: config.aws.region }),
      ...(config.aws.endpoint === undefined ? {} : { endpoint: config.aws.endpoint }),
    });
  let client: LlamaCloudClient;
  try {
    client = deps.client ?? lazyLlamaCloudClient(llamaCloudClientOptions(config));
  } catch (error) {
    if (deps.store === undefined) store.close();
    throw error;
  }
  const offset = config.nowOffsetMs;
  const now = deps.now ?? (offset === 0 ? Date.now : () => Date.now() + offset);
  return {
    ctx: createServices({
      store,
      client,
      ...(deps.events === undefined ? {} : { events: deps.events }),
      now,
      prefix: config.prefix,
      ...(deps.testRetryDelaysMs === undefined ? {} : { testRetryDelaysMs: deps.testRetryDelaysMs }),
    }),
    async close() {
      if (deps.client === undefined) await client.close();
      if (deps.store === undefined) store.close();
    },
  };
}
/**
 * A LlamaCloud client whose HTTP machinery (undici, the response schemas) is loaded on its first
 * call, not at start: a daemon whose passes find nothing to rotate never pays for it. The options
 * are still checked here, so a bad key or URL fails at start as before.
 */
function lazyLlamaCloudClient(options: LlamaCloudClientOptions): LlamaCloudClient {
  const { baseUrl } = resolveClientOptions(options);
  let loaded: LlamaCloudClient | undefined;
  const client = (): LlamaCloudClient => {
    if (loaded === undefined) {
      const { createLlamaCloudClient } =
        require("../llamacloud/client") as typeof import("../llamacloud/client");
      loaded = createLlamaCloudClient(options);
    }
    return loaded;
  };
  return {
    baseUrl,
    createApiKey: (input) => client().createApiKey(input),
    findApiKeysByName: (input) => client().findApiKeysByName(input),
    listApiKeys: (input) => client().listApiKeys(input),
    renameApiKey: (id, name) => client().renameApiKey(id, name),
    deleteApiKey: (id) => client().deleteApiKey(id),
    resolveProject: (input) => client().resolveProject(input),
    getProject: (id) => client().getProject(id),
    getCurrentProject: () => client().getCurrentProject(),
    listOrganizations: () => client().listOrganizations(),
    withApiKey: (key) => client().withApiKey(key),
    close: async () => {
      await loaded?.close();
    },
  };
}
