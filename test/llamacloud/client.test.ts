import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createLlamaCloudClient, isLlamaCloudError, type LlamaCloudError } from "../../llamacloud";
import { type EmulatorHandle, type FaultSpec, startEmulator } from "../../llamacloud/emulator";
import { isRedacted } from "../../redaction";
import { fakeKey } from "../harness/fake-key";
import { freePort } from "../harness/ports";
import { projectId, recordingClient } from "./fixtures";

let emulator: EmulatorHandle;

beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(async () => {
  await emulator.close();
});
afterEach(() => {
  emulator.reset();
});

/** The rejection of `promise`, which must be a LlamaCloud error (the test fails otherwise). */
async function failure(promise: Promise<unknown>): Promise<LlamaCloudError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isLlamaCloudError(error)) throw new Error(`expected a LlamaCloud error, got ${String(error)}`);
  return error;
}

describe("the key lifecycle against the emulator", () => {
  it("creates a key whose secret is wrapped and works for its project, lists it masked, renames and revokes it", async () => {
    const { client } = recordingClient(emulator);
    const project = await client.resolveProject({ name: "search" });
    expect(project).toMatchObject({
      name: "search",
      organizationId: emulator.organizationId,
      isDefault: false,
    });

    const { key, secret } = await client.createApiKey({ projectId: project.id, name: "app/search/prod/t1" });
    expect(isRedacted(secret)).toBe(true);
    expect(String(secret)).toBe("[redacted]");
    expect(secret.reveal()).toMatch(/^llx-[A-Za-z0-9]{48}$/);
    expect(key).toMatchObject({
      name: "app/search/prod/t1",
      projectId: project.id,
      maskedKey: `llx-…${secret.reveal().slice(-4)}`,
    });

    // The rotator's test step: the pending key proves itself on its own project.
    const pending = client.withApiKey(secret);
    expect(pending.baseUrl).toBe(client.baseUrl);
    await expect(pending.getProject(project.id)).resolves.toMatchObject({ id: project.id });

    const listed = await client.listApiKeys({ projectId: project.id });
    expect(listed.map((k) => k.id)).toEqual([key.id]);
    expect(listed[0]?.maskedKey).toBe(key.maskedKey);
    expect(JSON.stringify(listed)).not.toContain(secret.reveal());

    expect(
      await client.findApiKeysByName({ projectId: project.id, name: "app/search/prod/t1" }),
    ).toHaveLength(1);
    expect(await client.findApiKeysByName({ projectId: project.id, name: "other" })).toHaveLength(0);

    await expect(client.renameApiKey(key.id, "renamed")).resolves.toMatchObject({
      id: key.id,
      name: "renamed",
    });
    await expect(client.deleteApiKey(key.id)).resolves.toEqual({ alreadyRevoked: false });
    await expect(client.deleteApiKey(key.id)).resolves.toEqual({ alreadyRevoked: true });
    expect((await failure(pending.getProject(project.id))).code).toBe("LLAMACLOUD_AUTHENTICATION");
    await pending.close(); // A derived client's close leaves the shared pool open:
    await expect(client.getCurrentProject()).resolves.toMatchObject({ name: "default", isDefault: true });
    await client.close();
  });

  it("lists organizations and the current project of a project key", async () => {
    const { client } = recordingClient(emulator);
    expect(await client.listOrganizations()).toEqual([
      { id: emulator.organizationId, name: "Emulated Organization" },
    ]);
    const { secret } = await client.createApiKey({ projectId: projectId(emulator, "search"), name: "k" });
    await expect(client.withApiKey(secret).getCurrentProject()).resolves.toMatchObject({ name: "search" });
    await client.close();
  });

  it("resolves project names with the official helpers' unknown/ambiguous errors", async () => {
    const twoOrgs = await startEmulator({
      seed: {
        organizations: [{ name: "a" }, { name: "b" }],
        projects: [
          { id: "11111111-1111-4111-8111-111111111111", name: "shared", organization: "a" },
          { id: "22222222-2222-4222-8222-222222222222", name: "shared", organization: "b" },
        ],
        users: [{ name: "admin", admin: "*", keys: [{ name: "admin" }] }],
      },
    });
    const { client } = recordingClient(twoOrgs);
    const unknown = await failure(client.resolveProject({ name: "nope" }));
    expect(unknown.code).toBe("LLAMACLOUD_UNKNOWN_PROJECT");
    expect(unknown.message).toMatch(
      /^Unknown project name nope\. Please confirm a managed project with this name exists/,
    );
    const ambiguous = await failure(client.resolveProject({ name: "shared" }));
    expect(ambiguous.code).toBe("LLAMACLOUD_AMBIGUOUS_PROJECT");
    expect(ambiguous.message).toMatch(
      /^Multiple projects found with name shared\. Please specify organization_id/,
    );
    const orgB = (await client.listOrganizations()).find((org) => org.name === "b")!;
    await expect(client.resolveProject({ name: "shared", organizationId: orgB.id })).resolves.toMatchObject({
      id: "22222222-2222-4222-8222-222222222222",
    });
    await client.close();
    await twoOrgs.close();
  });
});

