import type { ApiKeyInfo, LlamaCloudClient, Project } from "../llamacloud";
import { regionBaseUrls } from "../llamacloud/client-options";
import { isLlamaCloudError } from "../llamacloud/errors";
import { DEFAULT_KEY_PREFIX, keyName } from "../llamacloud/key-name";
import { mintNamedKey } from "../llamacloud/mint";
import { isSecretsError } from "../secrets/errors";
import { buildPayload, redactKey, type SecretPayloadInput } from "../secrets/payload";
import { AWSCURRENT, AWSPENDING, AWSPREVIOUS } from "../secrets/stages";
import type { PayloadReading, SecretDescription, SecretStore } from "../secrets/store";
import {
  managementTags,
  TAG_ENVIRONMENT,
  TAG_GRACE,
  TAG_MANAGED,
  TAG_OWNER,
  TAG_PROJECT_ID,
  TAG_ROTATE_EVERY,
} from "../secrets/tags";
import {
  type ApiKeyInputs,
  createToken,
  defaultSecretName,
  diffInputs,
  nativeRotationOf,
  parseInputs,
  recordInputs,
  validateInputs,
} from "./args";
import { type ConfigSource, type ProviderSettings, readProviderSettings, requireApiKey } from "./config";
import { messageOf, ProviderError } from "./errors";
import {
  type NativeRotationState,
  nativeRotationState,
  observedRotationInputs,
  syncNativeRotation,
} from "./native-rotation-sync";
import { isOwnAttempt, ownerOf, revokeOwnOrphans } from "./recovery";

/**
 * What the `ApiKey` provider does, method by method. The serialized provider object
 * (`api-key-provider.ts`) requires this module inside each method and calls it, so the code that
 * runs is always the installed one, and nothing here is ever serialized: the SDK clients, zod
 * schemas and the configured credentials live in this module's scope, in the provider process.
 *
 * Every method builds its LlamaCloud client and Secrets Manager store, and closes them before
 * returning: provider processes are short-lived and per-operation clients keep methods independent.
 */

/** The resource's outputs, as stored in state. No field ever holds the plaintext key. */
export interface ApiKeyOutputs {
  keyId: string;
  keyName: string;
  redactedKey: string;
  projectId: string;
  organizationId: string | null;
  secretArn: string;
  secretName: string;
  /** The secret version (= ClientRequestToken) holding the key as AWSCURRENT. */
  versionId: string;
  createdAt: string;
  /** The inputs this state was made from: `diff` receives outputs, not inputs. */
  __inputs: Record<string, unknown>;
  /** True when this resource created (or restored) the secret, so `delete` deletes it. */
  __ownsSecret: boolean;
  /** The LlamaCloud host the key lives on. */
  __baseUrl: string;
  /**
   * True when create found the secret pending deletion (an earlier `destroy` left it in its recovery
   * window) and restored it instead of creating one. Absent in state written before it existed.
   */
  secretRestored?: boolean;
  /**
   * Secrets Manager's native rotation of the secret as DescribeSecret reports it, when the inputs ask
   * for it (`rotation.lambdaArn`); absent otherwise.
   */
  nativeRotation?: NativeRotationState;
}

type Props = Record<string, unknown>;

let configured: ProviderSettings | undefined;

/** `configure(req)`: records credentials from stack config, falling back to the environment. */
export function configure(
  config: ConfigSource | undefined,
  env: Record<string, string | undefined> = process.env,
) {
  configured = readProviderSettings(config, env);
}

function settings(): ProviderSettings {
  // An engine older than configure support (or a direct caller) gets the environment.
  return configured ?? readProviderSettings(undefined);
}

// The LlamaCloud client (undici) and the Secrets Manager store (the AWS SDK, most of this module's
// load time) are required by the first create/read/update/delete, not with this module: `configure`,
// `check` and `diff`, all that a preview runs, need neither. Node caches them after the first call.
function llamacloudClientModule(): typeof import("../llamacloud/client") {
  return require("../llamacloud/client") as typeof import("../llamacloud/client");
}

