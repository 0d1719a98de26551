import type { ChildProcess } from "node:child_process";
import {
  appendFileSync,
  copyFileSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from "node:fs";
import { basename, join } from "node:path";
import { inspect } from "node:util";

/**
 * Everything the system under test emits while the suite runs, kept as files for the suite-wide
 * leak scan (`leak-scan.ts`, run by the global teardown): process output, Pulumi state and exports,
 * error messages with their causes, `/metrics` bodies, console output. The global setup creates the
 * directory and names it in {@link ARTIFACTS_ENV}, which every worker and child process inherits.
 * Without it (a file run outside the suite's config) recording is a no-op.
 */

/** The artifacts directory, set by the global setup and inherited by workers and children. */
export const ARTIFACTS_ENV = "LLAMACLOUD_KEYS_ARTIFACTS_DIR";
/** Where emulators append every key they mint (see llamacloud/emulator/README.md). */
export const ISSUED_ENV = "LLAMACLOUD_KEYS_EMULATOR_ISSUED_DIR";
/** The subdirectory of the artifacts dir holding the emulators' issued-key lists. */
export const ISSUED_SUBDIR = "issued";

/** Artifact kinds; each is a subdirectory. */
export type ArtifactKind =
  | "process"
  | "pulumi"
  | "error"
  | "metrics"
  | "console"
  | "cli-output"
  | "temp"
  // The emulator CLI's stdout: its ready line hands out its admin key by contract (exempt, see leak-scan.ts).
  | "emulator-stdout";

let sequence = 0;

export function artifactsDir(): string | undefined {
  const dir = process.env[ARTIFACTS_ENV];
  return dir === undefined || dir === "" ? undefined : dir;
}

function safe(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]+/g, "_").slice(0, 80) || "unnamed";
}

/** A fresh path `<dir>/<kind>/<pid>-<n>-<name><suffix>`, or undefined when not recording. */
export function artifactPath(kind: ArtifactKind, name: string, suffix = ".txt"): string | undefined {
  const dir = artifactsDir();
  if (dir === undefined) return undefined;
  mkdirSync(join(dir, kind), { recursive: true });
  sequence += 1;
  return join(dir, kind, `${process.pid}-${sequence}-${safe(name)}${suffix}`);
}

/** Writes `text` as a new artifact; returns its path. */
export function recordText(
  kind: ArtifactKind,
  name: string,
  text: string,
  suffix = ".txt",
): string | undefined {
  const path = artifactPath(kind, name, suffix);
  if (path !== undefined) writeFileSync(path, text);
  return path;
}

/**
 * Records an error as everything a log line could show of it: message, stack, the cause chain
 * (each link's message and stack), `util.inspect` (which reaches own properties and causes) and
 * `JSON.stringify` (which uses `toJSON`).
 */
export function recordError(name: string, error: unknown): string | undefined {
  if (artifactsDir() === undefined) return undefined;
  return recordText("error", name, describeError(error));
}

/** The text {@link recordError} writes. */
export function describeError(error: unknown): string {
  const parts: string[] = [];
  let link: unknown = error;
  for (let depth = 0; depth < 10 && link !== undefined && link !== null; depth++) {
    if (link instanceof Error) {
      parts.push(`[cause ${depth}] ${link.name}: ${link.message}`, link.stack ?? "");
    } else {
      parts.push(`[cause ${depth}] ${String(link)}`);
    }
    link = typeof link === "object" ? (link as { cause?: unknown }).cause : undefined;
  }
  parts.push(`[inspect] ${inspect(error, { depth: 8, showHidden: false })}`);
  let json: string;
  try {
    json = JSON.stringify(error) ?? "undefined";
  } catch (failure) {
    json = `(not serializable: ${String(failure)})`;
  }
  parts.push(`[json] ${json}`);
  return `${parts.join("\n")}\n`;
}

const recorded = Symbol.for("llamacloud-keys.test.recorded");

