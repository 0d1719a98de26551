import { setTimeout as sleep } from "node:timers/promises";
import type { CreatedApiKey } from "../llamacloud";
import { isLlamaCloudError } from "../llamacloud/errors";
import { keyName } from "../llamacloud/key-name";
import { mintNamedKey } from "../llamacloud/mint";
import type { Redacted } from "../redaction";
import { isSecretsError } from "../secrets/errors";
import { buildPayload, redactKey, type SecretPayload } from "../secrets/payload";
import { AWSCURRENT, AWSPENDING, type SecretDescription, type SecretRotationInfo } from "../secrets/store";
import { RotatorError } from "./errors";
import type { RevokeReason, StepName } from "./events";
import { planSecret } from "./plan";
import type { SecretPolicy } from "./policy";
import { DEFAULT_TEST_RETRY_DELAYS_MS, PROMOTE_WITHIN_MS, type RotatorServices } from "./services";
import { readSecretState, readVersion, type SecretState, stageHolder, type VersionView } from "./state";
import { runStep } from "./step-runner";

/**
 * The rotation, step by step, in the shape of Secrets Manager's rotation contract and the AWS
 * rotation Lambda templates: `createSecret → setSecret → testSecret → finishSecret`, each a function
 * of (services, { secretId, token }) where `secretId` is the secret's name or ARN (moto's RotateSecret
 * sends the name, AWS the ARN), plus our `revokePrevious` and `sweepOrphans` of (services, secretId).
 * Each exported step
 * - opens with the template's guard, read from Secrets Manager: the token must be a version of the
 *   secret labelled AWSPENDING; a token already AWSCURRENT means the step has nothing left to do
 *   (createSecret also accepts a token that is no version yet: the daemon's start);
 * - is idempotent per token, and may run in another process than the step before it: nothing passes
 *   between steps but what Secrets Manager and LlamaCloud hold.
 *
 * A daemon pass (`rotation.ts`) reads the secret once (its guard) and runs the same step bodies
 * from that read ({@link rotateFrom}): every write is conditional on Secrets Manager's side (the
 * ClientRequestToken; `RemoveFromVersionId` on the label moves), so a read that went stale cannot
 * lead to a wrong write, only to a refused one. That is what brings a rotation to 7 calls in 4
 * sequential round trips (README "Steps").
 *
 * Where LlamaCloud forces a difference from the template, the step's doc says so.
 */

/** What Secrets Manager passes a rotation function, and the daemon passes itself. */
export interface StepInput {
  /** The secret's ARN or name. */
  secretId: string;
  /** The ClientRequestToken: the version id the new key goes into. */
  token: string;
  /**
   * A driver's own guard, run on the step's own DescribeSecret read before the step acts, so the
   * driver need not read the secret again: the native driver (`lambda.ts`) requires rotation enabled
   * on the secret and the token AWSPENDING (or AWSCURRENT). It refuses a step by throwing.
   */
  guard?: StepGuard;
}

/** The part of a step's guard read a driver's {@link StepInput.guard} judges. */
export interface StepGuardView {
  arn: string;
  versionIdsToStages: Record<string, string[]>;
  /** Secrets Manager's native rotation settings, when the secret has any. */
  rotation?: SecretRotationInfo;
}

type StepGuard = (view: StepGuardView, step: StepName) => void;

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

/**
 * createSecret: put a new, working key into the secret under AWSPENDING.
 *
 * Guard: the token AWSCURRENT, or AWSPENDING with a value: done already (returns that key). The token
 * AWSPENDING without a value (Secrets Manager's RotateSecret creates it before invoking a rotation
 * function), or no version yet (the daemon's start, refused while another version is AWSPENDING):
 * mint and write. A version without AWSPENDING: abandoned by another run, refused.
 *
 * Unlike the template, the value cannot be generated locally: LlamaCloud mints the key and shows its
 * plaintext once. The key is named `<prefix>/<projectId>/<environment>/<token>` with the secret's own
 * prefix, so a key whose create response was lost (a crash, a reset socket) is found again by its
 * name: `sweepOrphans` revokes it once a version holds another key under that token, or once it is
 * older than the staging window and no version holds it.
 *
 * Safe to re-run: the version is written with `ClientRequestToken = token`. If another run wrote a
 * different key under the same token first, the key minted here is revoked and the other is
 * adopted: the secret is rotated once.
 */