describe("retries of idempotent calls", () => {
  // Every fault that a retry should heal, once, on each idempotent method.
  const healable: { name: string; fault: FaultSpec }[] = [
    { name: "429 without Retry-After", fault: { kind: "status", status: 429 } },
    { name: "500", fault: { kind: "status", status: 500 } },
    { name: "503", fault: { kind: "status", status: 503 } },
    { name: "408", fault: { kind: "status", status: 408 } },
    { name: "a reset before handling", fault: { kind: "reset", when: "before-handling" } },
    { name: "a reset mid-response", fault: { kind: "reset", when: "mid-response" } },
    { name: "a hang past the headers timeout", fault: { kind: "hang" } },
  ];
  const calls = [
    {
      route: "GET /api/v1/projects/:id",
      run: (c: ReturnType<typeof recordingClient>["client"], ids: { project: string; key: string }) =>
        c.getProject(ids.project),
    },
    {
      route: "PUT /api/v1/api-keys/:id",
      run: (c: ReturnType<typeof recordingClient>["client"], ids: { project: string; key: string }) =>
        c.renameApiKey(ids.key, "renamed"),
    },
    {
      route: "DELETE /api/v1/api-keys/:id",
      run: (c: ReturnType<typeof recordingClient>["client"], ids: { project: string; key: string }) =>
        c.deleteApiKey(ids.key),
    },
  ] as const;

  for (const call of calls) {
    for (const { name, fault } of healable) {
      it(`${call.route} succeeds on the second attempt after ${name}`, async () => {
        const { client, sleeps } = recordingClient(emulator, {
          timeouts: { connectMs: 2_000, headersMs: 300, bodyMs: 2_000, totalMs: 10_000 },
        });
        const project = projectId(emulator);
        const { key } = await client.createApiKey({ projectId: project, name: "retry" });
        emulator.faults.add({ ...fault, route: call.route, times: 1 } as FaultSpec);
        await call.run(client, { project, key: key.id });
        expect(emulator.requests(call.route)).toHaveLength(2);
        expect(sleeps).toHaveLength(1);
        if (call.route === "DELETE /api/v1/api-keys/:id") {
          // Whether or not the first attempt got through, the key ends revoked.
          expect(emulator.state.allKeys().find((k) => k.id === key.id)?.revokedAt).not.toBeNull();
        }
        await client.close();
      });
    }
  }

  it("GET /api/v1/api-keys (list) is retried too", async () => {
    const { client } = recordingClient(emulator);
    emulator.faults.add({ route: "GET /api/v1/api-keys", kind: "status", status: 502 });
    await expect(client.listApiKeys()).resolves.toHaveLength(1);
    expect(emulator.requests("GET /api/v1/api-keys")).toHaveLength(2);
    await client.close();
  });

  it("honours retry-after-ms, Retry-After seconds and Retry-After dates instead of its own backoff", async () => {
    const { client, sleeps } = recordingClient(emulator);
    const id = projectId(emulator);
    emulator.faults.add({
      route: "GET /api/v1/projects/:id",
      kind: "status",
      status: 429,
      retryAfterMs: 1234,
    });
    emulator.faults.add({ route: "GET /api/v1/projects/:id", kind: "status", status: 503, retryAfter: "3" });
    const date = new Date(Date.now() + 5_000).toUTCString();
    emulator.faults.add({ route: "GET /api/v1/projects/:id", kind: "status", status: 429, retryAfter: date });
    await client.getProject(id);
    expect(sleeps.slice(0, 2)).toEqual([1234, 3000]);
    // An HTTP date is relative to now: between 3 and 5 seconds, whole-second resolution.
    expect(sleeps[2]).toBeGreaterThan(3_000);
    expect(sleeps[2]).toBeLessThanOrEqual(5_000);
    await client.close();
  });

  it("backs off exponentially with jitter when the server gives no hint", async () => {
    const { client, sleeps } = recordingClient(emulator);
    emulator.faults.add({ route: "GET /api/v1/organizations", kind: "status", status: 500, times: 3 });
    await client.listOrganizations();
    // random() = 0.5 → 0.875 of 500·2ⁿ.
    expect(sleeps).toEqual([438, 875, 1750]);
    await client.close();
  });

  it("gives up after maxRetries with a typed error carrying the status, attempts and request id", async () => {
    const { client, sleeps } = recordingClient(emulator);
    emulator.faults.add({ route: "GET /api/v1/projects/:id", kind: "status", status: 503, times: "always" });
    const error = await failure(client.getProject(projectId(emulator)));
    expect(error).toMatchObject({ code: "LLAMACLOUD_SERVER", status: 503, attempts: 4, ambiguous: false });
    expect(error.requestId).toMatch(/^emu-\d+$/);
    expect(emulator.requests("GET /api/v1/projects/:id")).toHaveLength(4);
    expect(sleeps).toHaveLength(3);

    emulator.faults.clear();
    emulator.faults.add({
      route: "GET /api/v1/projects/:id",
      kind: "status",
      status: 429,
      retryAfter: "1",
      times: "always",
    });
    const limited = await failure(client.getProject(projectId(emulator)));
    expect(limited).toMatchObject({
      code: "LLAMACLOUD_RATE_LIMITED",
      status: 429,
      retryAfterMs: 1000,
      attempts: 4,
    });
    await client.close();
  });

  it("does not wait for a Retry-After longer than the remaining deadline", async () => {
    const { client, sleeps } = recordingClient(emulator, {
      timeouts: { connectMs: 1_000, headersMs: 1_000, bodyMs: 1_000, totalMs: 5_000 },
    });
    emulator.faults.add({ route: "GET /api/v1/projects/:id", kind: "status", status: 429, retryAfter: "30" });
    const error = await failure(client.getProject(projectId(emulator)));
    expect(error).toMatchObject({ code: "LLAMACLOUD_RATE_LIMITED", attempts: 1, retryAfterMs: 30_000 });
    expect(sleeps).toEqual([]);
    await client.close();
  });

  it("retryable only on retryable statuses: a 404 or 422 is final at once", async () => {
    const { client } = recordingClient(emulator);
    const notFound = await failure(client.renameApiKey("00000000-0000-4000-8000-000000000000", "x"));
    expect(notFound).toMatchObject({ code: "LLAMACLOUD_NOT_FOUND", status: 404, attempts: 1 });
    const invalid = await failure(client.renameApiKey("not-a-uuid", "x"));
    expect(invalid).toMatchObject({ code: "LLAMACLOUD_VALIDATION", status: 422, attempts: 1 });
    await client.close();
  });
});

