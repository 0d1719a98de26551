import { scrub } from "../redaction";
import {
  type AwsErrorSummary,
  SecretAccessDeniedError,
  SecretDecryptionFailedError,
  SecretExistsError,
  SecretInvalidRequestError,
  SecretNotFoundError,
  SecretQuotaError,
  SecretScheduledForDeletionError,
  type SecretsError,
  type SecretsErrorOptions,
  SecretTokenConflictError,
  SecretUnavailableError,
} from "./errors";

/** What the store was doing when an AWS call failed; everything here may appear in a message. */
export interface AwsCallContext {
  /** The Secrets Manager operation, e.g. `PutSecretValue`. */
  operation: string;
  secretId: string;
  versionId?: string;
  region?: string;
  /** Values that must never appear in a message (the serialized payload, the key). */
  sensitive?: readonly string[];
}

/**
 * Keeps the name, HTTP status, request id and a scrubbed, shortened message of an AWS SDK error.
 * The SDK error itself is dropped: it is not ours to vouch for (it may carry the raw response and
 * future fields), and a `cause` is printed by every logger.
 */
export function summarizeAwsError(error: unknown, sensitive: readonly string[] = []): AwsErrorSummary {
  const e = (typeof error === "object" && error !== null ? error : {}) as {
    name?: unknown;
    message?: unknown;
    $metadata?: { httpStatusCode?: unknown; requestId?: unknown };
  };
  const summary: { -readonly [K in keyof AwsErrorSummary]: AwsErrorSummary[K] } = {
    name: typeof e.name === "string" ? e.name : "Error",
  };
  if (typeof e.$metadata?.httpStatusCode === "number") summary.httpStatusCode = e.$metadata.httpStatusCode;
  if (typeof e.$metadata?.requestId === "string") summary.requestId = e.$metadata.requestId;
  const message = typeof e.message === "string" ? e.message : typeof error === "string" ? error : undefined;
  if (message !== undefined) {
    // moto pads some messages with the source's line-continuation indentation.
    const flat = scrub(message, sensitive).replace(/\s+/g, " ").trim();
    summary.message = flat.length > 300 ? `${flat.slice(0, 297)}...` : flat;
  }
  return Object.freeze(summary);
}

/** The AWS exception name of an SDK error, or undefined for anything else. */
function awsErrorName(error: unknown): string | undefined {
  const name = (error as { name?: unknown } | null)?.name;
  return typeof name === "string" ? name : undefined;
}

/**
 * True for the InvalidRequestException Secrets Manager returns when the secret is pending
 * deletion. AWS words it "marked for deletion" / "scheduled for deletion"; moto "marked deleted".
 */
export function isPendingDeletionError(error: unknown): boolean {
  if (awsErrorName(error) !== "InvalidRequestException") return false;
  const message = String((error as { message?: unknown }).message ?? "");
  return /(marked|scheduled) for deletion|marked deleted/i.test(message);
}

function where(ctx: AwsCallContext): string {
  return ctx.versionId === undefined
    ? `secret ${ctx.secretId}`
    : `version ${ctx.versionId} of secret ${ctx.secretId}`;
}

function said(cause: AwsErrorSummary): string {
  const status = cause.httpStatusCode === undefined ? "" : `HTTP ${cause.httpStatusCode}, `;
  const request = cause.requestId === undefined ? "" : `, request id ${cause.requestId}`;
  const text = cause.message === undefined || cause.message === "" ? "" : `: ${cause.message}`;
  return `(${status}${cause.name}${request}${text})`;
}

/** The message and fix for a secret that is pending deletion. */
export function scheduledForDeletionMessage(secretId: string, operation: string, deletedDate?: Date): string {
  const date = deletedDate === undefined ? "" : ` (deleted date ${deletedDate.toISOString()})`;
  return (
    `Secret ${secretId} is scheduled for deletion${date}, so ${operation} is refused. Either restore it: ` +
    `\`aws secretsmanager restore-secret --secret-id ${secretId}\`, or delete it for good: ` +
    `\`aws secretsmanager delete-secret --secret-id ${secretId} --force-delete-without-recovery\` ` +
    "and wait until it no longer appears in `aws secretsmanager describe-secret` before reusing the name."
  );
}

/**
 * Maps an AWS SDK error to a {@link SecretsError} by exception name. `ResourceExistsException`
 * means a token conflict on PutSecretValue and a taken name on CreateSecret. A pending-deletion
 * InvalidRequestException maps to SECRET_SCHEDULED_FOR_DELETION without a date; the store adds the
 * date (it needs a DescribeSecret call).
 */
