import { createHash, randomBytes } from "node:crypto";
import { parseKeyName } from "../llamacloud/key-name";

/**
 * The identity of an `ApiKey`: what lets a create recognise what its own earlier attempt left after
 * `pulumi up` was killed and the engine forgot the pending create (`pulumi refresh
 * --clear-pending-creates`), without the program changing.
 *
 * - The resource passes the hidden input `__identity`: `<organization>/<project>/<stack>/<name>`
 *   (the organization when the engine gives one). It is fixed by the program, so the create after a
 *   killed run gets the same one as the attempt that died.
 * - The owner digest hashes that identity together with the secret the key goes into (`secretId`, or
 *   `secretName` or its default), so a replacement into another secret is another owner and never
 *   touches the keys of the secret it leaves. It goes on the secret as the `llamacloud-keys:owner`
 *   tag (32 hex digits).
 * - Create tokens carry the digest: a token is an RFC 9562 version-8 UUID whose first 60 bits are the
 *   digest's and whose other 62 are random, `dddddddd-dddd-8ddd-Rrrr-rrrrrrrrrrrr`. The token is the
 *   last segment of the key's LlamaCloud name (`<prefix>/<projectId>/<environment>/<token>`) and the
 *   id of the secret version holding it, so the name format, its parser and the rotator are
 *   unchanged, and a key minted for this owner is recognised by its name alone. Tokens made by
 *   `randomUUID()` (version 4: older provider versions, the rotator) never match.
 */

/** The hidden input carrying the identity. */
export const IDENTITY_INPUT = "__identity";

/** The owner digest: 32 lower-case hex digits (128 bits of SHA-256). */
export function ownerDigest(identity: string, secretTarget: string): string {
  return createHash("sha256").update(`${identity}\n${secretTarget}`).digest("hex").slice(0, 32);
}

/** A fresh create token carrying `digest` (see the module doc for the layout). */
export function ownedToken(digest: string): string {
  const random = randomBytes(8).toString("hex"); // 16 hex digits, 62 bits used
  const variant = ((Number.parseInt(random[0]!, 16) & 0x3) | 0x8).toString(16);
  const hex = `${digest.slice(0, 12)}8${digest.slice(12, 15)}${variant}${random.slice(1, 16)}`;
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/**
 * Whether a create token (or secret version id) was made by {@link ownedToken} for `digest`.
 * @public test/provider/recovery.test.ts loads it from dist, where the dead-code check cannot see.
 */
export function tokenCarries(token: string, digest: string): boolean {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(token)) return false;
  const hex = token.replaceAll("-", "");
  return hex.slice(0, 12) === digest.slice(0, 12) && hex.slice(13, 16) === digest.slice(12, 15);
}

/**
 * Whether a LlamaCloud key name is one the provider gave a key it minted for this owner, project
 * and environment (any prefix: `name` may have been changed since).
 */
export function keyNameCarries(
  name: string | null | undefined,
  digest: string,
  projectId: string,
  environment: string,
): boolean {
  const parts = parseKeyName(name);
  return (
    parts !== undefined &&
    parts.projectId === projectId &&
    parts.environment === environment &&
    tokenCarries(parts.token, digest)
  );
}
