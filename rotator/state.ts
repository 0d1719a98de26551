import type { LlamaCloudClient } from "../llamacloud/client";
import { parseKeyName } from "../llamacloud/key-name";
import type { ApiKeyInfo } from "../llamacloud/schemas";
import { isSecretsError } from "../secrets/errors";
import type { SecretPayload } from "../secrets/payload";
import {
  AWSCURRENT,
  type AWSPENDING,
  type AWSPREVIOUS,
  type SecretDescription,
  type SecretStore,
  type SecretVersionInfo,
} from "../secrets/store";
import { readManagementTags, TAG_ENVIRONMENT, TAG_GRACE, TAG_MANAGED, TAG_PROJECT_ID } from "../secrets/tags";
import { RotatorError } from "./errors";
import type { RotatorEmitter } from "./events";
import { rotationToken } from "./naming";
import { readVersion, refreshView, type SecretView } from "./secret-view";

/**
 * What one secret looks like to the rotator, read from Secrets Manager (versions, labels, tags,
 * payloads) and LlamaCloud (live keys), plus the policy numbers every decision uses. Nothing here
 * writes; `plan.ts` decides from a {@link SecretState}, `steps.ts` acts.
 */

/** Invariant 3's floor: LlamaCloud may keep accepting a revoked key for up to a minute. */
export const GRACE_FLOOR_MS = 60_000;
/** Grace when the secret has no `llamacloud-keys:grace` tag: outlasts AWS's hourly caching clients. */
export const DEFAULT_GRACE_MS = 2 * 3_600_000;
/**
 * Secrets Manager records when a version was written, not when it became AWSCURRENT. The rotator
 * writes the pending version, tests it and promotes it within seconds; it refuses to promote a
 * pending version older than {@link PROMOTE_WITHIN_MS} (it abandons it and stages a fresh one). So
 * the version that is AWSCURRENT became current at most this long after it was written, and a key
 * displaced by it stopped being current no later than `created(AWSCURRENT) + STAGING_WINDOW_MS`:
 * that is where its grace starts. Also the age below which a key named like ours but held by no
 * version is presumed to be in flight (another rotator or `pulumi up` about to write it).
 */
export const STAGING_WINDOW_MS = 5 * 60_000;
/** A pending version older than this is abandoned rather than promoted (margin for the promote call). */
export const PROMOTE_WITHIN_MS = 4 * 60_000;
/** Attempts (tokens) per rotation away from one version before the rotator gives up. */
export const MAX_ATTEMPTS = 10;

/** What a step needs: the two services, the clock, the event stream, and a stop signal. */
export interface RotationContext {
  store: SecretStore;
  /** Authenticates with the rotator's LlamaCloud key (mints, lists and revokes keys). */
  client: LlamaCloudClient;
  events: RotatorEmitter;
  /**
   * The clock for policy decisions (is the secret due? has grace passed?), in milliseconds since the
   * epoch. Injected so tests control time; shifted by the `LLAMACLOUD_KEYS_NOW_OFFSET_MS` knob.
   */
  now: () => number;
  /**
   * The unshifted wall clock, for physical waits measured against Secrets Manager and LlamaCloud
   * timestamps: how long a pending version has waited, how old an unclaimed key is. `Date.now`
   * when unset.
   */
  wallNow?: () => number;
  /**
   * The configured key-name prefix (`--prefix`, `llamacloud-keys` unless configured). Only a
   * fallback: each secret's keys keep the prefix its own key names carry (see {@link SecretState.keyPrefix}).
   */
  prefix: string;
  /** Aborted by the pass deadline or a shutdown: the rotation stops at the next step boundary. */
  signal?: AbortSignal;
  /** Waits before re-testing a refused pending key; `steps.ts` has the default. */
  testRetryDelaysMs?: readonly number[];
}

/** A managed secret's management tags, validated. */
export interface SecretPolicy {
  arn: string;
  name: string;
  projectId: string;
  environment: string;
  /** Absent: the secret rotates only when forced. */
  rotateEveryMs?: number;
  graceMs: number;
}

