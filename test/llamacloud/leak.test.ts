import { inspect } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLlamaCloudClient, isLlamaCloudError, type LlamaCloudClient } from "../../llamacloud";
import { type EmulatorHandle, startEmulator } from "../../llamacloud/emulator";
import { freePort } from "../harness/ports";
import { projectId, recordingClient } from "./fixtures";

/**
 * Invariant 1: no key in any error. Provoke every error the client can raise, each with a real key
 * configured (and keys planted where a careless implementation would echo them), then scan every
 * rendering of each error for every secret the emulator ever issued.
 */

let emulator: EmulatorHandle;
beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(async () => {
  await emulator.close();
});

function renderings(error: unknown): string[] {
  const out = [inspect(error, { depth: 10, showHidden: true }), JSON.stringify(error) ?? ""];
  let current: unknown = error;
  for (let depth = 0; current instanceof Error && depth < 10; depth++) {
    out.push(
      current.message,
      current.stack ?? "",
      inspect(current, { depth: 10 }),
      JSON.stringify(current) ?? "",
    );
    current = current.cause;
  }
  return out;
}

describe("no key material in errors", () => {
  it("every provoked error, in every rendering, is free of every issued key", async () => {
    const { client: admin, events } = recordingClient(emulator, {
      timeouts: { connectMs: 500, headersMs: 200, bodyMs: 500, totalMs: 5_000 },
    });
    const project = projectId(emulator);
    const search = projectId(emulator, "search");
    const errors: { label: string; error: unknown }[] = [];
    const provoke = async (label: string, run: () => Promise<unknown>) => {
      const error = await run().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isLlamaCloudError(error), `${label} should fail with a LlamaCloud error`).toBe(true);
      errors.push({ label, error });
    };

    // 401 with a revoked, once-real key as the client's key.
    const { key: revokedKey, secret: revokedSecret } = await admin.createApiKey({
      projectId: project,
      name: "revoked",
    });
    await admin.deleteApiKey(revokedKey.id);
    await provoke("401 revoked key", () => admin.withApiKey(revokedSecret).getProject(project));
    // 403 with a live key scoped to another project.
    const { secret: scoped } = await admin.createApiKey({ projectId: search, name: "scoped" });
    const scopedClient: LlamaCloudClient = admin.withApiKey(scoped);
    await provoke("403 other project", () => scopedClient.getProject(project));
    await provoke("403 create elsewhere", () => scopedClient.createApiKey({ projectId: project, name: "x" }));
    await provoke("404", () =>
      admin
        .deleteApiKey("00000000-0000-4000-8000-000000000000")
        .then(() => admin.renameApiKey("00000000-0000-4000-8000-000000000000", "n")),
    );
    // 422 where the caller put a key where an id or name belongs.
    await provoke("422 key as id", () => admin.getProject(emulator.adminKey));
    await provoke("422 key in an over-long name", () =>
      admin.createApiKey({ projectId: project, name: `${emulator.adminKey}${"x".repeat(3000)}` }),
    );
    for (const status of [429, 500, 503]) {
      emulator.faults.add({
        route: "*",
        kind: "status",
        status,
        times: "always",
        detail: `echo ${emulator.adminKey}`,
      });
      await provoke(`${status} get`, () => admin.getProject(project));
      await provoke(`${status} create`, () => admin.createApiKey({ projectId: project, name: "s" }));
      emulator.faults.clear();
    }
    emulator.faults.add({ route: "*", kind: "hang", times: "always" });
    await provoke("timeout get", () => admin.listApiKeys());
    await provoke("timeout create", () => admin.createApiKey({ projectId: project, name: "h" }));
    emulator.faults.clear();
    emulator.faults.add({ route: "*", kind: "reset", times: "always" });
    await provoke("reset get", () => admin.listOrganizations());
    // The reset comes mid-response: half the create body (with the new secret) was on the wire.
    await provoke("reset create", () => admin.createApiKey({ projectId: project, name: "r" }));
    emulator.faults.clear();
    emulator.faults.add({ route: "POST /api/v1/api-keys", kind: "masked-key" });
    await provoke("masked key", () => admin.createApiKey({ projectId: project, name: "m" }));
    emulator.faults.add({
      route: "POST /api/v1/api-keys",
      kind: "body",
      body: JSON.stringify({ redacted_api_key: emulator.adminKey, user_id: 7 }),
    });
    await provoke("bad create body holding a key", () =>
      admin.createApiKey({ projectId: project, name: "b" }),
    );
    emulator.faults.add({
      route: "GET /api/v1/projects/:id",
      kind: "body",
      body: JSON.stringify({ id: emulator.adminKey, name: emulator.adminKey, organization_id: 1 }),
    });
    await provoke("bad response holding a key", () => admin.getProject(project));
    emulator.faults.add({
      route: "GET /api/v1/organizations",
      kind: "body",
      body: `not json ${emulator.adminKey}`,
    });
    await provoke("non-JSON response holding a key", () => admin.listOrganizations());

    const refused = createLlamaCloudClient({
      apiKey: emulator.adminKey,
      baseUrl: `http://127.0.0.1:${await freePort()}`,
      env: {},
      retry: { maxRetries: 0 },
    });
    await provoke("connection refused", () => refused.listOrganizations());
    await refused.close();
    await provoke("config: key with a newline", async () =>
      createLlamaCloudClient({ apiKey: `${emulator.adminKey}\n`, env: {} }),
    );
    await provoke("config: key as base URL", async () =>
      createLlamaCloudClient({ apiKey: "k", env: { LLAMA_CLOUD_BASE_URL: emulator.adminKey } }),
    );

    const secrets = emulator.state.issuedSecrets();
    expect(secrets.length).toBeGreaterThanOrEqual(5);
    expect(new Set(errors.map(({ error }) => (error as { code: string }).code))).toEqual(
      new Set([
        "LLAMACLOUD_AUTHENTICATION",
        "LLAMACLOUD_PERMISSION",
        "LLAMACLOUD_NOT_FOUND",
        "LLAMACLOUD_VALIDATION",
        "LLAMACLOUD_RATE_LIMITED",
        "LLAMACLOUD_SERVER",
        "LLAMACLOUD_TIMEOUT",
        "LLAMACLOUD_NETWORK",
        "LLAMACLOUD_MASKED_KEY",
        "LLAMACLOUD_BAD_RESPONSE",
        "LLAMACLOUD_CONFIG",
      ]),
    );
    const leaks: string[] = [];
    for (const { label, error } of errors) {
      for (const text of renderings(error)) {
        for (const secret of secrets) if (text.includes(secret)) leaks.push(label);
      }
    }
    expect([...new Set(leaks)]).toEqual([]);
    const logged = JSON.stringify(events);
    expect(secrets.filter((secret) => logged.includes(secret))).toEqual([]);
    await admin.close();
  });
});
