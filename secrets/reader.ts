import { inspect } from "node:util";
import { toMilliseconds } from "./duration";
import { isSecretsError, SecretInvalidRequestError } from "./errors";
import type { SecretPayload } from "./payload";
import {
  DEFAULT_JITTER,
  DEFAULT_MAX_STALE_MS,
  DEFAULT_MIN_FORCED_REFRESH_MS,
  DEFAULT_TTL_MS,
} from "./reader-defaults";
import {
  AWSCURRENT,
  AWSPREVIOUS,
  createSecretStore,
  type PayloadReading,
  type SecretStore,
  type SecretStoreCredentials,
  type StoreCallEvent,
} from "./store";

// This module is what deployed apps load (the `./secrets` subpath): it must not import undici,
// @pulumi/* or anything from llamacloud/. A test checks the import graph.

/** Backoff after failed fetches: 1 s doubling up to 30 s, each delay jittered down by up to half. */
const BACKOFF_INITIAL_MS = 1_000;
const BACKOFF_MAX_MS = 30_000;

export interface KeyReaderOptions {
  /** The secret's name or ARN. */
  secretId: string;
  /**
   * How long a fetched key is used before Secrets Manager is asked again: milliseconds or a
   * duration string (`"5m"`). Default 5 minutes. The rotator's grace period must outlast it.
   */
  ttl?: number | string;
  /**
   * How long past its TTL a value may still be served while Secrets Manager fails (milliseconds or
   * a duration string). Default 15 minutes; after that, `get()` throws the last error.
   */
  maxStale?: number | string;
  /** Fraction (0 ≤ jitter < 1) by which each TTL is randomly shortened, so fleets do not refetch in step. Default 0.1. */
  jitter?: number;
  /** Minimum time between forced refreshes from {@link KeyReader.withKey} (ms or duration). Default 5 s. */
  minForcedRefreshInterval?: number | string;
  region?: string;
  endpoint?: string;
  credentials?: SecretStoreCredentials;
  maxAttempts?: number;
  /** Called after every Secrets Manager call (operation, duration, error code; never a value). */
  onCall?: (event: StoreCallEvent) => void;
  /** Use this store instead of creating one; {@link KeyReader.close} then leaves it open. */
  store?: Pick<SecretStore, "readPayload" | "close">;
  /** Clock, in epoch milliseconds; tests inject one. */
  now?: () => number;
  /** Uniform random in [0, 1), for TTL and backoff jitter; tests inject one. */
  random?: () => number;
}

/**
 * The key and where to use it. `apiKey` is a plain string because apps must send it; it is a
 * non-enumerable property, so `JSON.stringify`, `util.inspect` / `console.log` and object spread
 * leave it out (they show `apiKey: "[redacted]"`). Read it only to build the request.
 */
export interface KeyReading {
  readonly apiKey: string;
  readonly baseUrl: string;
  readonly keyId: string;
  readonly projectId: string;
  readonly environment: string;
  /** The Secrets Manager version id the key came from. */
  readonly versionId: string;
}

export interface KeyReader {
  /**
   * The AWSCURRENT key: from the cache while its TTL runs, else fetched. Concurrent callers share
   * one fetch. While Secrets Manager fails, the last value is served up to `maxStale` past its TTL,
   * and fetches back off (1 s doubling to 30 s). A malformed secret throws SECRET_MALFORMED_PAYLOAD,
   * never part of a value.
   */
  get(): Promise<KeyReading>;
  /**
   * Calls `fn(apiKey, baseUrl)`. When it fails the way a LlamaCloud 401/403 does (see
   * {@link isAuthFailure}), the reader refreshes (at most once per `minForcedRefreshInterval`) and
   * calls `fn` once more with the new AWSCURRENT key, or, if AWSCURRENT still holds the key that
   * failed, with the AWSPREVIOUS key. Any other failure, or a second failure, is passed on as is.
   * A returned fetch-style `Response` with status 401/403 counts as a failure too (its body is
   * cancelled before the retry); if the retry also gets one, that response is returned. The cache
   * keeps following AWSCURRENT: the AWSPREVIOUS fallback is per call, not sticky.
   */
  withKey<T>(fn: (apiKey: string, baseUrl: string) => Promise<T> | T): Promise<T>;
  /** Fetches AWSCURRENT now, ignoring the TTL and the backoff (stale-on-error still applies). */
  refresh(): Promise<KeyReading>;
  /** Releases the reader's AWS client. Later calls throw. */
  close(): void;
}

/**
 * True for what a LlamaCloud 401/403 looks like, whatever client produced it: an error or
 * response with `status` / `statusCode` / `response.status` 401 or 403 (fetch `Response`, undici,
 * axios, this package's LlamaCloud client), or an error with `code` `LLAMACLOUD_AUTHENTICATION` or
 * `LLAMACLOUD_PERMISSION`. Duck-typed so the reader needs no HTTP client.
 */
