import { setTimeout as sleep } from "node:timers/promises";
import type { CreatedApiKey } from "../llamacloud";
import { isLlamaCloudError } from "../llamacloud/errors";
import { keyName } from "../llamacloud/key-name";
import type { ApiKeyInfo } from "../llamacloud/schemas";
import { isSecretsError } from "../secrets/errors";
import { redactKey, type SecretPayloadInput } from "../secrets/payload";
import { AWSPENDING } from "../secrets/store";
import { RotatorError } from "./errors";
import type { RevokeReason, StepName } from "./events";
import {
  describeSecret,
  notePromoted,
  noteStaged,
  noteUnstaged,
  readVersion,
  refreshView,
  type SecretView,
} from "./secret-view";
import { type NewKeyTemplate, PROMOTE_WITHIN_MS, type RotationContext, type SecretPolicy } from "./state";

/**
 * The rotation, step by step, shaped like the AWS rotation Lambda templates
 * (aws-samples/aws-secrets-manager-rotation-lambdas): `createSecret → setSecret → testSecret →
 * finishSecret`, then our `revokePrevious`. Each step
 * - opens with its "already done?" check against what Secrets Manager says now (DescribeSecret's
 *   `VersionIdsToStages`), so running it twice equals running it once and a rerun after a crash
 *   resumes where the crash happened;
 * - works on one deterministic token (see `naming.ts`), so two rotators racing on one secret
 *   converge on one version;
 * - takes an optional {@link SecretView}: what the pass already read of the secret. The
 *   orchestration (`rotation.ts`) passes one so that a rotation reads each label set and payload
 *   once; run alone (as after a crash, or in tests) a step reads for itself. Either way the checks
 *   that guard an irreversible act read Secrets Manager at that moment (see `secret-view.ts`);
 * - emits `rotation:step` begin/end events (`createSecret: minted key … for version …`).
 *
 * Where LlamaCloud forces a difference from the template, the step's doc says so.
 */

/** What one rotation works on. */
export interface RotationTarget {
  policy: SecretPolicy;
  /** The ClientRequestToken: the version id the new key goes into. */
  token: string;
}

/** The key that ended up in the pending version, and how. */
export interface StagedKey {
  versionId: string;
  keyId: string;
  /** `llx-…abcd`, for logs. */
  key: string;
  how: "minted" | "resumed" | "adopted-concurrent";
}

/** Creates attempted per rotation when LlamaCloud's answer to a create is lost. */
const CREATE_ATTEMPTS = 3;
/** Waits before re-testing a pending key that got 401/403/404 (a new key may take a moment to propagate). */
export const DEFAULT_TEST_RETRY_DELAYS_MS: readonly number[] = [1_000, 3_000];

/**
 * Runs one step: refuses to start it after the pass deadline or a shutdown (every step boundary is
 * a safe place to stop: the next run resumes there), and emits its begin and end events.
 */
export async function runStep<T>(
  ctx: RotationContext,
  secretArn: string,
  step: StepName,
  body: () => Promise<{ value: T; outcome: string; versionId?: string; keyId?: string }>,
): Promise<T> {
  if (ctx.signal?.aborted) {
    throw new RotatorError(
      "ROTATOR_ABANDONED",
      `Stopped before ${step} of secret ${secretArn} (${abortReason(ctx.signal)}). Nothing is half-done: ` +
        `the next run resumes here (\`llamacloud-keys rotate --secret ${secretArn}\`).`,
      { secretId: secretArn, step },
    );
  }
  const started = performance.now();
  ctx.events.emit("rotation:step", { secretArn, step, phase: "begin" });
  const result = await body();
  ctx.events.emit("rotation:step", {
    secretArn,
    step,
    phase: "end",
    outcome: result.outcome,
    ...(result.versionId === undefined ? {} : { versionId: result.versionId }),
    ...(result.keyId === undefined ? {} : { keyId: result.keyId }),
    durationMs: Math.round(performance.now() - started),
  });
  return result.value;
}

function abortReason(signal: AbortSignal): string {
  const reason = signal.reason as { message?: unknown } | undefined;
  return typeof reason?.message === "string" ? reason.message : "the pass was stopped";
}