/** One version of the secret and, when it could be read, its payload. */
export interface VersionView {
  versionId: string;
  stages: string[];
  createdDate: Date;
  payload?: SecretPayload;
  /** Why the payload could not be read (a foreign value); never the value. */
  payloadError?: string;
}

export interface SecretState {
  policy: SecretPolicy;
  description: SecretDescription;
  /** Every version, unlabelled (deprecated) ones included. */
  versions: SecretVersionInfo[];
  current: VersionView & { payload: SecretPayload };
  pending?: VersionView;
  previous?: VersionView;
  /**
   * Payloads of unlabelled versions that a live key's name points at, by version id (read only for
   * those: a secret may have a hundred deprecated versions).
   */
  retired: Map<string, VersionView>;
  /** The rotator user's live keys in the secret's project. */
  liveKeys: ApiKeyInfo[];
  /**
   * The key-name prefix new keys of this secret get: the prefix of the AWSCURRENT key's name (see
   * {@link secretKeyPrefixes}), the configured one only when that name is not one of ours.
   */
  keyPrefix: string;
  /**
   * Every prefix this secret's own keys are known to carry. A key is this secret's iff its name
   * parses (`llamacloud/key-name.ts`) to the secret's project and environment and one of these.
   */
  knownPrefixes: ReadonlySet<string>;
}

/** What a new version's payload and key name copy from the secret's current state. */
export interface NewKeyTemplate {
  organizationId: string | null;
  baseUrl: string;
  /** The prefix of the new key's name: {@link SecretState.keyPrefix}. */
  keyPrefix: string;
}

/** The {@link NewKeyTemplate} of the secret's next key. */
export function newKeyTemplate(state: SecretState): NewKeyTemplate {
  return {
    organizationId: state.current.payload.organizationId,
    baseUrl: state.current.payload.baseUrl,
    keyPrefix: state.keyPrefix,
  };
}

/**
 * The key-name prefixes of one secret. Each `ApiKey` resource may name its keys with its own prefix
 * (its `name`), so the rotator takes the prefix from the secret itself rather than from `--prefix`:
 * - for new keys: the prefix of the AWSCURRENT key's live name in LlamaCloud (the provider renames
 *   the key in place when `name` changes; the payload, being immutable, keeps the old name), else
 *   of the payload's `keyName`, else, when neither parses to this project and environment (a
 *   hand-made first key), the configured prefix;
 * - known: that prefix plus the prefixes of every name the labelled versions' keys carry (payload
 *   and live), so keys named before a rename are still recognised. The configured prefix is known
 *   only as the fallback: another secret for the same project and environment may use it, and its
 *   keys must never look like this secret's orphans.
 */
export function secretKeyPrefixes(
  configured: string,
  policy: Pick<SecretPolicy, "projectId" | "environment">,
  liveKeys: readonly ApiKeyInfo[],
  current: SecretPayload,
  others: readonly (SecretPayload | undefined)[] = [],
): { keyPrefix: string; knownPrefixes: Set<string> } {
  const ownPrefix = (name: string | null | undefined): string | undefined => {
    const parts = parseKeyName(name);
    return parts !== undefined &&
      parts.projectId === policy.projectId &&
      parts.environment === policy.environment
      ? parts.prefix
      : undefined;
  };
  const liveName = (keyId: string) => liveKeys.find((key) => key.id === keyId)?.name;
  const keyPrefix = ownPrefix(liveName(current.keyId)) ?? ownPrefix(current.keyName) ?? configured;
  const knownPrefixes = new Set([keyPrefix]);
  for (const payload of [current, ...others]) {
    if (payload === undefined) continue;
    for (const name of [payload.keyName, liveName(payload.keyId)]) {
      const prefix = ownPrefix(name);
      if (prefix !== undefined) knownPrefixes.add(prefix);
    }
  }
  return { keyPrefix, knownPrefixes };
}

