/**
 * Typed errors of the rotator. Callers (the CLI, the daemon, tests) match on the stable `code` with
 * {@link isRotatorError}, never with `instanceof`: like the LlamaCloud and Secrets Manager errors,
 * these may cross module copies. Every message names the secret (ARN), the version id and key id
 * involved and the command that fixes it; none holds key material.
 */

/** Every code a {@link RotatorError} can carry. Stable: dashboards and scripts match on them. */
export const ROTATOR_ERROR_CODES = [
  /** A flag, env var or config file field is invalid (exit 2, before anything changes). */
  "ROTATOR_CONFIG",
  /** The secret is not tagged `llamacloud-keys:managed=true`, or lacks its project/environment tags. */
  "ROTATOR_UNMANAGED",
  /**
   * Not a failure: the secret is managed but has no AWSCURRENT version yet (its `ApiKey` has not
   * written the first key). A pass reports it as skipped; only `readSecretState` throws it.
   */
  "ROTATOR_NO_KEY_YET",
  /** The `llamacloud-keys:grace` tag is below the 60 s floor. */
  "ROTATOR_GRACE_TOO_SHORT",
  /** The secret's payload disagrees with its tags or with the rotator's LlamaCloud host. */
  "ROTATOR_SECRET_MISMATCH",
  /** The pending key did not work against LlamaCloud; it was revoked and AWSPENDING cleared. */
  "ROTATOR_TEST_FAILED",
  /** `--force` asked for a rotation while the previous key is still in its grace period. */
  "ROTATOR_PREVIOUS_IN_GRACE",
  /** Every deterministic token for this rotation is used by an abandoned attempt. */
  "ROTATOR_ATTEMPTS_EXHAUSTED",
  /** A pending version is too old to promote (see `STAGING_WINDOW_MS`); it must be abandoned. */
  "ROTATOR_PENDING_STALE",
  /** LlamaCloud kept answering a create ambiguously; nothing was written. */
  "ROTATOR_CREATE_FAILED",
  /** Another run is in the middle of this secret's rotation (AWSPENDING elsewhere, or a version abandoned under us). */
  "ROTATOR_INTERRUPTED",
  /** The pass deadline passed or shutdown began: the secret was left at a step boundary. */
  "ROTATOR_ABANDONED",
] as const;

export type RotatorErrorCode = (typeof ROTATOR_ERROR_CODES)[number];

const known: ReadonlySet<string> = new Set(ROTATOR_ERROR_CODES);

export interface RotatorErrorDetails {
  secretId?: string;
  versionId?: string;
  keyId?: string;
  /** The step that failed, e.g. `testSecret`. */
  step?: string;
  /** For `ROTATOR_CONFIG`: the flag, env var or config field at fault, e.g. `--concurrency`. */
  field?: string;
  cause?: unknown;
}

export class RotatorError extends Error {
  readonly code: RotatorErrorCode;
  readonly secretId?: string;
  readonly versionId?: string;
  readonly keyId?: string;
  readonly step?: string;
  readonly field?: string;

  constructor(code: RotatorErrorCode, message: string, details: RotatorErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = "RotatorError";
    this.code = code;
    if (details.secretId !== undefined) this.secretId = details.secretId;
    if (details.versionId !== undefined) this.versionId = details.versionId;
    if (details.keyId !== undefined) this.keyId = details.keyId;
    if (details.step !== undefined) this.step = details.step;
    if (details.field !== undefined) this.field = details.field;
  }

  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      secretId: this.secretId,
      versionId: this.versionId,
      keyId: this.keyId,
      step: this.step,
      field: this.field,
    };
  }
}

/** True for a {@link RotatorError} from any copy of this module, optionally with `code`. */
export function isRotatorError(error: unknown, code?: RotatorErrorCode): error is RotatorError {
  if (typeof error !== "object" || error === null) return false;
  const actual = (error as { code?: unknown }).code;
  if (typeof actual !== "string" || !known.has(actual)) return false;
  return code === undefined || actual === code;
}

/**
 * The stable code of any error the rotator may meet (ours, LlamaCloud's, Secrets Manager's), or
 * `UNEXPECTED` for a bug. Used for metrics labels and the `--json` report.
 */
export function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && /^[A-Z][A-Z0-9_]+$/.test(code) ? code : "UNEXPECTED";
}

/** The message of any error, for a report. Our errors and our dependencies' never hold key material. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
