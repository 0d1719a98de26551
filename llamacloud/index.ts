/**
 * The LlamaCloud REST client: typed errors, zod-checked responses, a retry policy that never
 * retries a create. The emulator is a separate entry point (`llamacloud/emulator`) so the client
 * never loads server code.
 */

export { createLlamaCloudClient, type LlamaCloudClient } from "./client";
export {
  defaultTimeouts,
  type LlamaCloudClientOptions,
  type LlamaCloudRegion,
  type LlamaCloudRequestEvent,
  type LlamaCloudTimeouts,
  regionBaseUrls,
} from "./client-options";
export {
  isLlamaCloudError,
  LlamaCloudAmbiguousProjectError,
  LlamaCloudAuthenticationError,
  LlamaCloudBadResponseError,
  LlamaCloudConfigError,
  LlamaCloudError,
  type LlamaCloudErrorCode,
  type LlamaCloudErrorDetails,
  LlamaCloudMaskedKeyError,
  LlamaCloudNetworkError,
  LlamaCloudNotFoundError,
  LlamaCloudPermissionError,
  LlamaCloudRateLimitedError,
  LlamaCloudServerError,
  LlamaCloudTimeoutError,
  LlamaCloudUnknownProjectError,
  LlamaCloudValidationError,
  llamaCloudErrorCodes,
  type ValidationIssue,
} from "./errors";
export { DEFAULT_KEY_PREFIX, keyName } from "./key-name";
export { defaultRetryPolicy, type RetryPolicy } from "./retry-policy";
export {
  type ApiKeyInfo,
  type CreatedApiKey,
  maskKey,
  type Organization,
  type Project,
} from "./schemas";
