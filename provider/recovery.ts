import type { ApiKeyInfo, LlamaCloudClient } from "../llamacloud";
import { isSecretsError } from "../secrets/errors";
import type { PayloadReading, SecretStore } from "../secrets/store";
import { TAG_OWNER } from "../secrets/tags";
import type { ApiKeyInputs } from "./args";
import { secretTarget } from "./args";
import { keyNameCarries, ownerDigest } from "./identity";

/**
 * How a create finds what its own earlier attempt left (DESIGN.md invariant 8). A `pulumi up` killed
 * mid-create can leave, for each `ApiKey` whose create was in flight: a secret created and tagged
 * with its owner but holding no value, a key minted but never written, or a secret holding the key
 * whose state the engine never recorded. After `pulumi cancel` and `pulumi refresh
 * --clear-pending-creates`, the next `pulumi up` runs the create again with a new token; these
 * helpers let it recognise the secret and keys as its own (provider/identity.ts) instead of refusing
 * them, and revoke the keys the dead attempt minted that no version holds.
 */

/** The owner digest of a resource, or undefined for inputs written before identities existed. */
export function ownerOf(inputs: ApiKeyInputs): string | undefined {
  if (inputs.__identity === undefined) return undefined;
  return ownerDigest(inputs.__identity, secretTarget(inputs));
}

/**
 * Whether the secret's current key was left by an earlier attempt of this very resource: the
 * secret's owner tag names it, or, with no owner tag (an existing `secretId` secret is tagged only
 * after the write), the key's name carries it. A secret tagged for another owner is never ours,
 * whatever its key is called.
 */
export function isOwnAttempt(
  owner: string | undefined,
  tags: Record<string, string>,
  current: PayloadReading,
  liveName: string | null | undefined,
  projectId: string,
  environment: string,
): boolean {
  if (owner === undefined) return false;
  const tag = tags[TAG_OWNER];
  if (tag !== undefined) return tag === owner;
  return [current.payload.keyName, liveName].some((name) =>
    keyNameCarries(name, owner, projectId, environment),
  );
}

/** Key ids held by the secret's labelled versions (AWSCURRENT, AWSPREVIOUS, AWSPENDING). */
async function heldKeyIds(store: SecretStore, arn: string): Promise<Set<string>> {
  const held = new Set<string>();
  const description = await store.describe(arn);
  for (const [versionId, stages] of Object.entries(description.versionIdsToStages)) {
    if (stages.length === 0) continue;
    try {
      held.add((await store.readPayload(arn, { versionId })).payload.keyId);
    } catch (error) {
      // A version someone else wrote holds no key of ours.
      if (!isSecretsError(error, "SECRET_MALFORMED_PAYLOAD")) throw error;
    }
  }
  return held;
}

/**
 * Revokes the keys an earlier attempt of this resource minted for this secret that no labelled
 * version holds: minted, then the process died before the write (or the write went to a version
 * since replaced). Keys of other owners, of the rotator and of older provider versions never carry
 * this owner's digest, so they are never touched. Returns the revoked key ids.
 */
export async function revokeOwnOrphans(
  client: LlamaCloudClient,
  store: SecretStore,
  input: {
    arn: string;
    owner: string | undefined;
    projectId: string;
    environment: string;
    live: ApiKeyInfo[];
  },
): Promise<string[]> {
  const { owner, projectId, environment } = input;
  if (owner === undefined) return [];
  const candidates = input.live.filter((key) => keyNameCarries(key.name, owner, projectId, environment));
  if (candidates.length === 0) return [];
  const held = await heldKeyIds(store, input.arn);
  const revoked: string[] = [];
  for (const key of candidates) {
    if (held.has(key.id)) continue;
    await client.deleteApiKey(key.id);
    revoked.push(key.id);
  }
  return revoked;
}
