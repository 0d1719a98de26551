/**
 * `llamacloud-keys/provider`: the Pulumi side. `ApiKey` (a dynamic resource: one LlamaCloud key in
 * one Secrets Manager secret) and `ProjectKeys` (a project × environment matrix with `@pulumi/aws`
 * secrets and IAM policy documents). `@pulumi/pulumi` (and, for `ProjectKeys`, `@pulumi/aws`) are
 * optional peer dependencies: a missing one is a {@link MissingPeerDependencyError} naming it.
 */

// First: fails with a clear message when @pulumi/pulumi is not installed (see ./pulumi-peer).
import "./pulumi-peer";

export { DEFAULT_KEY_PREFIX } from "../llamacloud/key-name";
export { ApiKey, type ApiKeyArgs } from "./api-key";
export { apiKeyProvider } from "./api-key-provider";
export { type ApiKeyInputs, apiKeyInputsSchema, DEFAULT_SECRET_PREFIX, MIN_GRACE_MS } from "./args";
export { CONFIG_API_KEY, CONFIG_BASE_URL, ENV_API_KEY, ENV_BASE_URL } from "./config";
export {
  isProviderError,
  PROVIDER_ERROR_CODES,
  ProviderError,
  type ProviderErrorCode,
} from "./errors";
export type { ApiKeyOutputs } from "./operations";
export { MissingPeerDependencyError, PEER_RANGES, type PeerName } from "./peers";
export {
  ProjectKeys,
  type ProjectKeysArgs,
  type ProjectKeysProject,
  type ProjectKeysSecret,
  readerPolicy,
  rotatorPolicy,
} from "./project-keys";
export { parseStackConfig, type StackConfig } from "./stack-config";
