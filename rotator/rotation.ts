import { keyName } from "../llamacloud/key-name";
import { formatDuration } from "../secrets/duration";
import { redactKey } from "../secrets/payload";
import { DEFAULT_TTL_MS as READER_DEFAULT_TTL_MS } from "../secrets/reader-defaults";
import { GRACE_FLOOR_MS } from "../secrets/rotation-policy";
import type { ManagedSecretSummary } from "../secrets/store";
import { TAG_GRACE } from "../secrets/tags";
import { errorCode, errorMessage, isRotatorError, RotatorError } from "./errors";
import { isNativeRotation, processNativeSecret } from "./native";
import { dueAt, type PlannedRevocation, planSecret, type SecretPlan } from "./plan";
import type { SecretOptions, SecretResult } from "./secret-result";
import type { RotatorServices } from "./services";
import { NO_KEY_YET, readSecret, type SecretReading, type SecretState } from "./state";
import { failedStep, runStep } from "./step-runner";
import { abandonPending, finishFrom, revokeEach, rotateFrom, type StagedKey } from "./steps";

/**
 * Invariant 3: grace must outlast the readers' cache TTL plus LlamaCloud's revocation delay. The
 * 60 s floor covers only the delay, since the rotator cannot know the readers' TTL; below this the
 * rotator warns on behalf of apps that use the shipped reader's default TTL.
 */
const READER_SAFE_GRACE_MS = READER_DEFAULT_TTL_MS + GRACE_FLOOR_MS;

// Defined apart so native.ts can name them without importing this module (which imports it).
export type { SecretOptions, SecretResult } from "./secret-result";

/**
 * One secret, one pass, shaped like the template's handler: guard (one read of Secrets Manager and
 * the project's keys) → plan (pure, `plan.ts`) → the planned steps → re-plan from what the steps did
 * (no read: the steps' writes are the new state) → the revocations that plan allows. An interrupted
 * rotation is finished (or abandoned) first and the secret read again, since what follows depends on
 * how that went. Nothing is remembered between passes: Secrets Manager is the only state, which is
 * why a daemon that was down catches up at its first pass and a crash anywhere is resumed by the
 * next one. Never throws: failures are reported in the result and as events.
 */
export async function processSecret(
  services: RotatorServices,
  secretId: string,
  options: SecretOptions = {},
): Promise<SecretResult> {
  const started = performance.now();
  const result: SecretResult = { secretId, ok: true, actions: [], rotated: false, durationMs: 0 };
  const act = (...lines: string[]) => result.actions.push(...lines);
  let state: SecretState | undefined;
  try {
    const reading = await guard(services, secretId, {
      ...(options.listed ? { listed: options.listed } : {}),
    });
    const policy = reading.kind === "state" ? reading.state.policy : reading.policy;
    Object.assign(result, { arn: policy.arn, projectId: policy.projectId, environment: policy.environment });
    if (reading.kind === "no-key-yet") {
      result.skipped = NO_KEY_YET;
      act(`skipped: ${NO_KEY_YET}`);
      return result;
    }
    state = reading.state;
    // One driver per secret (invariant 9): Secrets Manager rotates a native secret, not this pass.
    if (isNativeRotation(state.rotation)) return await processNativeSecret(services, state, options, result);
    warnShortGrace(services, state);
    let plan = decide(services, state, options);
    if (options.dryRun === true) return Object.assign(result, dryRun(state, plan));

    let resumed = false;
    if (plan.interrupted !== undefined) {
      ({ resumed, promoted: result.rotated } = await resumeInterrupted(services, state, plan, act));
      state = await readState(services, policy.arn);
      plan = decide(services, state, { ...options, force: options.force === true && !resumed });
    }
    const due = byStep(plan.revocations, "revokePrevious");
    // Keys that were never served stay so whatever the pass does: swept at the end with the re-plan's.
    const strays = byStep(plan.revocations, "sweepOrphans");
    // The guard read is the fresh check of who holds what: nothing was written since.
    state = await revokeStep(services, "revokePrevious", state, due, act);
    if (plan.rotation.action === "refuse" && !resumed) throw plan.rotation.error;
    if (plan.rotation.action === "rotate" && !resumed) {
      const rotation = await rotate(services, state, plan, options);
      state = rotation.state;
      result.rotated = rotation.promoted;
      act(
        `rotated (${rotation.reason}): version ${rotation.staged.versionId} (key ${rotation.staged.keyId}, ${rotation.staged.how}) is AWSCURRENT`,
      );
      plan = decide(services, state, { ...options, force: false });
      // Revocations after our own writes re-check Secrets Manager first (by ARN, not by the plan's read).
      if (options.revokeNow === true) {
        state = await revokeStep(
          services,
          "revokePrevious",
          state,
          byStep(plan.revocations, "revokePrevious"),
          act,
          true,
        );
      }
    } else if (plan.rotation.action === "none" && !resumed) {
      act(`no rotation: ${plan.rotation.why}`);
    }
    const changed = result.rotated || due.length > 0;
    const sweep = [...strays, ...byStep(plan.revocations, "sweepOrphans")].filter(
      (r, i, all) => all.findIndex((o) => o.keyId === r.keyId) === i,
    );
    await revokeStep(services, "sweepOrphans", state, sweep, act, changed);
    for (const w of plan.waiting)
      if (w.kind === "in-flight") act(`left key ${w.keyId} alone until ${w.until}: ${w.why}`);
    result.currentVersionId = state.current.versionId;
    if (!result.rotated && plan.overdue !== undefined) {
      result.overdue = plan.overdue;
      services.events.emit("schedule:overdue", { secretArn: policy.arn, ...plan.overdue });
    }
    return result;
  } catch (error) {
    return failed(services, result, state, error);
  } finally {
    result.durationMs = Math.round(performance.now() - started);
  }
}

