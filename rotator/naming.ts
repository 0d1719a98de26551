import { createHash } from "node:crypto";

/**
 * How the rotator names what it creates. Both names are deterministic, which is what makes every
 * step re-runnable and two concurrent rotators safe:
 * - the ClientRequestToken (and so the Secrets Manager version id) of a rotation is derived from
 *   the secret's ARN, the version it rotates away from, and an attempt number;
 * - the LlamaCloud key minted for that version is named `<prefix>/<projectId>/<environment>/<token>`,
 *   so a key whose create response was lost (a crash, a reset socket) is found again by its name.
 *
 * The Pulumi provider names its keys with the same scheme (`<prefix>/<projectId>/<environment>/<version id>`),
 * so the rotator's orphan sweep recognises them; keys named any other way are never touched.
 */

/** The key-name prefix both the provider and the rotator use unless configured otherwise. */
export const DEFAULT_KEY_PREFIX = "llamacloud-keys";

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * The ClientRequestToken of attempt `attempt` (0, 1, …) of the rotation away from `fromVersionId`:
 * a UUID (version 8, "custom", RFC 9562) made from SHA-256 of the inputs, so every rotator that
 * reads the same Secrets Manager state computes the same token. A second attempt only happens
 * after the first was abandoned (its pending key failed its test, or went stale): versions are
 * immutable, so a new value needs a new token.
 */
export function rotationToken(secretArn: string, fromVersionId: string, attempt: number): string {
  const digest = createHash("sha256")
    .update(`llamacloud-keys rotation\0${secretArn}\0${fromVersionId}\0${attempt}`)
    .digest();
  const bytes = Buffer.from(digest.subarray(0, 16));
  bytes[6] = (bytes[6]! & 0x0f) | 0x80; // version 8
  bytes[8] = (bytes[8]! & 0x3f) | 0x80; // RFC 9562 variant
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The name of the key held by version `versionId` of the secret for (`projectId`, `environment`). */
export function keyName(prefix: string, projectId: string, environment: string, versionId: string): string {
  return `${keyNamePrefix(prefix, projectId, environment)}${versionId}`;
}

/** Everything before the version id in {@link keyName}. */
export function keyNamePrefix(prefix: string, projectId: string, environment: string): string {
  return `${prefix}/${projectId}/${environment}/`;
}

/**
 * The version id a key name carries, if the name is exactly ours for this project and environment
 * (prefix, project, environment, then a lower-case UUID and nothing else); undefined otherwise.
 */
export function versionIdFromKeyName(
  name: string | null,
  prefix: string,
  projectId: string,
  environment: string,
): string | undefined {
  if (name === null) return undefined;
  const start = keyNamePrefix(prefix, projectId, environment);
  if (!name.startsWith(start)) return undefined;
  const rest = name.slice(start.length);
  return uuidPattern.test(rest) ? rest : undefined;
}
