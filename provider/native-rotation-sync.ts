import { parseDurationOrUndefined } from "../secrets/duration";
import { isSecretsError } from "../secrets/errors";
import { type RotationRules, sameRotationRules } from "../secrets/rotation-rules";
import { AWSPENDING } from "../secrets/stages";
import type { SecretDescription, SecretStore } from "../secrets/store";
import { nativeRulesOf } from "./args";

/**
 * `ApiKey`'s native rotation (`rotation.lambdaArn`): the provider turns Secrets Manager's rotation
 * on with the function and its RotationRules (RotateSecret, `RotateImmediately: false`), changes
 * them, turns them off (CancelRotateSecret), and reads them back for refresh. Everything is compared
 * with what DescribeSecret reports, never with the previous inputs alone, so a deployment killed
 * half way converges on the next one, and a change made by hand shows as drift.
 */

/** The `nativeRotation` output: what DescribeSecret reports. Never holds a key. */
export interface NativeRotationState {
  enabled: boolean;
  lambdaArn: string | null;
  automaticallyAfterDays?: number;
  scheduleExpression?: string;
  duration?: string;
}

type Props = Record<string, unknown>;

/** `rotation` as recorded in `__inputs` (raw: durations as given). */
interface RecordedRotation {
  every?: unknown;
  grace?: unknown;
  lambdaArn?: unknown;
  schedule?: unknown;
  window?: unknown;
}

function reportedRules(description: Pick<SecretDescription, "rotation">): RotationRules {
  const info = description.rotation;
  const rules: RotationRules = {};
  if (info?.automaticallyAfterDays !== undefined) rules.automaticallyAfterDays = info.automaticallyAfterDays;
  if (info?.scheduleExpression !== undefined) rules.scheduleExpression = info.scheduleExpression;
  if (info?.duration !== undefined) rules.duration = info.duration;
  return rules;
}

function stateOf(description: Pick<SecretDescription, "rotation">): NativeRotationState {
  return {
    enabled: description.rotation?.enabled === true,
    lambdaArn: description.rotation?.lambdaArn ?? null,
    ...reportedRules(description),
  };
}

/** Whether Secrets Manager runs `wanted` on the secret now. */
function inEffect(
  description: Pick<SecretDescription, "rotation">,
  wanted: { lambdaArn: string; rules: RotationRules },
): boolean {
  const info = description.rotation;
  return (
    info?.enabled === true &&
    info.lambdaArn === wanted.lambdaArn &&
    sameRotationRules(wanted.rules, reportedRules(description))
  );
}

/**
 * Brings the secret's native rotation to `wanted` (undefined: the inputs ask for none). Turns it on
 * or changes it only when DescribeSecret shows something else (each RotateSecret makes Secrets
 * Manager test the configuration on a new version); turns it off only when the resource had turned
 * it on (`wasNative`): without `lambdaArn`, rotation someone else configured (ProjectKeys'
 * `aws.secretsmanager.SecretRotation`) is left alone. Returns the `nativeRotation` output.
 */
export async function syncNativeRotation(
  store: SecretStore,
  arn: string,
  wanted: { lambdaArn: string; rules: RotationRules } | undefined,
  context: {
    /** The secret's AWSCURRENT version, written before this is called. */
    current: { versionId: string; payload: { keyId: string } };
    description?: SecretDescription;
    wasNative?: boolean;
  },
): Promise<NativeRotationState | undefined> {
  if (wanted === undefined) {
    if (context.wasNative !== true) return undefined;
    const description = context.description ?? (await store.describe(arn));
    if (description.rotation?.enabled === true) await store.cancelRotation(arn);
    return undefined;
  }
  const before = context.description ?? (await store.describe(arn));
  if (inEffect(before, wanted)) return stateOf(before);
  await store.configureRotation(arn, wanted);
  const after = await store.describe(arn);
  await clearConfigurationTest(store, after, context.current);
  return stateOf(after);
}