export function isAuthFailure(value: unknown): boolean {
  if (typeof value !== "object" || value === null) return false;
  const v = value as {
    status?: unknown;
    statusCode?: unknown;
    code?: unknown;
    response?: { status?: unknown };
  };
  if (v.code === "LLAMACLOUD_AUTHENTICATION" || v.code === "LLAMACLOUD_PERMISSION") return true;
  const status = v.status ?? v.statusCode ?? v.response?.status;
  return status === 401 || status === 403;
}

/** A fetch-style Response (returned, not thrown) with an auth failure status. */
function isAuthFailureResponse(value: unknown): value is { body?: { cancel?: () => Promise<void> } | null } {
  if (typeof value !== "object" || value === null) return false;
  const v = value as { status?: unknown; ok?: unknown; headers?: unknown };
  return typeof v.ok === "boolean" && typeof v.headers === "object" && (v.status === 401 || v.status === 403);
}

const hidden = "[redacted]";

function makeReading(payload: SecretPayload, versionId: string): KeyReading {
  const visible = {
    baseUrl: payload.baseUrl,
    keyId: payload.keyId,
    projectId: payload.projectId,
    environment: payload.environment,
    versionId,
  };
  const shown = { apiKey: hidden, ...visible };
  const reading = { ...visible };
  Object.defineProperties(reading, {
    apiKey: { value: payload.apiKey.reveal(), enumerable: false },
    toJSON: { value: () => shown, enumerable: false },
    [inspect.custom]: {
      value: (_depth: number, options: object) => `KeyReading ${inspect(shown, options)}`,
      enumerable: false,
    },
  });
  return Object.freeze(reading) as KeyReading;
}

interface Cached {
  reading: KeyReading;
  expiresAt: number;
}

/**
 * A cached reader of the key in one secret, for apps. Works in a long-running service and in a
 * Lambda handler alike: it sets no timers (nothing keeps the process alive or runs while a Lambda
 * is frozen); every decision is taken when `get()` is called, from `now()`.
 *
 * @example
 * const reader = createKeyReader({ secretId: "llamacloud/my-project/prod", ttl: "5m" });
 * const projects = await reader.withKey((apiKey, baseUrl) =>
 *   fetch(`${baseUrl}/api/v1/projects`, { headers: { Authorization: `Bearer ${apiKey}` } }),
 * );
 */