export async function createSecret(services: RotatorServices, input: StepInput): Promise<StagedKey> {
  const { secretId, token } = input;
  return runStep(services, secretId, "createSecret", async () => {
    const state = await readSecretState(services, secretId, { versions: [token] });
    input.guard?.(
      {
        arn: state.policy.arn,
        versionIdsToStages: state.versionIdsToStages,
        ...(state.rotation === undefined ? {} : { rotation: state.rotation }),
      },
      "createSecret",
    );
    const at = tokenGuard(state, token);
    if (at === "current" || (at === "pending" && state.read?.get(token)?.payload !== undefined)) {
      const payload =
        at === "current" ? state.current.payload : (state.read?.get(token)?.payload as SecretPayload);
      const staged = stagedFrom(token, payload, "resumed");
      services.events.emit("rotation:staged", { secretArn: state.policy.arn, ...staged });
      return {
        value: staged,
        outcome: `key ${staged.keyId} already staged in version ${token}`,
        versionId: token,
        keyId: staged.keyId,
      };
    }
    if (at === "abandoned") throw notPending(state.policy.arn, token, "createSecret");
    const pendingElsewhere = stageHolder(state.versionIdsToStages, AWSPENDING);
    if (pendingElsewhere !== undefined && pendingElsewhere !== token) {
      throw new RotatorError(
        "ROTATOR_INTERRUPTED",
        `AWSPENDING is on version ${pendingElsewhere} of ${state.policy.arn} from an unfinished rotation; ` +
          `run \`llamacloud-keys rotate --secret ${state.policy.arn}\` to finish it before starting another.`,
        { secretId: state.policy.arn, versionId: pendingElsewhere, step: "createSecret" },
      );
    }
    const minted = await mint(services, state, token);
    const staged = await stage(services, state, token, minted);
    return { value: staged.staged, ...stagedOutcome(staged.staged, minted) };
  });
}

/**
 * setSecret: in the template, make the pending credential real in the target service. Nothing to do
 * here: LlamaCloud minted the key in createSecret, and it is live from that moment. Guarded like the
 * others (one DescribeSecret) so that a misdirected invocation fails here, not later.
 */
export async function setSecret(services: RotatorServices, input: StepInput): Promise<void> {
  await runStep(services, input.secretId, "setSecret", async () => {
    const description = await services.store.describe(input.secretId);
    input.guard?.(description, "setSecret");
    const labels = description.versionIdsToStages[input.token];
    if (description.currentVersionId !== input.token && !labels?.includes(AWSPENDING)) {
      throw notPending(description.arn, input.token, "setSecret");
    }
    return setOutcome(input.token);
  });
}

/**
 * testSecret: the pending key must reach its project (`GET /api/v1/projects/{projectId}`).
 *
 * Guard: a token already AWSCURRENT was tested before it was promoted: nothing to do.
 *
 * If LlamaCloud refuses the key (401/403/404, after a short wait for propagation) or the key reaches
 * another project, the key is useless: AWSPENDING is cleared and then the key revoked (in that
 * order, so a crash between the two leaves an unlabelled, never-served version whose key the orphan
 * sweep revokes), and ROTATOR_TEST_FAILED is thrown. AWSCURRENT is untouched. Transient failures
 * (429, 5xx, timeouts, after the client's retries) leave AWSPENDING in place for the next run.
 *
 * The key tested is read from the version (GetSecretValue), so what passes is what readers will get.
 */