/**
 * createSecret: put a new, working key into the secret under AWSPENDING.
 *
 * Already done? If the token is AWSCURRENT or carries AWSPENDING, its key is returned as is.
 *
 * Unlike the template, the value cannot be generated locally: LlamaCloud mints the key and shows its
 * plaintext once, in the create response. So this step first lists keys already named after the
 * token: a create that crashed (or whose response was lost) left a key nobody holds the plaintext
 * of. Such a key can never be stored, so it is revoked, but only after our own key is safely in the
 * version: until then it may be a concurrent rotator's, about to be written.
 *
 * The key is named `<prefix>/<projectId>/<environment>/<token>` with the secret's own prefix
 * (`template.keyPrefix`, from its current key's name), not the rotator's `--prefix`: a secret whose
 * `ApiKey` sets `name` keeps that prefix across rotations.
 *
 * Safe to re-run: the version is written with `ClientRequestToken = token`. If another rotator
 * wrote a different key under the same token first (SECRET_TOKEN_CONFLICT), the key minted here is
 * revoked and the winner's version is adopted: the secret is rotated once.
 */
export async function createSecret(
  ctx: RotationContext,
  target: RotationTarget,
  template: NewKeyTemplate,
  view?: SecretView,
): Promise<StagedKey> {
  const { policy, token } = target;
  const arn = policy.arn;
  return runStep(ctx, arn, "createSecret", async () => {
    // Always fresh, view or not: the guard's labels and version list are two calls, not one
    // snapshot, so another rotator may have staged a version (under another token) in between.
    // Starting a second rotation on top of it would leave a key no label holds.
    const description = await ctx.store.describe(arn);
    refreshView(view, description);
    const labels = description.versionIdsToStages[token] ?? [];
    if (description.currentVersionId === token || labels.includes(AWSPENDING)) {
      const staged = await stagedKey(ctx, arn, token, "resumed", view);
      return {
        value: staged,
        outcome: `adopted key ${staged.keyId} already staged in version ${token}`,
        versionId: token,
        keyId: staged.keyId,
      };
    }
    if (description.pendingVersionId !== undefined) {
      throw new RotatorError(
        "ROTATOR_INTERRUPTED",
        `AWSPENDING is on version ${description.pendingVersionId} of ${arn} from an unfinished rotation; ` +
          `run \`llamacloud-keys rotate --secret ${arn}\` to finish it before starting another.`,
        { secretId: arn, versionId: description.pendingVersionId, step: "createSecret" },
      );
    }

    const name = keyName(template.keyPrefix, policy.projectId, policy.environment, token);
    const leftovers = await ctx.client.findApiKeysByName({ projectId: policy.projectId, name });
    const created = await mint(ctx, arn, policy.projectId, name, leftovers, view);
    const payload: SecretPayloadInput = {
      format: 1,
      apiKey: created.secret,
      keyId: created.key.id,
      keyName: name,
      projectId: policy.projectId,
      organizationId: template.organizationId,
      environment: policy.environment,
      baseUrl: template.baseUrl,
      createdAt: new Date(ctx.now()).toISOString(),
    };

    try {
      await ctx.store.writeVersion(arn, {
        token,
        payload,
        stage: AWSPENDING,
        ...verifiedCurrent(view),
      });
      noteStaged(view, token);
    } catch (error) {
      if (isSecretsError(error, "SECRET_TOKEN_CONFLICT")) {
        // Another rotator got there first: ours never reached the secret, so no reader has it.
        await revokeKey(ctx, { arn, keyId: created.key.id, versionId: token, reason: "lost-race" }, view);
        const after = await ctx.store.describe(arn);
        refreshView(view, after);
        if (
          after.currentVersionId === token ||
          (after.versionIdsToStages[token] ?? []).includes(AWSPENDING)
        ) {
          const staged = await stagedKey(ctx, arn, token, "adopted-concurrent", view);
          return {
            value: staged,
            outcome: `another rotator staged key ${staged.keyId} in version ${token} first; revoked ours (${created.key.id})`,
            versionId: token,
            keyId: staged.keyId,
          };
        }
        throw new RotatorError(
          "ROTATOR_INTERRUPTED",
          `Version ${token} of ${arn} was written by another run and abandoned since (its key failed its test or ` +
            `went stale). Key ${created.key.id} minted here was revoked. The next pass starts a new attempt.`,
          { secretId: arn, versionId: token, keyId: created.key.id, step: "createSecret" },
        );
      }
      // The write's outcome is unknown (e.g. Secrets Manager unreachable after the SDK's retries).
      // If our key is not in the version, nothing will ever hold it: revoke it before reporting.
      let landed = false;
      try {
        landed = await versionHoldsKey(ctx, arn, token, created.key.id);
      } catch {
        // Cannot tell. The key is named after the token: the next run's createSecret revokes it.
        throw error;
      }
      if (!landed) {
        await revokeKey(ctx, { arn, keyId: created.key.id, versionId: token, reason: "orphan" }).catch(() => {
          // Same as above: found again by its name on the next run.
        });
        throw error;
      }
    }

    // Our key is in the version; the leftovers named after this token can never be stored.
    for (const leftover of leftovers) {
      await revokeKey(ctx, { arn, keyId: leftover.id, versionId: token, reason: "orphan" }, view);
    }
    const staged: StagedKey = {
      versionId: token,
      keyId: created.key.id,
      key: redactKey(created.secret),
      how: "minted",
    };
    ctx.events.emit("rotation:staged", { secretArn: arn, ...staged });
    return {
      value: staged,
      outcome:
        `minted key ${created.key.id} for version ${token}` +
        (leftovers.length > 0 ? `; revoked ${leftovers.length} leftover key(s) from a crashed create` : ""),
      versionId: token,
      keyId: created.key.id,
    };
  });
}

