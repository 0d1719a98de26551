import {
  CancelRotateSecretCommand,
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  type GetSecretValueCommandOutput,
  PutSecretValueCommand,
  paginateListSecrets,
  paginateListSecretVersionIds,
  RestoreSecretCommand,
  RotateSecretCommand,
  SecretsManagerClient,
  type SecretsManagerClientConfig,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateSecretVersionStageCommand,
} from "@aws-sdk/client-secrets-manager";
import {
  type AwsCallContext,
  isPendingDeletionError,
  scheduledForDeletionMessage,
  toSecretsError,
} from "./aws-errors";
import { nonEmpty } from "./env";
import {
  isSecretsError,
  MalformedPayloadError,
  SecretInvalidRequestError,
  SecretNotFoundError,
  SecretScheduledForDeletionError,
  type SecretsErrorCode,
  SecretTokenConflictError,
} from "./errors";
import {
  checkPayload,
  parsePayload,
  type SecretPayload,
  type SecretPayloadInput,
  serializePayload,
} from "./payload";
import type { RotationRules } from "./rotation-rules";
import { AWSCURRENT, AWSPENDING, AWSPREVIOUS, type StagingLabel } from "./stages";
import { TAG_MANAGED } from "./tags";

export { AWSCURRENT, AWSPENDING, AWSPREVIOUS, type StagingLabel } from "./stages";

/** Static credentials or a provider, as the AWS SDK accepts them. */
export type SecretStoreCredentials = SecretsManagerClientConfig["credentials"];

/** One Secrets Manager call, reported to {@link SecretStoreOptions.onCall}. Holds no values. */
export interface StoreCallEvent {
  /** The Secrets Manager operation, e.g. `GetSecretValue`. */
  operation: string;
  /** The secret as the caller named it; absent for ListSecrets. */
  secretId?: string;
  durationMs: number;
  /** Set when the call failed: the {@link SecretsError} code it was mapped to. */
  error?: SecretsErrorCode;
}

export interface SecretStoreOptions {
  /** Defaults to `AWS_REGION`, then `AWS_DEFAULT_REGION`, then the SDK's own resolution (profile). */
  region?: string;
  /** Defaults to `AWS_ENDPOINT_URL_SECRETS_MANAGER`, then `AWS_ENDPOINT_URL`, then AWS's endpoint. */
  endpoint?: string;
  /** Defaults to the SDK's standard credential chain. */
  credentials?: SecretStoreCredentials;
  /** Attempts per call including the first (SDK retry strategy); the SDK default is 3. */
  maxAttempts?: number;
  /**
   * Called after every Secrets Manager call, for logs and metrics. Gets the operation, secret id,
   * duration and error code, never a value. Exceptions it throws are ignored.
   */
  onCall?: (event: StoreCallEvent) => void;
  /** Page size for ListSecrets and ListSecretVersionIds (1–100); AWS's default when unset. */
  pageSize?: number;
  /** Environment to read defaults from; `process.env` when unset. */
  env?: Record<string, string | undefined>;
}

/** A secret's metadata as DescribeSecret reports it. */
export interface SecretDescription {
  arn: string;
  name: string;
  description?: string;
  kmsKeyId?: string;
  tags: Record<string, string>;
  /** Every version that still has a label, and its labels. */
  versionIdsToStages: Record<string, string[]>;
  /** Set when the secret is pending deletion (DescribeSecret's `DeletedDate`). */
  deletedDate?: Date;
  createdDate?: Date;
  currentVersionId?: string;
  pendingVersionId?: string;
  previousVersionId?: string;
  /** Native rotation settings (DescribeSecret's rotation fields); see {@link SecretRotationInfo}. */
  rotation?: SecretRotationInfo;
}

/**
 * What Secrets Manager records about a secret's native rotation. Present only when the secret has
 * a rotation Lambda or rotation enabled: a secret rotated by the rotator daemon has none.
 */
export interface SecretRotationInfo {
  enabled: boolean;
  lambdaArn?: string;
  lastRotatedDate?: Date;
  nextRotationDate?: Date;
  automaticallyAfterDays?: number;
  scheduleExpression?: string;
  duration?: string;
}

/** The rotation fields of a DescribeSecret or ListSecrets entry, or undefined when rotation was never set. */
function rotationInfo(out: {
  RotationEnabled?: boolean | undefined;
  RotationLambdaARN?: string | undefined;
  LastRotatedDate?: Date | undefined;
  NextRotationDate?: Date | undefined;
  RotationRules?:
    | {
        AutomaticallyAfterDays?: number | undefined;
        ScheduleExpression?: string | undefined;
        Duration?: string | undefined;
      }
    | undefined;
}): SecretRotationInfo | undefined {
  const lambdaArn = out.RotationLambdaARN === "" ? undefined : out.RotationLambdaARN;
  if (out.RotationEnabled !== true && lambdaArn === undefined) return undefined;
  const info: SecretRotationInfo = { enabled: out.RotationEnabled === true };
  if (lambdaArn !== undefined) info.lambdaArn = lambdaArn;
  if (out.LastRotatedDate !== undefined) info.lastRotatedDate = out.LastRotatedDate;
  if (out.NextRotationDate !== undefined) info.nextRotationDate = out.NextRotationDate;
  const rules = out.RotationRules;
  if (rules?.AutomaticallyAfterDays !== undefined && rules.AutomaticallyAfterDays > 0)
    info.automaticallyAfterDays = rules.AutomaticallyAfterDays;
  if (rules?.ScheduleExpression !== undefined) info.scheduleExpression = rules.ScheduleExpression;
  if (rules?.Duration !== undefined) info.duration = rules.Duration;
  return info;
}