/**
 * The version id a key name carries when the name is this secret's (see
 * {@link SecretState.knownPrefixes}); undefined for every other name, which is never touched.
 */
export function versionIdOfKey(
  state: Pick<SecretState, "policy" | "knownPrefixes">,
  name: string | null,
): string | undefined {
  const parts = parseKeyName(name);
  if (parts === undefined) return undefined;
  const { projectId, environment } = state.policy;
  if (parts.projectId !== projectId || parts.environment !== environment) return undefined;
  return state.knownPrefixes.has(parts.prefix) ? parts.token : undefined;
}

/**
 * Reads and validates the management tags. Throws ROTATOR_UNMANAGED (not managed, or no project or
 * environment tag), SECRET_INVALID_TAG (an unparsable tag) or ROTATOR_GRACE_TOO_SHORT.
 */
export function readPolicy(description: SecretDescription): SecretPolicy {
  const arn = description.arn;
  const tags = readManagementTags(description.tags, arn);
  if (!tags.managed) {
    throw new RotatorError(
      "ROTATOR_UNMANAGED",
      `Secret ${arn} is not managed by llamacloud-keys (tag ${TAG_MANAGED} is not "true"); the rotator leaves it alone. ` +
        `To manage it, tag it: aws secretsmanager tag-resource --secret-id ${arn} --tags Key=${TAG_MANAGED},Value=true`,
      { secretId: arn, step: "guard" },
    );
  }
  for (const [tag, value] of [
    [TAG_PROJECT_ID, tags.projectId],
    [TAG_ENVIRONMENT, tags.environment],
  ] as const) {
    if (value === undefined) {
      throw new RotatorError(
        "ROTATOR_UNMANAGED",
        `Secret ${arn} is tagged ${TAG_MANAGED}=true but has no ${tag} tag, so the rotator cannot tell which ` +
          `LlamaCloud keys are its own. Add it: aws secretsmanager tag-resource --secret-id ${arn} --tags Key=${tag},Value=<value>`,
        { secretId: arn, step: "guard" },
      );
    }
  }
  const graceMs = tags.graceMs ?? DEFAULT_GRACE_MS;
  if (graceMs < GRACE_FLOOR_MS) {
    throw new RotatorError(
      "ROTATOR_GRACE_TOO_SHORT",
      `Tag ${TAG_GRACE} on secret ${arn} is ${JSON.stringify(description.tags[TAG_GRACE])}; grace must be at least 60s: ` +
        "LlamaCloud revocation can take up to a minute, and readers cache the key. Nothing was changed. " +
        `Fix it: aws secretsmanager tag-resource --secret-id ${arn} --tags Key=${TAG_GRACE},Value=2h`,
      { secretId: arn, step: "guard" },
    );
  }
  return {
    arn,
    name: description.name,
    projectId: tags.projectId as string,
    environment: tags.environment as string,
    ...(tags.rotateEveryMs === undefined ? {} : { rotateEveryMs: tags.rotateEveryMs }),
    graceMs,
  };
}

/** How a managed secret with no AWSCURRENT version is reported (`rotate` and `status`). */
export const NO_KEY_YET = "no key yet (the provider has not written it)";

/**
 * What the guard found: the secret's state, or a managed secret whose first key has not been
 * written yet. `ProjectKeys` creates and tags the secret before its `ApiKey` writes the first
 * version, so a pass may run in between; there is nothing to rotate or sweep, and nothing is wrong.
 */
export type SecretReading =
  | { kind: "state"; state: SecretState }
  | { kind: "no-key-yet"; policy: SecretPolicy };

/**
 * Everything the rotator needs to know about one secret ({@link inspectSecret}), where the secret
 * must hold a key: a managed secret with no AWSCURRENT version throws ROTATOR_NO_KEY_YET.
 */
