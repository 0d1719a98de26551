import { z } from "zod";
import { isRedacted, type Redacted, redacted } from "../redaction";
import { LlamaCloudConfigError } from "./errors";
import { defaultRetryPolicy, type RetryPolicy } from "./retry-policy";

/**
 * The client's options: their schema, their defaults and how they combine with the environment.
 * Every problem becomes a `LLAMACLOUD_CONFIG` error naming the option (and env var) to fix, never
 * the value given.
 */

/** Hosts of the two public deployments; a key from one does not work in the other. */
export const regionBaseUrls = {
  us: "https://api.cloud.llamaindex.ai",
  eu: "https://api.cloud.eu.llamaindex.ai",
} as const;

export type LlamaCloudRegion = keyof typeof regionBaseUrls;

/** The `region` shorthands, for schemas: `"us"`, `"eu"`. */
export const LLAMACLOUD_REGIONS = Object.keys(regionBaseUrls) as [LlamaCloudRegion, ...LlamaCloudRegion[]];

/** Per-phase limits of one client call, in milliseconds. */
export interface LlamaCloudTimeouts {
  /** TCP + TLS handshake. */
  connectMs: number;
  /** From the request being sent to the response headers. */
  headersMs: number;
  /** Longest silence while reading the response body. */
  bodyMs: number;
  /** Whole call, every retry and backoff included: the caller never waits longer. */
  totalMs: number;
}

/**
 * Sized for a control-plane API: key and project calls are small and quick, so a minute covers a
 * slow region plus a couple of retries, while a stuck connection is noticed within seconds.
 */
export const defaultTimeouts: LlamaCloudTimeouts = Object.freeze({
  connectMs: 10_000,
  headersMs: 30_000,
  bodyMs: 30_000,
  totalMs: 60_000,
});

/**
 * Per-phase limits scaled from one overall limit in the proportions of {@link defaultTimeouts}
 * (connect a sixth, headers and body half), so a single setting such as the CLI's
 * `--llamacloud-timeout` raises or lowers every phase together: `timeoutsWithin(60_000)` equals the
 * defaults.
 */
export function timeoutsWithin(totalMs: number): LlamaCloudTimeouts {
  const part = (share: number) => Math.max(1, Math.round(totalMs * share));
  return { connectMs: part(1 / 6), headersMs: part(1 / 2), bodyMs: part(1 / 2), totalMs };
}

/** One HTTP attempt, for logs and metrics. Never carries headers or bodies. */
export interface LlamaCloudRequestEvent {
  method: string;
  /** The request path (ids included, no query string). */
  path: string;
  /** The route template, e.g. `"DELETE /api/v1/api-keys/{api_key_id}"`: a low-cardinality label. */
  endpoint: string;
  /** Response status, absent when the attempt failed without a response. */
  status?: number;
  /** The transport error code (e.g. `ECONNRESET`) when the attempt failed without a response. */
  errorCode?: string;
  /** 1 for the first attempt of a call. */
  attempt: number;
  durationMs: number;
  requestId?: string;
}

export interface LlamaCloudClientOptions {
  /** The API key; falls back to env `LLAMA_CLOUD_API_KEY`. Prefer a `Redacted<string>`. */
  apiKey?: string | Redacted<string>;
  /** Any LlamaCloud host (self-hosted/BYOC, the emulator); falls back to env `LLAMA_CLOUD_BASE_URL`. */
  baseUrl?: string;
  /** A public deployment, instead of `baseUrl`: `us` (default) or `eu`. */
  region?: LlamaCloudRegion;
  /** Overrides of {@link defaultTimeouts}. */
  timeouts?: Partial<LlamaCloudTimeouts>;
  /**
   * How this client's user raises its timeouts, named by timeout errors instead of the `timeouts.*`
   * options (which only a program can set). The CLI passes its flag, config field and env var.
   * @example "--llamacloud-timeout (config file: llamacloudTimeout, env LLAMACLOUD_KEYS_LLAMACLOUD_TIMEOUT)"
   */
  timeoutSetting?: string;
  /** Overrides of the retry policy (see `retry-policy.ts`); `{ maxRetries: 0 }` disables retries. */
  retry?: Partial<RetryPolicy>;
  /** Sent as `User-Agent`; printable ASCII. */
  userAgent?: string;
  /** Called after every HTTP attempt; exceptions it throws are ignored. */
  onRequest?: (event: LlamaCloudRequestEvent) => void;
  /** Where env fallbacks are read; defaults to `process.env`. */
  env?: Record<string, string | undefined>;
  /** Test seam: how to wait between retries (defaults to a timer). */
  sleep?: (ms: number) => Promise<void>;
  /** Test seam: `[0, 1)` source for backoff jitter (defaults to `Math.random`). */
  random?: () => number;
}

/** Options after validation and defaults; the key is always wrapped. */
export interface ResolvedClientOptions {
  apiKey: Redacted<string>;
  baseUrl: string;
  timeouts: LlamaCloudTimeouts;
  timeoutSetting?: string;
  retry: RetryPolicy;
  userAgent: string;
  onRequest?: (event: LlamaCloudRequestEvent) => void;
  sleep: (ms: number) => Promise<void>;
  random: () => number;
}

const milliseconds = z.number().int().positive().max(3_600_000);
const fn = z.custom<(...args: never[]) => unknown>(
  (value) => typeof value === "function",
  "expected a function",
);