/** Which version to read: by staging label, or by version id (= the ClientRequestToken it was written with). */
export type VersionSelector = { stage: StagingLabel } | { versionId: string };

export interface PayloadReading {
  payload: SecretPayload;
  versionId: string;
  stages: string[];
  /** When this version was written. */
  createdDate: Date;
}

export interface WriteVersionInput {
  /** The ClientRequestToken, and so the version id: 32–64 characters, e.g. a UUID. */
  token: string;
  payload: SecretPayload | SecretPayloadInput;
  stage: typeof AWSCURRENT | typeof AWSPENDING;
  /**
   * Write even though the current AWSCURRENT value is not a llamacloud-keys payload (taking over a
   * secret on purpose). Without it such a write throws SECRET_MALFORMED_PAYLOAD.
   */
  allowForeignCurrent?: boolean;
  /**
   * The id of an AWSCURRENT version the caller has already read and found to hold our payload. If
   * that version is still AWSCURRENT when the write is checked, its value is not read again:
   * versions are immutable, so it still holds what the caller validated.
   */
  verifiedCurrentVersionId?: string;
  /**
   * Write with PutSecretValue alone, for a caller that has just read the labels and validated the
   * AWSCURRENT value itself (the rotator's guard). Secrets Manager's own token check then decides:
   * the token already used with another value throws SECRET_TOKEN_CONFLICT, the same value is a
   * no-op (`created` is then reported true: unknowable without a read). moto, unlike AWS, rewrites a
   * version that still carries AWSPENDING; the caller must reconcile that (see `rotator/steps.ts`).
   */
  checkedByCaller?: boolean;
}

export interface PromoteOptions {
  /**
   * A DescribeSecret the caller already holds (e.g. the one it just read to decide to promote), used
   * instead of reading one. A stale one cannot misplace AWSCURRENT: the label is moved with
   * `RemoveFromVersionId` set to its holder in `known`, which Secrets Manager refuses unless that
   * version still holds it, and a refusal is checked against a fresh DescribeSecret as usual.
   */
  known?: SecretDescription;
  /**
   * With `known`: remove AWSPENDING from the version in the same round trip as the AWSCURRENT move
   * (two calls sent together) instead of after it. The end state is the same; the moment in which
   * the version carries both labels shrinks to nothing, which matters on moto: there a second
   * writer's PutSecretValue under the same token replaces the version's labels while it carries
   * AWSPENDING, dropping AWSCURRENT with them (AWS refuses such a write).
   */
  clearPendingTogether?: boolean;
}

export interface SecretVersionInfo {
  versionId: string;
  stages: string[];
  /** ListSecretVersionIds' date: wrong on moto (the time of the call); see {@link SecretStore.listVersions}. */
  createdDate: Date;
}

export interface CreateSecretInput {
  name: string;
  kmsKeyId?: string;
  tags?: Record<string, string>;
  description?: string;
}

export type DeleteSecretOptions = { recoveryWindowInDays?: number } | { force: true };

export interface ManagedSecretSummary {
  arn: string;
  name: string;
  tags: Record<string, string>;
  versionIdsToStages: Record<string, string[]>;
  /** Only set when `includeScheduledForDeletion` was asked for and the secret is pending deletion. */
  deletedDate?: Date;
  /** Native rotation settings, as in {@link SecretDescription.rotation}. */
  rotation?: SecretRotationInfo;
}

export interface ListManagedSecretsOptions {
  /** Overrides the store's page size for this listing. */
  pageSize?: number;
  /** Include secrets pending deletion (flagged by `deletedDate`); excluded by default. */
  includeScheduledForDeletion?: boolean;
}

/**
 * The one way this package talks to Secrets Manager. Every method maps AWS failures to a
 * {@link SecretsError} (match on `code`), whose message names the secret, the version and the fix
 * and never holds a secret value.
 */