export async function testSecret(services: RotatorServices, input: StepInput): Promise<{ keyId: string }> {
  const { secretId, token } = input;
  return runStep(services, secretId, "testSecret", async () => {
    const { description, version } = await guardToken(services, input, "testSecret");
    const payload = version.payload as SecretPayload;
    if (description.currentVersionId === token) {
      return {
        value: { keyId: payload.keyId },
        outcome: "already promoted (tested before promotion)",
        versionId: token,
        keyId: payload.keyId,
      };
    }
    const policy: KeyTarget = { arn: description.arn, projectId: payload.projectId };
    const refusal = await probe(services, policy, payload.apiKey);
    return checked(services, policy, token, payload.keyId, refusal);
  });
}

/**
 * finishSecret: move AWSCURRENT to the token (Secrets Manager moves AWSPREVIOUS to the version it
 * left), then clear AWSPENDING from it (AWS also accepts it left on the AWSCURRENT version; moto then
 * refuses the next RotateSecret, so it is always cleared).
 *
 * Guard: AWSCURRENT on the token without AWSPENDING: nothing to do. AWSCURRENT on the token with
 * AWSPENDING still there (a crash between the two calls): only the label is cleared.
 *
 * Refuses (ROTATOR_PENDING_STALE) a pending version written more than PROMOTE_WITHIN_MS ago: the
 * previous key's grace is counted from when the new version was written, so promoting an old one
 * would shorten the grace readers were promised.
 */
export async function finishSecret(
  services: RotatorServices,
  input: StepInput,
): Promise<{ promoted: boolean; previousVersionId?: string }> {
  const { secretId, token } = input;
  return runStep<{ promoted: boolean; previousVersionId?: string }>(
    services,
    secretId,
    "finishSecret",
    async () => {
      const { description, version } = await guardToken(services, input, "finishSecret");
      const keyId = (version.payload as SecretPayload).keyId;
      const waited = (services.wallNow ?? Date.now)() - (version.createdDate?.getTime() ?? 0);
      if (description.currentVersionId !== token && waited > PROMOTE_WITHIN_MS) {
        throw new RotatorError(
          "ROTATOR_PENDING_STALE",
          `finishSecret: version ${token} of ${description.arn} was staged ${Math.round(waited / 1000)} s ago; ` +
            `promoting it now would start the previous key's grace too early. It is abandoned instead (its key ` +
            `${keyId} revoked) and the next pass stages a fresh key.`,
          { secretId: description.arn, versionId: token, keyId, step: "finishSecret" },
        );
      }
      return promote(services, description, token, keyId);
    },
  );
}

/**
 * revokePrevious (ours; the template has no such step): revoke keys displaced from AWSCURRENT once
 * their grace has passed (`created(AWSCURRENT) + STAGING_WINDOW_MS + grace`), or at once with
 * `revokeNow`. Never the key AWSCURRENT or AWSPENDING holds: the guard read right before the
 * DELETE says who holds what. Already done? A revoked key is no longer listed, so it is not picked
 * again; LlamaCloud's 404 to a second revocation counts as done. Resolves with how many it revoked.
 */
export async function revokePrevious(
  services: RotatorServices,
  secretId: string,
  options: { revokeNow?: boolean } = {},
): Promise<number> {
  return revokePlanned(services, secretId, "revokePrevious", options.revokeNow === true);
}

/**
 * sweepOrphans: revoke keys named for this secret that no version a reader could have been served
 * holds: leftovers of crashed creates (the rotator's, or the Pulumi provider's create that died
 * between minting and writing), lost races, abandoned attempts. A key named after no version and
 * younger than the staging window is left alone (a create in flight). Keys not named by
 * llamacloud-keys for this secret (`llamacloud/key-ownership.ts`) are never touched.
 */
export async function sweepOrphans(services: RotatorServices, secretId: string): Promise<number> {
  return revokePlanned(services, secretId, "sweepOrphans", false);
}

async function revokePlanned(
  services: RotatorServices,
  secretId: string,
  step: "revokePrevious" | "sweepOrphans",
  revokeNow: boolean,
): Promise<number> {
  return runStep(services, secretId, step, async () => {
    const state = await readSecretState(services, secretId);
    const plan = planSecret(state, { revokeNow, wallNow: (services.wallNow ?? Date.now)() }, services.now());
    const due = plan.revocations.filter((r) => r.step === step);
    const revoked = await revokeEach(services, state, due);
    return { value: revoked, outcome: due.length === 0 ? "nothing to revoke" : `revoked ${revoked} key(s)` };
  });
}

