import { appendFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";

/**
 * Issued-key lists for leak scans (README "Test knob: issued-key lists"): every key an emulator
 * issues, seeded or minted, appended one per line to a file. The state only reports issuance
 * (`onIssued`); `startEmulator` and the CLI wire a recorder from this module to it.
 */

/** When set, every emulator without an explicit file records into a file of its own in this directory. */
export const ISSUED_DIR_ENV = "LLAMACLOUD_KEYS_EMULATOR_ISSUED_DIR";

let files = 0;

/**
 * The file for one emulator under {@link ISSUED_DIR_ENV}, `issued-<pid>-<n>.txt`, or undefined
 * when the variable is unset or empty.
 */
export function issuedKeysFileFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const dir = env[ISSUED_DIR_ENV];
  if (dir === undefined || dir === "") return undefined;
  files += 1;
  return join(dir, `issued-${process.pid}-${files}.txt`);
}

/**
 * A recorder for `onIssued` that appends each key to `file` (mode 0600, its directory created).
 * Synchronous, so a process killed right after a create has still recorded its key.
 */
export function recordIssuedKeys(file: string): (secret: string) => void {
  mkdirSync(dirname(file), { recursive: true });
  return (secret) => appendFileSync(file, `${secret}\n`, { mode: 0o600 });
}
