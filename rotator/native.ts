import type { SecretRotationInfo } from "../secrets/store";
import { RotatorError } from "./errors";
import { planSecret } from "./plan";
import type { SecretOptions, SecretResult } from "./secret-result";
import type { RotatorServices } from "./services";
import type { SecretState } from "./state";
import { revokePrevious, sweepOrphans } from "./steps";

/**
 * Coexistence with Secrets Manager's native rotation (DESIGN.md invariant 9: one driver per secret).
 * A managed secret with rotation enabled and a rotation Lambda is native: Secrets Manager schedules,
 * runs and retries its rotations through `llamacloud-keys/rotator/lambda`. The daemon and `rotate`
 * never rotate it themselves, nor finish or abandon a rotation Secrets Manager has in flight; they
 * revoke what grace releases, sweep orphans, and report. `rotate --force --secret X` asks Secrets
 * Manager to rotate it now (RotateSecret) and reports the outcome.
 */

export function isNativeRotation(rotation: SecretRotationInfo | undefined): boolean {
  return rotation?.enabled === true && rotation.lambdaArn !== undefined;
}

/** `native` or `daemon`, as `status` shows it. */
export function rotationMode(rotation: SecretRotationInfo | undefined): "native" | "daemon" {
  return isNativeRotation(rotation) ? "native" : "daemon";
}

/** One pass over a native secret (called by `processSecret` after its guard). */
export async function processNativeSecret(
  services: RotatorServices,
  state: SecretState,
  options: SecretOptions,
  result: SecretResult,
): Promise<SecretResult> {
  const arn = state.policy.arn;
  const act = (line: string) => result.actions.push(line);
  result.mode = "native";
  result.currentVersionId = state.current.versionId;
  const lambda = state.rotation?.lambdaArn ?? "(unknown)";
  if (options.dryRun === true) {
    act(
      options.force === true
        ? `native rotation: would call RotateSecret (function ${lambda}), then revoke and sweep`
        : `native rotation by Secrets Manager (function ${lambda}): would only revoke and sweep`,
    );
    return result;
  }
  if (options.force === true) {
    if (services.store.requestRotation === undefined) {
      throw new RotatorError(
        "ROTATOR_CONFIG",
        `Secret ${arn} is rotated natively, and this rotator's store cannot call RotateSecret.`,
        { secretId: arn, step: "guard" },
      );
    }
    // The same refusal as a daemon-driven --force: never three live keys.
    const plan = planSecret(
      state,
      {
        force: true,
        ...(options.revokeNow === true ? { revokeNow: true } : {}),
        wallNow: (services.wallNow ?? Date.now)(),
      },
      services.now(),
    );
    if (plan.rotation.action === "refuse") throw plan.rotation.error;
    const { versionId } = await services.store.requestRotation(arn, state.rotation?.lambdaArn);
    act(`native rotation: RotateSecret accepted (function ${lambda}, version ${versionId ?? "?"})`);
    const after = await services.store.describe(arn);
    if (versionId !== undefined && after.currentVersionId === versionId) {
      result.rotated = true;
      result.currentVersionId = versionId;
      act(`native rotation: version ${versionId} is AWSCURRENT`);
    } else {
      act("native rotation: in progress in Secrets Manager (see LastRotatedDate in `status`)");
    }
  } else {
    act(`no rotation: rotated natively by Secrets Manager (function ${lambda})`);
  }
  const revoked = await revokePrevious(services, arn, { revokeNow: options.revokeNow === true });
  if (revoked > 0) act(`revokePrevious: revoked ${revoked} key(s)`);
  const swept = await sweepOrphans(services, arn);
  if (swept > 0) act(`sweepOrphans: revoked ${swept} key(s)`);
  return result;
}