export function toSecretsError(error: unknown, ctx: AwsCallContext, deletedDate?: Date): SecretsError {
  const cause = summarizeAwsError(error, ctx.sensitive);
  const options: SecretsErrorOptions = { secretId: ctx.secretId, cause };
  if (ctx.versionId !== undefined) options.versionId = ctx.versionId;
  const region = ctx.region === undefined ? "" : ` in region ${ctx.region}`;
  const name = cause.name;

  if (isPendingDeletionError(error)) {
    return new SecretScheduledForDeletionError(
      scheduledForDeletionMessage(ctx.secretId, ctx.operation, deletedDate),
      {
        ...options,
        ...(deletedDate === undefined ? {} : { deletedDate }),
      },
    );
  }
  if (cause.message !== undefined && /region is missing/i.test(cause.message)) {
    return new SecretInvalidRequestError(
      `${ctx.operation}: no AWS region is configured for ${where(ctx)}. Set AWS_REGION or pass \`region\`.`,
      options,
    );
  }
  if (ctx.operation === "RotateSecret" && cause.message !== undefined && /lambda/i.test(cause.message)) {
    // RotateSecret's failures about its rotation function (missing, in another region or account,
    // or not invokable by Secrets Manager) come as ResourceNotFound or AccessDenied, which would
    // otherwise say the secret is missing or the caller's policy is wrong.
    return new SecretInvalidRequestError(
      `RotateSecret: Secrets Manager could not use the rotation function for ${where(ctx)} ${said(cause)}. ` +
        "Check the function's ARN (ApiKey rotation.lambdaArn): the function must exist in the secret's " +
        "account and region, and its resource policy must let secretsmanager.amazonaws.com invoke it " +
        "(lambda:InvokeFunction).",
      options,
    );
  }
  switch (name) {
    case "ResourceNotFoundException":
      return new SecretNotFoundError(
        `${ctx.operation}: ${where(ctx)} was not found${region} ${said(cause)}. ` +
          "Check the secret name or ARN and the region (AWS_REGION), and that it was not force-deleted.",
        options,
      );
    case "ResourceExistsException":
      if (ctx.operation === "CreateSecret") {
        return new SecretExistsError(
          `CreateSecret: a secret named ${ctx.secretId} already exists${region} ${said(cause)}. ` +
            "Choose another name, or import the existing secret instead of creating it.",
          options,
        );
      }
      return new SecretTokenConflictError(
        `${ctx.operation}: ClientRequestToken ${ctx.versionId ?? "(none)"} is already a version of secret ` +
          `${ctx.secretId} with a different value ${said(cause)}. Versions are immutable: another writer ` +
          "(e.g. a concurrent rotation) used this token first. Write a new value under a new token.",
        options,
      );
    case "LimitExceededException":
      return new SecretQuotaError(
        `${ctx.operation}: a Secrets Manager quota was hit on ${where(ctx)} ${said(cause)}. A secret keeps ` +
          "about 100 versions (those younger than 24 h are never pruned) and a version at most 20 staging " +
          "labels: remove stale labels, and avoid more than one new version per 10 minutes.",
        options,
      );
    case "AccessDeniedException":
    case "AccessDenied":
    case "UnrecognizedClientException":
    case "InvalidSignatureException":
    case "ExpiredTokenException":
    case "CredentialsProviderError":
      return new SecretAccessDeniedError(
        `${ctx.operation}: access to ${where(ctx)} was denied ${said(cause)}. Check that the AWS credentials ` +
          `are valid and that their IAM policy allows secretsmanager:${ctx.operation} on the secret ` +
          "(and kms:Decrypt / kms:GenerateDataKey on its KMS key).",
        options,
      );
    case "DecryptionFailure":
    case "EncryptionFailure":
      return new SecretDecryptionFailedError(
        `${ctx.operation}: KMS could not ${name === "DecryptionFailure" ? "decrypt" : "encrypt"} ${where(ctx)} ` +
          `${said(cause)}. Check that the secret's KMS key is enabled and that the caller may use it ` +
          "(kms:Decrypt, kms:GenerateDataKey).",
        options,
      );
    case "InvalidRequestException":
    case "InvalidParameterException":
    case "ValidationException":
    case "InvalidNextTokenException":
    case "MalformedPolicyDocumentException":
      return new SecretInvalidRequestError(
        `${ctx.operation}: Secrets Manager rejected the request for ${where(ctx)} ${said(cause)}.`,
        options,
      );
    default:
      return new SecretUnavailableError(
        `${ctx.operation}: Secrets Manager did not complete the request for ${where(ctx)} ${said(cause)}. ` +
          "This is a network, throttling or service failure: retry later, and check the endpoint " +
          "(AWS_ENDPOINT_URL_SECRETS_MANAGER) if it persists.",
        options,
      );
  }
}
