import type { ApiKeyInfo } from "../llamacloud/schemas";
import { isRotatorError, RotatorError } from "./errors";
import type { RevokeReason } from "./events";
import {
  dueAt,
  isLive,
  nextToken,
  PROMOTE_WITHIN_MS,
  revokeAt,
  type SecretState,
  STAGING_WINDOW_MS,
  type VersionView,
  versionIdOfKey,
} from "./state";

/**
 * Decisions, without side effects: from a {@link SecretState} and the clock, what a pass does to one
 * secret. `rotation.ts` executes these decisions (re-deriving them after each phase, since the state
 * changes), `--dry-run` prints them, `status` summarises them. Keeping them here is what makes a dry
 * run say exactly what a real run would do.
 */

export interface PlanOptions {
  /** Rotate now even if not due (still refused while the previous key is in grace). */
  force?: boolean;
  /** Revoke displaced keys now instead of after grace (a leaked key). */
  revokeNow?: boolean;
  /** The unshifted wall clock (see `RotationContext.wallNow`); `now` when unset. */
  wallNow?: number;
}

/** Where a live LlamaCloud key of the secret's project stands. */
export type KeyStanding =
  | { kind: "current"; versionId: string }
  | { kind: "pending"; versionId: string }
  /** Held by AWSPREVIOUS or an unlabelled version that was current once: revoke once grace has passed. */
  | { kind: "displaced"; versionId: string; revokeAt: number }
  /** Named after a version that holds another key, or that was never served: no reader has it. */
  | { kind: "stray"; versionId: string; why: string }
  /** Named after no version of the secret and older than the staging window: a crashed create. */
  | { kind: "orphan"; versionId: string }
  /** Named after no version, but young: presumably another rotator (or `pulumi up`) is about to write it. */
  | { kind: "in-flight"; versionId: string; until: number }
  /** Named after a version whose value is not ours: left alone, with a warning. */
  | { kind: "unknown"; versionId: string; why: string }
  /** Not named by llamacloud-keys for this secret (see `SecretState.knownPrefixes`): never touched. */
  | { kind: "foreign" };

export interface ClassifiedKey {
  key: ApiKeyInfo;
  standing: KeyStanding;
}

/**
 * Classifies every live key of the project against the secret's versions. A key not held by a
 * labelled version is this secret's only if its name parses to the secret's project, environment
 * and one of its known prefixes (`SecretState.knownPrefixes`); every other key is `foreign`.
 */
export function classifyKeys(state: SecretState, wallNow: number): ClassifiedKey[] {
  const { current, pending, previous } = state;
  const displacedAt = revokeAt(state);
  const byVersion = new Map<string, VersionView>();
  for (const view of [current, pending, previous, ...state.retired.values()]) {
    if (view !== undefined) byVersion.set(view.versionId, view);
  }
  const versionIds = new Set(state.versions.map((v) => v.versionId));
  const currentCreated = current.createdDate.getTime();

  return state.liveKeys.map((key): ClassifiedKey => {
    // Held keys are recognised by id whatever their name: a hand-made first key is still current.
    if (key.id === current.payload.keyId)
      return { key, standing: { kind: "current", versionId: current.versionId } };
    if (pending?.payload?.keyId === key.id) {
      return { key, standing: { kind: "pending", versionId: pending.versionId } };
    }
    if (previous?.payload?.keyId === key.id) {
      return { key, standing: { kind: "displaced", versionId: previous.versionId, revokeAt: displacedAt } };
    }
    const versionId = versionIdOfKey(state, key.name);
    if (versionId === undefined) return { key, standing: { kind: "foreign" } };
    const view = byVersion.get(versionId);
    if (view !== undefined) {
      if (view.payload === undefined) {
        return {
          key,
          standing: { kind: "unknown", versionId, why: view.payloadError ?? "unreadable value" },
        };
      }
      if (view.payload.keyId !== key.id) {
        return {
          key,
          standing: { kind: "stray", versionId, why: `version ${versionId} holds key ${view.payload.keyId}` },
        };
      }
      // An unlabelled version holding this very key. Written after the current version, it was
      // never AWSCURRENT (a failed test or stale attempt whose revocation was interrupted): no reader
      // ever got it. Written before, it was current once: it gets the full grace.
      if (view.createdDate.getTime() > currentCreated) {
        return {
          key,
          standing: { kind: "stray", versionId, why: `version ${versionId} was never AWSCURRENT` },
        };
      }
      return { key, standing: { kind: "displaced", versionId, revokeAt: displacedAt } };
    }
    if (versionIds.has(versionId)) {
      // A version we did not read: only labelled and name-matched ones are read, so this cannot
      // happen unless the version list changed between our calls. Leave it for the next pass.
      return { key, standing: { kind: "unknown", versionId, why: "version changed while reading" } };
    }
    const createdAt = key.createdAt === null ? Number.NaN : Date.parse(key.createdAt);
    const until = (Number.isNaN(createdAt) ? wallNow : createdAt) + STAGING_WINDOW_MS;
    if (wallNow < until) return { key, standing: { kind: "in-flight", versionId, until } };
    return { key, standing: { kind: "orphan", versionId } };
  });
}

