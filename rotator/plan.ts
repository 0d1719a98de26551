import { tokenOfOwnKey } from "../llamacloud/key-ownership";
import type { ApiKeyInfo } from "../llamacloud/schemas";
import { RotatorError } from "./errors";
import type { RevokeReason } from "./events";
import { rotationToken } from "./naming";
import { MAX_ATTEMPTS, PROMOTE_WITHIN_MS, STAGING_WINDOW_MS } from "./services";
import type { SecretState, VersionView } from "./state";

/**
 * Decisions, without side effects: from a {@link SecretState} and the clock, what a pass does to one
 * secret. `rotation.ts` runs them (and re-plans after the steps, since the state changed), `--dry-run`
 * prints them, `status` summarises them. Keeping them here is what makes a dry run say exactly what
 * a real run would do, and what `test/rotator/plan.test.ts` tests as a table.
 *
 * When is the previous key revoked? At {@link revokeAt}: `created(AWSCURRENT) + STAGING_WINDOW_MS +
 * grace` (see `services.ts` for why the staging window).
 */

export interface PlanOptions {
  /** Rotate now even if not due (still refused while the previous key is in grace). */
  force?: boolean;
  /** Revoke displaced keys now instead of after grace (a leaked key). */
  revokeNow?: boolean;
  /** The unshifted wall clock (see `RotatorServices.wallNow`); `now` when unset. */
  wallNow?: number;
}

/** Where a live LlamaCloud key of the secret's project stands. */
type KeyStanding =
  | { kind: "current"; versionId: string }
  | { kind: "pending"; versionId: string }
  /** Held (or, by its name, presumed held) by AWSPREVIOUS or an older version: revoke once grace has passed. */
  | { kind: "displaced"; versionId: string; revokeAt: number }
  /** Named after a version that holds another key, or after no labelled version: no reader needs it. */
  | { kind: "stray"; versionId: string; why: string }
  /** Named after no labelled version, young: presumably another rotator (or `pulumi up`) is about to write it. */
  | { kind: "in-flight"; versionId: string; until: number }
  /** Named after a version whose value is not ours: left alone, with a warning. */
  | { kind: "unknown"; versionId: string; why: string }
  /** Not named by llamacloud-keys for this secret: never touched. */
  | { kind: "foreign" };

interface ClassifiedKey {
  key: ApiKeyInfo;
  standing: KeyStanding;
}

/** When the key displaced by the current version may be revoked. */
export function revokeAt(state: Pick<SecretState, "current" | "policy">): number {
  return state.current.createdDate.getTime() + STAGING_WINDOW_MS + state.policy.graceMs;
}

/** When the current key is due for rotation; undefined when the secret has no `rotate-every` tag. */
export function dueAt(state: Pick<SecretState, "current" | "policy">): number | undefined {
  const every = state.policy.rotateEveryMs;
  return every === undefined ? undefined : state.current.createdDate.getTime() + every;
}

/** True when `keyId` is among the rotator user's live keys of the project. */
export function isLive(state: Pick<SecretState, "liveKeys">, keyId: string | undefined): boolean {
  return keyId !== undefined && state.liveKeys.some((key) => key.id === keyId);
}

/**
 * The token of the next attempt to rotate away from the current version: the first deterministic
 * token that is not yet a version. Earlier tokens that are versions are attempts that were abandoned
 * (failed test, stale); every rotator reading the same state picks the same one. AWS's
 * DescribeSecret omits unlabelled versions, so a taken token may only show at the write: the pass
 * then re-reads with the version list (`allVersionIds`) and plans again.
 */
export function nextToken(state: SecretState): { token: string; attempt: number } {
  const existing = new Set([...Object.keys(state.versionIdsToStages), ...(state.allVersionIds ?? [])]);
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const token = rotationToken(state.policy.arn, state.current.versionId, attempt);
    if (!existing.has(token)) return { token, attempt };
  }
  throw new RotatorError(
    "ROTATOR_ATTEMPTS_EXHAUSTED",
    `${MAX_ATTEMPTS} attempts to rotate secret ${state.policy.arn} away from version ${state.current.versionId} were ` +
      "abandoned (their pending keys failed their tests or went stale). The current key is untouched. Look at the " +
      "rotator's rotation:failed log lines for the cause, fix it, then rotate after the next Pulumi update or rerun " +
      "once AWS prunes the abandoned versions.",
    { secretId: state.policy.arn, versionId: state.current.versionId, step: "createSecret" },
  );
}

/**
 * Classifies every live key of the project against the secret's labels. The rotator's keys are
 * named after the version written with them (`llamacloud/key-name.ts`), so a name says which version
 * a key belongs to; values are compared where they were read (AWSCURRENT always).
 */