/* ------------------------------------------------------------------------------------------------ */
/* The step bodies a pass runs from its own guard read.                                              */

/** A due rotation from the pass's read: createSecret (the test overlapping the write), setSecret, testSecret, finishSecret. */
export async function rotateFrom(
  services: RotatorServices,
  state: SecretState,
  token: string,
): Promise<{ staged: StagedKey; promoted: boolean }> {
  const arn = state.policy.arn;
  let testing: Promise<Verdict> | undefined;
  let apiKey: Redacted<string> | undefined;
  const staged = await runStep(services, arn, "createSecret", async () => {
    const minted = await mint(services, state, token);
    // The test needs only the key: it runs while the key is written (invariant 2 still holds:
    // nothing is promoted before both are done).
    testing = probe(services, state.policy, minted.secret);
    testing.catch(() => undefined);
    const result = await stage(services, state, token, minted);
    apiKey = result.apiKey;
    return { value: result.staged, ...stagedOutcome(result.staged, minted) };
  });
  await runStep(services, arn, "setSecret", async () => setOutcome(token));
  await runStep(services, arn, "testSecret", async () => {
    // Our key was tested while it was written; a key adopted from another run is tested now.
    const verdict =
      staged.how === "minted" && testing !== undefined
        ? await testing
        : await probe(services, state.policy, apiKey as Redacted<string>);
    return checked(services, state.policy, token, staged.keyId, verdict);
  });
  const labels = { ...state.versionIdsToStages, [token]: [AWSPENDING] };
  const finished = await runStep(services, arn, "finishSecret", async () =>
    promote(services, describedAs(state, labels), token, staged.keyId, state.current.payload.keyId),
  );
  return { staged, promoted: finished.promoted };
}

/** An interrupted rotation from the pass's read: test the pending key, then promote it. */
export async function finishFrom(
  services: RotatorServices,
  state: SecretState,
  pending: VersionView & { payload: SecretPayload },
): Promise<{ promoted: boolean }> {
  const { policy } = state;
  const token = pending.versionId;
  if (state.current.versionId !== token) {
    await runStep(services, policy.arn, "testSecret", async () =>
      checked(
        services,
        policy,
        token,
        pending.payload.keyId,
        await probe(services, policy, pending.payload.apiKey),
      ),
    );
  }
  return runStep(services, policy.arn, "finishSecret", async () =>
    promote(
      services,
      describedAs(state, state.versionIdsToStages),
      token,
      pending.payload.keyId,
      state.current.payload.keyId,
    ),
  );
}

/**
 * abandonPending: give up on a pending version too old to promote: clear AWSPENDING, then revoke its
 * key (never served: it was only ever pending). Safe to re-run: a cleared label and a revoked key are
 * left as they are.
 */