/**
 * AWS tests a rotation configuration (RotateImmediately false) on a new version holding a copy of
 * the current value, labelled AWSPENDING, "and then removes it" (the label). moto leaves the label
 * on: a later RotateSecret on AWS would take it for a rotation in progress, and `status` shows it.
 * Removed here when it sits on a copy of the current key, so both engines end the same way; a
 * version holding any other key (a real rotation Secrets Manager started since) is left alone.
 */
async function clearConfigurationTest(
  store: SecretStore,
  description: SecretDescription,
  current: { versionId: string; payload: { keyId: string } },
): Promise<void> {
  const pending = description.pendingVersionId;
  if (pending === undefined || pending === current.versionId) return;
  try {
    const copy = await store.readPayload(description.arn, { versionId: pending });
    if (copy.payload.keyId !== current.payload.keyId) return;
  } catch (error) {
    // An empty AWSPENDING version (a rotation starting) or another tool's value: not our test copy.
    if (isSecretsError(error, "SECRET_NOT_FOUND") || isSecretsError(error, "SECRET_MALFORMED_PAYLOAD"))
      return;
    throw error;
  }
  await store.removeStage(description.arn, AWSPENDING, pending);
}

/** The RotationRules recorded inputs ask for, or undefined when they ask for no native rotation. */
function recordedWanted(rotation: RecordedRotation | undefined): RotationRules | undefined {
  if (rotation === undefined || typeof rotation.lambdaArn !== "string") return undefined;
  // Recorded inputs passed `check`: `every` is a duration, `schedule` and `window` as validated.
  const every = parseDurationOrUndefined(rotation.every);
  if (every === undefined) return undefined;
  return nativeRulesOf({
    every,
    schedule:
      typeof rotation.schedule === "number" || typeof rotation.schedule === "string"
        ? rotation.schedule
        : undefined,
    window: typeof rotation.window === "string" ? rotation.window : undefined,
  });
}

/**
 * The recorded inputs, rewritten to what Secrets Manager reports when the resource asks for native
 * rotation and the secret's differs (refresh): rotation off → `enabled: false` beside the function
 * (kept, so destroy still knows to turn rotation off should it come back); another function or
 * other rules → those. `diff` then finds the program's rotation different from what is there, and
 * the next `up` puts it back. A marker left by an earlier refresh goes once rotation is back as asked.
 */
export function observedRotationInputs(inputs: Props, description: SecretDescription): Props {
  const recordedRotation = inputs["rotation"] as (RecordedRotation & { enabled?: unknown }) | undefined;
  const rules = recordedWanted(recordedRotation);
  if (recordedRotation === undefined || rules === undefined) return inputs;
  const { enabled: _marker, ...rotation } = recordedRotation;
  if (inEffect(description, { lambdaArn: rotation.lambdaArn as string, rules })) {
    return { ...inputs, rotation };
  }
  const info = description.rotation;
  if (info?.enabled !== true || info.lambdaArn === undefined) {
    return { ...inputs, rotation: { ...rotation, enabled: false } };
  }
  const { schedule: _schedule, window: _window, ...policy } = rotation;
  const reported = reportedRules(description);
  const schedule = reported.scheduleExpression ?? reported.automaticallyAfterDays;
  return {
    ...inputs,
    rotation: {
      ...policy,
      lambdaArn: info.lambdaArn,
      ...(schedule === undefined ? {} : { schedule }),
      ...(reported.duration === undefined ? {} : { window: reported.duration }),
    },
  };
}

/** The `nativeRotation` output for recorded inputs: present when they ask for native rotation. */
export function nativeRotationState(
  inputs: Props,
  description: SecretDescription,
): NativeRotationState | undefined {
  return recordedWanted(inputs["rotation"] as RecordedRotation | undefined) === undefined
    ? undefined
    : stateOf(description);
}
