import { LlamaCloudConfigError } from "./errors";

/**
 * The names llamacloud-keys gives the LlamaCloud keys it mints, the one scheme both the Pulumi
 * provider and the rotator use:
 *
 * ```
 * <prefix>/<projectId>/<environment>/<token>
 * ```
 *
 * - `prefix`: a display prefix (`llamacloud-keys` unless the resource's `name` or the rotator's
 *   `--prefix` says otherwise). It never contains `/`: {@link keyName} refuses one.
 * - `projectId`: the LlamaCloud project uuid.
 * - `environment`: the secret's environment. The provider allows `[a-z][a-z0-9-]*`, but a secret
 *   tagged by hand may carry any non-blank environment tag, `/` included.
 * - `token`: the Secrets Manager version id (= ClientRequestToken) the key is written under, a
 *   lower-case uuid. Naming the key after it is what lets a crashed create be found again by name.
 *
 * Parsing: the prefix has no `/` and project id and token are uuids (no `/`), so the first segment
 * is the prefix, the second the project id, the last the token and everything in between the
 * environment, `/`s and all. Every name {@link keyName} builds from a uuid token parses back to its
 * parts; names not built that way (hand-made keys) parse to `undefined` and are never ours.
 */

/** The key-name prefix used when none is configured (the provider's `name`, the rotator's `--prefix`). */
export const DEFAULT_KEY_PREFIX = "llamacloud-keys";

/** A valid prefix: a letter or digit, then up to 99 letters, digits, dots, underscores or dashes; no `/`. */
export const KEY_PREFIX_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** What a key name is made of. */
export interface KeyNameParts {
  prefix: string;
  projectId: string;
  environment: string;
  token: string;
}

const projectIdPattern = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const tokenPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * The name of the key held by version `token` of the secret for (`projectId`, `environment`).
 * Throws `LLAMACLOUD_CONFIG` when `prefix` is not a valid prefix (see {@link KEY_PREFIX_PATTERN}):
 * a name that does not parse back could not be found again after a crash.
 */
export function keyName(prefix: string, projectId: string, environment: string, token: string): string {
  if (!KEY_PREFIX_PATTERN.test(prefix)) {
    throw new LlamaCloudConfigError(
      `Key-name prefix ${JSON.stringify(prefix)} must be 1-100 letters, digits, dots, underscores or dashes ` +
        "(no slashes), e.g. checkout-api",
    );
  }
  return `${prefix}/${projectId}/${environment}/${token}`;
}

/**
 * The parts of a name built by {@link keyName}, or `undefined` when the name is not one of ours
 * (null, too few segments, a bad prefix, a project id or token that is not a uuid, an empty
 * environment). The token must be a lower-case uuid, as every token llamacloud-keys makes is.
 */
export function parseKeyName(name: string | null | undefined): KeyNameParts | undefined {
  if (typeof name !== "string") return undefined;
  const segments = name.split("/");
  if (segments.length < 4) return undefined;
  const prefix = segments[0] as string;
  const projectId = segments[1] as string;
  const token = segments[segments.length - 1] as string;
  const environment = segments.slice(2, -1).join("/");
  if (!KEY_PREFIX_PATTERN.test(prefix) || !projectIdPattern.test(projectId) || !tokenPattern.test(token)) {
    return undefined;
  }
  if (environment.trim() === "") return undefined;
  return { prefix, projectId, environment, token };
}
