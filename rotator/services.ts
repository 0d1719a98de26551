import type { LlamaCloudClient, LlamaCloudClientOptions } from "../llamacloud/client";
import { resolveClientOptions } from "../llamacloud/client-options";
import { createSecretStore, type SecretStore } from "../secrets/store";
import { llamaCloudClientOptions, type RotatorConfig } from "./config";
import { RotatorEmitter } from "./events";
import type { RotationContext } from "./state";

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
  ctx: Omit<RotationContext, "signal">;
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
    ctx: {
      store,
      client,
      events: deps.events ?? new RotatorEmitter(),
      now,
      prefix: config.prefix,
      ...(deps.testRetryDelaysMs === undefined ? {} : { testRetryDelaysMs: deps.testRetryDelaysMs }),
    },
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
