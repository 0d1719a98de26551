import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { inject } from "vitest";
import { createLlamaCloudClient, type LlamaCloudClient } from "../../llamacloud";
import type { EmulatorHandle } from "../../llamacloud/emulator";
import { createSecretStore, type SecretStore } from "../../secrets/store";
import { motoCredentials } from "../harness/moto";
import { repoRoot } from "../harness/tools";

/**
 * The provider is tested as the engine runs it: the compiled CommonJS in `dist/` loaded by Node's own
 * `require` (vitest's transform would produce code that cannot serialize, and is not what ships).
 * `npm test` builds first; a missing build fails loudly here rather than testing stale code.
 */
export const distDir = join(repoRoot, "dist");

export function requireDist<T>(relative: string): T {
  const file = join(distDir, relative);
  if (!existsSync(file)) {
    throw new Error(`${file} is missing: run \`npm run build\` before these tests (npm test does it)`);
  }
  return createRequire(file)(file) as T;
}

type Props = Record<string, unknown>;

/** The provider object as `pulumi.dynamic.ResourceProvider` types it, with the methods we call. */
export interface ProviderUnderTest {
  configure(req: { config: { get(key: string): string | undefined } }): Promise<void>;
  check(
    olds: Props,
    news: Props,
  ): Promise<{ inputs: Props; failures?: { property: string; reason: string }[] }>;
  diff(
    id: string,
    olds: Props,
    news: Props,
  ): Promise<{ changes: boolean; replaces: string[]; deleteBeforeReplace: boolean }>;
  create(inputs: Props): Promise<{ id: string; outs: Props }>;
  read(id: string, props: Props): Promise<{ id: string; props?: Props }>;
  update(id: string, olds: Props, news: Props): Promise<{ outs: Props }>;
  delete(id: string, props: Props): Promise<void>;
}

export function loadProvider(): ProviderUnderTest {
  return requireDist<{ apiKeyProvider: ProviderUnderTest }>("provider/api-key-provider.js").apiKeyProvider;
}

/** Stack config as `configure` receives it. */
export function stackConfig(values: Record<string, string>) {
  return { config: { get: (key: string) => values[key] } };
}

/** Points the AWS SDK (in this process: the provider runs here) at moto, in this file's region. */
export function useMoto(region: string): void {
  process.env["AWS_REGION"] = region;
  process.env["AWS_ENDPOINT_URL_SECRETS_MANAGER"] = inject("motoEndpoint");
  process.env["AWS_ACCESS_KEY_ID"] = motoCredentials.accessKeyId;
  process.env["AWS_SECRET_ACCESS_KEY"] = motoCredentials.secretAccessKey;
  delete process.env["LLAMA_CLOUD_API_KEY"];
  delete process.env["LLAMA_CLOUD_BASE_URL"];
}

export function storeFor(region: string): SecretStore {
  return createSecretStore({ region, endpoint: inject("motoEndpoint"), credentials: motoCredentials });
}

export function adminClient(emulator: EmulatorHandle): LlamaCloudClient {
  return createLlamaCloudClient({ apiKey: emulator.adminKey, baseUrl: emulator.url, env: {} });
}

/** Every plaintext the emulator ever issued that `text` contains (must be none). */
export function leakedSecrets(emulator: EmulatorHandle, text: string): string[] {
  return emulator.state.issuedSecrets().filter((secret) => text.includes(secret));
}

export function keyById(emulator: EmulatorHandle, id: unknown) {
  const key = emulator.state.allKeys().find((k) => k.id === id);
  if (key === undefined) throw new Error(`the emulator has no key ${String(id)}`);
  return key;
}

export function projectIdOf(emulator: EmulatorHandle, name: string): string {
  const project = emulator.projects.find((p) => p.name === name);
  if (project === undefined) throw new Error(`the emulator has no project ${name}`);
  return project.id;
}
