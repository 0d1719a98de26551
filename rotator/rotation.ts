import { errorCode, errorMessage, isRotatorError, RotatorError } from "./errors";
import type { StepName } from "./events";
import { type PlannedRevocation, planSecret, type SecretPlan } from "./plan";
import { dueAt, type RotationContext, readSecretState, type SecretState } from "./state";
import {
  abandonPending,
  createSecret,
  finishSecret,
  type RotationTarget,
  revokePrevious,
  runStep,
  setSecret,
  sweepOrphans,
  testSecret,
} from "./steps";

/**
 * One secret, one pass: the orchestration around the steps.
 *
 * 1. guard: read the secret (tags, payload, versions) and the project's live keys;
 * 2. an interrupted rotation (AWSPENDING present) is finished, or abandoned if too old to promote;
 * 3. revokePrevious: displaced keys whose grace has passed (all of them with `revokeNow`);
 * 4. a new rotation, when due (AWSCURRENT's creation date + `rotate-every`) or forced, unless the
 *    previous key is still in grace (a secret never holds more than two live keys);
 * 5. with `revokeNow`, the key just displaced is revoked at once;
 * 6. sweepOrphans: keys named like ours that no served version holds.
 *
 * Every decision comes from `plan.ts`, re-derived from fresh state after each phase that changed
 * something, so this function and `--dry-run` cannot disagree. Nothing here remembers anything
 * between passes: Secrets Manager is the only state, which is why a daemon that was down catches up
 * at its first pass and a crash anywhere is resumed by the next one.
 */

export interface SecretOptions {
  /** Rotate now even if not due. */
  force?: boolean;
  /** Revoke displaced keys at once instead of after grace (a leaked key). */
  revokeNow?: boolean;
  /** Plan only: read, decide, report, change nothing. */
  dryRun?: boolean;
}

export interface SecretResult {
  /** The id the secret was asked for by (ARN or name). */
  secretId: string;
  arn?: string;
  projectId?: string;
  environment?: string;
  ok: boolean;
  /** What was done (or, in a dry run, would be done), in order, one short line each. */
  actions: string[];
  /** True when a new version was promoted to AWSCURRENT in this pass. */
  rotated: boolean;
  /** AWSCURRENT's version id at the end. */
  currentVersionId?: string;
  /** Set when the secret is due but was not rotated. */
  overdue?: { dueAt: string; overdueMs: number; why: string };
  /** The plan (dry runs only). */
  plan?: SecretPlan;
  error?: { code: string; message: string; step?: string };
  durationMs: number;
}