const optionsSchema = z
  .object({
    apiKey: z.union([z.string(), z.custom<Redacted<string>>(isRedacted, "expected a string or Redacted")]),
    baseUrl: z.string(),
    region: z.enum(LLAMACLOUD_REGIONS),
    timeouts: z
      .object({
        connectMs: milliseconds,
        headersMs: milliseconds,
        bodyMs: milliseconds,
        totalMs: milliseconds,
      })
      .partial()
      .strict(),
    timeoutSetting: z.string().min(1).max(300),
    retry: z
      .object({
        methods: z.array(z.enum(["GET", "PUT", "DELETE", "HEAD", "OPTIONS"])),
        statuses: z.array(z.number().int().min(400).max(599)),
        errorCodes: z.array(z.string()),
        maxRetries: z.number().int().min(0).max(10),
        initialDelayMs: z.number().int().min(0).max(60_000),
        maxDelayMs: z.number().int().min(0).max(600_000),
        maxRetryAfterMs: z.number().int().min(0).max(3_600_000),
      })
      .partial()
      .strict(),
    userAgent: z.string().regex(/^[\x20-\x7e]{1,200}$/, "expected 1-200 printable ASCII characters"),
    onRequest: fn,
    env: z.record(z.string(), z.string().optional()),
    sleep: fn,
    random: fn,
  })
  .partial()
  .strict();

function configError(message: string): LlamaCloudConfigError {
  return new LlamaCloudConfigError(message);
}

/** One line per issue, with its path; zod's default messages name the expected type, not the value. */
function formatIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues.map((issue) => `${issue.path.join(".") || "(options)"}: ${issue.message}`).join("; ");
}

/** Validates `key` for use in an `Authorization` header; `source` names where it came from. */
export function checkApiKey(key: string | Redacted<string>, source: string): Redacted<string> {
  const value = typeof key === "string" ? key : key.reveal();
  if (typeof value !== "string" || value.length === 0) {
    throw configError(
      `The LlamaCloud API key from ${source} is empty. Set it to a key from the LlamaCloud UI.`,
    );
  }
  // A stray newline from `$(cat key.txt)` would otherwise split the header or fail obscurely.
  if (!/^[\x21-\x7e]+$/.test(value)) {
    throw configError(
      `The LlamaCloud API key from ${source} contains whitespace or non-printable characters ` +
        "(often a trailing newline). Set it to the key exactly as LlamaCloud showed it.",
    );
  }
  return typeof key === "string" ? redacted(key) : key;
}

function checkBaseUrl(value: string, source: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw configError(`${source} is not a valid URL. Set it to e.g. ${regionBaseUrls.us}.`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw configError(`${source} must be an http(s) URL, e.g. ${regionBaseUrls.us}.`);
  }
  if (url.username !== "" || url.password !== "") {
    // Credentials in the URL would end up in every error message that names the host.
    throw configError(
      `${source} must not contain credentials; pass the key as apiKey or LLAMA_CLOUD_API_KEY.`,
    );
  }
  if (url.search !== "" || url.hash !== "") {
    throw configError(
      `${source} must not have a query string or fragment; give only the scheme, host and port.`,
    );
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, "")}`;
}

function defaultSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Validates options, applies env fallbacks and defaults. Throws `LLAMACLOUD_CONFIG`. */
export function resolveClientOptions(options: LlamaCloudClientOptions = {}): ResolvedClientOptions {
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success) {
    throw configError(`Invalid LlamaCloud client options: ${formatIssues(parsed.error.issues)}.`);
  }
  const env = options.env ?? process.env;

  let apiKey: Redacted<string>;
  if (options.apiKey !== undefined) {
    apiKey = checkApiKey(options.apiKey, "the apiKey option");
  } else if (env["LLAMA_CLOUD_API_KEY"] !== undefined && env["LLAMA_CLOUD_API_KEY"] !== "") {
    apiKey = checkApiKey(env["LLAMA_CLOUD_API_KEY"], "the LLAMA_CLOUD_API_KEY environment variable");
  } else {
    throw configError(
      "No LlamaCloud API key: set env LLAMA_CLOUD_API_KEY or pass apiKey to createLlamaCloudClient().",
    );
  }

  if (options.baseUrl !== undefined && options.region !== undefined) {
    throw configError("Pass either baseUrl or region to createLlamaCloudClient(), not both.");
  }
  let baseUrl: string;
  if (options.baseUrl !== undefined) baseUrl = checkBaseUrl(options.baseUrl, "The baseUrl option");
  else if (options.region !== undefined) baseUrl = regionBaseUrls[options.region];
  else if (env["LLAMA_CLOUD_BASE_URL"] !== undefined && env["LLAMA_CLOUD_BASE_URL"] !== "") {
    baseUrl = checkBaseUrl(env["LLAMA_CLOUD_BASE_URL"], "The LLAMA_CLOUD_BASE_URL environment variable");
  } else baseUrl = regionBaseUrls.us;

  const timeouts = { ...defaultTimeouts, ...options.timeouts };
  const retry = { ...defaultRetryPolicy, ...options.retry };
  return {
    apiKey,
    baseUrl,
    timeouts,
    ...(options.timeoutSetting === undefined ? {} : { timeoutSetting: options.timeoutSetting }),
    retry,
    userAgent: options.userAgent ?? "llamacloud-keys",
    ...(options.onRequest === undefined ? {} : { onRequest: options.onRequest }),
    sleep: options.sleep ?? defaultSleep,
    random: options.random ?? Math.random,
  };
}
