import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { ARTIFACTS_ENV, ISSUED_ENV, ISSUED_SUBDIR, readIssuedKeys } from "./artifacts";
import { formatHit, scanArtifacts } from "./leak-scan";
import { type MotoServer, startMoto } from "./moto";

declare module "vitest" {
  export interface ProvidedContext {
    /** moto's Secrets Manager endpoint, shared by every suite; suites keep apart by region. */
    motoEndpoint: string;
    /** Where everything the system emits during the run is kept for the leak scan (artifacts.ts). */
    artifactsDir: string;
  }
}

let moto: MotoServer | undefined;
let artifacts: string | undefined;

export async function setup(project: TestProject): Promise<void> {
  // Set in this process's environment before any worker starts: fork workers, and every child a
  // test spawns, inherit it, so emulators everywhere record what they issue.
  artifacts = mkdtempSync(join(tmpdir(), "llamacloud-keys-artifacts-"));
  mkdirSync(join(artifacts, ISSUED_SUBDIR), { recursive: true, mode: 0o700 });
  process.env[ARTIFACTS_ENV] = artifacts;
  process.env[ISSUED_ENV] = join(artifacts, ISSUED_SUBDIR);
  project.provide("artifactsDir", artifacts);
  moto = await startMoto();
  project.provide("motoEndpoint", moto.endpoint);
}

export async function teardown(): Promise<void> {
  await moto?.stop();
  if (artifacts === undefined) return;
  const keys = readIssuedKeys(artifacts);
  const result = scanArtifacts(artifacts, keys);
  console.log(
    `leak scan: ${result.artifacts} artifacts, ${keys.length} issued keys, ${result.hits.length} hits ` +
      `(${(result.bytes / 1024 / 1024).toFixed(1)} MiB scanned, ${result.exempt} exempt files; ${artifacts})`,
  );
  if (result.hits.length === 0 && process.env["LLAMACLOUD_KEYS_KEEP_ARTIFACTS"] !== "1") {
    // They hold test keys and Pulumi state: keep them only when asked, or when something leaked.
    rmSync(artifacts, { recursive: true, force: true });
  }
  if (result.hits.length > 0) {
    // Vitest reports a throwing teardown but exits 0 unless told otherwise; .ci/run counts the exit.
    process.exitCode = 1;
    const shown = result.hits.slice(0, 50).map(formatHit);
    throw new Error(
      `Leak scan: ${result.hits.length} occurrence(s) of issued LlamaCloud keys in test artifacts ` +
        `(DESIGN.md invariant 1):\n  ${shown.join("\n  ")}` +
        (result.hits.length > shown.length ? `\n  … and ${result.hits.length - shown.length} more` : ""),
    );
  }
}