export interface SecretStore {
  /** DescribeSecret. Throws SECRET_NOT_FOUND. A secret pending deletion is returned with `deletedDate` set. */
  describe(secretId: string): Promise<SecretDescription>;
  /**
   * GetSecretValue by staging label or version id, parsed. Throws SECRET_NOT_FOUND (no such secret,
   * label or version), SECRET_SCHEDULED_FOR_DELETION, SECRET_MALFORMED_PAYLOAD (the value is not our
   * payload), SECRET_DECRYPTION_FAILED.
   */
  readPayload(secretId: string, selector: VersionSelector): Promise<PayloadReading>;
  /**
   * Writes a version under `token` with the given label. Idempotent: if a version with this token
   * already holds the same bytes, nothing is written and `created` is false (the version's labels
   * are left as they are, as AWS does). The same token with another value throws
   * SECRET_TOKEN_CONFLICT. The payload is validated first; a secret pending deletion throws
   * SECRET_SCHEDULED_FOR_DELETION; a secret whose AWSCURRENT value is not our payload throws
   * SECRET_MALFORMED_PAYLOAD (see `allowForeignCurrent`). Secrets Manager labels the first version of a secret AWSCURRENT
   * whatever `stage` says.
   */
  writeVersion(secretId: string, input: WriteVersionInput): Promise<{ versionId: string; created: boolean }>;
  /**
   * Moves AWSCURRENT to `versionId` (Secrets Manager moves AWSPREVIOUS to the version it left), then
   * removes AWSPENDING from `versionId` if it is there. Re-runnable: on a version that is already
   * AWSCURRENT it only clears AWSPENDING, or does nothing. See {@link PromoteOptions.known}. `moved` is
   * true when this call moved AWSCURRENT, false when the version was AWSCURRENT already (or another
   * caller moved it there meanwhile).
   */
  promote(secretId: string, versionId: string, options?: PromoteOptions): Promise<{ moved: boolean }>;
  /** Removes `stage` from `versionId`; a no-op when it is not there. AWSCURRENT cannot be removed, only moved ({@link promote}). */
  removeStage(secretId: string, stage: string, versionId: string): Promise<void>;
  /**
   * ListSecretVersionIds with deprecated (unlabelled) versions, all pages.
   *
   * `createdDate` is the server's `CreatedDate` of each version, and is only as good as the server:
   * on moto (5.x, the Secrets Manager our tests run against) it is the time of the
   * ListSecretVersionIds call, the same for every version and different on every call, so the list
   * cannot order, age or compare versions there. Use it for ids and labels; use
   * {@link readPayload}'s `createdDate` (GetSecretValue's, right on both) for decisions such as
   * due-ness, grace and staleness.
   */
  listVersions(secretId: string): Promise<SecretVersionInfo[]>;
  /**
   * CreateSecret without a value (the first PutSecretValue makes the first version). Throws
   * SECRET_EXISTS when the name is taken, SECRET_SCHEDULED_FOR_DELETION when it is taken by a secret
   * pending deletion.
   */
  createSecret(input: CreateSecretInput): Promise<{ arn: string; name: string }>;
  /**
   * DeleteSecret with a recovery window (7–30 days, AWS's default 30) or, with `force`, without
   * recovery. Deleting a secret that is already pending deletion (without `force`) succeeds and
   * returns its DescribeSecret `DeletedDate`. Throws SECRET_NOT_FOUND for an unknown secret.
   */
  deleteSecret(secretId: string, options?: DeleteSecretOptions): Promise<{ deletionDate?: Date }>;
  /** RestoreSecret: cancels a scheduled deletion. */
  restoreSecret(secretId: string): Promise<void>;
  /**
   * Every secret tagged `llamacloud-keys:managed=true` (exactly), all pages. Secrets pending deletion
   * are left out unless `includeScheduledForDeletion` is set: the rotator must not touch them.
   */
  listManagedSecrets(options?: ListManagedSecretsOptions): Promise<ManagedSecretSummary[]>;
  /**
   * RotateSecret with the secret's configured rotation function and rules (native rotation): Secrets
   * Manager stages a new version under AWSPENDING and invokes the function. Resolves with the new
   * version id. `lambdaArn` repeats the configured function: AWS keeps it when omitted, moto clears it
   * (and then promotes the empty version). Optional so that other stores need not implement it.
   */
  requestRotation?(secretId: string, lambdaArn?: string): Promise<{ versionId?: string }>;
  /**
   * Turns native rotation on (or changes its function and rules): RotateSecret with
   * `RotationLambdaARN`, `RotationRules` and `RotateImmediately: false`, so nothing is rotated now;
   * Secrets Manager only runs the function's testSecret step to check the configuration (on a
   * version holding a copy of the current value, whose AWSPENDING label it then removes).
   */
  configureRotation(secretId: string, input: { lambdaArn: string; rules: RotationRules }): Promise<void>;
  /** CancelRotateSecret: turns native rotation off (the function and rules stay recorded). */
  cancelRotation(secretId: string): Promise<void>;
  /** TagResource: adds or overwrites tags. */
  tag(secretId: string, tags: Record<string, string>): Promise<void>;
  /** UntagResource: removes tags by key; absent keys are ignored. */
  untag(secretId: string, keys: string[]): Promise<void>;
  /** The secret's tags (DescribeSecret). */
  readTags(secretId: string): Promise<Record<string, string>>;
  /** Releases the SDK client's sockets. The store must not be used afterwards. */
  close(): void;
}