/**
 * Mints a key, reconciling lost responses: LlamaCloud's create takes no idempotency key, so after an
 * ambiguous failure the key may exist without us ever seeing its plaintext. Such keys (named like
 * ours, not among `known`) are revoked, then the create is tried again, a bounded number of times.
 */
async function mint(
  ctx: RotationContext,
  arn: string,
  projectId: string,
  name: string,
  known: ApiKeyInfo[],
  view: SecretView | undefined,
): Promise<CreatedApiKey> {
  const seen = new Set(known.map((key) => key.id));
  let last: unknown;
  for (let attempt = 1; attempt <= CREATE_ATTEMPTS; attempt++) {
    try {
      return await ctx.client.createApiKey({ projectId, name });
    } catch (error) {
      if (!isLlamaCloudError(error) || !error.ambiguous) throw error;
      last = error;
      const found = await ctx.client.findApiKeysByName({ projectId, name });
      for (const key of found) {
        if (seen.has(key.id)) continue;
        seen.add(key.id);
        await revokeKey(ctx, { arn, keyId: key.id, reason: "orphan" }, view);
      }
    }
  }
  throw new RotatorError(
    "ROTATOR_CREATE_FAILED",
    `createSecret: LlamaCloud's answer to creating key ${JSON.stringify(name)} in project ${projectId} was lost ` +
      `${CREATE_ATTEMPTS} times (last: ${(last as Error).message}). Keys it may have made were revoked; nothing was ` +
      `written to ${arn}. Check connectivity to LlamaCloud and rerun.`,
    { secretId: arn, step: "createSecret" },
  );
}

/** The AWSCURRENT version whose payload the view holds (read and parsed in this pass), if any. */
function verifiedCurrent(view: SecretView | undefined): { verifiedCurrentVersionId?: string } {
  const currentId = view?.description?.currentVersionId;
  return currentId !== undefined && view?.payloads.has(currentId)
    ? { verifiedCurrentVersionId: currentId }
    : {};
}

async function stagedKey(
  ctx: RotationContext,
  arn: string,
  versionId: string,
  how: StagedKey["how"],
  view: SecretView | undefined,
): Promise<StagedKey> {
  const reading = await readVersion(ctx, arn, versionId, view);
  const staged: StagedKey = {
    versionId,
    keyId: reading.payload.keyId,
    key: redactKey(reading.payload.apiKey),
    how,
  };
  ctx.events.emit("rotation:staged", { secretArn: arn, ...staged });
  return staged;
}

async function versionHoldsKey(ctx: RotationContext, arn: string, versionId: string, keyId: string) {
  try {
    const reading = await ctx.store.readPayload(arn, { versionId });
    return reading.payload.keyId === keyId;
  } catch (error) {
    if (isSecretsError(error, "SECRET_NOT_FOUND")) return false;
    throw error;
  }
}

/**
 * setSecret: in the template, make the pending credential real in the target service. Nothing to
 * do here: LlamaCloud minted the key in createSecret, and it is live from that moment. Kept as a
 * step so logs and the template line up. Trivially safe to re-run.
 */
export async function setSecret(ctx: RotationContext, target: RotationTarget): Promise<void> {
  await runStep(ctx, target.policy.arn, "setSecret", async () => ({
    value: undefined,
    outcome: "nothing to do: LlamaCloud minted the key server-side in createSecret",
    versionId: target.token,
  }));
}

