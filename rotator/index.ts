/**
 * `llamacloud-keys/rotator`: the rotation state machine, one pass (`runOnce`), the daemon
 * (`runDaemon`), and the pieces they are made of, for embedding and tests.
 */
export {
  type Command,
  configFileSchema,
  DEFAULTS,
  type FlagValues,
  loadConfig,
  type RotatorConfig,
} from "./config";
export { type DaemonDeps, type DaemonHandle, HANDLED_SIGNALS, runDaemon } from "./daemon";
export {
  errorCode,
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
export { attachLogger, describeEvent, type LogFormat, type LoggerOptions } from "./log";
export { createMetrics, type RotatorMetrics } from "./metrics";
export { rotationToken } from "./naming";
export {
  classifyKeys,
  type KeyStanding,
  type PlannedRevocation,
  type PlanOptions,
  planSecret,
  type RotationDecision,
  type SecretPlan,
} from "./plan";
export { describePlan, processSecret, type SecretOptions, type SecretResult } from "./rotation";
export { type RunOnceDeps, type RunOnceResult, runOnce } from "./run-once";
export { newSecretView, type SecretView } from "./secret-view";
export type { RotatorDeps } from "./services";
export {
  DEFAULT_GRACE_MS,
  GRACE_FLOOR_MS,
  type InspectOptions,
  inspectSecret,
  MAX_ATTEMPTS,
  type NewKeyTemplate,
  NO_KEY_YET,
  newKeyTemplate,
  PROMOTE_WITHIN_MS,
  type RotationContext,
  readPolicy,
  readSecretState,
  type SecretPolicy,
  type SecretReading,
  type SecretState,
  STAGING_WINDOW_MS,
  secretKeyPrefixes,
  versionIdOfKey,
} from "./state";
export { collectStatus, formatStatus, type SecretStatus } from "./status";
export {
  abandonPending,
  createSecret,
  DEFAULT_TEST_RETRY_DELAYS_MS,
  finishSecret,
  type RotationTarget,
  revokeKey,
  revokePrevious,
  runStep,
  type StagedKey,
  setSecret,
  sweepOrphans,
  testSecret,
} from "./steps";