export async function readSecretState(
  ctx: RotationContext,
  secretId: string,
  options: InspectOptions = {},
): Promise<SecretState> {
  const reading = await inspectSecret(ctx, secretId, options);
  if (reading.kind === "state") return reading.state;
  const { arn } = reading.policy;
  throw new RotatorError(
    "ROTATOR_NO_KEY_YET",
    `Secret ${arn} has no AWSCURRENT version: ${NO_KEY_YET}. The rotator leaves it alone until \`pulumi up\` ` +
      "(its ApiKey resource) writes the first key.",
    { secretId: arn, step: "guard" },
  );
}

export interface InspectOptions {
  /** What the pass has read so far: its payloads are reused (and new ones added), its description replaced. */
  view?: SecretView;
  /**
   * Labels and versions the pass already knows (its own writes applied), used instead of reading
   * them (DescribeSecret, ListSecretVersionIds); the live keys are still listed afresh. For planning
   * only: every act the plan leads to re-checks Secrets Manager (see `secret-view.ts`).
   */
  known?: { description: SecretDescription; versions: SecretVersionInfo[] };
}

/**
 * Everything the rotator needs to know about one secret: the template's guard (DescribeSecret, the
 * AWSCURRENT value must be our payload) plus the other labelled versions, the version list, the
 * live keys and the secret's key-name prefixes; `no-key-yet` for a managed secret with no
 * AWSCURRENT version. Throws (nothing written) when the secret cannot be rotated safely.
 */
export async function inspectSecret(
  ctx: RotationContext,
  secretId: string,
  options: InspectOptions = {},
): Promise<SecretReading> {
  const { view, known } = options;
  const description = known?.description ?? (await ctx.store.describe(secretId));
  refreshView(view, description);
  if (description.deletedDate !== undefined) {
    throw new RotatorError(
      "ROTATOR_UNMANAGED",
      `Secret ${description.arn} is scheduled for deletion (${description.deletedDate.toISOString()}); the rotator ` +
        `does not touch it. Restore it first: aws secretsmanager restore-secret --secret-id ${description.arn}`,
      { secretId: description.arn, step: "guard" },
    );
  }
  const policy = readPolicy(description);
  const arn = description.arn;
  const currentId = description.currentVersionId;
  // Nothing read, nothing written: no payload to check, no key to rotate, no prefix to sweep by.
  if (currentId === undefined) return { kind: "no-key-yet", policy };
  // The template's guard: the current value must be readable and ours (throws SECRET_MALFORMED_PAYLOAD).
  const currentReading = await readVersion(ctx, arn, currentId, view);
  const payload = currentReading.payload;
  if (payload.projectId !== policy.projectId || payload.environment !== policy.environment) {
    throw new RotatorError(
      "ROTATOR_SECRET_MISMATCH",
      `Version ${currentId} of secret ${arn} holds a key for project ${payload.projectId} / environment ` +
        `${payload.environment}, but the secret's tags say ${policy.projectId} / ${policy.environment}. The rotator ` +
        "will not guess which is right: fix the tags (or the secret) so they agree.",
      { secretId: arn, versionId: currentId, keyId: payload.keyId, step: "guard" },
    );
  }
  if (trimSlash(payload.baseUrl) !== trimSlash(ctx.client.baseUrl)) {
    throw new RotatorError(
      "ROTATOR_SECRET_MISMATCH",
      `Secret ${arn} holds a key for ${payload.baseUrl}, but the rotator talks to ${ctx.client.baseUrl}; a key minted ` +
        "there would not work for this secret's readers. Run a rotator with LLAMA_CLOUD_BASE_URL (and a key) for " +
        `${payload.baseUrl}, or leave this secret out with --secret.`,
      { secretId: arn, versionId: currentId, step: "guard" },
    );
  }

  const versions = known?.versions ?? (await ctx.store.listVersions(arn));
  const created = new Map(versions.map((v) => [v.versionId, v.createdDate]));
  const versionView = async (versionId: string | undefined): Promise<VersionView | undefined> => {
    if (versionId === undefined) return undefined;
    const stages = description.versionIdsToStages[versionId] ?? [];
    try {
      const reading = await readVersion(ctx, arn, versionId, view);
      return { versionId, stages, createdDate: reading.createdDate, payload: reading.payload };
    } catch (error) {
      // Another tool's value under AWSPENDING/AWSPREVIOUS: report it, decide without it.
      if (!isSecretsError(error, "SECRET_MALFORMED_PAYLOAD")) throw error;
      return {
        versionId,
        stages,
        createdDate: created.get(versionId) ?? new Date(0),
        payloadError: error.message,
      };
    }
  };
  const pendingId = description.pendingVersionId;
  const previousId = description.previousVersionId;
  const pending = await versionView(pendingId);
  const previous = previousId === currentId ? undefined : await versionView(previousId);
  const liveKeys = await ctx.client.listApiKeys({ projectId: policy.projectId });
  const prefixes = secretKeyPrefixes(ctx.prefix, policy, liveKeys, payload, [
    pending?.payload,
    previous?.payload,
  ]);

  // Unlabelled versions that a live key of ours is named after: did they hold that key?
  const retired = new Map<string, VersionView>();
  const labelled = new Set([currentId, pendingId, previousId]);
  for (const key of liveKeys) {
    const versionId = versionIdOfKey({ policy, knownPrefixes: prefixes.knownPrefixes }, key.name);
    if (versionId === undefined || labelled.has(versionId) || retired.has(versionId)) continue;
    if (!created.has(versionId)) continue;
    const retiredView = await versionView(versionId);
    if (retiredView !== undefined) retired.set(versionId, retiredView);
  }

  const state: SecretState = {
    policy,
    description,
    versions,
    current: {
      versionId: currentId,
      stages: description.versionIdsToStages[currentId] ?? [AWSCURRENT],
      createdDate: currentReading.createdDate,
      payload,
    },
    retired,
    liveKeys,
    keyPrefix: prefixes.keyPrefix,
    knownPrefixes: prefixes.knownPrefixes,
  };
  if (pending !== undefined) state.pending = pending;
  if (previous !== undefined) state.previous = previous;
  return { kind: "state", state };
}

