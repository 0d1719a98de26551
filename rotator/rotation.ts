import { DEFAULT_TTL_MS as READER_DEFAULT_TTL_MS } from "../secrets/reader";
import type { SecretVersionInfo } from "../secrets/store";
import { formatDuration, TAG_GRACE } from "../secrets/tags";
import { errorCode, errorMessage, isRotatorError, RotatorError } from "./errors";
import type { StepName } from "./events";
import { type PlannedRevocation, planSecret, type SecretPlan } from "./plan";
import { newSecretView, type SecretView } from "./secret-view";
import {
  dueAt,
  type InspectOptions,
  inspectSecret,
  NO_KEY_YET,
  newKeyTemplate,
  type RotationContext,
  readSecretState,
  type SecretReading,
  type SecretState,
} from "./state";
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
 * Invariant 3: grace must outlast the readers' cache TTL plus LlamaCloud's revocation delay. The
 * 60 s floor covers only the delay, since the rotator cannot know the readers' TTL; below this the
 * rotator warns on behalf of apps that use the shipped reader's default TTL.
 */
const READER_SAFE_GRACE_MS = READER_DEFAULT_TTL_MS + 60_000;

/**
 * One secret, one pass: the orchestration around the steps.
 *
 * 1. guard: read the secret (tags, payload, versions) and the project's live keys; a managed secret
 *    with no AWSCURRENT yet (`ProjectKeys` tags it before its `ApiKey` writes the first key) is
 *    skipped, untouched and not a failure;
 * 2. an interrupted rotation (AWSPENDING present) is finished, or abandoned if too old to promote;
 * 3. revokePrevious: displaced keys whose grace has passed (all of them with `revokeNow`);
 * 4. a new rotation, when due (AWSCURRENT's creation date + `rotate-every`) or forced, unless the
 *    previous key is still in grace (a secret never holds more than two live keys);
 * 5. with `revokeNow`, the key just displaced is revoked at once;
 * 6. sweepOrphans: keys named like ours that no served version holds.
 *
 * Every decision comes from `plan.ts`, re-derived after each phase that changed something, so this
 * function and `--dry-run` cannot disagree. Within the pass, what was read is carried from step to
 * step in a {@link SecretView} (payloads are read once, labels are updated with the pass's own
 * moves), and Secrets Manager is read again only where an act needs a fresh view: before staging,
 * inside each write, before promoting, before every revocation, and before the last phase revokes
 * anything (see `secret-view.ts`). Nothing here remembers anything between passes: Secrets Manager
 * is the only state, which is why a daemon that was down catches up at its first pass and a crash
 * anywhere is resumed by the next one.
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
  /**
   * Set when the secret was left alone on purpose, not a failure (`ok` stays true), e.g.
   * `no key yet (the provider has not written it)`.
   */
  skipped?: string;
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
  const view = newSecretView();
  try {
    const first = await guard(ctx, secretId, view);
    const policy = first.kind === "state" ? first.state.policy : first.policy;
    Object.assign(result, { arn: policy.arn, projectId: policy.projectId, environment: policy.environment });
    if (first.kind === "no-key-yet") {
      result.skipped = NO_KEY_YET;
      result.actions.push(`skipped: ${NO_KEY_YET}`);
      return result;
    }
    state = first.state;
    if (policy.graceMs < READER_SAFE_GRACE_MS) {
      ctx.events.emit("warning", {
        secretArn: policy.arn,
        message:
          `grace ${formatDuration(policy.graceMs)} is shorter than the key reader's default TTL ` +
          `(${formatDuration(READER_DEFAULT_TTL_MS)}) plus LlamaCloud's revocation delay (60s): apps reading ` +
          `${policy.arn} with createKeyReader's defaults may still hold the old key when it is revoked. ` +
          `Raise the ${TAG_GRACE} tag to at least ${formatDuration(READER_SAFE_GRACE_MS)}, or give the readers a shorter ttl`,
      });
    }
    const planOptions = {
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
        await abandonPending(
          ctx,
          state.policy,
          { versionId, ...(keyId === undefined ? {} : { keyId }) },
          view,
        );
        result.actions.push(`abandoned stale pending version ${versionId} (${why})`);
      } else {
        ctx.events.emit("rotation:started", {
          secretArn: state.policy.arn,
          fromVersionId: state.current.versionId,
          versionId,
          reason: "interrupted",
        });
        const t0 = performance.now();
        const tested = await testSecret(ctx, target, view);
        const finished = await finishSecret(
          ctx,
          target,
          { keyId: tested.keyId, previousKeyId: state.current.payload.keyId, startedAt: t0 },
          view,
        );
        result.rotated = finished.promoted;
        finishedInterrupted = true;
        result.actions.push(
          action === "clear-label"
            ? `finished interrupted promotion of version ${versionId}`
            : `finished interrupted rotation: version ${versionId} (key ${tested.keyId}) is AWSCURRENT`,
        );
      }
      // Rare, and what follows may start a rotation: plan from fresh labels and versions.
      state = await read(ctx, state.policy.arn, { view });
      plan = decide(state, { force: planOptions.force && !finishedInterrupted });
    }

    // 3. Displaced keys whose grace has passed (before a rotation: they may be what blocks it).
    const due = byStep(plan.revocations, "revokePrevious");
    if (due.length > 0) {
      await revokePrevious(ctx, state.policy, due, view);
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
      const staged = await createSecret(ctx, target, newKeyTemplate(state), view);
      await setSecret(ctx, target);
      const tested = await testSecret(ctx, target, view);
      let finished: Awaited<ReturnType<typeof finishSecret>>;
      try {
        finished = await finishSecret(
          ctx,
          target,
          { keyId: tested.keyId, previousKeyId: state.current.payload.keyId, startedAt: t0 },
          view,
        );
      } catch (error) {
        if (isRotatorError(error, "ROTATOR_PENDING_STALE")) {
          await abandonPending(ctx, state.policy, { versionId: decision.token, keyId: staged.keyId }, view);
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

    // 5 and 6: re-planned when anything changed, from what the pass knows and the live keys listed
    // afresh; re-read from Secrets Manager first if that plan revokes anything.
    if (result.rotated || due.length > 0 || finishedInterrupted) {
      const known = {
        description: view.description ?? state.description,
        versions: knownVersions(state, view),
      };
      state = await read(ctx, state.policy.arn, { view, known });
      plan = decide(state, { force: false });
      if (finalRevocations(plan, options.revokeNow === true && result.rotated).length > 0) {
        // Everything afresh, values included: see SecretView on values that were rewritten.
        state = await read(ctx, state.policy.arn, {});
        plan = decide(state, { force: false });
      }
    }
    if (options.revokeNow === true && result.rotated) {
      const now = byStep(plan.revocations, "revokePrevious");
      if (now.length > 0) {
        await revokePrevious(ctx, state.policy, now, view);
        result.actions.push(
          ...now.map((r) => `revoked key ${r.keyId} of version ${r.versionId} (revoke-now)`),
        );
      }
    }
    const orphans = byStep(plan.revocations, "sweepOrphans");
    if (orphans.length > 0) {
      await sweepOrphans(ctx, state.policy, orphans, view);
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

/** The pass's first read: the secret's state, or `no-key-yet`. */
async function guard(ctx: RotationContext, secretId: string, view: SecretView): Promise<SecretReading> {
  return runStep<SecretReading>(ctx, secretId, "guard", async () => {
    const reading = await inspectSecret(ctx, secretId, { view });
    if (reading.kind === "no-key-yet") return { value: reading, outcome: `skipped: ${NO_KEY_YET}` };
    return { value: reading, ...guardOutcome(reading.state) };
  });
}

/** A re-read after a phase that changed something: the secret holds a key by now. */
async function read(ctx: RotationContext, secretId: string, options: InspectOptions): Promise<SecretState> {
  return runStep(ctx, secretId, "guard", async () => {
    const state = await readSecretState(ctx, secretId, options);
    return { value: state, ...guardOutcome(state) };
  });
}

/**
 * The secret's versions as this pass knows them: those listed at the guard plus those it wrote, with
 * the view's labels. A version another writer added since is missed, which is safe: a key named
 * after it looks either in flight (left alone) or orphaned, and a plan that revokes anything is
 * re-made from a fresh read first.
 */
function knownVersions(state: SecretState, view: SecretView): SecretVersionInfo[] {
  const labels = view.description?.versionIdsToStages ?? state.description.versionIdsToStages;
  const versions = state.versions.map((v) => ({ ...v, stages: labels[v.versionId] ?? [] }));
  const listed = new Set(versions.map((v) => v.versionId));
  for (const [versionId, stages] of Object.entries(labels)) {
    if (listed.has(versionId)) continue;
    const createdDate = view.payloads.get(versionId)?.createdDate ?? new Date(0);
    versions.push({ versionId, stages, createdDate });
  }
  return versions;
}

/** What the last phase (revoke-now, sweepOrphans) would revoke under this plan. */
function finalRevocations(plan: SecretPlan, revokeNowAfterRotation: boolean): PlannedRevocation[] {
  return plan.revocations.filter((r) =>
    r.step === "sweepOrphans" ? true : revokeNowAfterRotation && r.step === "revokePrevious",
  );
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
