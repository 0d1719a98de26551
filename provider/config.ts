import { type Redacted, redacted } from "../redaction";
import { nonEmpty } from "../secrets/env";
import { ProviderError } from "./errors";

/**
 * Where the provider's credentials come from. `configure(req)` hands the stack config over (secure
 * values arrive decrypted: the dynamic provider is part of the user's program); environment
 * variables are the fallback, for CI and for users of the provider outside the root program.
 * AWS needs nothing here: the store reads the standard AWS environment (region, endpoint,
 * credentials chain).
 */

/** Stack config key of the LlamaCloud admin key (set it with `--secret`). */
export const CONFIG_API_KEY = "llamacloud:apiKey";
/** Stack config key of the LlamaCloud host (self-hosted, EU, or the emulator). */
export const CONFIG_BASE_URL = "llamacloud:baseUrl";
export const ENV_API_KEY = "LLAMA_CLOUD_API_KEY";
export const ENV_BASE_URL = "LLAMA_CLOUD_BASE_URL";

/** The part of Pulumi's `ConfigureRequest.config` the provider uses. */
export interface ConfigSource {
  get(key: string): string | undefined;
}

/** What the provider was configured with. The key stays wrapped until the HTTP header. */
export interface ProviderSettings {
  apiKey?: Redacted<string>;
  /** Where the key came from, for messages: `config llamacloud:apiKey` or `env LLAMA_CLOUD_API_KEY`. */
  apiKeySource?: string;
  baseUrl?: string;
}

/** Stack config first, then the environment. Never throws: missing credentials fail at first use. */
export function readProviderSettings(
  config: ConfigSource | undefined,
  env: Record<string, string | undefined> = process.env,
): ProviderSettings {
  const settings: ProviderSettings = {};
  const configKey = nonEmpty(config?.get(CONFIG_API_KEY));
  const envKey = nonEmpty(env[ENV_API_KEY]);
  if (configKey !== undefined) {
    settings.apiKey = redacted(configKey);
    settings.apiKeySource = `config ${CONFIG_API_KEY}`;
  } else if (envKey !== undefined) {
    settings.apiKey = redacted(envKey);
    settings.apiKeySource = `env ${ENV_API_KEY}`;
  }
  const baseUrl = nonEmpty(config?.get(CONFIG_BASE_URL)) ?? nonEmpty(env[ENV_BASE_URL]);
  if (baseUrl !== undefined) settings.baseUrl = baseUrl;
  return settings;
}

/** The admin key, or an error that says which config key or variable to set. */
export function requireApiKey(settings: ProviderSettings): Redacted<string> {
  if (settings.apiKey !== undefined) return settings.apiKey;
  throw new ProviderError(
    "PROVIDER_MISSING_CREDENTIALS",
    "No LlamaCloud API key for the llamacloud-keys provider. Set one with " +
      `\`pulumi config set --secret ${CONFIG_API_KEY} <key>\` or the environment variable ${ENV_API_KEY}; ` +
      `point at another host with \`pulumi config set ${CONFIG_BASE_URL} <url>\` or ${ENV_BASE_URL}. ` +
      "The key must be able to create and revoke keys in the projects you declare.",
  );
}