/** When the key displaced by the current version may be revoked (see {@link STAGING_WINDOW_MS}). */
export function revokeAt(state: SecretState, revokeNow = false): number {
  if (revokeNow) return Number.NEGATIVE_INFINITY;
  return state.current.createdDate.getTime() + STAGING_WINDOW_MS + state.policy.graceMs;
}

/** When the current key is due for rotation; undefined when the secret has no `rotate-every` tag. */
export function dueAt(state: SecretState): number | undefined {
  const every = state.policy.rotateEveryMs;
  return every === undefined ? undefined : state.current.createdDate.getTime() + every;
}

/** True when `keyId` is among the rotator user's live keys of the project. */
export function isLive(state: SecretState, keyId: string | undefined): boolean {
  return keyId !== undefined && state.liveKeys.some((key) => key.id === keyId);
}

/**
 * The token of the next attempt to rotate away from the current version: the first deterministic
 * token that is not yet a version. Earlier tokens that are versions without labels are attempts
 * that were abandoned (failed test, stale); every rotator reading the same state picks the same one.
 */
export function nextToken(state: SecretState): { token: string; attempt: number } {
  const existing = new Set(state.versions.map((v) => v.versionId));
  for (const [versionId, stages] of Object.entries(state.description.versionIdsToStages)) {
    if (stages.length > 0) existing.add(versionId);
  }
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

/** The labels a version carries in the state's DescribeSecret. */
export function stagesOf(state: SecretState, versionId: string): string[] {
  return state.description.versionIdsToStages[versionId] ?? [];
}

export function hasStage(
  state: SecretState,
  versionId: string,
  stage: typeof AWSPENDING | typeof AWSPREVIOUS,
) {
  return stagesOf(state, versionId).includes(stage);
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, "");
}
