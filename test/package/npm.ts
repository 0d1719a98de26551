import { lstatSync, readdirSync, readFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runProcess } from "../harness/processes";
import { repoRoot } from "../harness/tools";

// What a user gets from us is the tarball `npm pack` makes, installed by their own npm into their own
// project. These helpers make it and install it that way, outside the repository.

/** The repository's package.json, as published. */
export const manifest = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as {
  name: string;
  version: string;
  files: string[];
  exports: Record<string, string>;
  typesVersions: Record<string, Record<string, string[]>>;
  peerDependencies: Record<string, string>;
  peerDependenciesMeta: Record<string, { optional?: boolean }>;
  devDependencies: Record<string, string>;
};

export interface PackedTarball {
  /** Absolute path of the `.tgz`. */
  path: string;
  /** Bytes of the `.tgz`. */
  size: number;
  /** Bytes of its files, unpacked. */
  unpackedSize: number;
  /** Every file in it, relative to the package root. */
  files: string[];
}

/**
 * `npm pack` of the repository as it is (after `npm run build`), into a fresh temp directory.
 * `--ignore-scripts`: the `prepack` clean build would delete `dist/` under the suites running beside
 * this one; `npm test` has just built it, and the contents test checks no stale file slips in.
 */
export async function packTarball(): Promise<PackedTarball> {
  const destination = await mkdtemp(join(tmpdir(), "llamacloud-keys-pack-"));
  const result = await runProcess(
    "npm",
    ["pack", "--ignore-scripts", "--json", "--pack-destination", destination],
    { cwd: repoRoot, timeoutMs: 120_000 },
  );
  if (result.code !== 0) throw new Error(`npm pack exited with ${result.code}:\n${result.output}`);
  const [entry] = JSON.parse(result.stdout) as {
    filename: string;
    size: number;
    unpackedSize: number;
    files: { path: string }[];
  }[];
  if (entry === undefined) throw new Error(`npm pack printed no entry:\n${result.output}`);
  return {
    path: join(destination, entry.filename),
    size: entry.size,
    unpackedSize: entry.unpackedSize,
    files: entry.files.map((file) => file.path).sort(),
  };
}

// Where npm finds packages and its cache: the machine's, as a user's npm would use them.
const keptNpmSettings = new Set([
  "npm_config_cache",
  "npm_config_registry",
  "npm_config_userconfig",
  "npm_config_globalconfig",
  "npm_config_proxy",
  "npm_config_https_proxy",
  "npm_config_noproxy",
  "npm_config_cafile",
]);

/**
 * The environment a user's shell would give npm: without the `npm_config_*` that `npm test` exports
 * from this repository's `.npmrc` (notably `legacy-peer-deps=true`, which would hide exactly the
 * peer-dependency behaviour under test) and without `npm_package_*`/`npm_lifecycle_*`.
 */
export function userNpmEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    const lower = name.toLowerCase();
    if (lower.startsWith("npm_config_") && !keptNpmSettings.has(lower)) continue;
    if (lower.startsWith("npm_package_") || lower.startsWith("npm_lifecycle_")) continue;
    env[name] = value;
  }
  return { ...env, ...extra };
}

/**
 * `npm install` in a user's project directory, as they would run it. `--prefer-offline` takes what
 * the machine's npm cache already holds (setup's `npm ci` filled it) before asking the registry.
 */
export async function npmInstall(dir: string): Promise<{ ms: number; output: string }> {
  const started = performance.now();
  const result = await runProcess("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund"], {
    cwd: dir,
    env: userNpmEnv(),
    timeoutMs: 480_000,
  });
  if (result.code !== 0)
    throw new Error(`npm install in ${dir} exited with ${result.code}:\n${result.output}`);
  return { ms: Math.round(performance.now() - started), output: result.output };
}

export interface TreeSize {
  /** Bytes of regular files (their apparent size). */
  bytes: number;
  files: number;
  /** Installed packages: directories holding a package.json directly under a node_modules (or its @scope). */
  packages: string[];
}

/** Sizes `node_modules` the way `du --apparent-size` would, and lists the packages in it. */
export function measureNodeModules(nodeModules: string): TreeSize {
  const size: TreeSize = { bytes: 0, files: 0, packages: [] };
  const walk = (dir: string, packageSlot: boolean) => {
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      const stat = lstatSync(path);
      if (stat.isDirectory()) {
        if (packageSlot && entry.startsWith("@")) {
          walk(path, true);
          continue;
        }
        if (packageSlot && entry !== ".bin" && entry !== ".cache") {
          try {
            lstatSync(join(path, "package.json"));
            size.packages.push(path.slice(nodeModules.length + 1));
          } catch {
            // not a package directory
          }
        }
        walk(path, entry === "node_modules");
      } else if (stat.isFile()) {
        size.bytes += stat.size;
        size.files += 1;
      }
    }
  };
  walk(nodeModules, true);
  return size;
}

/** Subpaths of `exports` that are modules (not `./package.json`), without the leading `./`; "" for the root. */
export function moduleSubpaths(): string[] {
  return Object.keys(manifest.exports)
    .filter((key) => key !== "./package.json")
    .map((key) => key.replace(/^\.\/?/, ""));
}

export function megabytes(bytes: number): string {
  return `${(bytes / 1_000_000).toFixed(1)} MB`;
}