export interface PlannedRevocation {
  keyId: string;
  versionId?: string;
  reason: RevokeReason;
  step: "revokePrevious" | "sweepOrphans";
}

export type InterruptedAction =
  /** AWSPENDING on a version that is not current: test it and promote it. */
  | "finish"
  /** AWSPENDING left on the version that is already AWSCURRENT (a crash inside finishSecret). */
  | "clear-label"
  /** Too old to promote (see STAGING_WINDOW_MS): revoke its key, clear the label, start over. */
  | "abandon"
  /** Not our payload: left alone, the secret fails with instructions. */
  | "foreign";

export type RotationDecision =
  | { action: "rotate"; reason: "due" | "forced"; fromVersionId: string; token: string; attempt: number }
  | { action: "none"; why: string }
  | { action: "refuse"; error: RotatorError };

export interface SecretPlan {
  secretArn: string;
  projectId: string;
  environment: string;
  interrupted?: { versionId: string; keyId?: string; action: InterruptedAction; why: string };
  /** Revocations due now (before any rotation in this pass). */
  revocations: PlannedRevocation[];
  rotation: RotationDecision;
  /** With `--revoke-now`: the key the rotation displaces is revoked right after promotion. */
  revokeAfterPromotion?: { keyId: string; versionId: string };
  /** Keys left alone for now, and why. */
  waiting: { keyId: string; versionId?: string; why: string; until?: string }[];
  dueAt?: string;
  /** Set when the secret is due but will not be rotated in this pass. */
  overdue?: { dueAt: string; overdueMs: number; why: string };
}

/** What a pass would do to this secret now. Pure: reads nothing, writes nothing. */
export function planSecret(state: SecretState, options: PlanOptions, now: number): SecretPlan {
  const { policy, current, pending } = state;
  const revokeNow = options.revokeNow === true;
  const wallNow = options.wallNow ?? now;
  const classified = classifyKeys(state, wallNow);
  const plan: SecretPlan = {
    secretArn: policy.arn,
    projectId: policy.projectId,
    environment: policy.environment,
    revocations: [],
    rotation: { action: "none", why: "" },
    waiting: [],
  };
  const due = dueAt(state);
  if (due !== undefined) plan.dueAt = new Date(due).toISOString();

  if (pending !== undefined) plan.interrupted = interruptedAction(state, pending, wallNow);

  const stillLive: ClassifiedKey[] = [];
  for (const entry of classified) {
    const { key, standing } = entry;
    switch (standing.kind) {
      case "displaced":
        if (revokeNow || now >= standing.revokeAt) {
          plan.revocations.push({
            keyId: key.id,
            versionId: standing.versionId,
            reason: revokeNow ? "revoke-now" : "grace-passed",
            step: "revokePrevious",
          });
        } else {
          stillLive.push(entry);
          plan.waiting.push({
            keyId: key.id,
            versionId: standing.versionId,
            why: "in grace: readers may still hold it",
            until: new Date(standing.revokeAt).toISOString(),
          });
        }
        break;
      case "stray":
        plan.revocations.push({
          keyId: key.id,
          versionId: standing.versionId,
          reason: "orphan",
          step: "sweepOrphans",
        });
        break;
      case "orphan":
        plan.revocations.push({
          keyId: key.id,
          versionId: standing.versionId,
          reason: "orphan",
          step: "sweepOrphans",
        });
        break;
      case "in-flight":
        plan.waiting.push({
          keyId: key.id,
          versionId: standing.versionId,
          why: "named after no version yet: presumably being written by another rotator or pulumi up",
          until: new Date(standing.until).toISOString(),
        });
        break;
      case "unknown":
        plan.waiting.push({ keyId: key.id, versionId: standing.versionId, why: standing.why });
        break;
      default:
        break;
    }
  }

  plan.rotation = decideRotation(state, options, now, plan, stillLive);
  if (plan.rotation.action === "rotate" && revokeNow) {
    plan.revokeAfterPromotion = { keyId: current.payload.keyId, versionId: current.versionId };
  }
  if (
    due !== undefined &&
    now >= due &&
    plan.rotation.action !== "rotate" &&
    plan.interrupted === undefined
  ) {
    plan.overdue = {
      dueAt: new Date(due).toISOString(),
      overdueMs: now - due,
      why: plan.rotation.action === "none" ? plan.rotation.why : plan.rotation.error.message,
    };
  }
  return plan;
}

