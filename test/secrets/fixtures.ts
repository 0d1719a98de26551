import { randomBytes, randomUUID } from "node:crypto";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { inject } from "vitest";
import { redacted } from "../../redaction";
import type { SecretPayload } from "../../secrets/payload";
import {
  createSecretStore,
  type SecretStore,
  type SecretStoreOptions,
  type StoreCallEvent,
} from "../../secrets/store";
import { motoCredentials } from "../harness/moto";

/** A key shaped like LlamaCloud's: `llx-` and 48 url-safe characters. */
export function fakeApiKey(): string {
  return `llx-${randomBytes(36).toString("base64url")}`;
}

export function makePayload(
  overrides: Partial<Omit<SecretPayload, "apiKey">> & { apiKey?: string } = {},
): SecretPayload {
  const { apiKey, ...rest } = overrides;
  return {
    format: 1,
    apiKey: redacted(apiKey ?? fakeApiKey()),
    keyId: randomUUID(),
    keyName: `llamacloud-keys/${randomUUID()}`,
    projectId: "3f1a2b4c-5d6e-4f70-8a91-b2c3d4e5f601",
    organizationId: "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d",
    environment: "prod",
    baseUrl: "https://api.cloud.llamaindex.ai",
    createdAt: "2025-01-31T12:00:00.000Z",
    ...rest,
  };
}

/** A store on the shared moto server, in a region of the test file's own. */
export function motoStore(region: string, options: Omit<SecretStoreOptions, "region"> = {}): SecretStore {
  return createSecretStore({
    endpoint: inject("motoEndpoint"),
    credentials: motoCredentials,
    region,
    maxAttempts: 1,
    ...options,
  });
}

/** Collects onCall events. */
export function callLog(): { events: StoreCallEvent[]; onCall: (event: StoreCallEvent) => void } {
  const events: StoreCallEvent[] = [];
  return { events, onCall: (event) => events.push(event) };
}

export function uniqueName(prefix: string): string {
  return `${prefix}/${randomUUID()}`;
}

/** A bare SDK client, for writing what llamacloud-keys never would (plain text, foreign JSON). */
export function rawClient(region: string): SecretsManagerClient {
  return new SecretsManagerClient({ endpoint: inject("motoEndpoint"), credentials: motoCredentials, region });
}
