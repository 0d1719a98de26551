import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";

/** Where `npm run setup` recorded the tools it installed (git-ignored, rewritten by every setup). */
export const repoRoot = resolve(__dirname, "..", "..");
const toolsFile = join(repoRoot, ".tools.json");

export interface InstalledTools {
  /** Directory holding `pulumi`, `pulumi-language-nodejs` and the `pulumi-resource-pulumi-nodejs` shim. */
  pulumiBinDir: string;
  pulumiVersion: string;
  motoServer: string;
  motoVersion: string;
}

export class MissingToolError extends Error {
  readonly code = "MISSING_TOOL";
  constructor(what: string) {
    super(`${what} is not installed: run \`npm run setup\` from ${repoRoot} first`);
    this.name = "MissingToolError";
  }
}

export function installedTools(): InstalledTools {
  if (!existsSync(toolsFile)) throw new MissingToolError(".tools.json (written by setup)");
  const tools = JSON.parse(readFileSync(toolsFile, "utf8")) as InstalledTools;
  if (!existsSync(tools.motoServer)) throw new MissingToolError(`moto's server (${tools.motoServer})`);
  return tools;
}

/** The directory to put first on PATH for the Pulumi CLI, its Node language host and the shim. */
export function pulumiBinDir(): string {
  const { pulumiBinDir } = installedTools();
  if (!existsSync(join(pulumiBinDir, "pulumi"))) {
    throw new MissingToolError(`the Pulumi CLI (${pulumiBinDir}/pulumi)`);
  }
  return pulumiBinDir;
}
