/**
 * `llamacloud-keys/secrets`: the Secrets Manager store, the secret payload contract, the
 * management tags and the cached key reader for apps. Loads the AWS SDK and zod only: no Pulumi,
 * no undici.
 */

export { isRedacted, Redacted, redacted, scrub } from "../redaction";
export {
  awsErrorName,
  isPendingDeletionError,
  summarizeAwsError,
} from "./aws-errors";
export {
  durationSchema,
  formatDuration,
  InvalidDurationError,
  parseDuration,
  toMilliseconds,
} from "./duration";
export {
  type AwsErrorSummary,
  InvalidManagementTagError,
  isSecretsError,
  MalformedPayloadError,
  SECRETS_ERROR_CODES,
  SecretAccessDeniedError,
  SecretDecryptionFailedError,
  SecretExistsError,
  SecretInvalidRequestError,
  SecretNotFoundError,
  SecretQuotaError,
  SecretScheduledForDeletionError,
  SecretsError,
  type SecretsErrorCode,
  type SecretsErrorOptions,
  SecretTokenConflictError,
  SecretUnavailableError,
} from "./errors";
export {
  checkPayload,
  PAYLOAD_FORMAT,
  type PayloadLocation,
  parsePayload,
  type RedactedPayloadView,
  redactKey,
  redactPayload,
  type SecretPayload,
  type SecretPayloadInput,
  secretPayloadSchema,
  serializePayload,
} from "./payload";
export {
  createKeyReader,
  DEFAULT_JITTER,
  DEFAULT_MAX_STALE_MS,
  DEFAULT_MIN_FORCED_REFRESH_MS,
  DEFAULT_TTL_MS,
  isAuthFailure,
  type KeyReader,
  type KeyReaderOptions,
  type KeyReading,
} from "./reader";
export {
  AWSCURRENT,
  AWSPENDING,
  AWSPREVIOUS,
  type CreateSecretInput,
  createSecretStore,
  type DeleteSecretOptions,
  type ListManagedSecretsOptions,
  type ManagedSecretSummary,
  type PayloadReading,
  type PromoteOptions,
  resolveStoreLocation,
  type SecretDescription,
  type SecretStore,
  type SecretStoreCredentials,
  type SecretStoreOptions,
  type SecretVersionInfo,
  type StagingLabel,
  type StoreCallEvent,
  type VersionSelector,
  type WriteVersionInput,
} from "./store";
export {
  MANAGEMENT_TAG_KEYS,
  type ManagementTags,
  type ManagementTagsInput,
  managementTags,
  readManagementTags,
  TAG_ENVIRONMENT,
  TAG_GRACE,
  TAG_MANAGED,
  TAG_OWNER,
  TAG_PROJECT_ID,
  TAG_ROTATE_EVERY,
} from "./tags";
