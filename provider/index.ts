/**
 * `llamacloud-keys/provider`: the Pulumi side. `ApiKey` (a dynamic resource: one LlamaCloud key in
 * one Secrets Manager secret) and `ProjectKeys` (a project × environment matrix with `@pulumi/aws`
 * secrets and IAM policy documents). `@pulumi/pulumi` (and, for `ProjectKeys`, `@pulumi/aws`) are
 * optional peer dependencies: a missing one is a {@link MissingPeerDependencyError} naming it.
 */

// First: fails with a clear message when @pulumi/pulumi is not installed (see ./pulumi-peer).
import "./pulumi-peer";
import type * as Args from "./args";
import type * as ProjectKeysModule from "./project-keys";
import type * as StackConfigModule from "./stack-config";

export { DEFAULT_KEY_PREFIX } from "../llamacloud/key-name";
export { ApiKey, type ApiKeyArgs } from "./api-key";
export { apiKeyProvider } from "./api-key-provider";
export type { ApiKeyInputs } from "./args";
export { CONFIG_API_KEY, CONFIG_BASE_URL, ENV_API_KEY, ENV_BASE_URL } from "./config";
export {
  isProviderError,
  PROVIDER_ERROR_CODES,
  ProviderError,
  type ProviderErrorCode,
} from "./errors";
export type { ApiKeyOutputs } from "./operations";
export { MissingPeerDependencyError, PEER_RANGES, type PeerName } from "./peers";
export type { ProjectKeysArgs, ProjectKeysProject, ProjectKeysSecret } from "./project-keys";
export type { StackConfig } from "./stack-config";

// A program that declares only `ApiKey`s must not load `@pulumi/aws` and zod at every `pulumi
// preview` (issue #17: ~0.3-0.6 s of CPU per program run). These exports are getters that load
// their module on first use; the declarations give the type checker and the .d.ts the same API.
export declare const apiKeyInputsSchema: typeof Args.apiKeyInputsSchema;
export declare const DEFAULT_SECRET_PREFIX: typeof Args.DEFAULT_SECRET_PREFIX;
export declare const MIN_GRACE_MS: typeof Args.MIN_GRACE_MS;
export declare const ProjectKeys: typeof ProjectKeysModule.ProjectKeys;
export type ProjectKeys = ProjectKeysModule.ProjectKeys;
export declare const readerPolicy: typeof ProjectKeysModule.readerPolicy;
export declare const rotatorPolicy: typeof ProjectKeysModule.rotatorPolicy;
export declare const parseStackConfig: typeof StackConfigModule.parseStackConfig;
const lazyExports: Record<string, () => Record<string, unknown>> = {
  apiKeyInputsSchema: () => require("./args"),
  DEFAULT_SECRET_PREFIX: () => require("./args"),
  MIN_GRACE_MS: () => require("./args"),
  ProjectKeys: () => require("./project-keys"),
  readerPolicy: () => require("./project-keys"),
  rotatorPolicy: () => require("./project-keys"),
  parseStackConfig: () => require("./stack-config"),
};
for (const [name, load] of Object.entries(lazyExports)) {
  Object.defineProperty(exports, name, { enumerable: true, get: () => load()[name] });
}