describe("create is never retried", () => {
  const faults: {
    name: string;
    fault: FaultSpec;
    code: string;
    ambiguous: boolean;
    created: boolean;
  }[] = [
    {
      name: "429",
      fault: { kind: "status", status: 429, retryAfter: "0" },
      code: "LLAMACLOUD_RATE_LIMITED",
      ambiguous: false,
      created: false,
    },
    {
      name: "500",
      fault: { kind: "status", status: 500 },
      code: "LLAMACLOUD_SERVER",
      ambiguous: true,
      created: false,
    },
    {
      name: "503",
      fault: { kind: "status", status: 503 },
      code: "LLAMACLOUD_SERVER",
      ambiguous: true,
      created: false,
    },
    {
      name: "a reset before handling",
      fault: { kind: "reset", when: "before-handling" },
      code: "LLAMACLOUD_NETWORK",
      ambiguous: true,
      created: false,
    },
    {
      name: "a reset after the key was made",
      fault: { kind: "reset", when: "mid-response" },
      code: "LLAMACLOUD_NETWORK",
      ambiguous: true,
      created: true,
    },
    { name: "a hang", fault: { kind: "hang" }, code: "LLAMACLOUD_TIMEOUT", ambiguous: true, created: false },
  ];

  for (const { name, fault, code, ambiguous, created } of faults) {
    it(`sends POST /api/v1/api-keys exactly once on ${name}, failing with ${code}`, async () => {
      const { client, sleeps } = recordingClient(emulator, {
        timeouts: { connectMs: 2_000, headersMs: 300, bodyMs: 2_000, totalMs: 10_000 },
      });
      const project = projectId(emulator);
      emulator.faults.add({ ...fault, route: "POST /api/v1/api-keys", times: "always" } as FaultSpec);
      const error = await failure(client.createApiKey({ projectId: project, name: "app/default/prod/tok" }));
      expect(error).toMatchObject({ code, ambiguous, endpoint: "POST /api/v1/api-keys", attempts: 1 });
      expect(emulator.requests("POST /api/v1/api-keys")).toHaveLength(1);
      expect(sleeps).toEqual([]);
      if (ambiguous) expect(error.message).toContain('findApiKeysByName({ projectId: "');

      // Reconciliation: the deterministic name finds the key if (and only if) it was made.
      emulator.faults.clear();
      const found = await client.findApiKeysByName({ projectId: project, name: "app/default/prod/tok" });
      expect(found).toHaveLength(created ? 1 : 0);
      await client.close();
    });
  }

  it("a create held until its client gives up still mints the key when held before the response", async () => {
    const { client } = recordingClient(emulator, {
      timeouts: { connectMs: 1_000, headersMs: 200, bodyMs: 1_000, totalMs: 5_000 },
    });
    emulator.faults.add({ route: "POST /api/v1/api-keys", kind: "hold", when: "before-response" });
    const pending = failure(client.createApiKey({ projectId: projectId(emulator), name: "held" }));
    const [held] = await emulator.faults.waitForHeld(1);
    expect(held).toMatchObject({ method: "POST", route: "POST /api/v1/api-keys" });
    expect((await pending).code).toBe("LLAMACLOUD_TIMEOUT");
    expect(emulator.state.allKeys().filter((k) => k.name === "held")).toHaveLength(1);
    emulator.faults.release();
    await client.close();
  });
});