/**
 * testSecret: the pending key must reach its project (`GET /api/v1/projects/{projectId}`).
 *
 * Already done? A token that is already AWSCURRENT was tested before it was promoted.
 *
 * If LlamaCloud refuses the key (401/403/404, after a short wait for propagation) or the key reaches
 * another project, the key is useless: AWSPENDING is cleared and then the key revoked (in that
 * order, so a crash between the two leaves an unlabelled, never-served version whose key the orphan
 * sweep revokes), and ROTATOR_TEST_FAILED is thrown. AWSCURRENT is untouched. Transient failures
 * (429, 5xx, timeouts, after the client's retries) leave AWSPENDING in place for the next run.
 *
 * The key tested is read back from the version (GetSecretValue), so what passes is what readers
 * will get.
 *
 * Safe to re-run: it reads and changes nothing but the pending version.
 */
export async function testSecret(
  ctx: RotationContext,
  target: RotationTarget,
  view?: SecretView,
): Promise<{ keyId: string }> {
  const { policy, token } = target;
  const arn = policy.arn;
  return runStep(ctx, arn, "testSecret", async () => {
    const description = await describeSecret(ctx, arn, view);
    if (description.currentVersionId === token) {
      const reading = await readVersion(ctx, arn, token, view);
      const keyId = reading.payload.keyId;
      return {
        value: { keyId },
        outcome: "already promoted (tested before promotion)",
        versionId: token,
        keyId,
      };
    }
    if (!(description.versionIdsToStages[token] ?? []).includes(AWSPENDING)) {
      throw notPending(arn, token, "testSecret");
    }
    const reading = await readVersion(ctx, arn, token, view);
    const keyId = reading.payload.keyId;
    const started = performance.now();
    const delays = ctx.testRetryDelaysMs ?? DEFAULT_TEST_RETRY_DELAYS_MS;
    let refusal: string | undefined;
    for (let attempt = 0; attempt <= delays.length; attempt++) {
      if (attempt > 0) await sleep(delays[attempt - 1]);
      try {
        const project = await ctx.client.withApiKey(reading.payload.apiKey).getProject(policy.projectId);
        refusal =
          project.id === policy.projectId
            ? undefined
            : `it reached project ${project.id} instead of ${policy.projectId}`;
        break;
      } catch (error) {
        if (
          isLlamaCloudError(error, "LLAMACLOUD_AUTHENTICATION") ||
          isLlamaCloudError(error, "LLAMACLOUD_PERMISSION") ||
          isLlamaCloudError(error, "LLAMACLOUD_NOT_FOUND")
        ) {
          refusal = `${error.code}${error.status === undefined ? "" : ` (HTTP ${error.status})`}`;
          continue;
        }
        throw error;
      }
    }
    if (refusal !== undefined) {
      await ctx.store.removeStage(arn, AWSPENDING, token);
      noteUnstaged(view, AWSPENDING, token);
      await revokeKey(ctx, { arn, keyId, versionId: token, reason: "test-failed" }, view);
      throw new RotatorError(
        "ROTATOR_TEST_FAILED",
        `testSecret: pending key ${keyId} (version ${token} of ${arn}) does not work for project ${policy.projectId}: ` +
          `${refusal}. It was revoked and AWSPENDING cleared; AWSCURRENT is untouched. The next pass tries a new key; ` +
          `if this repeats, check that the rotator's LlamaCloud user is an admin of project ${policy.projectId}.`,
        { secretId: arn, versionId: token, keyId, step: "testSecret" },
      );
    }
    const durationMs = Math.round(performance.now() - started);
    ctx.events.emit("rotation:tested", { secretArn: arn, versionId: token, keyId, durationMs });
    return {
      value: { keyId },
      outcome: `key ${keyId} reaches project ${policy.projectId}`,
      versionId: token,
      keyId,
    };
  });
}

/**
 * finishSecret: move AWSCURRENT to the token (Secrets Manager moves AWSPREVIOUS to the version it
 * left), then clear AWSPENDING from it.
 *
 * Already done? AWSCURRENT on the token without AWSPENDING: nothing to do. AWSCURRENT on the token
 * with AWSPENDING still there (a crash between the two calls): only the label is cleared.
 *
 * Refuses (ROTATOR_PENDING_STALE) a pending version written more than PROMOTE_WITHIN_MS ago: the
 * previous key's grace is counted from when the new version was written, so promoting an old one
 * would shorten the grace readers were promised.
 */
