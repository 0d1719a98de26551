/**
 * When the client retries, as data. POST is deliberately absent: LlamaCloud's create takes no
 * idempotency key, so a retried POST can mint a second key. A create that may have reached the
 * server is reconciled by the caller (list keys by the deterministic name it gave), never retried.
 *
 * Statuses follow the official TypeScript SDK, which retries 408/409/429/≥500 (reference:
 * "The official TS SDK retries 408/409/429/≥500 (2 retries, 0.5 s·2ⁿ backoff capped at 8 s,
 * jitter) and honours `retry-after-ms`/`retry-after` when present"). We list the 5xx statuses that
 * mean "try again" rather than "≥500": 501 and 505 will not heal on retry.
 */
export interface RetryPolicy {
  /** Methods that are safe to send twice. */
  methods: readonly string[];
  /** Response statuses worth another attempt. */
  statuses: readonly number[];
  /** Transport error codes (undici and Node system errors) worth another attempt. */
  errorCodes: readonly string[];
  /** Retries after the first attempt (so at most `maxRetries + 1` requests). */
  maxRetries: number;
  /** First backoff delay; attempt n waits `initialDelayMs · 2ⁿ`, capped, with jitter. */
  initialDelayMs: number;
  /** Cap on one computed backoff delay. */
  maxDelayMs: number;
  /** Server hints (`retry-after-ms`, `Retry-After`) above this are not honoured: the call gives up. */
  maxRetryAfterMs: number;
}

export const defaultRetryPolicy: RetryPolicy = Object.freeze({
  methods: Object.freeze(["GET", "PUT", "DELETE"]),
  statuses: Object.freeze([408, 409, 429, 500, 502, 503, 504]),
  errorCodes: Object.freeze([
    "ECONNRESET",
    "ECONNREFUSED",
    "EPIPE",
    "ETIMEDOUT",
    "ENETUNREACH",
    "EHOSTUNREACH",
    "EAI_AGAIN",
    "UND_ERR_SOCKET",
    "UND_ERR_CONNECT_TIMEOUT",
    "UND_ERR_HEADERS_TIMEOUT",
    "UND_ERR_BODY_TIMEOUT",
    "UND_ERR_CLOSED",
  ]),
  maxRetries: 3,
  initialDelayMs: 500,
  maxDelayMs: 8_000,
  maxRetryAfterMs: 60_000,
});

/** What happened on one attempt, as the retry decision needs it. */
export interface AttemptOutcome {
  method: string;
  /** 1 for the first request. */
  attempt: number;
  /** The response status, if a response arrived. */
  status?: number;
  /** The transport error code, if no complete response arrived. */
  errorCode?: string;
  /** Response headers (lower-case names), for `retry-after-ms` / `Retry-After`. */
  headers?: Record<string, string | string[] | undefined>;
  /** Milliseconds left before the call's overall deadline. */
  remainingMs: number;
}

export type RetryDecision =
  | { retry: true; delayMs: number }
  | { retry: false; reason: "not-retryable" | "method" | "attempts" | "deadline" | "retry-after-too-long" };

/**
 * Decides whether to send the request again and after how long. `random` is `[0, 1)` (injected for
 * tests); `nowMs` resolves an HTTP-date `Retry-After`.
 */
export function decideRetry(
  policy: RetryPolicy,
  outcome: AttemptOutcome,
  random: () => number = Math.random,
  nowMs: number = Date.now(),
): RetryDecision {
  const retryable =
    (outcome.status !== undefined && policy.statuses.includes(outcome.status)) ||
    (outcome.status === undefined &&
      outcome.errorCode !== undefined &&
      policy.errorCodes.includes(outcome.errorCode));
  if (!retryable) return { retry: false, reason: "not-retryable" };
  if (!policy.methods.includes(outcome.method.toUpperCase())) return { retry: false, reason: "method" };
  if (outcome.attempt > policy.maxRetries) return { retry: false, reason: "attempts" };

  const hinted = outcome.headers === undefined ? undefined : retryAfterMs(outcome.headers, nowMs);
  if (hinted !== undefined && hinted > policy.maxRetryAfterMs) {
    return { retry: false, reason: "retry-after-too-long" };
  }
  const delayMs = hinted ?? backoffDelayMs(policy, outcome.attempt, random);
  if (delayMs >= outcome.remainingMs) return { retry: false, reason: "deadline" };
  return { retry: true, delayMs };
}

/**
 * Exponential backoff with jitter for the wait after attempt `attempt` (1-based): a delay drawn
 * from `[0.75, 1] · min(initial · 2^(attempt-1), max)`, like the official SDK, so concurrent
 * clients spread out without ever retrying instantly.
 */
export function backoffDelayMs(policy: RetryPolicy, attempt: number, random: () => number): number {
  const base = Math.min(policy.initialDelayMs * 2 ** (attempt - 1), policy.maxDelayMs);
  return Math.round(base * (1 - 0.25 * random()));
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * The server's wait hint in milliseconds: `retry-after-ms` (the official SDKs' extension) wins over
 * `Retry-After` (delta-seconds or an HTTP date). Undefined when absent or unparseable.
 */
export function retryAfterMs(
  headers: Record<string, string | string[] | undefined>,
  nowMs: number = Date.now(),
): number | undefined {
  const ms = header(headers, "retry-after-ms");
  if (ms !== undefined && /^\s*\d+(\.\d+)?\s*$/.test(ms)) return Math.ceil(Number(ms));
  const after = header(headers, "retry-after");
  if (after === undefined) return undefined;
  if (/^\s*\d+\s*$/.test(after)) return Number(after) * 1000;
  const date = Date.parse(after);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - nowMs);
}