describe("timeouts and transport failures", () => {
  it("a request that hangs on every attempt ends in a TIMEOUT naming the headers limit", async () => {
    // undici's header timer ticks once a second, so keep attempts few.
    const { client } = recordingClient(emulator, {
      timeouts: { connectMs: 1_000, headersMs: 100, bodyMs: 1_000, totalMs: 10_000 },
      retry: { maxRetries: 1 },
    });
    emulator.faults.add({ route: "GET /api/v1/projects/:id", kind: "hang", times: "always" });
    const error = await failure(client.getProject(projectId(emulator)));
    expect(error).toMatchObject({ code: "LLAMACLOUD_TIMEOUT", attempts: 2 });
    expect(emulator.requests("GET /api/v1/projects/:id")).toHaveLength(2);
    expect(error.message).toContain("sent no response within 100 ms");
    await client.close();
  });

  it("the overall deadline bounds the whole call, retries included", async () => {
    const { client } = recordingClient(emulator, {
      timeouts: { connectMs: 1_000, headersMs: 5_000, bodyMs: 5_000, totalMs: 150 },
    });
    emulator.faults.add({ route: "GET /api/v1/organizations", kind: "hang" });
    const error = await failure(client.listOrganizations());
    expect(error).toMatchObject({ code: "LLAMACLOUD_TIMEOUT", attempts: 1 });
    expect(error.message).toContain("overall deadline of 150 ms");
    await client.close();
  });

  it("added latency below the timeouts is just slower, not an error", async () => {
    const { client, events } = recordingClient(emulator);
    emulator.faults.add({ route: "GET /api/v1/organizations", kind: "latency", ms: 50 });
    await expect(client.listOrganizations()).resolves.toHaveLength(1);
    expect(events).toHaveLength(1);
    expect(events[0]!.durationMs).toBeGreaterThanOrEqual(40);
    await client.close();
  });

  it("a refused connection is a NETWORK error after the bounded retries", async () => {
    const port = await freePort();
    const sleeps: number[] = [];
    const client = createLlamaCloudClient({
      apiKey: emulator.adminKey,
      baseUrl: `http://127.0.0.1:${port}`,
      env: {},
      sleep: async (ms) => {
        sleeps.push(ms);
      },
    });
    const error = await failure(client.listOrganizations());
    expect(error).toMatchObject({ code: "LLAMACLOUD_NETWORK", attempts: 4, ambiguous: false });
    expect(error.message).toContain(`the connection to 127.0.0.1:${port} failed (ECONNREFUSED)`);
    expect(sleeps).toHaveLength(3);
    // A create that could not even connect did not reach the server: not ambiguous.
    const create = await failure(client.createApiKey({ projectId: projectId(emulator), name: "x" }));
    expect(create).toMatchObject({ code: "LLAMACLOUD_NETWORK", attempts: 1, ambiguous: false });
    await client.close();
  });
});

