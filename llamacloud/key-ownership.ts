import { parseKeyName } from "./key-name";

/**
 * Which LlamaCloud key names belong to one Secrets Manager secret: the rules the rotator's orphan
 * sweep and revocations rely on, beside the naming scheme itself (`key-name.ts`). Pure: no I/O.
 *
 * A key is the secret's iff its name parses to the secret's project and environment and to a prefix
 * known for the secret. Each `ApiKey` may name its keys with its own prefix (its `name`), so the
 * prefixes come from the secret's own keys, not from the rotator's `--prefix`:
 * - new keys get the prefix of the AWSCURRENT key's live name (the provider renames keys in place
 *   when `name` changes; the payload, being immutable, keeps the old name), else of the payload's
 *   `keyName`, else, when neither parses to this project and environment (a hand-made first key),
 *   the configured prefix;
 * - known: that prefix plus the prefixes of every name the labelled versions' keys carry (payload
 *   and live), so keys named before a rename are still recognised. The configured prefix is known
 *   only as the fallback: another secret for the same project and environment may use it, and its
 *   keys must never look like this secret's orphans.
 */

/** What the ownership rules need of a secret. */
export interface KeyOwner {
  projectId: string;
  environment: string;
  /** Every prefix this secret's own keys are known to carry (see {@link secretKeyPrefixes}). */
  knownPrefixes: ReadonlySet<string>;
}

/** A key as the rules see it: its id and (live) name. */
export interface NamedKey {
  id: string;
  name: string | null;
}

/** A held key as the rules see it: its id and the name its payload recorded. */
export interface HeldKeyName {
  keyId: string;
  keyName: string;
}

/**
 * The key-name prefixes of one secret: `keyPrefix` for its next key, `knownPrefixes` for telling its
 * keys from others'. `current` is what AWSCURRENT holds, `others` what AWSPENDING and AWSPREVIOUS
 * hold (when read); `liveKeys` the project's live keys (for names renamed in place).
 */
export function secretKeyPrefixes(
  configured: string,
  secret: { projectId: string; environment: string },
  liveKeys: readonly NamedKey[],
  current: HeldKeyName,
  others: readonly (HeldKeyName | undefined)[] = [],
): { keyPrefix: string; knownPrefixes: Set<string> } {
  const ownPrefix = (name: string | null | undefined): string | undefined => {
    const parts = parseKeyName(name);
    return parts !== undefined &&
      parts.projectId === secret.projectId &&
      parts.environment === secret.environment
      ? parts.prefix
      : undefined;
  };
  const liveName = (keyId: string) => liveKeys.find((key) => key.id === keyId)?.name;
  const keyPrefix = ownPrefix(liveName(current.keyId)) ?? ownPrefix(current.keyName) ?? configured;
  const knownPrefixes = new Set([keyPrefix]);
  for (const held of [current, ...others]) {
    if (held === undefined) continue;
    for (const name of [held.keyName, liveName(held.keyId)]) {
      const prefix = ownPrefix(name);
      if (prefix !== undefined) knownPrefixes.add(prefix);
    }
  }
  return { keyPrefix, knownPrefixes };
}

/**
 * The version id (token) a key name carries when the name is this secret's; undefined for every
 * other name, which the rotator never touches.
 */
export function tokenOfOwnKey(owner: KeyOwner, name: string | null | undefined): string | undefined {
  const parts = parseKeyName(name);
  if (parts === undefined) return undefined;
  if (parts.projectId !== owner.projectId || parts.environment !== owner.environment) return undefined;
  return owner.knownPrefixes.has(parts.prefix) ? parts.token : undefined;
}

/**
 * True when the name is not one llamacloud-keys builds at all (a hand-made key): such a key can only
 * be this secret's if a version holds it by id, which only its payload tells.
 */
export function isHandMadeName(name: string | null | undefined): boolean {
  return parseKeyName(name) === undefined;
}
