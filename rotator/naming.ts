import { createHash } from "node:crypto";

/**
 * How the rotator names its rotations. The ClientRequestToken (and so the Secrets Manager version
 * id) of a rotation is derived from the secret's ARN, the version it rotates away from, and an
 * attempt number: deterministic, which is what makes every step re-runnable and two concurrent
 * rotators safe.
 *
 * The LlamaCloud key minted for that version is named after the token with the scheme the Pulumi
 * provider uses too, `<prefix>/<projectId>/<environment>/<token>` (`llamacloud/key-name.ts`), so a
 * key whose create response was lost (a crash, a reset socket) is found again by its name.
 */

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