describe("typed errors from the emulator's answers", () => {
  it("maps 401, 403, 404 and 422 to their codes", async () => {
    const { client } = recordingClient(emulator);
    const stranger = client.withApiKey(fakeKey("notakey"));
    expect(await failure(stranger.listApiKeys())).toMatchObject({
      code: "LLAMACLOUD_AUTHENTICATION",
      status: 401,
    });

    const { secret } = await client.createApiKey({
      projectId: projectId(emulator, "search"),
      name: "scoped",
    });
    const scoped = client.withApiKey(secret);
    expect(await failure(scoped.getProject(projectId(emulator, "default")))).toMatchObject({
      code: "LLAMACLOUD_PERMISSION",
      status: 403,
    });
    expect(await failure(client.deleteApiKey("not-a-uuid"))).toMatchObject({ code: "LLAMACLOUD_VALIDATION" });
    const tooLong = await failure(
      client.createApiKey({ projectId: projectId(emulator), name: "n".repeat(3001) }),
    );
    expect(tooLong).toMatchObject({
      code: "LLAMACLOUD_VALIDATION",
      status: 422,
      issues: [
        { loc: ["body", "name"], msg: "String should have at most 3000 characters", type: "string_too_long" },
      ],
    });
    expect(await failure(client.getProject("00000000-0000-4000-8000-000000000000"))).toMatchObject({
      code: "LLAMACLOUD_NOT_FOUND",
    });
    await client.close();
  });

  it("a response that breaks the schema is BAD_RESPONSE naming the endpoint and field, not the value", async () => {
    const { client } = recordingClient(emulator);
    emulator.faults.add({
      route: "GET /api/v1/projects/:id",
      kind: "body",
      body: JSON.stringify({ id: "p", name: "secret-looking-value", organization_id: 42 }),
    });
    const error = await failure(client.getProject(projectId(emulator)));
    expect(error.code).toBe("LLAMACLOUD_BAD_RESPONSE");
    expect(error.message).toContain("GET /api/v1/projects/{project_id} → 200");
    expect(error.message).toContain("organization_id: Invalid input: expected string, received number");
    expect(error.message).not.toContain("secret-looking-value");

    emulator.faults.add({
      route: "GET /api/v1/organizations",
      kind: "body",
      body: "<html>upstream gateway page</html>",
      contentType: "text/html",
    });
    const notJson = await failure(client.listOrganizations());
    expect(notJson.code).toBe("LLAMACLOUD_BAD_RESPONSE");
    expect(notJson.message).not.toContain("upstream");
    await client.close();
  });

  it("a create answered with a masked key revokes the key it made and fails with MASKED_KEY", async () => {
    const { client } = recordingClient(emulator);
    emulator.faults.add({ route: "POST /api/v1/api-keys", kind: "masked-key" });
    const error = await failure(client.createApiKey({ projectId: projectId(emulator), name: "masked" }));
    const made = emulator.state.allKeys().filter((k) => k.name === "masked");
    expect(made).toHaveLength(1);
    expect(made[0]!.revokedAt).not.toBeNull();
    expect(error).toMatchObject({ code: "LLAMACLOUD_MASKED_KEY", keyId: made[0]!.id, revoked: true });
    expect(error.message).toContain("The key was revoked.");
    expect(emulator.requests("POST /api/v1/api-keys")).toHaveLength(1);
    await client.close();
  });

  it("a create whose 200 body breaks the schema is BAD_RESPONSE flagged ambiguous", async () => {
    const { client } = recordingClient(emulator);
    emulator.faults.add({ route: "POST /api/v1/api-keys", kind: "body", body: "{}" });
    const error = await failure(client.createApiKey({ projectId: projectId(emulator), name: "odd" }));
    expect(error).toMatchObject({ code: "LLAMACLOUD_BAD_RESPONSE", ambiguous: true });
    expect(error.message).toContain("findApiKeysByName");
    await client.close();
  });
});

describe("the onRequest hook", () => {
  it("reports each attempt with method, path, endpoint, status and request id, and nothing secret", async () => {
    const { client, events } = recordingClient(emulator);
    emulator.faults.add({ route: "GET /api/v1/projects/:id", kind: "status", status: 503 });
    const id = projectId(emulator);
    await client.getProject(id);
    expect(events.map(({ durationMs: _, requestId: __, ...rest }) => rest)).toEqual([
      {
        method: "GET",
        path: `/api/v1/projects/${id}`,
        endpoint: "GET /api/v1/projects/{project_id}",
        attempt: 1,
        status: 503,
      },
      {
        method: "GET",
        path: `/api/v1/projects/${id}`,
        endpoint: "GET /api/v1/projects/{project_id}",
        attempt: 2,
        status: 200,
      },
    ]);
    expect(JSON.stringify(events)).not.toContain(emulator.adminKey);
    await client.close();
  });

  it("a throwing hook does not fail the call", async () => {
    const { client } = recordingClient(emulator, {
      onRequest: () => {
        throw new Error("broken logger");
      },
    });
    await expect(client.listOrganizations()).resolves.toHaveLength(1);
    await client.close();
  });
});