function secretStoreModule(): typeof import("../secrets/store") {
  return require("../secrets/store") as typeof import("../secrets/store");
}

function clientFor(baseUrl: string | undefined): LlamaCloudClient {
  const current = settings();
  const apiKey = requireApiKey(current);
  return llamacloudClientModule().createLlamaCloudClient({
    apiKey,
    ...(baseUrl === undefined ? {} : { baseUrl }),
    env: {},
  });
}

function hostFor(inputs: ApiKeyInputs): string | undefined {
  if (inputs.baseUrl !== undefined) return inputs.baseUrl;
  if (inputs.region !== undefined) return regionBaseUrls[inputs.region];
  return settings().baseUrl;
}

/** A secret ARN names its region; use it, so state outlives a change of AWS_REGION. */
function storeFor(secretId: string | undefined): SecretStore {
  const region =
    secretId === undefined ? undefined : /^arn:[^:]+:secretsmanager:([^:]+):/.exec(secretId)?.[1];
  return secretStoreModule().createSecretStore(region === undefined ? {} : { region });
}

async function using<T>(client: LlamaCloudClient | undefined, store: SecretStore, run: () => Promise<T>) {
  try {
    return await run();
  } finally {
    store.close();
    await client?.close();
  }
}

// ---------------------------------------------------------------------------------------------
// check / diff

/**
 * `check`: one failure per problem, whose reason names the field, the value given (never a key) and
 * the expected form; the create token is added as a hidden input. Failures carry no `property`: the
 * engine would print its own `property … value … has a problem` beside the reason, with a nested
 * field's value as `{<nil>}` and a top-level field's value unscrubbed.
 */
export function check(
  olds: Props | undefined,
  news: Props,
): { inputs: Props; failures?: { property: string; reason: string }[] } {
  const inputs: Props = { ...news, __createToken: createToken(olds ?? {}, news) };
  const result = validateInputs(inputs);
  if (result.ok || result.failures.length === 0) return { inputs };
  return { inputs, failures: result.failures.map(({ reason }) => ({ property: "", reason })) };
}

/**
 * `diff`: project, environment or secret target → replace (delete first when the secret stays the
 * same); name, rotation, tags, recovery window → update in place. The provider's own code and the
 * hidden inputs are not compared, so a new version of this package alone changes nothing.
 */
export function diff(_id: string, olds: Props, news: Props) {
  const recorded = (olds["__inputs"] as Props | undefined) ?? olds;
  return diffInputs(recorded, recordInputs(news));
}

// ---------------------------------------------------------------------------------------------
// create

interface Target {
  arn: string;
  name: string;
  owned: boolean;
  createdNow: boolean;
  restoredNow: boolean;
  /** The AWSCURRENT payload, when the secret has one. */
  current?: PayloadReading;
}

async function resolveProject(client: LlamaCloudClient, inputs: ApiKeyInputs): Promise<Project> {
  if (inputs.projectId !== undefined) {
    const project = await client.getProject(inputs.projectId);
    if (inputs.organizationId !== undefined && project.organizationId !== inputs.organizationId) {
      throw new ProviderError(
        "PROVIDER_INVALID_ARGS",
        `"organizationId" is ${inputs.organizationId} but project ${project.id} belongs to organization ` +
          `${project.organizationId}: fix or drop "organizationId"`,
      );
    }
    return project;
  }
  return client.resolveProject({
    name: inputs.projectName!,
    ...(inputs.organizationId === undefined ? {} : { organizationId: inputs.organizationId }),
  });
}

/** The owner tag (provider/recovery.ts), for resources whose inputs carry an identity. */
function ownerTag(inputs: ApiKeyInputs): Record<string, string> {
  const owner = ownerOf(inputs);
  return owner === undefined ? {} : { [TAG_OWNER]: owner };
}