/**
 * A short, file-friendly label for a command line: `node llamacloud-keys.js rotate`. Only short,
 * word-like arguments count (never an inline script), so the label is no second copy of argv.
 */
function commandLabel(command: string, args: readonly string[]): string {
  const words = [basename(command)];
  for (let i = 0; i < args.length && words.length < 3; i++) {
    const arg = args[i]!;
    if (arg === "-e" || arg === "--eval" || arg === "-p" || arg === "--print") i += 1;
    else if (!arg.startsWith("-") && /^[\w./:@-]{1,60}$/.test(arg)) words.push(basename(arg));
  }
  return words.join(" ");
}

function isEmulatorCli(args: readonly string[]): boolean {
  const bin = args.findIndex((arg) => arg.endsWith("llamacloud-keys.js"));
  return bin !== -1 && args[bin + 1] === "emulator";
}

/**
 * Appends the child's stdout and stderr to artifacts as they arrive (synchronously, so a killed
 * worker loses nothing). Idempotent: a child already recorded (by the spawn hook) is left alone.
 */
export function recordChild(
  child: ChildProcess,
  command: string,
  args: readonly string[],
  cwd?: string,
): void {
  const marked = child as ChildProcess & { [recorded]?: true };
  if (marked[recorded] || artifactsDir() === undefined) return;
  marked[recorded] = true;
  const label = commandLabel(command, args);
  const meta = artifactPath("process", label, ".json");
  if (meta === undefined) return;
  const base = meta.slice(0, -".json".length);
  writeFileSync(meta, `${JSON.stringify({ command, args, cwd, pid: child.pid }, null, 2)}\n`);
  const streams: [NodeJS.ReadableStream | null, string][] = [
    [child.stdout, `${base}.stdout.log`],
    [child.stderr, `${base}.stderr.log`],
  ];
  if (isEmulatorCli(args)) {
    const path = artifactPath("emulator-stdout", label, ".stdout.log");
    if (path !== undefined) streams[0] = [child.stdout, path];
  }
  for (const [stream, path] of streams) {
    if (stream === null) continue;
    writeFileSync(path, "");
    stream.on("data", (chunk: Buffer | string) => appendFileSync(path, chunk));
  }
}

const skippedDirs = new Set(["node_modules", "plugins"]);
const maxFileBytes = 64 * 1024 * 1024;

/**
 * Copies a directory tree (regular files only; no symlinks, sockets or pipes; no `node_modules` or
 * `plugins`) into the artifacts as `<kind>/<pid>-<n>-<name>/`. Returns how many files were copied.
 */
export function preserveDir(kind: ArtifactKind, source: string, name: string): number {
  const target = artifactPath(kind, name, "");
  if (target === undefined) return 0;
  let copied = 0;
  const walk = (from: string, to: string) => {
    let entries: string[];
    try {
      entries = readdirSync(from);
    } catch {
      return;
    }
    for (const entry of entries) {
      const path = join(from, entry);
      let stat: ReturnType<typeof lstatSync>;
      try {
        stat = lstatSync(path);
      } catch {
        continue;
      }
      if (stat.isDirectory() && !skippedDirs.has(entry)) walk(path, join(to, entry));
      else if (stat.isFile() && stat.size <= maxFileBytes) {
        mkdirSync(to, { recursive: true });
        try {
          copyFileSync(path, join(to, entry));
          copied += 1;
        } catch {
          // vanished meanwhile
        }
      }
    }
  };
  walk(source, target);
  return copied;
}

/** Every key the emulators of this run have minted or seeded, from their issued-key lists. */
export function readIssuedKeys(dir: string): string[] {
  const keys = new Set<string>();
  let files: string[] = [];
  try {
    files = readdirSync(join(dir, ISSUED_SUBDIR));
  } catch {
    return [];
  }
  for (const file of files) {
    for (const line of readFileSync(join(dir, ISSUED_SUBDIR, file), "utf8").split("\n")) {
      if (line !== "") keys.add(line);
    }
  }
  return [...keys];
}