export function createKeyReader(options: KeyReaderOptions): KeyReader {
  const secretId = options.secretId;
  if (typeof secretId !== "string" || secretId === "") {
    throw new SecretInvalidRequestError('createKeyReader: "secretId" must be the secret\'s name or ARN');
  }
  const ttl = toMilliseconds(options.ttl ?? DEFAULT_TTL_MS, "ttl");
  const maxStale = toMilliseconds(options.maxStale ?? DEFAULT_MAX_STALE_MS, "maxStale");
  const minForced = toMilliseconds(
    options.minForcedRefreshInterval ?? DEFAULT_MIN_FORCED_REFRESH_MS,
    "minForcedRefreshInterval",
  );
  const jitter = options.jitter ?? DEFAULT_JITTER;
  if (!(jitter >= 0 && jitter < 1)) {
    throw new SecretInvalidRequestError(
      `createKeyReader: "jitter" must be at least 0 and below 1; got ${jitter}`,
      {
        secretId,
      },
    );
  }
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const ownsStore = options.store === undefined;
  const store =
    options.store ??
    createSecretStore({
      ...(options.region === undefined ? {} : { region: options.region }),
      ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
      ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
      ...(options.maxAttempts === undefined ? {} : { maxAttempts: options.maxAttempts }),
      ...(options.onCall === undefined ? {} : { onCall: options.onCall }),
    });

  let current: Cached | undefined;
  let previous: KeyReading | undefined;
  // Versions are immutable, so a reading is keyed by version id and reused when the same version
  // comes back; a handful covers AWSCURRENT, AWSPREVIOUS and a rotation in between.
  const versions = new Map<string, KeyReading>();
  let inflight: Promise<KeyReading> | undefined;
  let failures = 0;
  let retryAt = Number.NEGATIVE_INFINITY;
  let lastError: unknown;
  let lastForcedAt = Number.NEGATIVE_INFINITY;
  let forcing: Promise<void> | undefined;
  let closed = false;

  function assertOpen(): void {
    if (closed) {
      throw new SecretInvalidRequestError(
        `The key reader for secret ${secretId} was closed; create a new one.`,
        {
          secretId,
        },
      );
    }
  }

  function remember(result: PayloadReading): KeyReading {
    const known = versions.get(result.versionId);
    if (known !== undefined) return known;
    const reading = makeReading(result.payload, result.versionId);
    versions.set(result.versionId, reading);
    if (versions.size > 4) {
      const oldest = versions.keys().next().value as string;
      versions.delete(oldest);
    }
    return reading;
  }

  function staleAllowed(at: number): boolean {
    return current !== undefined && at - current.expiresAt <= maxStale;
  }

  function backoff(attempt: number): number {
    const full = Math.min(BACKOFF_MAX_MS, BACKOFF_INITIAL_MS * 2 ** (attempt - 1));
    return full * (1 - random() / 2);
  }

  /** One GetSecretValue(AWSCURRENT) at a time; every caller meanwhile shares its outcome. */
  function fetchCurrent(): Promise<KeyReading> {
    if (inflight !== undefined) return inflight;
    inflight = (async () => {
      try {
        const result = await store.readPayload(secretId, { stage: AWSCURRENT });
        const reading = remember(result);
        // Jitter only shortens the TTL: the grace period is sized from the TTL, so no reader may
        // hold a key longer than it.
        current = { reading, expiresAt: now() + ttl * (1 - jitter * random()) };
        failures = 0;
        retryAt = Number.NEGATIVE_INFINITY;
        lastError = undefined;
        return reading;
      } catch (error) {
        const at = now();
        failures += 1;
        retryAt = at + backoff(failures);
        lastError = error;
        // A malformed AWSCURRENT is a fault someone must fix, not an outage to ride out: fail.
        if (!isSecretsError(error, "SECRET_MALFORMED_PAYLOAD") && staleAllowed(at) && current !== undefined) {
          return current.reading;
        }
        throw error;
      } finally {
        inflight = undefined;
      }
    })();
    return inflight;
  }

  async function get(): Promise<KeyReading> {
    assertOpen();
    const at = now();
    if (current !== undefined && at < current.expiresAt) return current.reading;
    if (inflight === undefined && at < retryAt) {
      // Backing off: answer from what we have without calling Secrets Manager.
      if (
        !isSecretsError(lastError, "SECRET_MALFORMED_PAYLOAD") &&
        staleAllowed(at) &&
        current !== undefined
      ) {
        return current.reading;
      }
      throw lastError;
    }
    return fetchCurrent();
  }

  async function refresh(): Promise<KeyReading> {
    assertOpen();
    return fetchCurrent();
  }

  async function fetchPrevious(): Promise<void> {
    try {
      previous = remember(await store.readPayload(secretId, { stage: AWSPREVIOUS }));
    } catch (error) {
      if (isSecretsError(error, "SECRET_NOT_FOUND")) previous = undefined;
      // Other failures keep what we had: the retry below is best effort.
    }
  }

  /** After `failed` was refused: the reading to retry with, or undefined when there is none. */
  async function recover(failed: KeyReading): Promise<KeyReading | undefined> {
    if (forcing !== undefined) {
      await forcing;
    } else if (now() - lastForcedAt >= minForced) {
      // Rate-limited so a burst of 401s (or a key LlamaCloud refuses for good) cannot turn every
      // request into a Secrets Manager call.
      lastForcedAt = now();
      forcing = (async () => {
        try {
          await fetchCurrent();
        } catch {
          // Nothing better to retry with than what the cache holds.
        }
        if (current?.reading.apiKey === failed.apiKey) await fetchPrevious();
      })().finally(() => {
        forcing = undefined;
      });
      await forcing;
    }
    const latest = current?.reading;
    if (latest !== undefined && latest.apiKey !== failed.apiKey) return latest;
    // AWSCURRENT is the very key that failed (rolled back, or revoked out of band): the last
    // known good one is AWSPREVIOUS.
    if (previous !== undefined && previous.apiKey !== failed.apiKey) return previous;
    return undefined;
  }

  async function withKey<T>(fn: (apiKey: string, baseUrl: string) => Promise<T> | T): Promise<T> {
    const first = await get();
    let result: T;
    try {
      result = await fn(first.apiKey, first.baseUrl);
    } catch (error) {
      if (!isAuthFailure(error)) throw error;
      const next = await recover(first);
      if (next === undefined) throw error;
      return await fn(next.apiKey, next.baseUrl);
    }
    if (!isAuthFailureResponse(result)) return result;
    const next = await recover(first);
    if (next === undefined) return result;
    // Release the refused response's connection before making another request.
    await result.body?.cancel?.().catch(() => undefined);
    return await fn(next.apiKey, next.baseUrl);
  }

  function close(): void {
    if (closed) return;
    closed = true;
    versions.clear();
    current = undefined;
    previous = undefined;
    if (ownsStore) store.close();
  }

  return { get, withKey, refresh, close };
}