function interruptedAction(
  state: SecretState,
  pending: VersionView,
  wallNow: number,
): NonNullable<SecretPlan["interrupted"]> {
  const { arn } = state.policy;
  const keyId = pending.payload?.keyId;
  const base = { versionId: pending.versionId, ...(keyId === undefined ? {} : { keyId }) };
  if (pending.payload === undefined) {
    return {
      ...base,
      action: "foreign",
      why:
        `AWSPENDING is on version ${pending.versionId} of ${arn}, which does not hold a llamacloud-keys payload. ` +
        `Remove the label if nothing else is rotating this secret: aws secretsmanager update-secret-version-stage ` +
        `--secret-id ${arn} --version-stage AWSPENDING --remove-from-version-id ${pending.versionId}`,
    };
  }
  if (pending.versionId === state.current.versionId) {
    return { ...base, action: "clear-label", why: "promoted, but AWSPENDING was not cleared" };
  }
  const age = wallNow - pending.createdDate.getTime();
  if (age > PROMOTE_WITHIN_MS) {
    return {
      ...base,
      action: "abandon",
      why:
        `staged ${Math.round(age / 1000)} s ago, longer than the ${PROMOTE_WITHIN_MS / 1000} s a pending version may ` +
        "wait before promotion (its grace clock would start too early)",
    };
  }
  return { ...base, action: "finish", why: "unfinished rotation" };
}

function decideRotation(
  state: SecretState,
  options: PlanOptions,
  now: number,
  plan: SecretPlan,
  stillLive: ClassifiedKey[],
): RotationDecision {
  const { policy, current } = state;
  const interrupted = plan.interrupted;
  if (interrupted !== undefined && interrupted.action !== "abandon") {
    // A rotation is already under way: finishing it is this pass's rotation, forced or not.
    return { action: "none", why: `finishing the interrupted rotation to version ${interrupted.versionId}` };
  }
  const due = dueAt(state);
  const isDue = due !== undefined && now >= due;
  if (!isDue && options.force !== true) {
    return {
      action: "none",
      why:
        due === undefined
          ? "no llamacloud-keys:rotate-every tag: rotates only with --force"
          : `not due until ${new Date(due).toISOString()}`,
    };
  }
  // A secret never holds more than two live keys: wait for the previous one to be revoked.
  const blocking = stillLive.find(
    (entry) => entry.standing.kind === "displaced" && isLive(state, entry.key.id),
  );
  if (blocking !== undefined && blocking.standing.kind === "displaced") {
    const until = new Date(blocking.standing.revokeAt).toISOString();
    const message =
      `The previous key ${blocking.key.id} of secret ${policy.arn} ` +
      `(version ${blocking.standing.versionId}) is in grace until ${until}; rotating now would leave three live keys. ` +
      `Rotate after ${until}, or add --revoke-now to revoke it first (readers still holding it will fail).`;
    if (options.force === true) {
      return {
        action: "refuse",
        error: new RotatorError("ROTATOR_PREVIOUS_IN_GRACE", message, {
          secretId: policy.arn,
          versionId: blocking.standing.versionId,
          keyId: blocking.key.id,
          step: "createSecret",
        }),
      };
    }
    return { action: "none", why: `previous key ${blocking.key.id} is in grace until ${until}` };
  }
  let next: { token: string; attempt: number };
  try {
    next = nextToken(state);
  } catch (error) {
    if (isRotatorError(error)) return { action: "refuse", error: error as RotatorError };
    throw error;
  }
  const { token, attempt } = next;
  return {
    action: "rotate",
    reason: isDue ? "due" : "forced",
    fromVersionId: current.versionId,
    token,
    attempt,
  };
}
