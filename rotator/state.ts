import { isHandMadeName, secretKeyPrefixes } from "../llamacloud/key-ownership";
import type { ApiKeyInfo } from "../llamacloud/schemas";
import { isSecretsError } from "../secrets/errors";
import type { SecretPayload } from "../secrets/payload";
import {
  AWSCURRENT,
  type ManagedSecretSummary,
  type PayloadReading,
  type SecretDescription,
  type SecretRotationInfo,
} from "../secrets/store";
import { RotatorError } from "./errors";
import { readPolicy, type SecretPolicy } from "./policy";
import { projectKeys, type RotatorServices } from "./services";

/**
 * Reading one secret: the template's guard (DescribeSecret and the AWSCURRENT value, together) plus
 * the project's live keys, as a {@link SecretState} that `plan.ts` decides from. The only I/O of the
 * rotator that is not a step; nothing here writes.
 *
 * What is read, and why no more: the labels (DescribeSecret, or the pass's ListSecrets entry, which
 * carries the same tags and labels), AWSCURRENT's value (its payload and CreatedDate: due-ness and
 * grace), the project's live keys (one list per project per pass). AWSPENDING's value only when
 * that label exists (an interrupted rotation); AWSPREVIOUS's only when its key could be a hand-made
 * one (a live key whose name llamacloud-keys did not build): the rotator's own keys are named after
 * the version that holds them, so their names say which version they belong to.
 */

/** One version of the secret and, when it was read, its payload. */
export interface VersionView {
  versionId: string;
  /** When the version was written (GetSecretValue's CreatedDate); absent when not read. */
  createdDate?: Date;
  payload?: SecretPayload;
  /** Why the payload could not be read (a foreign value); never the value. */
  payloadError?: string;
  /** True for the empty AWSPENDING version Secrets Manager's RotateSecret creates before createSecret. */
  empty?: boolean;
}

