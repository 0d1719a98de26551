import { lstatSync, readdirSync, readFileSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { ISSUED_SUBDIR } from "./artifacts";

/**
 * The suite-wide leak scan (DESIGN.md invariant 1): every artifact is searched for every key the
 * emulators issued, in each form a key could take on its way out — as is, URL-encoded, and base64
 * (standard and URL-safe) at each of the three byte alignments, so a key inside a larger encoded
 * blob (a JSON payload, an Authorization header) is found too.
 *
 * Exempt, and nothing else: the issued-key lists themselves, and the emulator CLI's stdout, whose
 * ready line hands out the emulator's admin key by contract. Secrets Manager values live in moto's
 * process memory and are never artifacts.
 */

/** Artifact subdirectories that may hold keys by design. */
const EXEMPT_KINDS: Record<string, string> = {
  [ISSUED_SUBDIR]: "the emulators' issued-key lists (the scan's input)",
  "emulator-stdout": "the emulator CLI's ready line, which hands out its admin key by contract",
};

type KeyForm =
  | "exact"
  | "url-encoded"
  | "base64@0"
  | "base64@1"
  | "base64@2"
  | "base64url@0"
  | "base64url@1"
  | "base64url@2";

export interface Needle {
  key: string;
  form: KeyForm;
  text: string;
}

export interface LeakHit {
  artifact: string;
  line: number;
  column: number;
  form: KeyForm;
  /** The key as it may be printed: `llx-…abcd`. */
  maskedKey: string;
}

function maskKey(key: string): string {
  return `${key.startsWith("llx-") ? "llx-" : ""}…${key.slice(-4)}`;
}

/**
 * The base64 characters that depend only on `key`'s bytes when it starts `offset` bytes (0, 1 or 2)
 * into a 3-byte group: whatever surrounds the key, its encoding contains exactly this text.
 */
export function base64Core(key: string, offset: 0 | 1 | 2, urlSafe = false): string {
  const bytes = Buffer.concat([Buffer.alloc(offset), Buffer.from(key, "utf8")]);
  const encoded = bytes.toString(urlSafe ? "base64url" : "base64").replace(/=+$/, "");
  // Characters carry 6 bits: skip those touching the prefix bits, drop those touching what follows.
  const first = Math.ceil((offset * 8) / 6);
  const end = Math.floor((bytes.length * 8) / 6);
  return encoded.slice(first, end);
}

/** Every form of `key` the scan looks for (duplicates removed: an alphanumeric key URL-encodes to itself). */
export function needlesFor(key: string): Needle[] {
  const forms: [KeyForm, string][] = [
    ["exact", key],
    ["url-encoded", encodeURIComponent(key)],
  ];
  for (const offset of [0, 1, 2] as const) {
    forms.push([`base64@${offset}`, base64Core(key, offset)]);
    forms.push([`base64url@${offset}`, base64Core(key, offset, true)]);
  }
  const seen = new Set<string>();
  const needles: Needle[] = [];
  for (const [form, text] of forms) {
    if (text.length === 0 || seen.has(text)) continue;
    seen.add(text);
    needles.push({ key, form, text });
  }
  return needles;
}

function escapeClass(char: string): string {
  return /[\\\]^-]/.test(char) ? `\\${char}` : char;
}

/**
 * Finds needles in text. Needles are indexed by their first `anchor` characters; text is cut into
 * runs of needle characters at least as long as the shortest needle, and only those runs are
 * probed, so a scan costs about one map lookup per character of key-like text.
 */
export class LeakScanner {
  readonly keys: readonly string[];
  readonly needles: readonly Needle[];
  private readonly anchor: number;
  private readonly byAnchor = new Map<string, Needle[]>();
  private readonly runs: RegExp | undefined;

  constructor(keys: Iterable<string>) {
    this.keys = [...new Set(keys)].filter((key) => key.length > 0);
    this.needles = this.keys.flatMap(needlesFor);
    const minLength = Math.min(...this.needles.map((n) => n.text.length));
    this.anchor = Math.min(16, minLength);
    const chars = new Set<string>();
    for (const needle of this.needles) {
      for (const char of needle.text) chars.add(char);
      const head = needle.text.slice(0, this.anchor);
      const list = this.byAnchor.get(head);
      if (list === undefined) this.byAnchor.set(head, [needle]);
      else list.push(needle);
    }
    this.runs =
      this.needles.length === 0
        ? undefined
        : new RegExp(`[${[...chars].map(escapeClass).join("")}]{${minLength},}`, "gu");
  }

  /** Hits in `text`, each with its 1-based line and column. */
  scanText(text: string, artifact = "(text)"): LeakHit[] {
    const hits: LeakHit[] = [];
    if (this.runs === undefined) return hits;
    this.runs.lastIndex = 0;
    for (let run = this.runs.exec(text); run !== null; run = this.runs.exec(text)) {
      const start = run.index;
      const value = run[0];
      for (let i = 0; i + this.anchor <= value.length; i++) {
        const candidates = this.byAnchor.get(value.slice(i, i + this.anchor));
        if (candidates === undefined) continue;
        for (const needle of candidates) {
          if (text.startsWith(needle.text, start + i)) hits.push(this.hit(text, start + i, artifact, needle));
        }
      }
    }
    return hits;
  }

  private hit(text: string, index: number, artifact: string, needle: Needle): LeakHit {
    let line = 1;
    let lineStart = 0;
    for (let at = text.indexOf("\n"); at !== -1 && at < index; at = text.indexOf("\n", at + 1)) {
      line += 1;
      lineStart = at + 1;
    }
    return {
      artifact,
      line,
      column: index - lineStart + 1,
      form: needle.form,
      maskedKey: maskKey(needle.key),
    };
  }
}

export interface ScanResult {
  artifacts: number;
  bytes: number;
  exempt: number;
  hits: LeakHit[];
}

/** Every regular file under `dir`, split by whether its top-level kind is exempt. */
export function listArtifacts(dir: string): { scanned: string[]; exempt: string[] } {
  const scanned: string[] = [];
  const exempt: string[] = [];
  const walk = (path: string) => {
    for (const entry of readdirSync(path)) {
      const child = join(path, entry);
      const stat = lstatSync(child);
      if (stat.isDirectory()) walk(child);
      else if (stat.isFile()) {
        const kind = relative(dir, child).split(sep)[0]!;
        (kind in EXEMPT_KINDS ? exempt : scanned).push(child);
      }
    }
  };
  walk(dir);
  return { scanned, exempt };
}

/** Scans every artifact under `dir` (bytes read as latin1, so any file is text) for `keys`. */
export function scanArtifacts(dir: string, keys: Iterable<string>): ScanResult {
  const scanner = new LeakScanner(keys);
  const { scanned, exempt } = listArtifacts(dir);
  const hits: LeakHit[] = [];
  let bytes = 0;
  for (const file of scanned) {
    const content = readFileSync(file);
    bytes += content.length;
    hits.push(...scanner.scanText(content.toString("latin1"), file));
  }
  return { artifacts: scanned.length, bytes, exempt: exempt.length, hits };
}

export function formatHit(hit: LeakHit): string {
  return `${hit.artifact}:${hit.line}:${hit.column}: issued key ${hit.maskedKey} (${hit.form})`;
}