/** The pass's first read (the template's guard), as a step of its own. */
function guard(services: RotatorServices, secretId: string, options: { listed?: ManagedSecretSummary }) {
  return runStep<SecretReading>(services, secretId, "guard", async () => {
    const reading = await readSecret(services, secretId, options);
    if (reading.kind === "no-key-yet") return { value: reading, outcome: `skipped: ${NO_KEY_YET}` };
    return { value: reading, ...guardOutcome(reading.state) };
  });
}

async function readState(services: RotatorServices, arn: string): Promise<SecretState> {
  const reading = await guard(services, arn, {});
  if (reading.kind === "state") return reading.state;
  throw new Error(`secret ${arn} lost its AWSCURRENT version during the pass`);
}

function decide(services: RotatorServices, state: SecretState, options: SecretOptions): SecretPlan {
  const wallNow = (services.wallNow ?? Date.now)();
  return planSecret(
    state,
    { force: options.force === true, revokeNow: options.revokeNow === true, wallNow },
    services.now(),
  );
}

/** Finishes (or abandons) the rotation AWSPENDING was left on. */
async function resumeInterrupted(
  services: RotatorServices,
  state: SecretState,
  plan: SecretPlan,
  act: (...lines: string[]) => void,
): Promise<{ resumed: boolean; promoted: boolean }> {
  const { versionId, keyId, action, why } = plan.interrupted as NonNullable<SecretPlan["interrupted"]>;
  const pending = state.pending;
  if (action === "foreign" || pending?.payload === undefined) {
    throw new RotatorError("ROTATOR_INTERRUPTED", why, {
      secretId: state.policy.arn,
      versionId,
      step: "guard",
    });
  }
  if (action === "abandon") {
    await abandonPending(services, state.policy, { versionId, ...(keyId === undefined ? {} : { keyId }) });
    act(`abandoned stale pending version ${versionId} (${why})`);
    return { resumed: false, promoted: false };
  }
  services.events.emit("rotation:started", {
    secretArn: state.policy.arn,
    fromVersionId: state.current.versionId,
    versionId,
    reason: "interrupted",
  });
  const { promoted } = await finishFrom(services, state, { ...pending, payload: pending.payload });
  act(
    action === "clear-label"
      ? `finished interrupted promotion of version ${versionId}`
      : `finished interrupted rotation: version ${versionId} (key ${pending.payload.keyId}) is AWSCURRENT`,
  );
  return { resumed: true, promoted };
}

/**
 * The planned rotation, and the state it leaves (known from the writes, not read back). A token
 * another run used and abandoned shows only at the write on AWS (DescribeSecret omits unlabelled
 * versions): then the versions are listed and the rotation planned once more.
 */
