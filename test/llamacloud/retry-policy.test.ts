import { describe, expect, it } from "vitest";
import {
  type AttemptOutcome,
  backoffDelayMs,
  decideRetry,
  defaultRetryPolicy,
  type RetryDecision,
  retryAfterMs,
} from "../../llamacloud/retry-policy";

const now = Date.parse("2030-01-01T00:00:00Z");
const half = () => 0.5;

describe("the retry policy table", () => {
  const base: AttemptOutcome = { method: "GET", attempt: 1, remainingMs: 60_000 };
  const table: [string, Partial<AttemptOutcome>, RetryDecision][] = [
    ["GET 503 retries with backoff", { status: 503 }, { retry: true, delayMs: 438 }],
    ["PUT 500 retries", { method: "PUT", status: 500 }, { retry: true, delayMs: 438 }],
    ["DELETE 429 retries", { method: "DELETE", status: 429 }, { retry: true, delayMs: 438 }],
    ["408 retries", { status: 408 }, { retry: true, delayMs: 438 }],
    ["409 retries (official SDK: lock conflicts)", { status: 409 }, { retry: true, delayMs: 438 }],
    ["502 and 504 retry", { status: 504 }, { retry: true, delayMs: 438 }],
    ["501 does not heal on retry", { status: 501 }, { retry: false, reason: "not-retryable" }],
    ["400 is final", { status: 400 }, { retry: false, reason: "not-retryable" }],
    ["401 is final", { status: 401 }, { retry: false, reason: "not-retryable" }],
    ["404 is final", { status: 404 }, { retry: false, reason: "not-retryable" }],
    ["422 is final", { status: 422 }, { retry: false, reason: "not-retryable" }],
    ["ECONNRESET retries", { errorCode: "ECONNRESET" }, { retry: true, delayMs: 438 }],
    ["ECONNREFUSED retries", { errorCode: "ECONNREFUSED" }, { retry: true, delayMs: 438 }],
    ["undici socket errors retry", { errorCode: "UND_ERR_SOCKET" }, { retry: true, delayMs: 438 }],
    ["a headers timeout retries", { errorCode: "UND_ERR_HEADERS_TIMEOUT" }, { retry: true, delayMs: 438 }],
    [
      "an unknown transport error is final",
      { errorCode: "ERR_SOMETHING" },
      { retry: false, reason: "not-retryable" },
    ],
    [
      "POST is never retried, even on 503",
      { method: "POST", status: 503 },
      { retry: false, reason: "method" },
    ],
    [
      "POST is never retried, even on a reset",
      { method: "POST", errorCode: "ECONNRESET" },
      { retry: false, reason: "method" },
    ],
    ["attempt 2 doubles the delay", { status: 503, attempt: 2 }, { retry: true, delayMs: 875 }],
    ["attempt 3 doubles again", { status: 503, attempt: 3 }, { retry: true, delayMs: 1750 }],
    [
      "after maxRetries (3) retries, give up",
      { status: 503, attempt: 4 },
      { retry: false, reason: "attempts" },
    ],
    [
      "retry-after-ms wins",
      { status: 429, headers: { "retry-after-ms": "250", "retry-after": "9" } },
      { retry: true, delayMs: 250 },
    ],
    ["Retry-After seconds", { status: 429, headers: { "retry-after": "2" } }, { retry: true, delayMs: 2000 }],
    [
      "Retry-After as an HTTP date",
      { status: 503, headers: { "retry-after": new Date(now + 7_000).toUTCString() } },
      { retry: true, delayMs: 7000 },
    ],
    [
      "an unparseable Retry-After falls back to backoff",
      { status: 429, headers: { "retry-after": "soon" } },
      { retry: true, delayMs: 438 },
    ],
    [
      "Retry-After beyond a minute gives up",
      { status: 429, headers: { "retry-after": "61" } },
      { retry: false, reason: "retry-after-too-long" },
    ],
    [
      "a delay past the deadline gives up",
      { status: 503, remainingMs: 400 },
      { retry: false, reason: "deadline" },
    ],
    [
      "a hinted delay past the deadline gives up",
      { status: 429, remainingMs: 1_000, headers: { "retry-after": "1" } },
      { retry: false, reason: "deadline" },
    ],
  ];
  for (const [name, outcome, expected] of table) {
    it(name, () => {
      expect(decideRetry(defaultRetryPolicy, { ...base, ...outcome }, half, now)).toEqual(expected);
    });
  }

  it("a policy override (maxRetries: 0) turns retries off", () => {
    expect(
      decideRetry({ ...defaultRetryPolicy, maxRetries: 0 }, { ...base, status: 503 }, half, now),
    ).toEqual({
      retry: false,
      reason: "attempts",
    });
  });
});

describe("backoff jitter", () => {
  it("stays within [0.75, 1] of the capped exponential, never zero", () => {
    for (const attempt of [1, 2, 3, 4, 5, 6, 10]) {
      const cap = Math.min(500 * 2 ** (attempt - 1), 8_000);
      expect(backoffDelayMs(defaultRetryPolicy, attempt, () => 0)).toBe(cap);
      expect(backoffDelayMs(defaultRetryPolicy, attempt, () => 0.9999)).toBeGreaterThanOrEqual(
        Math.floor(cap * 0.75),
      );
    }
  });
});

describe("retryAfterMs", () => {
  it("reads arrays (repeated headers) and ignores garbage", () => {
    expect(retryAfterMs({ "retry-after": ["3", "4"] }, now)).toBe(3000);
    expect(retryAfterMs({ "retry-after-ms": "x", "retry-after": "1" }, now)).toBe(1000);
    expect(retryAfterMs({}, now)).toBeUndefined();
    expect(retryAfterMs({ "retry-after": new Date(now - 5_000).toUTCString() }, now)).toBe(0);
  });
});