function tagsFor(inputs: ApiKeyInputs, projectId: string): Record<string, string> {
  return {
    ...inputs.tags,
    ...ownerTag(inputs),
    ...managementTags({
      projectId,
      environment: inputs.environment,
      ...(inputs.rotation === undefined
        ? {}
        : { rotateEvery: inputs.rotation.every, grace: inputs.rotation.grace }),
    }),
  };
}

async function readCurrent(
  store: SecretStore,
  description: SecretDescription,
): Promise<PayloadReading | undefined> {
  if (description.currentVersionId === undefined) return undefined;
  return store.readPayload(description.arn, { stage: AWSCURRENT });
}

async function describeOrUndefined(store: SecretStore, id: string): Promise<SecretDescription | undefined> {
  try {
    return await store.describe(id);
  } catch (error) {
    if (isSecretsError(error, "SECRET_NOT_FOUND")) return undefined;
    throw error;
  }
}

/** Finds, creates or restores the secret the key goes into. Nothing is minted yet. */
async function prepareSecret(store: SecretStore, inputs: ApiKeyInputs, project: Project): Promise<Target> {
  const ours = (tags: Record<string, string>) =>
    tags[TAG_PROJECT_ID] === project.id && tags[TAG_ENVIRONMENT] === inputs.environment;

  if (inputs.secretId !== undefined) {
    const description = await describeOrUndefined(store, inputs.secretId);
    if (description === undefined) {
      throw new ProviderError(
        "PROVIDER_SECRET_CONFLICT",
        `"secretId" ${inputs.secretId} does not name an existing secret: create it first, or drop "secretId" ` +
          `and let the provider create one (see "secretName")`,
        { secretId: inputs.secretId },
      );
    }
    if (description.deletedDate !== undefined) {
      throw new ProviderError(
        "PROVIDER_SECRET_CONFLICT",
        `Secret ${description.arn} ("secretId") is scheduled for deletion on ${description.deletedDate.toISOString()}: ` +
          `restore it (aws secretsmanager restore-secret --secret-id ${description.arn}) or point "secretId" elsewhere`,
        { secretId: description.arn },
      );
    }
    const current = await readCurrent(store, description);
    return {
      arn: description.arn,
      name: description.name,
      owned: false,
      createdNow: false,
      restoredNow: false,
      ...(current === undefined ? {} : { current }),
    };
  }

  const name = inputs.secretName ?? defaultSecretName(inputs);
  let description = await describeOrUndefined(store, name);
  let restoredNow = false;
  if (description !== undefined && description.deletedDate !== undefined) {
    if (description.tags[TAG_MANAGED] !== "true") {
      throw new ProviderError(
        "PROVIDER_SECRET_CONFLICT",
        `Secret ${description.arn} ("secretName" ${name}) is scheduled for deletion and was not deleted by ` +
          "llamacloud-keys (no llamacloud-keys:managed tag): restore it yourself if it is yours, or choose another " +
          `"secretName"`,
        { secretId: description.arn },
      );
    }
    if (
      (inputs.kmsKeyId !== undefined && description.kmsKeyId !== inputs.kmsKeyId) ||
      (inputs.description !== undefined && description.description !== inputs.description)
    ) {
      // Restoring would bring back the old KMS key or description; the secret was ours and its keys
      // were revoked when it was deleted, so purging it loses nothing.
      await store.deleteSecret(description.arn, { force: true });
      description = undefined;
    } else {
      // Our own destroy left it pending deletion (its keys revoked): restore and reuse it.
      await store.restoreSecret(description.arn);
      restoredNow = true;
    }
  }
  if (description === undefined) {
    // Project and environment tags go on at creation, so a create that dies before its first write
    // leaves a secret the retry recognizes; `managed` comes last, once the secret holds a live key.
    const created = await store.createSecret({
      name,
      ...(inputs.kmsKeyId === undefined ? {} : { kmsKeyId: inputs.kmsKeyId }),
      ...(inputs.description === undefined ? {} : { description: inputs.description }),
      tags: {
        ...inputs.tags,
        [TAG_PROJECT_ID]: project.id,
        [TAG_ENVIRONMENT]: inputs.environment,
        ...ownerTag(inputs),
      },
    });
    return { arn: created.arn, name: created.name, owned: true, createdNow: true, restoredNow: false };
  }
  if (!restoredNow && !inputs.adopt && !ours(description.tags)) {
    throw new ProviderError(
      "PROVIDER_SECRET_CONFLICT",
      `Secret ${description.arn} ("secretName" ${name}) already exists and is not tagged for project ${project.id} ` +
        `and environment ${inputs.environment}: set "adopt: true" to take it over, pass it as "secretId", or choose ` +
        `another "secretName"`,
      { secretId: description.arn },
    );
  }
  const current = await readCurrent(store, description);
  return {
    arn: description.arn,
    name: description.name,
    owned: true,
    createdNow: false,
    restoredNow,
    ...(current === undefined ? {} : { current }),
  };
}