async function rotate(
  services: RotatorServices,
  initial: SecretState,
  initialPlan: SecretPlan,
  options: SecretOptions,
) {
  let state = initial;
  let plan = initialPlan;
  for (let round = 0; ; round++) {
    const decision = plan.rotation;
    if (decision.action === "refuse") throw decision.error;
    if (decision.action !== "rotate") throw new Error(`no rotation planned: ${decision.why}`);
    services.events.emit("rotation:started", {
      secretArn: state.policy.arn,
      fromVersionId: decision.fromVersionId,
      versionId: decision.token,
      reason: decision.reason,
      attempt: decision.attempt,
    });
    try {
      const done = await rotateFrom(services, state, decision.token);
      return {
        ...done,
        reason: decision.reason,
        state: rotated(services, state, decision.token, done.staged),
      };
    } catch (error) {
      const taken = isRotatorError(error, "ROTATOR_INTERRUPTED") && failedStep(error) === "createSecret";
      if (!taken || round > 0 || state.allVersionIds !== undefined) throw error;
      const reading = await readSecret(services, state.policy.arn, { listVersions: true });
      if (reading.kind !== "state") throw error;
      if (reading.state.current.versionId === decision.token) {
        // Another run wrote and promoted this very token meanwhile: the secret is rotated once.
        const staged = {
          versionId: decision.token,
          keyId: reading.state.current.payload.keyId,
          key: redactKey(reading.state.current.payload.apiKey),
          how: "adopted-concurrent" as const,
        };
        return { staged, promoted: false, reason: decision.reason, state: reading.state };
      }
      state = reading.state;
      plan = decide(services, state, options);
    }
  }
}

/** The state a completed rotation leaves: the token AWSCURRENT, the version it displaced AWSPREVIOUS. */
function rotated(
  services: RotatorServices,
  state: SecretState,
  token: string,
  staged: StagedKey,
): SecretState {
  const labels: Record<string, string[]> = {};
  for (const [id, stages] of Object.entries(state.versionIdsToStages)) {
    labels[id] = stages.filter((s) => s !== "AWSCURRENT" && s !== "AWSPREVIOUS" && s !== "AWSPENDING");
  }
  labels[state.current.versionId] = [...(labels[state.current.versionId] ?? []), "AWSPREVIOUS"];
  labels[token] = ["AWSCURRENT"];
  const name = keyName(state.keyPrefix, state.policy.projectId, state.policy.environment, token);
  const payload = { ...state.current.payload, keyId: staged.keyId, keyName: name };
  const { pending: _pending, ...rest } = state;
  // Written just now: its CreatedDate is within the round trip of this clock reading.
  const createdDate = new Date((services.wallNow ?? Date.now)());
  return {
    ...rest,
    versionIdsToStages: labels,
    current: { versionId: token, createdDate, payload },
    previous: state.current,
  };
}

/**
 * Runs revokePrevious or sweepOrphans on the plan's revocations; resolves with the state without the
 * keys revoked. `recheck`: something was written since `state` was read, so each key is checked
 * against Secrets Manager afresh right before its DELETE; otherwise the read the plan came from is
 * that check.
 */
async function revokeStep(
  services: RotatorServices,
  step: "revokePrevious" | "sweepOrphans",
  state: SecretState,
  revocations: PlannedRevocation[],
  act: (...lines: string[]) => void,
  recheck = false,
): Promise<SecretState> {
  if (revocations.length === 0) return state;
  const arn = state.policy.arn;
  await runStep(services, arn, step, async () => {
    const revoked = await revokeEach(services, recheck ? arn : state, revocations);
    return {
      value: revoked,
      outcome: `revoked ${revocations.map((r) => `key ${r.keyId} (${r.reason})`).join(", ")}`,
    };
  });
  act(
    ...revocations.map((r) =>
      step === "revokePrevious"
        ? `revoked key ${r.keyId} of version ${r.versionId} (${r.reason})`
        : `revoked orphaned key ${r.keyId} (named after version ${r.versionId})`,
    ),
  );
  const gone = new Set(revocations.map((r) => r.keyId));
  return { ...state, liveKeys: state.liveKeys.filter((key) => !gone.has(key.id)) };
}

