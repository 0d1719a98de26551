/**
 * `@pulumi/pulumi` and `@pulumi/aws` are optional peer dependencies: an app that only reads its key
 * installs neither, and a Pulumi program shares its own copy with us instead of getting a second one.
 * So the Pulumi side checks for them where it needs them and, when one is missing, says which package
 * to install (and which versions we support) instead of letting Node throw MODULE_NOT_FOUND from deep
 * inside our files.
 */

/**
 * The supported range of each peer, as in `package.json` `peerDependencies` (a test keeps the two
 * equal).
 */
export const PEER_RANGES = {
  "@pulumi/pulumi": "^3.249.0",
  "@pulumi/aws": "^7.0.0",
} as const;

export type PeerName = keyof typeof PEER_RANGES;

/**
 * A peer dependency the requested part of `llamacloud-keys` needs is not installed beside it. Match
 * on `code` (`MISSING_PEER_DEPENDENCY`), not `instanceof`.
 */
export class MissingPeerDependencyError extends Error {
  override name = "MissingPeerDependencyError";
  readonly code = "MISSING_PEER_DEPENDENCY";
  /** The package to install, e.g. `@pulumi/aws`. */
  readonly packageName: PeerName;
  /** The versions we support, e.g. `^7.0.0`. */
  readonly range: string;

  constructor(packageName: PeerName, neededBy: string, cause?: unknown) {
    const range = PEER_RANGES[packageName];
    super(
      `${neededBy} needs ${packageName} (${range}), which is not installed: ` +
        `run \`npm install ${packageName}@"${range}"\` in your Pulumi program`,
      cause === undefined ? undefined : { cause },
    );
    this.packageName = packageName;
    this.range = range;
  }
}

/** True when `error` is Node's "cannot find module" for `packageName` itself (not for one of its own dependencies). */
function isMissing(error: unknown, packageName: string): boolean {
  if (typeof error !== "object" || error === null) return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  return (
    code === "MODULE_NOT_FOUND" &&
    typeof message === "string" &&
    message.startsWith(`Cannot find module '${packageName}'`)
  );
}

/**
 * Loads a peer from where Node would find it for our own files, or throws
 * {@link MissingPeerDependencyError} naming it. Any other load failure is rethrown unchanged.
 */
export function requirePeer<T>(packageName: PeerName, neededBy: string): T {
  try {
    return require(packageName) as T;
  } catch (error) {
    if (isMissing(error, packageName)) throw new MissingPeerDependencyError(packageName, neededBy, error);
    throw error;
  }
}