function outputsOf(
  reading: { payload: PayloadReading["payload"] | SecretPayloadInput; versionId: string },
  target: { arn: string; name: string; owned: boolean },
  raw: Props,
  baseUrl: string,
  liveName?: string | null,
): ApiKeyOutputs {
  const { payload } = reading;
  return {
    keyId: payload.keyId,
    keyName: liveName ?? payload.keyName,
    redactedKey: redactKey(payload.apiKey),
    projectId: payload.projectId,
    organizationId: payload.organizationId ?? null,
    secretArn: target.arn,
    secretName: target.name,
    versionId: reading.versionId,
    createdAt: payload.createdAt,
    __inputs: recordInputs(raw),
    __ownsSecret: target.owned,
    __baseUrl: baseUrl,
  };
}

function isoOrNow(value: string | null): string {
  const date =
    value === null
      ? new Date()
      : new Date(value.endsWith("Z") || /[+-]\d\d:\d\d$/.test(value) ? value : `${value}Z`);
  return Number.isNaN(date.getTime()) ? new Date().toISOString() : date.toISOString();
}

/**
 * `create`: resolve the project, prepare the secret, mint the key named after the create token,
 * write it as AWSCURRENT under that token, tag the secret. Transactional: if anything fails after
 * minting, the key is revoked (and a secret created here is removed) before the error is thrown.
 */