/** Runs one pass over one secret. Never throws: failures are reported in the result and as events. */
export async function processSecret(
  ctx: RotationContext,
  secretId: string,
  options: SecretOptions = {},
): Promise<SecretResult> {
  const started = performance.now();
  const result: SecretResult = { secretId, ok: true, actions: [], rotated: false, durationMs: 0 };
  let state: SecretState | undefined;
  let lastStep: StepName = "guard";
  ctx.events.on("rotation:step", trackStep);
  function trackStep(event: { secretArn: string; step: StepName; phase: string }) {
    if (event.phase === "begin" && (event.secretArn === secretId || event.secretArn === state?.policy.arn)) {
      lastStep = event.step;
    }
  }
  try {
    state = await read(ctx, secretId);
    Object.assign(result, {
      arn: state.policy.arn,
      projectId: state.policy.projectId,
      environment: state.policy.environment,
    });
    const planOptions = {
      prefix: ctx.prefix,
      force: options.force === true,
      revokeNow: options.revokeNow === true,
    };
    const wallNow = ctx.wallNow ?? Date.now;
    const decide = (s: SecretState, extra: { force?: boolean } = {}) =>
      planSecret(s, { ...planOptions, ...extra, wallNow: wallNow() }, ctx.now());
    let plan = decide(state);

    if (options.dryRun === true) {
      result.plan = plan;
      result.actions = describePlan(plan);
      result.currentVersionId = state.current.versionId;
      if (plan.overdue !== undefined) result.overdue = plan.overdue;
      return result;
    }

    // 2. An interrupted rotation comes first; finishing it is this pass's rotation.
    let finishedInterrupted = false;
    if (plan.interrupted !== undefined) {
      const { versionId, keyId, action, why } = plan.interrupted;
      const target: RotationTarget = { policy: state.policy, token: versionId };
      if (action === "foreign") {
        throw new RotatorError("ROTATOR_INTERRUPTED", why, {
          secretId: state.policy.arn,
          versionId,
          step: "guard",
        });
      }
      if (action === "abandon") {
        await abandonPending(ctx, state.policy, { versionId, ...(keyId === undefined ? {} : { keyId }) });
        result.actions.push(`abandoned stale pending version ${versionId} (${why})`);
      } else {
        ctx.events.emit("rotation:started", {
          secretArn: state.policy.arn,
          fromVersionId: state.current.versionId,
          versionId,
          reason: "interrupted",
        });
        const t0 = performance.now();
        const tested = await testSecret(ctx, target);
        const finished = await finishSecret(ctx, target, {
          keyId: tested.keyId,
          previousKeyId: state.current.payload.keyId,
          startedAt: t0,
        });
        result.rotated = finished.promoted;
        finishedInterrupted = true;
        result.actions.push(
          action === "clear-label"
            ? `finished interrupted promotion of version ${versionId}`
            : `finished interrupted rotation: version ${versionId} (key ${tested.keyId}) is AWSCURRENT`,
        );
      }
      state = await read(ctx, state.policy.arn);
      plan = decide(state, { force: planOptions.force && !finishedInterrupted });
    }

    // 3. Displaced keys whose grace has passed (before a rotation: they may be what blocks it).
    const due = byStep(plan.revocations, "revokePrevious");
    if (due.length > 0) {
      await revokePrevious(ctx, state.policy, due);
      result.actions.push(
        ...due.map((r) => `revoked key ${r.keyId} of version ${r.versionId} (${r.reason})`),
      );
    }

    // 4. A new rotation.
    const decision = finishedInterrupted ? undefined : plan.rotation;
    if (decision?.action === "refuse") throw decision.error;
    if (decision?.action === "rotate") {
      const target: RotationTarget = { policy: state.policy, token: decision.token };
      ctx.events.emit("rotation:started", {
        secretArn: state.policy.arn,
        fromVersionId: decision.fromVersionId,
        versionId: decision.token,
        reason: decision.reason,
        attempt: decision.attempt,
      });
      const t0 = performance.now();
      const staged = await createSecret(ctx, target, {
        organizationId: state.current.payload.organizationId,
        baseUrl: state.current.payload.baseUrl,
      });
      await setSecret(ctx, target);
      const tested = await testSecret(ctx, target);
      let finished: Awaited<ReturnType<typeof finishSecret>>;
      try {
        finished = await finishSecret(ctx, target, {
          keyId: tested.keyId,
          previousKeyId: state.current.payload.keyId,
          startedAt: t0,
        });
      } catch (error) {
        if (isRotatorError(error, "ROTATOR_PENDING_STALE")) {
          await abandonPending(ctx, state.policy, { versionId: decision.token, keyId: staged.keyId });
        }
        throw error;
      }
      result.rotated = result.rotated || finished.promoted;
      result.actions.push(
        `rotated (${decision.reason}): version ${decision.token} (key ${staged.keyId}, ${staged.how}) is AWSCURRENT`,
      );
    } else if (decision?.action === "none" && plan.interrupted === undefined) {
      result.actions.push(`no rotation: ${decision.why}`);
    }

    // 5 and 6: with fresh state when anything changed.
    if (result.rotated || due.length > 0 || finishedInterrupted) {
      state = await read(ctx, state.policy.arn);
      plan = decide(state, { force: false });
    }
    if (options.revokeNow === true && result.rotated) {
      const now = byStep(plan.revocations, "revokePrevious");
      if (now.length > 0) {
        await revokePrevious(ctx, state.policy, now);
        result.actions.push(
          ...now.map((r) => `revoked key ${r.keyId} of version ${r.versionId} (revoke-now)`),
        );
      }
    }
    const orphans = byStep(plan.revocations, "sweepOrphans");
    if (orphans.length > 0) {
      await sweepOrphans(ctx, state.policy, orphans);
      result.actions.push(
        ...orphans.map((r) => `revoked orphaned key ${r.keyId} (named after version ${r.versionId})`),
      );
    }
    for (const waiting of plan.waiting) {
      if (waiting.why.startsWith("named after no version")) {
        result.actions.push(`left key ${waiting.keyId} alone until ${waiting.until}: ${waiting.why}`);
      }
    }
    result.currentVersionId = state.current.versionId;
    const overdue = result.rotated ? undefined : plan.overdue;
    if (overdue !== undefined) {
      result.overdue = overdue;
      ctx.events.emit("schedule:overdue", { secretArn: state.policy.arn, ...overdue });
    }
    return result;
  } catch (error) {
    const arn = state?.policy.arn ?? secretId;
    const step = (error as { step?: StepName }).step ?? lastStep;
    result.ok = false;
    result.error = { code: errorCode(error), message: errorMessage(error), step };
    ctx.events.emit("rotation:failed", {
      secretArn: arn,
      step,
      code: result.error.code,
      message: result.error.message,
    });
    if (state !== undefined && !result.rotated) {
      const due = dueAt(state);
      const now = ctx.now();
      if (due !== undefined && now >= due) {
        result.overdue = {
          dueAt: new Date(due).toISOString(),
          overdueMs: now - due,
          why: result.error.message,
        };
        ctx.events.emit("schedule:overdue", { secretArn: arn, ...result.overdue });
      }
    }
    return result;
  } finally {
    ctx.events.off("rotation:step", trackStep);
    result.durationMs = Math.round(performance.now() - started);
  }
}

async function read(ctx: RotationContext, secretId: string): Promise<SecretState> {
  return runStep(ctx, secretId, "guard", async () => {
    const state = await readSecretState(ctx, secretId);
    return {
      value: state,
      outcome:
        `AWSCURRENT is version ${state.current.versionId} (key ${state.current.payload.keyId})` +
        (state.pending === undefined ? "" : `; AWSPENDING is version ${state.pending.versionId}`),
      versionId: state.current.versionId,
      keyId: state.current.payload.keyId,
    };
  });
}

function byStep(revocations: PlannedRevocation[], step: PlannedRevocation["step"]): PlannedRevocation[] {
  return revocations.filter((r) => r.step === step);
}

/** One line per thing a plan would do, for `--dry-run`. */
export function describePlan(plan: SecretPlan): string[] {
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
