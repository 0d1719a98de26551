/**
 * `llamacloud-keys/secrets`: the Secrets Manager store, the secret payload contract, the
 * management tags and the cached key reader for apps. Loads the AWS SDK and zod only: no Pulumi,
 * no undici. Errors are matched on `code` (`isSecretsError(error, "SECRET_NOT_FOUND")`), not on
 * their classes. Everything else in `secrets/` is internal; the names offered here are pinned by
 * test/package/exports.test.ts.
 */

export { Redacted, redacted } from "../redaction";
export {
  isSecretsError,
  MalformedPayloadError,
  SECRETS_ERROR_CODES,
  SecretsError,
  type SecretsErrorCode,
} from "./errors";
export {
  PAYLOAD_FORMAT,
  parsePayload,
  redactKey,
  type SecretPayload,
  type SecretPayloadInput,
  secretPayloadSchema,
  serializePayload,
} from "./payload";
export {
  createKeyReader,
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