export async function create(raw: Props): Promise<{ id: string; outs: ApiKeyOutputs }> {
  const inputs = parseInputs(raw);
  // `check` always sets the token; a caller that skipped it gets a fresh one (and no crash recovery).
  const token = inputs.__createToken ?? createToken({}, {});
  const client = clientFor(hostFor(inputs));
  const store = storeFor(inputs.secretId);
  return using(client, store, async () => {
    const project = await resolveProject(client, inputs);
    const name = keyName(inputs.name ?? DEFAULT_KEY_PREFIX, project.id, inputs.environment, token);
    const target = await prepareSecret(store, inputs, project);
    const tags = tagsFor(inputs, project.id);
    const live = await client.listApiKeys({ projectId: project.id });
    const liveIds = new Set(live.map((key) => key.id));

    const owner = ownerOf(inputs);
    const sweep = () =>
      revokeOwnOrphans(client, store, {
        arn: target.arn,
        owner,
        projectId: project.id,
        environment: inputs.environment,
        live,
      });

    const current = target.current;
    if (current !== undefined && liveIds.has(current.payload.keyId)) {
      // The secret already holds a working key: our own from an earlier run of this create (same
      // token), a key an earlier attempt of this resource wrote before `pulumi up` was killed (its
      // owner tag or key name carries our identity: recovery.ts), or a key the user asked to adopt.
      const rerun = current.versionId === token && current.payload.keyName === name;
      const liveName = live.find((key) => key.id === current.payload.keyId)?.name;
      const own =
        !rerun &&
        isOwnAttempt(
          owner,
          (await store.describe(target.arn)).tags,
          current,
          liveName,
          project.id,
          inputs.environment,
        );
      if (!rerun) {
        if (!inputs.adopt && !own) {
          // Someone else's key: refused as ever. Keys our own killed run minted for this secret carry
          // our digest and can go first, best effort: the refusal is what the user must act on.
          await sweep().catch(() => undefined);
          throw new ProviderError(
            "PROVIDER_SECRET_CONFLICT",
            `Secret ${target.arn} already holds live key ${current.payload.keyId} (version ${current.versionId}): ` +
              `set "adopt: true" to take it over without minting, or choose another secret`,
            { secretId: target.arn, keyId: current.payload.keyId },
          );
        }
        if (current.payload.projectId !== project.id || current.payload.environment !== inputs.environment) {
          throw new ProviderError(
            "PROVIDER_ADOPT_MISMATCH",
            `Cannot adopt secret ${target.arn}: its key ${current.payload.keyId} is for project ` +
              `${current.payload.projectId} / environment ${current.payload.environment}, not ${project.id} / ` +
              `${inputs.environment}: fix "projectId"/"projectName" and "environment", or choose another secret`,
            { secretId: target.arn, keyId: current.payload.keyId },
          );
        }
      }
      await store.tag(target.arn, tags);
      await sweep();
      const nativeRotation = await syncNativeRotation(store, target.arn, nativeRotationOf(inputs), {
        current,
      });
      const outs = outputsOf(current, target, raw, client.baseUrl, liveName);
      return {
        id: target.arn,
        outs: withNative({ ...outs, secretRestored: target.restoredNow }, nativeRotation),
      };
    }

    // A key named after this token that never reached the secret comes from an attempt that died
    // between minting and writing: we hold no plaintext for it, so revoke it and mint again.
    for (const orphan of live.filter((key) => key.name === name)) await client.deleteApiKey(orphan.id);

    const minted = await mint(client, project.id, name);
    let reading: { payload: SecretPayloadInput; versionId: string };
    try {
      const payload = buildPayload({
        apiKey: minted.secret,
        keyId: minted.key.id,
        keyName: name,
        projectId: project.id,
        organizationId: project.organizationId ?? null,
        environment: inputs.environment,
        baseUrl: client.baseUrl,
        createdAt: isoOrNow(minted.key.createdAt),
      });
      const written = await store.writeVersion(target.arn, { token, payload, stage: AWSCURRENT });
      await store.tag(target.arn, tags);
      reading = { payload, versionId: written.versionId };
    } catch (error) {
      return rollback(client, store, minted.key, target, error);
    }
    // After the write, outside the rollback: the new key is in the secret whatever happens here, and
    // a sweep that fails is finished by the next create, which recognises the secret as its own.
    if (target.restoredNow) await forgetPastLife(store, target, reading.versionId, minted.key.id);
    await sweep();
    // Last, once the secret holds its first key: Secrets Manager tests the configuration on it.
    const nativeRotation = await syncNativeRotation(store, target.arn, nativeRotationOf(inputs), {
      current: reading,
    });
    const outs = outputsOf(reading, target, raw, client.baseUrl, name);
    return {
      id: target.arn,
      outs: withNative({ ...outs, secretRestored: target.restoredNow }, nativeRotation),
    };
  });
}

/**
 * After create restored a secret that an earlier `destroy` had left pending deletion, and wrote the
 * new key as AWSCURRENT: the versions of that past life hold keys the destroy revoked, and the write
 * moved AWSPREVIOUS onto the last of them. Their AWSPREVIOUS and AWSPENDING labels are removed, so
 * neither the rotator nor `llamacloud-keys status` takes a revoked key of the deleted secret for this
 * secret's previous key. The restore is reported on stderr, which the Pulumi CLI shows. Best effort:
 * the new key is written and works either way, so a failure here is reported, not rolled back.
 */