export interface SecretState {
  policy: SecretPolicy;
  /** Labels by version id, as DescribeSecret (or ListSecrets) reported them. */
  versionIdsToStages: Record<string, string[]>;
  current: VersionView & { payload: SecretPayload; createdDate: Date };
  pending?: VersionView;
  /** AWSPREVIOUS's version; its payload only when it was needed (see above). */
  previous?: VersionView;
  /** The rotator user's live keys in the secret's project. */
  liveKeys: ApiKeyInfo[];
  /** The prefix the secret's next key is named with (`llamacloud/key-ownership.ts`). */
  keyPrefix: string;
  /** Every prefix this secret's own keys are known to carry. */
  knownPrefixes: ReadonlySet<string>;
  /** The versions asked for with `ReadOptions.versions`, read. */
  read?: Map<string, VersionView>;
  /** Every version id, unlabelled ones included, when `ReadOptions.listVersions` asked for them. */
  allVersionIds?: ReadonlySet<string>;
  /** Secrets Manager's native rotation settings, when set (see `native.ts`). */
  rotation?: SecretRotationInfo;
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

export interface ReadOptions {
  /** The secret's ListSecrets entry from this pass: its tags and labels, instead of a DescribeSecret. */
  listed?: ManagedSecretSummary;
  /** Versions whose values to read too, e.g. a step's token (absent values are `empty`). */
  versions?: string[];
  /**
   * Also list every version id, unlabelled ones included (ListSecretVersionIds): only after a token
   * turned out to be taken, since AWS's DescribeSecret leaves unlabelled versions out.
   */
  listVersions?: boolean;
  /** Read every labelled version's value (for `status`, which reports them). */
  allLabelled?: boolean;
}

/**
 * Reads one secret (see the module doc). Throws (nothing written) when the secret cannot be rotated
 * safely: not managed, pending deletion, a payload that is not ours or disagrees with the tags or
 * with the rotator's LlamaCloud host.
 */
export async function readSecret(
  services: RotatorServices,
  secretId: string,
  options: ReadOptions = {},
): Promise<SecretReading> {
  const { listed } = options;
  // The value by label, in parallel with the labels: the template's guard in one round trip.
  const currentValue =
    listed !== undefined && !hasStage(listed.versionIdsToStages, AWSCURRENT)
      ? Promise.resolve(undefined)
      : settle(services.store.readPayload(listed?.arn ?? secretId, { stage: AWSCURRENT }));
  // With the pass's listing, the project is known before anything is read: list its keys at once.
  const earlyPolicy = listed === undefined ? undefined : safePolicy(listed);
  const earlyKeys =
    earlyPolicy === undefined ? undefined : settle(projectKeys(services, earlyPolicy.projectId));
  const description: Pick<
    SecretDescription,
    "arn" | "name" | "tags" | "versionIdsToStages" | "deletedDate" | "rotation"
  > = listed ?? (await services.store.describe(secretId));
  if (description.deletedDate !== undefined) {
    throw new RotatorError(
      "ROTATOR_UNMANAGED",
      `Secret ${description.arn} is scheduled for deletion (${description.deletedDate.toISOString()}); the rotator ` +
        `does not touch it. Restore it first: aws secretsmanager restore-secret --secret-id ${description.arn}`,
      { secretId: description.arn, step: "guard" },
    );
  }
  const policy = earlyPolicy ?? readPolicy(description);
  const arn = description.arn;
  const labels = description.versionIdsToStages;
  const currentId = stageHolder(labels, AWSCURRENT);
  // Nothing read, nothing written: no payload to check, no key to rotate, no prefix to sweep by.
  if (currentId === undefined) return { kind: "no-key-yet", policy };
  const keysPromise = earlyKeys ?? settle(projectKeys(services, policy.projectId));
  const currentReading = unwrap(await currentValue);
  if (currentReading === undefined) return { kind: "no-key-yet", policy };
  const payload = currentReading.payload;
  checkCurrent(services, policy, currentReading);

  const pendingId = stageHolder(labels, "AWSPENDING");
  const previousId = stageHolder(labels, "AWSPREVIOUS");
  const extra = new Set(options.versions ?? []);
  if (pendingId !== undefined && pendingId !== currentReading.versionId) extra.add(pendingId);
  const liveKeys = unwrap(await keysPromise) as ApiKeyInfo[];
  const needPrevious =
    previousId !== undefined &&
    previousId !== currentReading.versionId &&
    liveKeys.some((key) => key.id !== payload.keyId && isHandMadeName(key.name));
  if (needPrevious || (options.allLabelled === true && previousId !== undefined)) extra.add(previousId);
  extra.delete(currentReading.versionId);
  const views = new Map<string, VersionView>();
  const listing = options.listVersions === true ? services.store.listVersions(arn) : undefined;
  await Promise.all(
    [...extra].map(async (versionId) => views.set(versionId, await readVersion(services, arn, versionId))),
  );

  const current = {
    versionId: currentReading.versionId,
    createdDate: currentReading.createdDate,
    payload,
  };
  const viewOf = (versionId: string | undefined): VersionView | undefined =>
    versionId === undefined
      ? undefined
      : versionId === current.versionId
        ? current
        : (views.get(versionId) ?? { versionId });
  const pending = viewOf(pendingId);
  const previous = previousId === current.versionId ? undefined : viewOf(previousId);
  const held = (view: VersionView | undefined) => view?.payload;
  const prefixes = secretKeyPrefixes(services.prefix, policy, liveKeys, payload, [
    held(pending),
    held(previous),
  ]);
  const state: SecretState = {
    policy,
    versionIdsToStages: labels,
    current,
    liveKeys,
    keyPrefix: prefixes.keyPrefix,
    knownPrefixes: prefixes.knownPrefixes,
  };
  if (pending !== undefined) state.pending = pending;
  if (previous !== undefined) state.previous = previous;
  if (description.rotation !== undefined) state.rotation = description.rotation;
  if (listing !== undefined) state.allVersionIds = new Set((await listing).map((v) => v.versionId));
  if (options.versions !== undefined) {
    state.read = new Map(options.versions.map((id) => [id, viewOf(id) as VersionView]));
  }
  return { kind: "state", state };
}

/** {@link readSecret} with every labelled value read: what `status` reports. */
export function inspectSecret(services: RotatorServices, secretId: string): Promise<SecretReading> {
  return readSecret(services, secretId, { allLabelled: true });
}

/** {@link readSecret} where the secret must hold a key: a managed secret with no AWSCURRENT throws ROTATOR_NO_KEY_YET. */
export async function readSecretState(
  services: RotatorServices,
  secretId: string,
  options: ReadOptions = {},
): Promise<SecretState> {
  const reading = await readSecret(services, secretId, options);
  if (reading.kind === "state") return reading.state;
  const { arn } = reading.policy;
  throw new RotatorError(
    "ROTATOR_NO_KEY_YET",
    `Secret ${arn} has no AWSCURRENT version: ${NO_KEY_YET}. The rotator leaves it alone until \`pulumi up\` ` +
      "(its ApiKey resource) writes the first key.",
    { secretId: arn, step: "guard" },
  );
}

/** One version's value: its payload, `empty` when the version has none yet, or why it is not ours. */
export async function readVersion(
  services: RotatorServices,
  arn: string,
  versionId: string,
): Promise<VersionView> {
  try {
    const reading = await services.store.readPayload(arn, { versionId });
    return { versionId, createdDate: reading.createdDate, payload: reading.payload };
  } catch (error) {
    // The empty AWSPENDING version RotateSecret creates: GetSecretValue answers ResourceNotFound.
    if (isSecretsError(error, "SECRET_NOT_FOUND")) return { versionId, empty: true };
    // Another tool's value under AWSPENDING/AWSPREVIOUS: report it, decide without it.
    if (isSecretsError(error, "SECRET_MALFORMED_PAYLOAD")) return { versionId, payloadError: error.message };
    throw error;
  }
}

/** The version carrying `stage`, if any. */
export function stageHolder(labels: Record<string, string[]>, stage: string): string | undefined {
  for (const [versionId, stages] of Object.entries(labels)) {
    if (stages.includes(stage)) return versionId;
  }
  return undefined;
}

function hasStage(labels: Record<string, string[]>, stage: string): boolean {
  return stageHolder(labels, stage) !== undefined;
}

/** The template's guard on the current value: ours, for the tagged project, on our LlamaCloud host. */
function checkCurrent(services: RotatorServices, policy: SecretPolicy, reading: PayloadReading): void {
  const { arn } = policy;
  const { payload, versionId } = reading;
  if (payload.projectId !== policy.projectId || payload.environment !== policy.environment) {
    throw new RotatorError(
      "ROTATOR_SECRET_MISMATCH",
      `Version ${versionId} of secret ${arn} holds a key for project ${payload.projectId} / environment ` +
        `${payload.environment}, but the secret's tags say ${policy.projectId} / ${policy.environment}. The rotator ` +
        "will not guess which is right: fix the tags (or the secret) so they agree.",
      { secretId: arn, versionId, keyId: payload.keyId, step: "guard" },
    );
  }
  if (trimSlash(payload.baseUrl) !== trimSlash(services.client.baseUrl)) {
    throw new RotatorError(
      "ROTATOR_SECRET_MISMATCH",
      `Secret ${arn} holds a key for ${payload.baseUrl}, but the rotator talks to ${services.client.baseUrl}; a key minted ` +
        "there would not work for this secret's readers. Run a rotator with LLAMA_CLOUD_BASE_URL (and a key) for " +
        `${payload.baseUrl}, or leave this secret out with --secret.`,
      { secretId: arn, versionId, step: "guard" },
    );
  }
}

function safePolicy(listed: ManagedSecretSummary): SecretPolicy | undefined {
  try {
    return readPolicy(listed);
  } catch {
    return undefined; // reported by the guard proper, with the same message
  }
}

type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** A promise that never rejects unobserved: the parallel reads are awaited one by one. */
function settle<T>(promise: Promise<T>): Promise<Settled<T>> {
  return promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

function unwrap<T>(settled: Settled<T> | undefined): T | undefined {
  if (settled === undefined) return undefined;
  if (!settled.ok) throw settled.error;
  return settled.value;
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, "");
}