export async function finishSecret(
  ctx: RotationContext,
  target: RotationTarget,
  keys: { keyId: string; previousKeyId?: string; startedAt?: number },
  view?: SecretView,
): Promise<{ promoted: boolean; previousVersionId?: string }> {
  const { policy, token } = target;
  const arn = policy.arn;
  return runStep<{ promoted: boolean; previousVersionId?: string }>(ctx, arn, "finishSecret", async () => {
    // Always fresh, view or not: another run may have abandoned the version since (its test failed
    // there, its key revoked), and an abandoned version must never become AWSCURRENT.
    const description = await ctx.store.describe(arn);
    refreshView(view, description);
    const pendingHere = (description.versionIdsToStages[token] ?? []).includes(AWSPENDING);
    if (description.currentVersionId === token) {
      if (pendingHere) {
        await ctx.store.removeStage(arn, AWSPENDING, token);
        noteUnstaged(view, AWSPENDING, token);
      }
      return {
        value: { promoted: false },
        outcome: pendingHere ? "already promoted; cleared the leftover AWSPENDING label" : "already promoted",
        versionId: token,
        keyId: keys.keyId,
      };
    }
    if (!pendingHere) throw notPending(arn, token, "finishSecret");
    // GetSecretValue's CreatedDate, not ListSecretVersionIds': moto reports one date for every
    // version in the list.
    const pending = await readVersion(ctx, arn, token, view);
    const waited = (ctx.wallNow ?? Date.now)() - pending.createdDate.getTime();
    if (waited > PROMOTE_WITHIN_MS) {
      throw new RotatorError(
        "ROTATOR_PENDING_STALE",
        `finishSecret: version ${token} of ${arn} was staged ${Math.round(waited / 1000)} s ago; ` +
          `promoting it now would start the previous key's grace too early. It is abandoned instead (its key ` +
          `${keys.keyId} revoked) and the next pass stages a fresh key.`,
        { secretId: arn, versionId: token, keyId: keys.keyId, step: "finishSecret" },
      );
    }
    const previousVersionId = description.currentVersionId;
    // The description just read serves promote too; the move is conditional on AWSCURRENT's holder.
    await ctx.store.promote(arn, token, { known: description });
    notePromoted(view, token);
    ctx.events.emit("rotation:promoted", {
      secretArn: arn,
      versionId: token,
      keyId: keys.keyId,
      ...(previousVersionId === undefined ? {} : { previousVersionId }),
      ...(keys.previousKeyId === undefined ? {} : { previousKeyId: keys.previousKeyId }),
      ...(keys.startedAt === undefined ? {} : { durationMs: Math.round(performance.now() - keys.startedAt) }),
    });
    return {
      value: { promoted: true, ...(previousVersionId === undefined ? {} : { previousVersionId }) },
      outcome: `AWSCURRENT → version ${token} (key ${keys.keyId}); AWSPREVIOUS → ${previousVersionId ?? "none"}`,
      versionId: token,
      keyId: keys.keyId,
    };
  });
}

/** A revocation the plan decided on. */
export interface Revocation {
  keyId: string;
  versionId?: string;
  reason: RevokeReason;
}

/**
 * revokePrevious (ours; the template has no such step): revoke keys displaced from AWSCURRENT once
 * their grace has passed (or at once with `--revoke-now`). The plan picks them: the AWSPREVIOUS key
 * and keys of older versions, never the key AWSCURRENT or AWSPENDING holds, which {@link revokeKey}
 * re-checks against Secrets Manager right before each revocation.
 *
 * Already done? A revoked key is no longer listed, so the plan does not pick it again; and
 * LlamaCloud answers 404 to a second revocation, which counts as done.
 */
export async function revokePrevious(
  ctx: RotationContext,
  policy: SecretPolicy,
  revocations: Revocation[],
  view?: SecretView,
): Promise<number> {
  if (revocations.length === 0) return 0;
  return runStep(ctx, policy.arn, "revokePrevious", async () => {
    const revoked = await revokeEach(ctx, policy, revocations, view);
    return {
      value: revoked,
      outcome: `revoked ${revocations.map((r) => `key ${r.keyId} (${r.reason})`).join(", ")}`,
    };
  });
}

/**
 * sweepOrphans: revoke keys named like this secret's but held by no version that a reader could
 * have been served: leftovers of crashed creates (the rotator's, or the Pulumi provider's create
 * that died between minting and writing), and lost races. Keys not named by llamacloud-keys for
 * this project, environment and one of the secret's key-name prefixes are never touched (the plan
 * does not offer them).
 */