async function forgetPastLife(store: SecretStore, target: Target, versionId: string, keyId: string) {
  const notice =
    `llamacloud-keys: secret ${target.arn} was pending deletion, left by an earlier destroy (of this or ` +
    `another stack); create restored it and wrote new key ${keyId} as AWSCURRENT (version ${versionId}). ` +
    'Its earlier keys were revoked by that destroy. Set "recoveryWindowInDays: 0" where secrets need no ' +
    "recovery (scratch and CI stacks): destroy then deletes them at once, and a later create starts afresh.";
  try {
    const { versionIdsToStages } = await store.describe(target.arn);
    for (const [version, stages] of Object.entries(versionIdsToStages)) {
      if (version === versionId) continue;
      for (const stage of stages) {
        if (stage === AWSPREVIOUS || stage === AWSPENDING)
          await store.removeStage(target.arn, stage, version);
      }
    }
    process.stderr.write(`${notice}\n`);
  } catch (error) {
    process.stderr.write(
      `${notice} Removing the earlier versions' labels failed (${messageOf(error)}): ` +
        `\`llamacloud-keys status\` may show a revoked key of the deleted secret as this secret's previous key.\n`,
    );
  }
}

// One attempt: a create whose answer was lost has its key revoked by name, so a retry starts clean.
function mint(client: LlamaCloudClient, projectId: string, name: string) {
  return mintNamedKey(
    client,
    { projectId, name },
    {
      searchFailed: (error) =>
        new ProviderError(
          "PROVIDER_KEY_LEAKED",
          `${error.message} Looking for the key named ${name} failed too: revoke it in LlamaCloud if it exists.`,
          { cause: error },
        ),
    },
  );
}

async function rollback(
  client: LlamaCloudClient,
  store: SecretStore,
  key: ApiKeyInfo,
  target: Target,
  cause: unknown,
): Promise<never> {
  const undo: string[] = [];
  try {
    await client.deleteApiKey(key.id);
    undo.push(`the key ${key.id} minted for it was revoked`);
  } catch (revokeError) {
    throw new ProviderError(
      "PROVIDER_KEY_LEAKED",
      `Writing key ${key.id} (${key.name}) to secret ${target.arn} failed: ${messageOf(cause)}\n` +
        `Revoking that key failed too (${messageOf(revokeError)}): revoke key ${key.id} in LlamaCloud ` +
        "(DELETE /api/v1/api-keys/" +
        `${key.id}) before retrying.`,
      { secretId: target.arn, keyId: key.id, cause },
    );
  }
  try {
    if (target.createdNow) {
      await store.deleteSecret(target.arn, { force: true });
      undo.push(`the secret ${target.name} created for it was deleted`);
    } else if (target.restoredNow) {
      await store.deleteSecret(target.arn, {});
      undo.push(`the secret ${target.name} restored for it is scheduled for deletion again`);
    }
  } catch (deleteError) {
    undo.push(`removing the secret ${target.arn} failed (${messageOf(deleteError)}); it holds no live key`);
  }
  throw new ProviderError(
    "PROVIDER_CREATE_ROLLED_BACK",
    `Writing the new key to secret ${target.arn} failed, so ${undo.join(" and ")}: ${messageOf(cause)}`,
    { secretId: target.arn, keyId: key.id, cause },
  );
}

// ---------------------------------------------------------------------------------------------
// read / update / delete

function recorded(props: Props): { inputs: Props; baseUrl: string | undefined; arn: string } {
  return {
    inputs: (props["__inputs"] as Props | undefined) ?? {},
    baseUrl: (props["__baseUrl"] as string | undefined) ?? settings().baseUrl,
    arn: (props["secretArn"] as string | undefined) ?? "",
  };
}