export async function abandonPending(
  services: RotatorServices,
  policy: SecretPolicy,
  pending: { versionId: string; keyId?: string },
): Promise<void> {
  await runStep(services, policy.arn, "abandonPending", async () => {
    await services.store.removeStage(policy.arn, AWSPENDING, pending.versionId);
    if (pending.keyId !== undefined) {
      await revokeKey(services, policy.arn, {
        keyId: pending.keyId,
        versionId: pending.versionId,
        reason: "stale-pending",
      });
    }
    return {
      value: undefined,
      outcome: `cleared AWSPENDING from version ${pending.versionId}${pending.keyId ? ` and revoked key ${pending.keyId}` : ""}`,
      versionId: pending.versionId,
      ...(pending.keyId === undefined ? {} : { keyId: pending.keyId }),
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
 * Revokes keys one after another. `checkedBy`: the read the plan was made from, when nothing was
 * written since (the pass's guard): it is the fresh read of who holds what. Otherwise each key is
 * re-checked against Secrets Manager first ({@link revokeKey}).
 */
export async function revokeEach(
  services: RotatorServices,
  checkedBy: SecretState | string,
  revocations: readonly Revocation[],
): Promise<number> {
  let revoked = 0;
  for (const revocation of revocations) {
    const ok =
      typeof checkedBy === "string"
        ? await revokeKey(services, checkedBy, revocation)
        : await revokeChecked(services, checkedBy, revocation);
    if (ok) revoked += 1;
  }
  return revoked;
}

/**
 * Revokes one key, after checking with Secrets Manager, at this moment, that neither AWSCURRENT nor
 * AWSPENDING holds it (an operator may have rolled back since the plan was made): DescribeSecret and
 * the AWSCURRENT value together, AWSPENDING's value when that label is elsewhere. Returns false,
 * with a warning, when it refuses. A key LlamaCloud no longer knows counts as revoked.
 */
export async function revokeKey(
  services: RotatorServices,
  arn: string,
  revocation: Revocation,
): Promise<boolean> {
  const [description, current] = await Promise.all([
    services.store.describe(arn),
    services.store.readPayload(arn, { stage: AWSCURRENT }),
  ]);
  const holders: [string, string | undefined][] = [["AWSCURRENT", current.payload.keyId]];
  const pendingId = description.pendingVersionId;
  if (pendingId !== undefined && pendingId !== current.versionId) {
    const pending = await readVersion(services, arn, pendingId);
    holders.push(["AWSPENDING", pending.payload?.keyId]);
  }
  return revokeUnlessHeld(services, arn, revocation, holders, {
    [AWSCURRENT]: current.versionId,
    AWSPENDING: pendingId,
  });
}

function revokeChecked(
  services: RotatorServices,
  state: SecretState,
  revocation: Revocation,
): Promise<boolean> {
  return revokeUnlessHeld(
    services,
    state.policy.arn,
    revocation,
    [
      ["AWSCURRENT", state.current.payload.keyId],
      ["AWSPENDING", state.pending?.payload?.keyId],
    ],
    { [AWSCURRENT]: state.current.versionId, AWSPENDING: state.pending?.versionId },
  );
}

async function revokeUnlessHeld(
  services: RotatorServices,
  arn: string,
  revocation: Revocation,
  holders: [string, string | undefined][],
  versions: Record<string, string | undefined>,
): Promise<boolean> {
  const { keyId } = revocation;
  for (const [label, held] of holders) {
    if (held === keyId) {
      services.events.emit("warning", {
        secretArn: arn,
        message: `Refused to revoke key ${keyId} (${revocation.reason}): ${label} (version ${versions[label]}) holds it now.`,
      });
      return false;
    }
  }
  const { alreadyRevoked } = await services.client.deleteApiKey(keyId);
  services.events.emit("rotation:revoked", {
    secretArn: arn,
    keyId,
    ...(revocation.versionId === undefined ? {} : { versionId: revocation.versionId }),
    reason: revocation.reason,
    alreadyRevoked,
  });
  return true;
}

/* ------------------------------------------------------------------------------------------------ */

/** Where the token stands in the secret's labels. */
function tokenGuard(state: SecretState, token: string): "current" | "pending" | "abandoned" | "absent" {
  if (state.current.versionId === token) return "current";
  const labels = state.versionIdsToStages[token];
  if (labels === undefined) return "absent";
  return labels.includes(AWSPENDING) ? "pending" : "abandoned";
}

/**
 * The template's guard for testSecret and finishSecret: DescribeSecret and the token's value
 * together; the token must be AWSPENDING (or AWSCURRENT: done) and hold our payload.
 */
async function guardToken(
  services: RotatorServices,
  input: StepInput,
  step: StepName,
): Promise<{ description: SecretDescription; version: VersionView }> {
  const { secretId, token } = input;
  const [description, version] = await Promise.all([
    services.store.describe(secretId),
    readVersion(services, secretId, token),
  ]);
  input.guard?.(description, step);
  const labels = description.versionIdsToStages[token];
  if (description.currentVersionId !== token && !labels?.includes(AWSPENDING)) {
    throw notPending(description.arn, token, step);
  }
  if (version.payload === undefined) {
    throw new RotatorError(
      "ROTATOR_INTERRUPTED",
      `${step}: version ${token} of ${description.arn} holds ${version.empty ? "no value yet: createSecret has not run for it" : "no llamacloud-keys payload"}. ` +
        `Nothing was changed; run createSecret for this token first (or \`llamacloud-keys rotate --secret ${description.arn}\`).`,
      { secretId: description.arn, versionId: token, step },
    );
  }
  return { description, version };
}

/** What testing a key needs to know of its secret: which secret (for messages) and which project. */
type KeyTarget = Pick<SecretPolicy, "arn" | "projectId">;

/** Mints the key for `token`, reconciling lost responses. */
async function mint(
  services: RotatorServices,
  state: SecretState,
  token: string,
): Promise<CreatedApiKey & { name: string }> {
  const { policy } = state;
  const name = keyName(state.keyPrefix, policy.projectId, policy.environment, token);
  // Keys of a lost create (named like ours, not listed before) are revoked and the create tried
  // again (llamacloud/mint.ts); keys already listed under the name are left to the plan.
  try {
    const minted = await mintNamedKey(
      services.client,
      { projectId: policy.projectId, name },
      {
        attempts: CREATE_ATTEMPTS,
        known: state.liveKeys.filter((key) => key.name === name).map((key) => key.id),
        revoke: (key) => revokeKey(services, policy.arn, { keyId: key.id, reason: "orphan" }),
      },
    );
    return { ...minted, name };
  } catch (error) {
    // Only the last of CREATE_ATTEMPTS lost answers comes out ambiguous.
    if (!isLlamaCloudError(error) || !error.ambiguous) throw error;
    throw new RotatorError(
      "ROTATOR_CREATE_FAILED",
      `createSecret: LlamaCloud's answer to creating key ${JSON.stringify(name)} in project ${policy.projectId} was lost ` +
        `${CREATE_ATTEMPTS} times (last: ${error.message}). Keys it may have made were revoked; nothing was ` +
        `written to ${policy.arn}. Check connectivity to LlamaCloud and rerun.`,
      { secretId: policy.arn, step: "createSecret" },
    );
  }
}

/**
 * Writes the minted key under the token (PutSecretValue alone: the guard read the labels and
 * checked AWSCURRENT). A token another run used first: ours is revoked (no reader ever had it) and
 * theirs adopted if still staged. A write whose outcome is unknown: ours is revoked unless it landed.
 */
async function stage(
  services: RotatorServices,
  state: SecretState,
  token: string,
  minted: CreatedApiKey & { name: string },
): Promise<{ staged: StagedKey; apiKey: Redacted<string> }> {
  const { policy } = state;
  const arn = policy.arn;
  const payload = buildPayload({
    apiKey: minted.secret,
    keyId: minted.key.id,
    keyName: minted.name,
    projectId: policy.projectId,
    organizationId: state.current.payload.organizationId,
    environment: policy.environment,
    baseUrl: state.current.payload.baseUrl,
    createdAt: new Date(services.now()),
  });
  try {
    await services.store.writeVersion(arn, { token, payload, stage: AWSPENDING, checkedByCaller: true });
  } catch (error) {
    if (isSecretsError(error, "SECRET_TOKEN_CONFLICT")) {
      // Another run got there first: ours never reached the secret, so no reader has it.
      await revokeKey(services, arn, { keyId: minted.key.id, versionId: token, reason: "lost-race" });
      const [description, theirs] = await Promise.all([
        services.store.describe(arn),
        readVersion(services, arn, token),
      ]);
      const labels = description.versionIdsToStages[token] ?? [];
      if (theirs.payload !== undefined && (labels.includes(AWSPENDING) || labels.includes(AWSCURRENT))) {
        const staged = stagedFrom(token, theirs.payload, "adopted-concurrent");
        services.events.emit("rotation:staged", { secretArn: arn, ...staged });
        return { staged, apiKey: theirs.payload.apiKey };
      }
      throw new RotatorError(
        "ROTATOR_INTERRUPTED",
        `Version ${token} of ${arn} was written by another run and abandoned since (its key failed its test or ` +
          `went stale). Key ${minted.key.id} minted here was revoked. The next pass starts a new attempt.`,
        { secretId: arn, versionId: token, keyId: minted.key.id, step: "createSecret" },
      );
    }
    // Unknown outcome (e.g. Secrets Manager unreachable after the SDK's retries). If our key is not in
    // the version, nothing will ever hold it: revoke it before reporting.
    const landed = await readVersion(services, arn, token).then(
      (view) => view.payload?.keyId === minted.key.id,
      () => undefined,
    );
    if (landed === false) {
      await revokeKey(services, arn, { keyId: minted.key.id, versionId: token, reason: "orphan" }).catch(
        () => {
          // Named after the token: the orphan sweep finds it.
        },
      );
    }
    throw error;
  }
  const staged: StagedKey = {
    versionId: token,
    keyId: minted.key.id,
    key: redactKey(minted.secret),
    how: "minted",
  };
  services.events.emit("rotation:staged", { secretArn: arn, ...staged });
  return { staged, apiKey: minted.secret };
}

/** What testing a key found: why LlamaCloud refused it (absent: it works), and how long that took. */
interface Verdict {
  refusal?: string;
  durationMs: number;
}

/** Calls LlamaCloud with the key, waiting and retrying when a new key is refused (propagation). */
async function probe(
  services: RotatorServices,
  policy: KeyTarget,
  apiKey: Redacted<string>,
): Promise<Verdict> {
  const started = performance.now();
  const verdict = (refusal: string | undefined): Verdict => ({
    ...(refusal === undefined ? {} : { refusal }),
    durationMs: Math.round(performance.now() - started),
  });
  const delays = services.testRetryDelaysMs ?? DEFAULT_TEST_RETRY_DELAYS_MS;
  let refusal: string | undefined;
  for (let attempt = 0; attempt <= delays.length; attempt++) {
    if (attempt > 0) await sleep(delays[attempt - 1]);
    try {
      const project = await services.client.withApiKey(apiKey).getProject(policy.projectId);
      return verdict(
        project.id === policy.projectId
          ? undefined
          : `it reached project ${project.id} instead of ${policy.projectId}`,
      );
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
  return verdict(refusal);
}

/** testSecret's verdict: passes, or clears AWSPENDING, revokes the key and throws ROTATOR_TEST_FAILED. */
async function checked(
  services: RotatorServices,
  policy: KeyTarget,
  token: string,
  keyId: string,
  { refusal, durationMs }: Verdict,
) {
  const arn = policy.arn;
  if (refusal !== undefined) {
    await services.store.removeStage(arn, AWSPENDING, token);
    await revokeKey(services, arn, { keyId, versionId: token, reason: "test-failed" });
    throw new RotatorError(
      "ROTATOR_TEST_FAILED",
      `testSecret: pending key ${keyId} (version ${token} of ${arn}) does not work for project ${policy.projectId}: ` +
        `${refusal}. It was revoked and AWSPENDING cleared; AWSCURRENT is untouched. The next pass tries a new key; ` +
        `if this repeats, check that the rotator's LlamaCloud user is an admin of project ${policy.projectId}.`,
      { secretId: arn, versionId: token, keyId, step: "testSecret" },
    );
  }
  services.events.emit("rotation:tested", { secretArn: arn, versionId: token, keyId, durationMs });
  return {
    value: { keyId },
    outcome: `key ${keyId} reaches project ${policy.projectId}`,
    versionId: token,
    keyId,
  };
}

/**
 * finishSecret's moves, from a description of the labels: AWSCURRENT to the token (conditional on its
 * holder in `description`) and AWSPENDING off it, sent together. When another run promoted the token first (moto
 * lets two runs write the same pending token; AWS does not), the keys named after the token that the
 * version does not hold are revoked: no reader ever had them.
 */
async function promote(
  services: RotatorServices,
  description: SecretDescription,
  token: string,
  keyId: string,
  previousKeyId?: string,
) {
  const arn = description.arn;
  const previousVersionId = description.currentVersionId;
  if (previousVersionId === token) {
    const pendingHere = description.versionIdsToStages[token]?.includes(AWSPENDING) === true;
    if (pendingHere) await services.store.removeStage(arn, AWSPENDING, token);
    return {
      value: { promoted: false },
      outcome: pendingHere ? "already promoted; cleared the leftover AWSPENDING label" : "already promoted",
      versionId: token,
      keyId,
    };
  }
  // The AWSPENDING removal goes with the move (see PromoteOptions.clearPendingTogether): one round
  // trip, and no moment in which a racing writer on moto could strip AWSCURRENT off the version.
  const { moved } = await services.store.promote(arn, token, {
    known: description,
    clearPendingTogether: true,
  });
  if (!moved) await settleRace(services, description, token, keyId);
  // Counted once per rotation: by the run whose move it was.
  if (moved) {
    services.events.emit("rotation:promoted", {
      secretArn: arn,
      versionId: token,
      keyId,
      ...(previousVersionId === undefined ? {} : { previousVersionId }),
      ...(previousKeyId === undefined ? {} : { previousKeyId }),
    });
  }
  return {
    value: { promoted: moved, ...(previousVersionId === undefined ? {} : { previousVersionId }) },
    outcome: `AWSCURRENT → version ${token} (key ${keyId}); AWSPREVIOUS → ${previousVersionId ?? "none"}`,
    versionId: token,
    keyId,
  };
}

/** Another run promoted the token: revoke every key named after it that the version does not hold. */
async function settleRace(
  services: RotatorServices,
  description: SecretDescription,
  token: string,
  keyId: string,
) {
  const arn = description.arn;
  const held = await readVersion(services, arn, token);
  const heldId = held.payload?.keyId;
  if (heldId === undefined || held.payload === undefined) return;
  const named = await services.client.findApiKeysByName({
    projectId: held.payload.projectId,
    name: held.payload.keyName,
  });
  const losers = new Set(named.map((key) => key.id).filter((id) => id !== heldId));
  if (keyId !== heldId) losers.add(keyId);
  for (const loser of losers) {
    await revokeKey(services, arn, { keyId: loser, versionId: token, reason: "lost-race" });
  }
}

function describedAs(state: SecretState, labels: Record<string, string[]>): SecretDescription {
  const description: SecretDescription = {
    arn: state.policy.arn,
    name: state.policy.name,
    tags: {},
    versionIdsToStages: labels,
    currentVersionId: state.current.versionId,
  };
  const pending = stageHolder(labels, AWSPENDING);
  if (pending !== undefined) description.pendingVersionId = pending;
  return description;
}

function stagedFrom(token: string, payload: SecretPayload, how: StagedKey["how"]): StagedKey {
  return { versionId: token, keyId: payload.keyId, key: redactKey(payload.apiKey), how };
}

function stagedOutcome(staged: StagedKey, minted: CreatedApiKey) {
  return {
    outcome:
      staged.how === "minted"
        ? `minted key ${staged.keyId} for version ${staged.versionId}`
        : `another rotator staged key ${staged.keyId} in version ${staged.versionId} first; revoked ours (${minted.key.id})`,
    versionId: staged.versionId,
    keyId: staged.keyId,
  };
}

function setOutcome(token: string) {
  return {
    value: undefined,
    outcome: "nothing to do: LlamaCloud minted the key server-side in createSecret",
    versionId: token,
  };
}

function notPending(arn: string, token: string, step: StepName): RotatorError {
  return new RotatorError(
    "ROTATOR_INTERRUPTED",
    `${step}: version ${token} of ${arn} is neither AWSPENDING nor AWSCURRENT: another run abandoned it. ` +
      `Nothing was changed; rerun \`llamacloud-keys rotate --secret ${arn}\` to start a fresh attempt.`,
    { secretId: arn, versionId: token, step },
  );
}