export async function sweepOrphans(
  ctx: RotationContext,
  policy: SecretPolicy,
  revocations: Revocation[],
  view?: SecretView,
): Promise<number> {
  if (revocations.length === 0) return 0;
  return runStep(ctx, policy.arn, "sweepOrphans", async () => {
    const revoked = await revokeEach(ctx, policy, revocations, view);
    return { value: revoked, outcome: `revoked ${revoked} orphaned key(s)` };
  });
}

/** Revokes one key after another (each re-checked by revokeKey); resolves with how many it revoked. */
async function revokeEach(
  ctx: RotationContext,
  policy: SecretPolicy,
  revocations: Revocation[],
  view: SecretView | undefined,
): Promise<number> {
  let revoked = 0;
  for (const revocation of revocations) {
    if (await revokeKey(ctx, { arn: policy.arn, ...revocation }, view)) revoked += 1;
  }
  return revoked;
}

/**
 * abandonPending: give up on a pending version (too old to promote): clear AWSPENDING, then revoke
 * its key (never served: it was only ever pending). Safe to re-run: a cleared label and a revoked
 * key are left as they are.
 */
export async function abandonPending(
  ctx: RotationContext,
  policy: SecretPolicy,
  pending: { versionId: string; keyId?: string },
  view?: SecretView,
): Promise<void> {
  await runStep(ctx, policy.arn, "abandonPending", async () => {
    await ctx.store.removeStage(policy.arn, AWSPENDING, pending.versionId);
    noteUnstaged(view, AWSPENDING, pending.versionId);
    if (pending.keyId !== undefined) {
      await revokeKey(
        ctx,
        { arn: policy.arn, keyId: pending.keyId, versionId: pending.versionId, reason: "stale-pending" },
        view,
      );
    }
    return {
      value: undefined,
      outcome: `cleared AWSPENDING from version ${pending.versionId}${pending.keyId ? ` and revoked key ${pending.keyId}` : ""}`,
      versionId: pending.versionId,
      ...(pending.keyId === undefined ? {} : { keyId: pending.keyId }),
    };
  });
}

/**
 * Revokes one key, after checking with Secrets Manager, at this moment, that neither AWSCURRENT nor
 * AWSPENDING holds it (an operator may have rolled back since the plan was made). Returns false,
 * with a warning, when it refuses. A key LlamaCloud no longer knows counts as revoked.
 *
 * Labels and values are always read afresh, view or not (the view only gets the fresh labels): this
 * check is what stands between a stale plan and a revoked AWSCURRENT key.
 */
export async function revokeKey(
  ctx: RotationContext,
  input: { arn: string; keyId: string; versionId?: string; reason: RevokeReason },
  view?: SecretView,
): Promise<boolean> {
  const { arn, keyId } = input;
  const description = await ctx.store.describe(arn);
  refreshView(view, description);
  for (const [label, versionId] of [
    ["AWSCURRENT", description.currentVersionId],
    ["AWSPENDING", description.pendingVersionId],
  ] as const) {
    if (versionId === undefined) continue;
    let heldKey: string | undefined;
    try {
      heldKey = (await ctx.store.readPayload(arn, { versionId })).payload.keyId;
    } catch (error) {
      // A foreign AWSPENDING value cannot hold one of our keys; an unreadable AWSCURRENT must stop us.
      if (label === "AWSPENDING" && isSecretsError(error, "SECRET_MALFORMED_PAYLOAD")) continue;
      throw error;
    }
    if (heldKey === keyId) {
      ctx.events.emit("warning", {
        secretArn: arn,
        message: `Refused to revoke key ${keyId} (${input.reason}): ${label} (version ${versionId}) holds it now.`,
      });
      return false;
    }
  }
  const { alreadyRevoked } = await ctx.client.deleteApiKey(keyId);
  ctx.events.emit("rotation:revoked", {
    secretArn: arn,
    keyId,
    ...(input.versionId === undefined ? {} : { versionId: input.versionId }),
    reason: input.reason,
    alreadyRevoked,
  });
  return true;
}

function notPending(arn: string, token: string, step: StepName): RotatorError {
  return new RotatorError(
    "ROTATOR_INTERRUPTED",
    `${step}: version ${token} of ${arn} is neither AWSPENDING nor AWSCURRENT: another run abandoned it. ` +
      `Nothing was changed; rerun \`llamacloud-keys rotate --secret ${arn}\` to start a fresh attempt.`,
    { secretId: arn, versionId: token, step },
  );
}