/**
 * `read` (refresh) follows the key that is AWSCURRENT in the secret: a rotation changes `keyId` and
 * `versionId` in the outputs and nothing in the inputs, so it is not drift. A secret that is gone or
 * pending deletion, or a current key that LlamaCloud no longer lists, reads as gone (empty id), and
 * the next `up` creates the resource again.
 */
export async function read(id: string, props: Props): Promise<{ id: string; props?: Props }> {
  const { baseUrl, arn } = recorded(props);
  if (arn === "") return { id: "" };
  const store = storeFor(arn);
  const client = clientFor(baseUrl);
  return using(client, store, async () => {
    const description = await describeOrUndefined(store, arn);
    if (description === undefined || description.deletedDate !== undefined) return { id: "" };
    const current = await readCurrent(store, description);
    if (current === undefined) return { id: "" };
    const live = await client.listApiKeys({ projectId: current.payload.projectId });
    const key = live.find((candidate) => candidate.id === current.payload.keyId);
    if (key === undefined) return { id: "" };
    const owned = props["__ownsSecret"] === true;
    const outs = outputsOf(
      current,
      { arn: description.arn, name: description.name, owned },
      {},
      client.baseUrl,
      key.name,
    );
    // Native rotation turned off or changed by hand is drift: the recorded inputs say what is there,
    // so the next `up` sees the difference from the program and puts the program's rotation back.
    const before = recorded(props).inputs;
    const rest: Props = { ...props };
    delete rest["nativeRotation"];
    return {
      id,
      props: withNative(
        { ...rest, ...outs, __inputs: observedRotationInputs(before, description) },
        nativeRotationState(before, description),
      ),
    };
  });
}

/** `update`: renames the current key when `name` changed, and retags the secret. */
export async function update(_id: string, olds: Props, news: Props): Promise<{ outs: ApiKeyOutputs }> {
  const inputs = parseInputs(news);
  const { inputs: oldInputs, baseUrl, arn } = recorded(olds);
  const store = storeFor(arn);
  const client = clientFor(baseUrl);
  return using(client, store, async () => {
    const description = await store.describe(arn);
    const current = await readCurrent(store, description);
    if (current === undefined) {
      throw new ProviderError(
        "PROVIDER_KEY_GONE",
        `Secret ${arn} holds no key any more: run \`pulumi refresh\` so the next \`pulumi up\` creates one`,
        { secretId: arn },
      );
    }
    const projectId = current.payload.projectId;
    let liveName: string | null | undefined;
    if ((oldInputs["name"] ?? DEFAULT_KEY_PREFIX) !== (inputs.name ?? DEFAULT_KEY_PREFIX)) {
      const newName = keyName(
        inputs.name ?? DEFAULT_KEY_PREFIX,
        projectId,
        inputs.environment,
        current.versionId,
      );
      try {
        liveName = (await client.renameApiKey(current.payload.keyId, newName)).name;
      } catch (error) {
        if (!isLlamaCloudError(error, "LLAMACLOUD_NOT_FOUND")) throw error;
        throw new ProviderError(
          "PROVIDER_KEY_GONE",
          `Key ${current.payload.keyId} in secret ${arn} was revoked outside Pulumi: run \`pulumi refresh\` so ` +
            "the next `pulumi up` creates a new one",
          { secretId: arn, keyId: current.payload.keyId },
        );
      }
    } else {
      liveName = (await client.listApiKeys({ projectId })).find((k) => k.id === current.payload.keyId)?.name;
    }
    const desired = tagsFor(inputs, projectId);
    const oldUserTags = Object.keys((oldInputs["tags"] as Record<string, string> | undefined) ?? {});
    const stale = [...oldUserTags, TAG_ROTATE_EVERY, TAG_GRACE].filter(
      (tag) => !(tag in desired) && tag in description.tags,
    );
    await store.untag(arn, stale);
    await store.tag(arn, desired);
    // Compared with what Secrets Manager reports, not with the old inputs, so an update killed half
    // way is finished by the next one; removing `lambdaArn` turns rotation off (the daemon's again).
    const nativeRotation = await syncNativeRotation(store, arn, nativeRotationOf(inputs), {
      current,
      description,
      wasNative: (oldInputs["rotation"] as { lambdaArn?: unknown } | undefined)?.lambdaArn !== undefined,
    });
    const owned = olds["__ownsSecret"] === true;
    const outs = outputsOf(current, { arn, name: description.name, owned }, news, client.baseUrl, liveName);
    // Recorded once, at create: carried over so an update does not erase it.
    return {
      outs: withNative(
        olds["secretRestored"] === undefined
          ? outs
          : { ...outs, secretRestored: olds["secretRestored"] === true },
        nativeRotation,
      ),
    };
  });
}