function classifyKeys(state: SecretState, wallNow: number): ClassifiedKey[] {
  const { current, pending, previous } = state;
  const displacedAt = revokeAt(state);
  const owner = { ...state.policy, knownPrefixes: state.knownPrefixes };
  const holds = (view: VersionView | undefined, id: string) => view?.payload?.keyId === id;

  return state.liveKeys.map((key): ClassifiedKey => {
    // Held keys are recognised by id whatever their name: a hand-made first key is still current.
    if (key.id === current.payload.keyId)
      return { key, standing: { kind: "current", versionId: current.versionId } };
    if (pending !== undefined && holds(pending, key.id)) {
      return { key, standing: { kind: "pending", versionId: pending.versionId } };
    }
    if (previous !== undefined && holds(previous, key.id)) {
      return { key, standing: { kind: "displaced", versionId: previous.versionId, revokeAt: displacedAt } };
    }
    const versionId = tokenOfOwnKey(owner, key.name);
    if (versionId === undefined) return { key, standing: { kind: "foreign" } };
    const createdAt = key.createdAt === null ? Number.NaN : Date.parse(key.createdAt);
    const inFlightUntil = (Number.isNaN(createdAt) ? wallNow : createdAt) + STAGING_WINDOW_MS;
    const strayOf = (holder: VersionView) => ({
      key,
      standing: {
        kind: "stray" as const,
        versionId,
        why: `version ${versionId} holds key ${holder.payload?.keyId}`,
      },
    });
    if (versionId === current.versionId) return strayOf(current);
    if (pending !== undefined && versionId === pending.versionId) {
      if (pending.payload !== undefined) return strayOf(pending);
      if (pending.payloadError !== undefined) {
        return { key, standing: { kind: "unknown", versionId, why: pending.payloadError } };
      }
      // The empty version of a rotation being created right now (Secrets Manager's own RotateSecret).
      return { key, standing: { kind: "in-flight", versionId, until: inFlightUntil } };
    }
    if (previous !== undefined && versionId === previous.versionId) {
      if (previous.payload !== undefined) return strayOf(previous);
      return { key, standing: { kind: "displaced", versionId, revokeAt: displacedAt } };
    }
    // Named after no labelled version: a crashed create, a lost race, an abandoned attempt, or a key
    // displaced twice, whose grace ended before the current rotation could start (a rotation waits
    // for the previous key's grace). No reader can still need it. Named after no version at all and
    // young, it may be a create in flight; a version that exists (unlabelled) was written already.
    const isVersion = versionId in state.versionIdsToStages || state.allVersionIds?.has(versionId) === true;
    if (!isVersion && wallNow < inFlightUntil) {
      return { key, standing: { kind: "in-flight", versionId, until: inFlightUntil } };
    }
    const why = isVersion ? `version ${versionId} holds no label` : "named after no version of the secret";
    return { key, standing: { kind: "stray", versionId, why } };
  });
}

export interface PlannedRevocation {
  keyId: string;
  versionId?: string;
  reason: RevokeReason;
  step: "revokePrevious" | "sweepOrphans";
}

type InterruptedAction =
  /** AWSPENDING on a version that is not current: test it and promote it. */
  | "finish"
  /** AWSPENDING left on the version that is already AWSCURRENT (a crash inside finishSecret). */
  | "clear-label"
  /** Too old to promote (see PROMOTE_WITHIN_MS): revoke its key, clear the label, start over. */
  | "abandon"
  /** Not our payload (or Secrets Manager's own rotation in progress): left alone, the secret fails with instructions. */
  | "foreign";

type RotationDecision =
  | { action: "rotate"; reason: "due" | "forced"; fromVersionId: string; token: string; attempt: number }
  | { action: "none"; why: string }
  | { action: "refuse"; error: RotatorError };

/** A key left alone for now; `kind` says why (never matched by text). */
interface WaitingKey {
  kind: "in-grace" | "in-flight" | "unknown";
  keyId: string;
  versionId?: string;
  why: string;
  until?: string;
}

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
  waiting: WaitingKey[];
  dueAt?: string;
  /** Set when the secret is due but will not be rotated in this pass. */
  overdue?: { dueAt: string; overdueMs: number; why: string };
}

/** What a pass would do to this secret now. Pure: reads nothing, writes nothing. */
export function planSecret(state: SecretState, options: PlanOptions, now: number): SecretPlan {
  const { policy, current, pending } = state;
  const revokeNow = options.revokeNow === true;
  const wallNow = options.wallNow ?? now;
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

  const inGrace: ClassifiedKey[] = [];
  for (const entry of classifyKeys(state, wallNow)) {
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
          inGrace.push(entry);
          plan.waiting.push({
            kind: "in-grace",
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
      case "in-flight":
        plan.waiting.push({
          kind: "in-flight",
          keyId: key.id,
          versionId: standing.versionId,
          why: "named after no version yet: presumably being written by another rotator or pulumi up",
          until: new Date(standing.until).toISOString(),
        });
        break;
      case "unknown":
        plan.waiting.push({
          kind: "unknown",
          keyId: key.id,
          versionId: standing.versionId,
          why: standing.why,
        });
        break;
      default:
        break;
    }
  }

  plan.rotation = decideRotation(state, options, now, plan, inGrace);
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
  if (pending.versionId === state.current.versionId) {
    return { ...base, action: "clear-label", why: "promoted, but AWSPENDING was not cleared" };
  }
  if (pending.payload === undefined || pending.createdDate === undefined) {
    const what = pending.empty
      ? "which has no value yet (Secrets Manager's own RotateSecret is rotating it, or left it unfinished)"
      : "which does not hold a llamacloud-keys payload";
    return {
      ...base,
      action: "foreign",
      why:
        `AWSPENDING is on version ${pending.versionId} of ${arn}, ${what}. ` +
        `Remove the label if nothing else is rotating this secret: aws secretsmanager update-secret-version-stage ` +
        `--secret-id ${arn} --version-stage AWSPENDING --remove-from-version-id ${pending.versionId}`,
    };
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
  inGrace: ClassifiedKey[],
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
  const blocking = inGrace[0];
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
    return { action: "refuse", error: error as RotatorError };
  }
  return {
    action: "rotate",
    reason: isDue ? "due" : "forced",
    fromVersionId: current.versionId,
    token: next.token,
    attempt: next.attempt,
  };
}
