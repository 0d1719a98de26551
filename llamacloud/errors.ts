import { scrub } from "../redaction";

/**
 * Typed LlamaCloud errors. Callers match on the stable `code` with {@link isLlamaCloudError}, never
 * with `instanceof`: the Pulumi provider runs from a serialized closure and may see an error built by
 * another copy of these classes (undici gives the same advice for its own errors).
 *
 * Every message names what went wrong, the object (endpoint, key id, project id, status, request id)
 * and the fix. None may carry key material: not the key, not the `Authorization` header, not a create
 * response body (its `redacted_api_key` holds the plaintext). Text that comes from the server or from
 * undici passes through `scrub` (redaction/scrub.ts) first.
 */

/** Every code a {@link LlamaCloudError} can carry. Stable: callers and dashboards match on them. */
export const llamaCloudErrorCodes = [
  "LLAMACLOUD_AUTHENTICATION",
  "LLAMACLOUD_PERMISSION",
  "LLAMACLOUD_NOT_FOUND",
  "LLAMACLOUD_VALIDATION",
  "LLAMACLOUD_RATE_LIMITED",
  "LLAMACLOUD_SERVER",
  "LLAMACLOUD_TIMEOUT",
  "LLAMACLOUD_NETWORK",
  "LLAMACLOUD_BAD_RESPONSE",
  "LLAMACLOUD_CONFIG",
  "LLAMACLOUD_UNKNOWN_PROJECT",
  "LLAMACLOUD_AMBIGUOUS_PROJECT",
  "LLAMACLOUD_MASKED_KEY",
] as const;

export type LlamaCloudErrorCode = (typeof llamaCloudErrorCodes)[number];

/** Facts about the failed call that a caller (or a log line) may need; all safe to print. */
export interface LlamaCloudErrorDetails {
  /** HTTP status of the last response, when there was one. */
  status?: number;
  /** The server's request id (`x-request-id`), to quote in a support ticket. */
  requestId?: string;
  /** Method and route template, e.g. `"POST /api/v1/api-keys"`. */
  endpoint?: string;
  /** How many HTTP attempts were made before giving up. */
  attempts?: number;
  /**
   * True when a non-idempotent request (a create) may have taken effect even though it failed: the
   * caller must reconcile (list keys by the name it gave) before creating again.
   */
  ambiguous?: boolean;
  /** A clean underlying error (never an undici error object: those may reference request options). */
  cause?: Error;
}

/** Base class of every error this package's LlamaCloud client throws. */
export class LlamaCloudError extends Error {
  override name = "LlamaCloudError";
  readonly code: LlamaCloudErrorCode;
  readonly status?: number;
  readonly requestId?: string;
  readonly endpoint?: string;
  readonly attempts?: number;
  /** See {@link LlamaCloudErrorDetails.ambiguous}. */
  readonly ambiguous: boolean;

  constructor(code: LlamaCloudErrorCode, message: string, details: LlamaCloudErrorDetails = {}) {
    super(scrub(message), details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    if (details.status !== undefined) this.status = details.status;
    if (details.requestId !== undefined) this.requestId = scrub(details.requestId);
    if (details.endpoint !== undefined) this.endpoint = details.endpoint;
    if (details.attempts !== undefined) this.attempts = details.attempts;
    this.ambiguous = details.ambiguous ?? false;
  }

  /** A plain, log-friendly form; `JSON.stringify(err)` uses it. */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      status: this.status,
      requestId: this.requestId,
      endpoint: this.endpoint,
      attempts: this.attempts,
      ambiguous: this.ambiguous,
    };
  }
}

/** 401: the key is missing, malformed, unknown, revoked, or from the other region. */
export class LlamaCloudAuthenticationError extends LlamaCloudError {
  override name = "LlamaCloudAuthenticationError";
  constructor(message: string, details?: LlamaCloudErrorDetails) {
    super("LLAMACLOUD_AUTHENTICATION", message, details);
  }
}

/** 403: the key works but may not touch this object (another project, or not a project admin). */
export class LlamaCloudPermissionError extends LlamaCloudError {
  override name = "LlamaCloudPermissionError";
  constructor(message: string, details?: LlamaCloudErrorDetails) {
    super("LLAMACLOUD_PERMISSION", message, details);
  }
}

/** 404: no such key or project (for a delete, the client turns this into `alreadyRevoked`). */
export class LlamaCloudNotFoundError extends LlamaCloudError {
  override name = "LlamaCloudNotFoundError";
  constructor(message: string, details?: LlamaCloudErrorDetails) {
    super("LLAMACLOUD_NOT_FOUND", message, details);
  }
}

/** One entry of a FastAPI 422 `detail` array. */
export interface ValidationIssue {
  /** Where the bad input is, e.g. `["body", "name"]` or `["path", "api_key_id"]`. */
  loc: (string | number)[];
  msg: string;
  type: string;
}

