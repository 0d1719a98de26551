/**
 * Typed errors of the Secrets Manager store, the payload parser and the key reader.
 *
 * Callers match on {@link SecretsError.code} (through {@link isSecretsError}), never on
 * `instanceof`: the Pulumi provider runs from a serialized closure and may see errors built by
 * another copy of this module. Messages name what went wrong, the secret (ARN or name), the version
 * and the fix; they never hold a secret value. `cause` is never the AWS SDK error itself (whose
 * fields we do not control) but an {@link AwsErrorSummary} built from its name, HTTP status and
 * request id.
 */

/** Every code a {@link SecretsError} can carry. Stable: callers and tests match on these strings. */
export const SECRETS_ERROR_CODES = [
  "SECRET_NOT_FOUND",
  "SECRET_SCHEDULED_FOR_DELETION",
  "SECRET_TOKEN_CONFLICT",
  "SECRET_QUOTA",
  "SECRET_ACCESS_DENIED",
  "SECRET_DECRYPTION_FAILED",
  "SECRET_MALFORMED_PAYLOAD",
  "SECRET_INVALID_REQUEST",
  "SECRET_EXISTS",
  "SECRET_INVALID_TAG",
  "SECRET_UNAVAILABLE",
] as const;

export type SecretsErrorCode = (typeof SECRETS_ERROR_CODES)[number];

const knownCodes: ReadonlySet<string> = new Set(SECRETS_ERROR_CODES);

/**
 * What is kept of an AWS SDK error: enough to find the request in CloudTrail or AWS support,
 * nothing that could echo request parameters.
 */
export interface AwsErrorSummary {
  /** The exception name, e.g. `ResourceNotFoundException`, or `Error` for a network failure. */
  readonly name: string;
  readonly httpStatusCode?: number;
  readonly requestId?: string;
  /** The service's message with anything resembling a key removed, at most 300 characters. */
  readonly message?: string;
}

export interface SecretsErrorOptions {
  secretId?: string;
  versionId?: string;
  cause?: AwsErrorSummary;
}

/** Base of every error this folder throws. */
export class SecretsError extends Error {
  /** Stable machine-readable code; match on it with {@link isSecretsError}. */
  readonly code: SecretsErrorCode;
  /** The secret's ARN or name as the caller gave it. */
  readonly secretId?: string;
  readonly versionId?: string;
  declare readonly cause?: AwsErrorSummary;

  constructor(code: SecretsErrorCode, message: string, options: SecretsErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "SecretsError";
    this.code = code;
    if (options.secretId !== undefined) this.secretId = options.secretId;
    if (options.versionId !== undefined) this.versionId = options.versionId;
  }
}

/** The secret, or the requested version or staging label in it, does not exist. */
export class SecretNotFoundError extends SecretsError {
  constructor(message: string, options: SecretsErrorOptions = {}) {
    super("SECRET_NOT_FOUND", message, options);
    this.name = "SecretNotFoundError";
  }
}

/** The secret is pending deletion: readable by DescribeSecret only, until restored or purged. */
export class SecretScheduledForDeletionError extends SecretsError {
  /** `DeletedDate` as DescribeSecret reports it, when it could be read. */
  readonly deletedDate?: Date;

  constructor(message: string, options: SecretsErrorOptions & { deletedDate?: Date } = {}) {
    super("SECRET_SCHEDULED_FOR_DELETION", message, options);
    this.name = "SecretScheduledForDeletionError";
    if (options.deletedDate !== undefined) this.deletedDate = options.deletedDate;
  }
}

/** A ClientRequestToken was reused with a different value: versions are immutable. */
export class SecretTokenConflictError extends SecretsError {
  constructor(message: string, options: SecretsErrorOptions = {}) {
    super("SECRET_TOKEN_CONFLICT", message, options);
    this.name = "SecretTokenConflictError";
  }
}

/** A Secrets Manager quota was hit: versions per secret, labels per version, request rate of writes. */
export class SecretQuotaError extends SecretsError {
  constructor(message: string, options: SecretsErrorOptions = {}) {
    super("SECRET_QUOTA", message, options);
    this.name = "SecretQuotaError";
  }
}

/** IAM (or the credentials themselves) refused the call. */
export class SecretAccessDeniedError extends SecretsError {
  constructor(message: string, options: SecretsErrorOptions = {}) {
    super("SECRET_ACCESS_DENIED", message, options);
    this.name = "SecretAccessDeniedError";
  }
}

/** KMS could not decrypt (or encrypt) the value with the secret's key. */
export class SecretDecryptionFailedError extends SecretsError {
  constructor(message: string, options: SecretsErrorOptions = {}) {
    super("SECRET_DECRYPTION_FAILED", message, options);
    this.name = "SecretDecryptionFailedError";
  }
}

/** The secret holds something other than a llamacloud-keys payload. */
export class MalformedPayloadError extends SecretsError {
  /** One line per problem: `<field path>: <what is expected>`; never the received value. */
  readonly issues: readonly string[];

  constructor(message: string, options: SecretsErrorOptions & { issues: readonly string[] }) {
    super("SECRET_MALFORMED_PAYLOAD", message, options);
    this.name = "MalformedPayloadError";
    this.issues = options.issues;
  }
}

/** Secrets Manager rejected the request as invalid (or we did, before sending it). */
export class SecretInvalidRequestError extends SecretsError {
  constructor(message: string, options: SecretsErrorOptions = {}) {
    super("SECRET_INVALID_REQUEST", message, options);
    this.name = "SecretInvalidRequestError";
  }
}

/** CreateSecret on a name that is already taken. */
export class SecretExistsError extends SecretsError {
  constructor(message: string, options: SecretsErrorOptions = {}) {
    super("SECRET_EXISTS", message, options);
    this.name = "SecretExistsError";
  }
}

/** A management tag (`llamacloud-keys:*`) on a secret holds a value we cannot use. */
export class InvalidManagementTagError extends SecretsError {
  /** The tag key, e.g. `llamacloud-keys:grace`. */
  readonly tag: string;

  constructor(message: string, options: SecretsErrorOptions & { tag: string }) {
    super("SECRET_INVALID_TAG", message, options);
    this.name = "InvalidManagementTagError";
    this.tag = options.tag;
  }
}

/** Secrets Manager could not be reached or failed on its side (network, throttling, 5xx). */
export class SecretUnavailableError extends SecretsError {
  constructor(message: string, options: SecretsErrorOptions = {}) {
    super("SECRET_UNAVAILABLE", message, options);
    this.name = "SecretUnavailableError";
  }
}

/**
 * True when `error` is a {@link SecretsError} (from any copy of this module), and, when `code` is
 * given, carries that code. Matches on the `code` property, not on the class.
 */
export function isSecretsError(error: unknown, code?: SecretsErrorCode): error is SecretsError {
  if (typeof error !== "object" || error === null) return false;
  const actual = (error as { code?: unknown }).code;
  if (typeof actual !== "string" || !knownCodes.has(actual)) return false;
  return code === undefined || actual === code;
}