function failed(
  services: RotatorServices,
  result: SecretResult,
  state: SecretState | undefined,
  error: unknown,
) {
  const arn = state?.policy.arn ?? result.arn ?? result.secretId;
  const step = failedStep(error) ?? "guard";
  result.ok = false;
  result.error = { code: errorCode(error), message: errorMessage(error), step };
  services.events.emit("rotation:failed", {
    secretArn: arn,
    step,
    code: result.error.code,
    message: result.error.message,
  });
  if (state !== undefined && !result.rotated) {
    const due = dueAt(state);
    const now = services.now();
    if (due !== undefined && now >= due) {
      result.overdue = {
        dueAt: new Date(due).toISOString(),
        overdueMs: now - due,
        why: result.error.message,
      };
      services.events.emit("schedule:overdue", { secretArn: arn, ...result.overdue });
    }
  }
  return result;
}

function warnShortGrace(services: RotatorServices, state: SecretState): void {
  const { policy } = state;
  if (policy.graceMs >= READER_SAFE_GRACE_MS) return;
  services.events.emit("warning", {
    secretArn: policy.arn,
    message:
      `grace ${formatDuration(policy.graceMs)} is shorter than the key reader's default TTL ` +
      `(${formatDuration(READER_DEFAULT_TTL_MS)}) plus LlamaCloud's revocation delay (60s): apps reading ` +
      `${policy.arn} with createKeyReader's defaults may still hold the old key when it is revoked. ` +
      `Raise the ${TAG_GRACE} tag to at least ${formatDuration(READER_SAFE_GRACE_MS)}, or give the readers a shorter ttl`,
  });
}

function dryRun(state: SecretState, plan: SecretPlan): Partial<SecretResult> {
  return {
    plan,
    actions: describePlan(plan),
    currentVersionId: state.current.versionId,
    ...(plan.overdue === undefined ? {} : { overdue: plan.overdue }),
  };
}

function guardOutcome(state: SecretState) {
  return {
    outcome:
      `AWSCURRENT is version ${state.current.versionId} (key ${state.current.payload.keyId})` +
      (state.pending === undefined ? "" : `; AWSPENDING is version ${state.pending.versionId}`),
    versionId: state.current.versionId,
    keyId: state.current.payload.keyId,
  };
}

function byStep(revocations: PlannedRevocation[], step: PlannedRevocation["step"]): PlannedRevocation[] {
  return revocations.filter((r) => r.step === step);
}

/** One line per thing a plan would do, for `--dry-run`. */
function describePlan(plan: SecretPlan): string[] {
  const lines: string[] = [];
  const i = plan.interrupted;
  if (i !== undefined) {
    const verb = {
      finish: "would finish the interrupted rotation to",
      "clear-label": "would clear the leftover AWSPENDING label of",
      abandon: "would abandon (revoke and unlabel) stale pending",
      foreign: "cannot handle the foreign AWSPENDING",
    }[i.action];
    lines.push(`${verb} version ${i.versionId}${i.keyId ? ` (key ${i.keyId})` : ""}: ${i.why}`);
  }
  for (const r of plan.revocations) {
    lines.push(
      r.step === "revokePrevious"
        ? `would revoke key ${r.keyId} of version ${r.versionId} (${r.reason})`
        : `would revoke orphaned key ${r.keyId} (named after version ${r.versionId})`,
    );
  }
  const rotation = plan.rotation;
  if (rotation.action === "rotate") {
    lines.push(
      `would rotate (${rotation.reason}): mint a key and stage it as version ${rotation.token} (attempt ${rotation.attempt})`,
    );
    if (plan.revokeAfterPromotion !== undefined) {
      lines.push(
        `would then revoke the displaced key ${plan.revokeAfterPromotion.keyId} at once (revoke-now)`,
      );
    }
  } else if (rotation.action === "refuse") {
    lines.push(`would refuse to rotate: ${rotation.error.message}`);
  } else {
    lines.push(`no rotation: ${rotation.why}`);
  }
  for (const w of plan.waiting) {
    lines.push(`would leave key ${w.keyId} alone${w.until ? ` until ${w.until}` : ""}: ${w.why}`);
  }
  return lines;
}