/** The region and endpoint a store would use, from options then the standard AWS environment variables. */
export function resolveStoreLocation(options: SecretStoreOptions = {}): {
  region?: string;
  endpoint?: string;
} {
  const env = options.env ?? process.env;
  const region = options.region ?? nonEmpty(env.AWS_REGION) ?? nonEmpty(env.AWS_DEFAULT_REGION);
  const endpoint =
    options.endpoint ?? nonEmpty(env.AWS_ENDPOINT_URL_SECRETS_MANAGER) ?? nonEmpty(env.AWS_ENDPOINT_URL);
  return { ...(region === undefined ? {} : { region }), ...(endpoint === undefined ? {} : { endpoint }) };
}

/**
 * Creates a {@link SecretStore}. The SDK client is built here, not at module scope, so the Pulumi
 * provider (which requires this module inside its methods) serializes without capturing a client.
 */
function pageSizeOf(pageSize: number | undefined): { pageSize?: number } {
  return pageSize === undefined ? {} : { pageSize };
}

export function createSecretStore(options: SecretStoreOptions = {}): SecretStore {
  const { region, endpoint } = resolveStoreLocation(options);
  const config: SecretsManagerClientConfig = {};
  if (region !== undefined) config.region = region;
  if (endpoint !== undefined) config.endpoint = endpoint;
  if (options.credentials !== undefined) config.credentials = options.credentials;
  if (options.maxAttempts !== undefined) config.maxAttempts = options.maxAttempts;
  const client = new SecretsManagerClient(config);
  const defaultPageSize = options.pageSize;

  function emit(event: StoreCallEvent): void {
    if (options.onCall === undefined) return;
    try {
      options.onCall(event);
    } catch {
      // A metrics hook must not turn a successful call into a failure.
    }
  }

  /**
   * Sends one command, reports it to onCall, and maps failures. A pending-deletion failure costs a
   * DescribeSecret to put the deletion date in the message.
   */
  async function send<T>(ctx: Omit<AwsCallContext, "region">, run: () => Promise<T>): Promise<T> {
    const started = performance.now();
    const secretId = ctx.operation === "ListSecrets" ? undefined : ctx.secretId;
    try {
      const output = await run();
      emit({
        operation: ctx.operation,
        ...(secretId === undefined ? {} : { secretId }),
        durationMs: elapsed(started),
      });
      return output;
    } catch (raw) {
      let deletedDate: Date | undefined;
      if (isPendingDeletionError(raw)) deletedDate = await deletedDateOf(ctx.secretId);
      const error = toSecretsError(raw, { ...ctx, ...(region === undefined ? {} : { region }) }, deletedDate);
      emit({
        operation: ctx.operation,
        ...(secretId === undefined ? {} : { secretId }),
        durationMs: elapsed(started),
        error: error.code,
      });
      throw error;
    }
  }

  /**
   * The client as an SDK paginator sees it: each page's call goes through {@link send}, so it is
   * reported to onCall and its failure mapped like any other call. (The paginator checks
   * `instanceof SecretsManagerClient`, hence a derived object rather than a wrapper.)
   */
  function reporting(ctx: Omit<AwsCallContext, "region">): SecretsManagerClient {
    const through = (command: Parameters<SecretsManagerClient["send"]>[0]) =>
      send(ctx, () => client.send(command));
    return Object.create(client, { send: { value: through } }) as SecretsManagerClient;
  }

  async function deletedDateOf(secretId: string): Promise<Date | undefined> {
    try {
      return (await describe(secretId)).deletedDate;
    } catch {
      return undefined;
    }
  }

  async function describe(secretId: string): Promise<SecretDescription> {
    const out = await send({ operation: "DescribeSecret", secretId }, () =>
      client.send(new DescribeSecretCommand({ SecretId: secretId })),
    );
    const versionIdsToStages: Record<string, string[]> = {};
    for (const [versionId, stages] of Object.entries(out.VersionIdsToStages ?? {})) {
      versionIdsToStages[versionId] = [...(stages ?? [])];
    }
    const description: SecretDescription = {
      arn: out.ARN ?? secretId,
      name: out.Name ?? secretId,
      tags: tagsToRecord(out.Tags),
      versionIdsToStages,
    };
    if (out.Description !== undefined) description.description = out.Description;
    if (out.KmsKeyId !== undefined) description.kmsKeyId = out.KmsKeyId;
    if (out.DeletedDate !== undefined) description.deletedDate = out.DeletedDate;
    if (out.CreatedDate !== undefined) description.createdDate = out.CreatedDate;
    const current = versionWithStage(versionIdsToStages, AWSCURRENT);
    const pending = versionWithStage(versionIdsToStages, AWSPENDING);
    const previous = versionWithStage(versionIdsToStages, AWSPREVIOUS);
    if (current !== undefined) description.currentVersionId = current;
    if (pending !== undefined) description.pendingVersionId = pending;
    if (previous !== undefined) description.previousVersionId = previous;
    const rotation = rotationInfo(out);
    if (rotation !== undefined) description.rotation = rotation;
    return description;
  }

  /** Describes, refusing a secret pending deletion (moto accepts writes to one; AWS does not). */
  async function describeLive(secretId: string, operation: string): Promise<SecretDescription> {
    const description = await describe(secretId);
    if (description.deletedDate !== undefined) {
      throw new SecretScheduledForDeletionError(
        scheduledForDeletionMessage(secretId, operation, description.deletedDate),
        { secretId, deletedDate: description.deletedDate },
      );
    }
    return description;
  }

  async function getValue(
    secretId: string,
    selector: VersionSelector,
    sensitive?: readonly string[],
  ): Promise<GetSecretValueCommandOutput> {
    const versionId = "versionId" in selector ? selector.versionId : undefined;
    try {
      return await send(
        {
          operation: "GetSecretValue",
          secretId,
          ...(versionId === undefined ? {} : { versionId }),
          ...(sensitive ? { sensitive } : {}),
        },
        () =>
          client.send(
            new GetSecretValueCommand(
              "stage" in selector
                ? { SecretId: secretId, VersionStage: selector.stage }
                : { SecretId: secretId, VersionId: selector.versionId },
            ),
          ),
      );
    } catch (error) {
      if (!isSecretsError(error, "SECRET_NOT_FOUND")) throw error;
      // AWS answers ResourceNotFoundException both for a missing secret and for a missing label or
      // version; tell them apart so the message points at the right fix.
      const description = await describe(secretId); // throws SECRET_NOT_FOUND for the secret itself
      if (description.deletedDate !== undefined) {
        throw new SecretScheduledForDeletionError(
          scheduledForDeletionMessage(secretId, "GetSecretValue", description.deletedDate),
          { secretId, deletedDate: description.deletedDate },
        );
      }
      const labels = Object.entries(description.versionIdsToStages)
        .map(([id, stages]) => `${id}: ${stages.join(", ")}`)
        .join("; ");
      const message =
        "stage" in selector
          ? `No version of secret ${description.arn} has the staging label ${selector.stage} ` +
            `(labelled versions: ${labels || "none"}).` +
            (selector.stage === AWSCURRENT ? " The secret has no value yet: write one first." : "")
          : `Secret ${description.arn} has no version ${selector.versionId} (labelled versions: ${labels || "none"}); ` +
            "it may never have been written, or was pruned after losing its labels.";
      throw new SecretNotFoundError(message, {
        secretId,
        ...(versionId === undefined ? {} : { versionId }),
        ...(error.cause === undefined ? {} : { cause: error.cause }),
      });
    }
  }

  async function readPayload(secretId: string, selector: VersionSelector): Promise<PayloadReading> {
    const out = await getValue(secretId, selector);
    const versionId = out.VersionId ?? ("versionId" in selector ? selector.versionId : "(unknown)");
    if (out.SecretString === undefined) {
      throw new MalformedPayloadError(
        `Secret ${secretId} (version ${versionId}) holds a binary value, not a llamacloud-keys payload. ` +
          "It was written by another tool; point llamacloud-keys at a secret of its own.",
        { secretId, versionId, issues: ["(value): expected a JSON string, found SecretBinary"] },
      );
    }
    return {
      payload: parsePayload(out.SecretString, { secretId, versionId }),
      versionId,
      stages: [...(out.VersionStages ?? [])],
      createdDate: out.CreatedDate ?? new Date(0),
    };
  }

  async function writeVersion(
    secretId: string,
    input: WriteVersionInput,
  ): Promise<{ versionId: string; created: boolean }> {
    const { token, stage } = input;
    if (token.length < 32 || token.length > 64) {
      throw new SecretInvalidRequestError(
        `writeVersion: ClientRequestToken for secret ${secretId} must be 32–64 characters (use a UUID); got ${token.length}.`,
        { secretId, versionId: token },
      );
    }
    if (stage !== AWSCURRENT && stage !== AWSPENDING) {
      throw new SecretInvalidRequestError(
        `writeVersion: stage for version ${token} of secret ${secretId} must be AWSCURRENT or AWSPENDING; got ${String(stage)}.`,
        { secretId, versionId: token },
      );
    }
    const text = serializePayload(input.payload);
    // Validate before writing: a half-valid payload in AWSCURRENT would break every reader.
    const checked = checkPayload(JSON.parse(text));
    if (!checked.ok) {
      throw new MalformedPayloadError(
        `Refusing to write version ${token} of secret ${secretId}: the payload is invalid:\n` +
          checked.issues.map((line) => `  ${line}`).join("\n"),
        { secretId, versionId: token, issues: checked.issues },
      );
    }
    const sensitive = [text, input.payload.apiKey.reveal()];
    if (input.checkedByCaller === true) {
      // ResourceExistsException maps to SECRET_TOKEN_CONFLICT (aws-errors.ts).
      await put(secretId, token, text, stage, sensitive);
      return { versionId: token, created: true };
    }

    // Decide "same token, same value?" ourselves rather than trusting PutSecretValue's answer:
    // AWS ignores such a write silently (so `created` would be unknowable), and moto rewrites a
    // version that carries AWSPENDING even with another value.
    const description = await describeLive(secretId, "PutSecretValue");
    if (token in description.versionIdsToStages) {
      const existing = await getValue(secretId, { versionId: token }, sensitive);
      if (existing.SecretString === text) return { versionId: token, created: false };
      throw conflict(secretId, description.arn, token);
    }
    const currentId = description.currentVersionId;
    if (
      currentId !== undefined &&
      input.allowForeignCurrent !== true &&
      currentId !== input.verifiedCurrentVersionId
    ) {
      // Never bury someone else's value under ours: the AWSCURRENT value must be our payload.
      const current = await getValue(secretId, { versionId: currentId }, sensitive);
      const checked =
        current.SecretString === undefined
          ? { ok: false as const, issues: ["(value): expected a JSON string, found SecretBinary"] }
          : checkJson(current.SecretString);
      if (!checked.ok) {
        throw new MalformedPayloadError(
          `Refusing to write version ${token} of secret ${description.arn}: its AWSCURRENT version ${currentId} ` +
            "does not hold a llamacloud-keys payload:\n" +
            checked.issues.map((line) => `  ${line}`).join("\n") +
            "\nThe secret belongs to another tool or was edited by hand. Point llamacloud-keys at a secret of " +
            "its own, or pass allowForeignCurrent to take this one over.",
          { secretId, versionId: currentId, issues: checked.issues },
        );
      }
    }
    const out = await put(secretId, token, text, stage, sensitive);
    return { versionId: out.VersionId ?? token, created: true };
  }

  function put(secretId: string, token: string, text: string, stage: string, sensitive: string[]) {
    return send({ operation: "PutSecretValue", secretId, versionId: token, sensitive }, () =>
      client.send(
        new PutSecretValueCommand({
          SecretId: secretId,
          SecretString: text,
          ClientRequestToken: token,
          VersionStages: [stage],
        }),
      ),
    );
  }

  function conflict(secretId: string, arn: string, token: string): SecretTokenConflictError {
    return new SecretTokenConflictError(
      `PutSecretValue: ClientRequestToken ${token} is already a version of secret ${arn} with a different ` +
        "value. Versions are immutable: another writer (e.g. a concurrent rotation) used this token first. " +
        "Write a new value under a new token.",
      { secretId, versionId: token },
    );
  }

  async function moveStage(
    secretId: string,
    stage: string,
    move: { to?: string; from?: string },
  ): Promise<void> {
    await send(
      {
        operation: "UpdateSecretVersionStage",
        secretId,
        ...(move.to === undefined ? {} : { versionId: move.to }),
      },
      () =>
        client.send(
          new UpdateSecretVersionStageCommand({
            SecretId: secretId,
            VersionStage: stage,
            ...(move.to === undefined ? {} : { MoveToVersionId: move.to }),
            ...(move.from === undefined ? {} : { RemoveFromVersionId: move.from }),
          }),
        ),
    );
  }

  async function promote(
    secretId: string,
    versionId: string,
    options: PromoteOptions = {},
  ): Promise<{ moved: boolean }> {
    let moved = false;
    const known = options.known;
    let description = known ?? (await describeLive(secretId, "UpdateSecretVersionStage"));
    if (known?.deletedDate !== undefined) {
      throw new SecretScheduledForDeletionError(
        scheduledForDeletionMessage(secretId, "UpdateSecretVersionStage", known.deletedDate),
        { secretId, deletedDate: known.deletedDate },
      );
    }
    if (!(versionId in description.versionIdsToStages)) {
      throw new SecretNotFoundError(
        `promote: secret ${description.arn} has no labelled version ${versionId}; write it (AWSPENDING) before promoting it.`,
        { secretId, versionId },
      );
    }
    let clearing: Promise<unknown> | undefined;
    if (
      options.clearPendingTogether === true &&
      known !== undefined &&
      description.currentVersionId !== versionId &&
      description.versionIdsToStages[versionId]?.includes(AWSPENDING)
    ) {
      clearing = removeLabel(secretId, AWSPENDING, versionId).then(
        () => undefined,
        (error: unknown) => error,
      );
    }
    if (description.currentVersionId !== versionId) {
      try {
        const from = description.currentVersionId;
        await moveStage(secretId, AWSCURRENT, { to: versionId, ...(from === undefined ? {} : { from }) });
        moved = true;
      } catch (error) {
        // Another promoter may have moved AWSCURRENT between our describe and our move; if it moved
        // it where we wanted, the step is done.
        description = await describe(secretId);
        if (description.currentVersionId !== versionId) throw error;
      }
      // Moving AWSCURRENT leaves AWSPENDING where it was: a known view still says whether it is
      // there, and removeLabel checks a refusal against a fresh one.
      if (known === undefined) description = await describe(secretId);
    }
    if (clearing !== undefined) {
      const failed = await clearing;
      if (failed !== undefined) throw failed;
    } else if (description.versionIdsToStages[versionId]?.includes(AWSPENDING)) {
      await removeLabel(secretId, AWSPENDING, versionId);
    }
    return { moved };
  }

  async function removeLabel(secretId: string, stage: string, versionId: string): Promise<void> {
    try {
      await moveStage(secretId, stage, { from: versionId });
    } catch (error) {
      const description = await describe(secretId);
      if (description.versionIdsToStages[versionId]?.includes(stage)) throw error;
    }
  }

  async function removeStage(secretId: string, stage: string, versionId: string): Promise<void> {
    if (stage === AWSCURRENT) {
      throw new SecretInvalidRequestError(
        `removeStage: AWSCURRENT cannot be removed from version ${versionId} of secret ${secretId}, only moved; ` +
          "promote another version instead.",
        { secretId, versionId },
      );
    }
    const description = await describe(secretId);
    if (!description.versionIdsToStages[versionId]?.includes(stage)) return;
    await removeLabel(secretId, stage, versionId);
  }

  async function listVersions(secretId: string): Promise<SecretVersionInfo[]> {
    const versions: SecretVersionInfo[] = [];
    const pages = paginateListSecretVersionIds(
      { client: reporting({ operation: "ListSecretVersionIds", secretId }), ...pageSizeOf(defaultPageSize) },
      { SecretId: secretId, IncludeDeprecated: true },
    );
    // The paginator stops on an empty NextToken too, which is what moto answers on the last page.
    for await (const out of pages) {
      for (const version of out.Versions ?? []) {
        if (version.VersionId === undefined) continue;
        versions.push({
          versionId: version.VersionId,
          stages: [...(version.VersionStages ?? [])],
          createdDate: version.CreatedDate ?? new Date(0),
        });
      }
    }
    return versions;
  }

  async function createSecret(input: CreateSecretInput): Promise<{ arn: string; name: string }> {
    try {
      const out = await send({ operation: "CreateSecret", secretId: input.name }, () =>
        client.send(
          new CreateSecretCommand({
            Name: input.name,
            ...(input.kmsKeyId === undefined ? {} : { KmsKeyId: input.kmsKeyId }),
            ...(input.description === undefined ? {} : { Description: input.description }),
            ...(input.tags === undefined ? {} : { Tags: recordToTags(input.tags) }),
          }),
        ),
      );
      return { arn: out.ARN ?? input.name, name: out.Name ?? input.name };
    } catch (error) {
      // AWS refuses a name pending deletion with InvalidRequestException (mapped already); moto
      // answers ResourceExistsException. Look, so both give the same error.
      if (isSecretsError(error, "SECRET_EXISTS")) {
        const deletedDate = await deletedDateOf(input.name);
        if (deletedDate !== undefined) {
          throw new SecretScheduledForDeletionError(
            scheduledForDeletionMessage(input.name, "CreateSecret", deletedDate),
            {
              secretId: input.name,
              deletedDate,
              ...(error.cause === undefined ? {} : { cause: error.cause }),
            },
          );
        }
      }
      throw error;
    }
  }

  async function deleteSecret(
    secretId: string,
    options: DeleteSecretOptions = {},
  ): Promise<{ deletionDate?: Date }> {
    const force = "force" in options && options.force === true;
    const days = "recoveryWindowInDays" in options ? options.recoveryWindowInDays : undefined;
    if (days !== undefined && (!Number.isInteger(days) || days < 7 || days > 30)) {
      throw new SecretInvalidRequestError(
        `deleteSecret: recoveryWindowInDays for secret ${secretId} must be a whole number from 7 to 30; got ${days}. ` +
          "Use { force: true } to delete without recovery.",
        { secretId },
      );
    }
    try {
      const out = await send({ operation: "DeleteSecret", secretId }, () =>
        client.send(
          new DeleteSecretCommand({
            SecretId: secretId,
            ...(force ? { ForceDeleteWithoutRecovery: true } : {}),
            ...(days === undefined ? {} : { RecoveryWindowInDays: days }),
          }),
        ),
      );
      return out.DeletionDate === undefined ? {} : { deletionDate: out.DeletionDate };
    } catch (error) {
      // Already pending deletion: the goal of the call is reached, so a rerun succeeds.
      if (!force && isSecretsError(error, "SECRET_SCHEDULED_FOR_DELETION")) {
        const deletedDate = (error as SecretScheduledForDeletionError).deletedDate;
        return deletedDate === undefined ? {} : { deletionDate: deletedDate };
      }
      throw error;
    }
  }

  async function restoreSecret(secretId: string): Promise<void> {
    await send({ operation: "RestoreSecret", secretId }, () =>
      client.send(new RestoreSecretCommand({ SecretId: secretId })),
    );
  }

  async function listManagedSecrets(
    listOptions: ListManagedSecretsOptions = {},
  ): Promise<ManagedSecretSummary[]> {
    const pageSize = listOptions.pageSize ?? defaultPageSize;
    const includeDeleted = listOptions.includeScheduledForDeletion === true;
    const secrets: ManagedSecretSummary[] = [];
    const pages = paginateListSecrets(
      {
        client: reporting({ operation: "ListSecrets", secretId: "(managed secrets)" }),
        ...pageSizeOf(pageSize),
      },
      {
        // Both filters match by prefix and independently of each other (AWS and moto alike), so
        // they only narrow the listing; the exact tag check below decides.
        Filters: [
          { Key: "tag-key", Values: [TAG_MANAGED] },
          { Key: "tag-value", Values: ["true"] },
        ],
        IncludePlannedDeletion: includeDeleted,
      },
    );
    for await (const out of pages) {
      for (const entry of out.SecretList ?? []) {
        const tags = tagsToRecord(entry.Tags);
        if (tags[TAG_MANAGED] !== "true" || entry.ARN === undefined || entry.Name === undefined) continue;
        if (entry.DeletedDate !== undefined && !includeDeleted) continue;
        const summary: ManagedSecretSummary = {
          arn: entry.ARN,
          name: entry.Name,
          tags,
          versionIdsToStages: Object.fromEntries(
            Object.entries(entry.SecretVersionsToStages ?? {}).map(([id, stages]) => [
              id,
              [...(stages ?? [])],
            ]),
          ),
        };
        if (entry.DeletedDate !== undefined) summary.deletedDate = entry.DeletedDate;
        const rotation = rotationInfo(entry);
        if (rotation !== undefined) summary.rotation = rotation;
        secrets.push(summary);
      }
    }
    return secrets;
  }

  async function requestRotation(secretId: string, lambdaArn?: string): Promise<{ versionId?: string }> {
    const out = await send({ operation: "RotateSecret", secretId }, () =>
      client.send(
        new RotateSecretCommand({
          SecretId: secretId,
          ...(lambdaArn === undefined ? {} : { RotationLambdaARN: lambdaArn }),
        }),
      ),
    );
    return out.VersionId === undefined ? {} : { versionId: out.VersionId };
  }

  async function configureRotation(
    secretId: string,
    input: { lambdaArn: string; rules: RotationRules },
  ): Promise<void> {
    const { rules } = input;
    await send({ operation: "RotateSecret", secretId }, () =>
      client.send(
        new RotateSecretCommand({
          SecretId: secretId,
          RotationLambdaARN: input.lambdaArn,
          RotationRules: {
            ...(rules.automaticallyAfterDays === undefined
              ? {}
              : { AutomaticallyAfterDays: rules.automaticallyAfterDays }),
            ...(rules.scheduleExpression === undefined
              ? {}
              : { ScheduleExpression: rules.scheduleExpression }),
            ...(rules.duration === undefined ? {} : { Duration: rules.duration }),
          },
          RotateImmediately: false,
        }),
      ),
    );
  }

  async function cancelRotation(secretId: string): Promise<void> {
    await send({ operation: "CancelRotateSecret", secretId }, () =>
      client.send(new CancelRotateSecretCommand({ SecretId: secretId })),
    );
  }

  async function tag(secretId: string, tags: Record<string, string>): Promise<void> {
    if (Object.keys(tags).length === 0) return;
    await send({ operation: "TagResource", secretId }, () =>
      client.send(new TagResourceCommand({ SecretId: secretId, Tags: recordToTags(tags) })),
    );
  }

  async function untag(secretId: string, keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    await send({ operation: "UntagResource", secretId }, () =>
      client.send(new UntagResourceCommand({ SecretId: secretId, TagKeys: keys })),
    );
  }

  async function readTags(secretId: string): Promise<Record<string, string>> {
    return (await describe(secretId)).tags;
  }

  function close(): void {
    client.destroy();
  }

  return {
    describe,
    readPayload,
    writeVersion,
    promote,
    removeStage,
    listVersions,
    createSecret,
    deleteSecret,
    restoreSecret,
    listManagedSecrets,
    requestRotation,
    configureRotation,
    cancelRotation,
    tag,
    untag,
    readTags,
    close,
  };
}

function checkJson(text: string): ReturnType<typeof checkPayload> {
  try {
    return checkPayload(JSON.parse(text));
  } catch {
    return { ok: false, issues: ["(value): expected JSON, found plain text"] };
  }
}

function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 1000) / 1000;
}

function versionWithStage(versions: Record<string, string[]>, stage: string): string | undefined {
  for (const [versionId, stages] of Object.entries(versions)) {
    if (stages.includes(stage)) return versionId;
  }
  return undefined;
}

function tagsToRecord(
  tags: { Key?: string | undefined; Value?: string | undefined }[] | undefined,
): Record<string, string> {
  const record: Record<string, string> = {};
  for (const { Key, Value } of tags ?? []) {
    if (Key !== undefined) record[Key] = Value ?? "";
  }
  return record;
}

function recordToTags(tags: Record<string, string>): { Key: string; Value: string }[] {
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}
