import { inspect } from "node:util";
import { expect } from "vitest";
import { issuedKeysFileFromEnv, recordIssuedKeys } from "../../llamacloud/emulator/issued-keys";
import { defaultSeed, resolveSeed } from "../../llamacloud/emulator/seed";
import { EmulatorState } from "../../llamacloud/emulator/state";
import { describeError, recordError } from "../harness/artifacts";

/**
 * Shared pieces of the security suites: keys to plant that the suite-wide leak scan knows about,
 * the rendering of errors the way logs would show them, and the run budget of property tests.
 */

/** Property runs per boundary: enough to shake out shapes, few enough to stay in seconds. */
export const RUNS = { pure: 200, wire: 150, remote: 40 } as const;

let issuer: EmulatorState | undefined;

/**
 * A real key minted by an emulator state in this process: it is in the run's issued-key lists, so
 * beyond the assertions of each test, the global teardown fails the run if it shows up in any
 * recorded artifact (errors, console, process output).
 */
export function issuedKey(): string {
  if (issuer === undefined) {
    const file = issuedKeysFileFromEnv();
    issuer = new EmulatorState(
      resolveSeed(defaultSeed),
      file === undefined ? {} : { onIssued: recordIssuedKeys(file) },
    );
  }
  const admin = issuer.authenticate(issuer.adminKey);
  return issuer.createApiKey(admin, { name: "planted", projectId: null }).secret;
}

/** Everything a log line could show of an error, also kept as an artifact for the leak scan. */
export function renderError(name: string, error: unknown): string {
  recordError(name, error);
  return describeError(error);
}

/** Everything a log line could show of a value. */
export function renderValue(value: unknown): string {
  let json = "";
  try {
    json = JSON.stringify(value) ?? "";
  } catch {
    // circular: inspect covers it
  }
  return `${json}\n${inspect(value, { depth: 8 })}\n${String(value)}`;
}

export function expectNoKey(text: string, key: string, where: string): void {
  if (text.includes(key)) {
    expect.fail(`${where} contains the planted key llx-…${key.slice(-4)}:\n${text.replaceAll(key, "<KEY>")}`);
  }
}

/** Runs `promise` and gives back what it settled with, or fails after `ms` (a hang). */
export async function settle<T>(
  promise: Promise<T>,
  ms: number,
  what: string,
): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms (a hang)`)), ms);
  });
  try {
    return await Promise.race([promise.then((value) => ({ ok: true as const, value })), hang]);
  } catch (error) {
    if (error instanceof Error && error.message.endsWith("(a hang)")) throw error;
    return { ok: false, error };
  } finally {
    clearTimeout(timer);
  }
}