/**
 * `delete`: revokes the current key and every key still referenced by a labelled version
 * (AWSPREVIOUS from a rotation in its grace period, AWSPENDING from an unfinished one), then deletes
 * the secret if this resource created it, or strips the management tags from a secret it was given
 * so the rotator stops rotating it. Keys and secrets already gone count as done.
 */
export async function destroy(_id: string, props: Props): Promise<void> {
  const { inputs, baseUrl, arn } = recorded(props);
  const store = storeFor(arn === "" ? undefined : arn);
  const client = clientFor(baseUrl);
  await using(client, store, async () => {
    const keyIds = new Set<string>();
    if (typeof props["keyId"] === "string") keyIds.add(props["keyId"]);
    let description = arn === "" ? undefined : await describeOrUndefined(store, arn);
    const rotation = (inputs["rotation"] as { lambdaArn?: unknown } | undefined)?.lambdaArn;
    if (
      description?.deletedDate === undefined &&
      description?.rotation?.enabled === true &&
      rotation !== undefined
    ) {
      // Off before anything is revoked: a rotation Secrets Manager started after the revocation
      // would mint a key nobody revokes. Re-read: a cancelled rotation may have left AWSPENDING.
      await store.cancelRotation(arn);
      description = await describeOrUndefined(store, arn);
    }
    if (description !== undefined) {
      for (const [versionId, stages] of Object.entries(description.versionIdsToStages)) {
        if (stages.length === 0) continue;
        try {
          keyIds.add((await store.readPayload(arn, { versionId })).payload.keyId);
        } catch (error) {
          // A version someone else wrote holds no key of ours; a deleted secret holds none we can read.
          if (
            !isSecretsError(error, "SECRET_MALFORMED_PAYLOAD") &&
            !isSecretsError(error, "SECRET_SCHEDULED_FOR_DELETION")
          )
            throw error;
        }
      }
    }
    for (const keyId of keyIds) await client.deleteApiKey(keyId);
    if (description === undefined || description.deletedDate !== undefined) return;
    if (props["__ownsSecret"] === true) {
      const days = inputs["recoveryWindowInDays"];
      try {
        await store.deleteSecret(
          arn,
          days === 0 ? { force: true } : typeof days === "number" ? { recoveryWindowInDays: days } : {},
        );
      } catch (error) {
        if (!isSecretsError(error, "SECRET_NOT_FOUND")) throw error;
      }
    } else {
      // Every management tag (README: "its management tags are removed"), not only `managed`: the
      // secret is the user's again, with nothing left saying which project or environment it served.
      await store.untag(arn, [
        TAG_MANAGED,
        TAG_PROJECT_ID,
        TAG_ENVIRONMENT,
        TAG_ROTATE_EVERY,
        TAG_GRACE,
        TAG_OWNER,
      ]);
    }
  });
}

/** Outputs with `nativeRotation` when the resource manages native rotation. */
function withNative<T extends object>(outs: T, state: NativeRotationState | undefined): T {
  return state === undefined ? outs : { ...outs, nativeRotation: state };
}