/** 422: the server rejected the request's path, query or body; `issues` is FastAPI's `detail`. */
export class LlamaCloudValidationError extends LlamaCloudError {
  override name = "LlamaCloudValidationError";
  readonly issues: ValidationIssue[];
  constructor(message: string, issues: ValidationIssue[], details?: LlamaCloudErrorDetails) {
    super("LLAMACLOUD_VALIDATION", message, details);
    this.issues = issues.map((issue) => ({
      loc: issue.loc.map((part) => (typeof part === "string" ? scrub(part) : part)),
      msg: scrub(issue.msg),
      type: issue.type,
    }));
  }
  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), issues: this.issues };
  }
}

/** 429 after the retry budget ran out. `retryAfterMs` is the server's last hint, if it gave one. */
export class LlamaCloudRateLimitedError extends LlamaCloudError {
  override name = "LlamaCloudRateLimitedError";
  readonly retryAfterMs?: number;
  constructor(message: string, details?: LlamaCloudErrorDetails & { retryAfterMs?: number }) {
    super("LLAMACLOUD_RATE_LIMITED", message, details);
    if (details?.retryAfterMs !== undefined) this.retryAfterMs = details.retryAfterMs;
  }
}

/** 5xx (or another unexpected status) after the retry budget ran out. */
export class LlamaCloudServerError extends LlamaCloudError {
  override name = "LlamaCloudServerError";
  constructor(message: string, details?: LlamaCloudErrorDetails) {
    super("LLAMACLOUD_SERVER", message, details);
  }
}

/** No answer in time: connect, response headers, response body, or the call's overall deadline. */
export class LlamaCloudTimeoutError extends LlamaCloudError {
  override name = "LlamaCloudTimeoutError";
  constructor(message: string, details?: LlamaCloudErrorDetails) {
    super("LLAMACLOUD_TIMEOUT", message, details);
  }
}

/** The connection failed (refused, reset, DNS, TLS) before a complete response arrived. */
export class LlamaCloudNetworkError extends LlamaCloudError {
  override name = "LlamaCloudNetworkError";
  constructor(message: string, details?: LlamaCloudErrorDetails) {
    super("LLAMACLOUD_NETWORK", message, details);
  }
}

/** The response did not match the documented shape. Names the endpoint and field, never the value. */
export class LlamaCloudBadResponseError extends LlamaCloudError {
  override name = "LlamaCloudBadResponseError";
  constructor(message: string, details?: LlamaCloudErrorDetails) {
    super("LLAMACLOUD_BAD_RESPONSE", message, details);
  }
}

/** The client's options or environment are missing or invalid; names the option and env var to set. */
export class LlamaCloudConfigError extends LlamaCloudError {
  override name = "LlamaCloudConfigError";
  constructor(message: string, details?: LlamaCloudErrorDetails) {
    super("LLAMACLOUD_CONFIG", message, details);
  }
}

/** No project has this name (within the organization, when one was given). */
export class LlamaCloudUnknownProjectError extends LlamaCloudError {
  override name = "LlamaCloudUnknownProjectError";
  constructor(message: string, details?: LlamaCloudErrorDetails) {
    super("LLAMACLOUD_UNKNOWN_PROJECT", message, details);
  }
}

/** Several projects share this name across organizations: an organization id is needed. */
export class LlamaCloudAmbiguousProjectError extends LlamaCloudError {
  override name = "LlamaCloudAmbiguousProjectError";
  constructor(message: string, details?: LlamaCloudErrorDetails) {
    super("LLAMACLOUD_AMBIGUOUS_PROJECT", message, details);
  }
}

/**
 * A create returned something that is not a full key (a masked form). The client has already tried
 * to revoke the created key; `keyId` names it and `revoked` says whether that worked.
 */
export class LlamaCloudMaskedKeyError extends LlamaCloudError {
  override name = "LlamaCloudMaskedKeyError";
  readonly keyId: string;
  readonly revoked: boolean;
  constructor(message: string, keyId: string, revoked: boolean, details?: LlamaCloudErrorDetails) {
    super("LLAMACLOUD_MASKED_KEY", message, details);
    this.keyId = keyId;
    this.revoked = revoked;
  }
  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), keyId: this.keyId, revoked: this.revoked };
  }
}

/**
 * True when `error` is a LlamaCloud error (from any copy of this module), and, if `code` is given,
 * carries that code. Matches on the shape, not the class.
 */
export function isLlamaCloudError(error: unknown, code?: LlamaCloudErrorCode): error is LlamaCloudError {
  if (typeof error !== "object" || error === null) return false;
  const candidate = (error as { code?: unknown }).code;
  if (typeof candidate !== "string" || !(llamaCloudErrorCodes as readonly string[]).includes(candidate)) {
    return false;
  }
  return code === undefined || candidate === code;
}
