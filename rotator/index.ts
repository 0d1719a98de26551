/**
 * `llamacloud-keys/rotator`: what an embedder needs. One pass (`runOnce`), the daemon (`runDaemon`),
 * `collectStatus`, `loadConfig`; the rotation steps in the shape of Secrets Manager's rotation
 * contract (`createSecret`, `setSecret`, `testSecret`, `finishSecret`, each of
 * `(services, { secretId, token })`, and `revokePrevious` / `sweepOrphans` of `(services, secretId)`),
 * with `createServices` to build their services from explicit parts; the event stream; the types.
 * Everything else in `rotator/` is internal. See rotator/README.md, "Steps".
 */
export { type Command, type FlagValues, loadConfig, type RotatorConfig } from "./config";
export { type DaemonDeps, type DaemonHandle, runDaemon } from "./daemon";
export {
  isRotatorError,
  ROTATOR_ERROR_CODES,
  RotatorError,
  type RotatorErrorCode,
  type RotatorErrorDetails,
} from "./errors";
export {
  ALL_EVENTS,
  type RevokeReason,
  RotatorEmitter,
  type RotatorEventName,
  type RotatorEvents,
  type StepName,
} from "./events";
export { attachLogger, type LogFormat, type LoggerOptions } from "./log";
export type { SecretOptions, SecretResult } from "./rotation";
export { type RunOnceDeps, type RunOnceResult, runOnce } from "./run-once";
export {
  createServices,
  DEFAULT_GRACE_MS,
  GRACE_FLOOR_MS,
  PROMOTE_WITHIN_MS,
  type RotatorDeps,
  type RotatorServices,
  type ServiceParts,
  STAGING_WINDOW_MS,
} from "./services";
export { collectStatus, formatStatus, type SecretStatus } from "./status";
export {
  createSecret,
  finishSecret,
  revokePrevious,
  type StagedKey,
  type StepInput,
  setSecret,
  sweepOrphans,
  testSecret,
} from "./steps";
