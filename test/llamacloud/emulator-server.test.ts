import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createLlamaCloudClient } from "../../llamacloud";
import { type EmulatorHandle, startEmulator } from "../../llamacloud/emulator";
import { wire } from "./wire";

const DEFAULT = "0d000000-0000-4000-8000-000000000000";
const SEARCH = "05000000-0000-4000-8000-000000000000";

let emulator: EmulatorHandle;
let memberKey: string;

beforeAll(async () => {
  emulator = await startEmulator({
    seed: {
      organizations: [{ name: "org" }],
      projects: [
        { id: DEFAULT, name: "default", isDefault: true },
        { id: SEARCH, name: "search" },
      ],
      users: [
        { name: "admin", admin: "*", keys: [{ name: "admin" }] },
        { name: "member", member: ["default"], keys: [{ name: "member", project: "default" }] },
      ],
    },
  });
  memberKey = emulator.state.allKeys().find((k) => k.name === "member")!.secret;
});
afterAll(async () => {
  await emulator.close();
});
afterEach(() => {
  emulator.reset();
});

const api = (method: string, path: string, options: Parameters<typeof wire>[3] = {}) =>
  wire(emulator.url, method, path, { key: emulator.adminKey, ...options });

describe("authentication, as LlamaCloud answers it", () => {
  it('401 {"detail":"Not authenticated"} without an Authorization header or with another scheme', async () => {
    for (const authorization of [undefined, "Basic abc", "Bearer", "llx-abc"]) {
      const response = await wire(
        emulator.url,
        "GET",
        "/api/v1/api-keys",
        authorization === undefined ? {} : { authorization },
      );
      expect(response.status).toBe(401);
      expect(response.json).toEqual({ detail: "Not authenticated" });
    }
  });

  it('401 {"detail":"Invalid authentication token"} for an unknown key', async () => {
    const response = await wire(emulator.url, "GET", "/api/v1/organizations", {
      key: "llx-unknownunknownunknown",
    });
    expect(response).toMatchObject({ status: 401, json: { detail: "Invalid authentication token" } });
  });

  it("authentication comes before validation: a malformed body from a stranger is a 401", async () => {
    const response = await wire(emulator.url, "POST", "/api/v1/api-keys", { rawBody: "{nope" });
    expect(response.status).toBe(401);
  });
});

describe("keys over the wire", () => {
  it("create answers 200 with the full secret in redacted_api_key; list, rename and delete never show it", async () => {
    const created = await api("POST", "/api/v1/api-keys", { body: { name: "k", project_id: SEARCH } });
    expect(created.status).toBe(200);
    const key = created.json as { id: string; redacted_api_key: string; project_id: string; user_id: string };
    expect(key.redacted_api_key).toMatch(/^llx-[A-Za-z0-9]{48}$/);
    expect(key.project_id).toBe(SEARCH);
    const masked = `llx-…${key.redacted_api_key.slice(-4)}`;

    const listed = await api("GET", `/api/v1/api-keys?project_id=${SEARCH}`);
    expect(listed.json).toEqual([
      expect.objectContaining({ id: key.id, redacted_api_key: masked, name: "k" }),
    ]);
    expect(listed.text).not.toContain(key.redacted_api_key);

    const renamed = await api("PUT", `/api/v1/api-keys/${key.id}`, { body: { name: "k2" } });
    expect(renamed).toMatchObject({
      status: 200,
      json: { id: key.id, name: "k2", redacted_api_key: masked },
    });

    const deleted = await api("DELETE", `/api/v1/api-keys/${key.id}`);
    expect(deleted.status).toBe(204);
    expect(deleted.text).toBe("");
    expect(deleted.headers["content-type"]).toBeUndefined();
    const again = await api("DELETE", `/api/v1/api-keys/${key.id}`);
    expect(again).toMatchObject({ status: 404, json: { detail: "API key not found" } });
  });

  it("an empty object is a valid create body: the key lands in the caller's default project", async () => {
    const created = await api("POST", "/api/v1/api-keys", { body: {} });
    expect(created).toMatchObject({ status: 200, json: { name: null, project_id: DEFAULT } });
  });

  it("accepts the uuid spellings pydantic accepts (upper case, no hyphens)", async () => {
    const created = await api("POST", "/api/v1/api-keys", {
      body: { name: "u", project_id: SEARCH.toUpperCase() },
    });
    const id = (created.json as { id: string }).id;
    expect((await api("DELETE", `/api/v1/api-keys/${id.replaceAll("-", "")}`)).status).toBe(204);
  });

  it("a key reaches only its own project: 403 for another project's resources", async () => {
    const created = await api("POST", "/api/v1/api-keys", { body: { name: "s", project_id: SEARCH } });
    const secret = (created.json as { redacted_api_key: string }).redacted_api_key;
    expect(await wire(emulator.url, "GET", `/api/v1/projects/${SEARCH}`, { key: secret })).toMatchObject({
      status: 200,
    });
    for (const [method, path, body] of [
      ["GET", `/api/v1/projects/${DEFAULT}`, undefined],
      ["GET", `/api/v1/api-keys?project_id=${DEFAULT}`, undefined],
      ["POST", "/api/v1/api-keys", { project_id: DEFAULT }],
    ] as const) {
      const response = await wire(emulator.url, method, path, { key: secret, body });
      expect(response).toMatchObject({
        status: 403,
        json: { detail: "User does not have access to this resource" },
      });
    }
  });

  it("creating and deleting keys needs project admin", async () => {
    const denied = await wire(emulator.url, "POST", "/api/v1/api-keys", {
      key: memberKey,
      body: { project_id: DEFAULT },
    });
    expect(denied).toMatchObject({
      status: 403,
      json: { detail: "User does not have access to this resource" },
    });
    const created = await api("POST", "/api/v1/api-keys", { body: { project_id: DEFAULT } });
    const id = (created.json as { id: string }).id;
    expect((await wire(emulator.url, "DELETE", `/api/v1/api-keys/${id}`, { key: memberKey })).status).toBe(
      403,
    );
    // A member can still use its project.
    expect((await wire(emulator.url, "GET", `/api/v1/projects/${DEFAULT}`, { key: memberKey })).status).toBe(
      200,
    );
  });

  it("with a revocation delay, a deleted key keeps working until the delay passes", async () => {
    await wire(emulator.url, "PUT", "/_emulator/config", { body: { revocationDelayMs: 60_000 } });
    const created = await api("POST", "/api/v1/api-keys", { body: { project_id: SEARCH } });
    const { id, redacted_api_key: secret } = created.json as { id: string; redacted_api_key: string };
    expect((await api("DELETE", `/api/v1/api-keys/${id}`)).status).toBe(204);
    expect((await wire(emulator.url, "GET", `/api/v1/projects/${SEARCH}`, { key: secret })).status).toBe(200);
    await wire(emulator.url, "PUT", "/_emulator/config", { body: { revocationDelayMs: 0 } });
    expect((await wire(emulator.url, "GET", `/api/v1/projects/${SEARCH}`, { key: secret })).status).toBe(401);
  });
});

describe("422 FastAPI validation bodies", () => {
  const table: [string, string, string, Parameters<typeof wire>[3], unknown][] = [
    [
      "malformed key id in the path",
      "DELETE",
      "/api/v1/api-keys/nope",
      {},
      [{ loc: ["path", "api_key_id"], msg: "Input should be a valid UUID", type: "uuid_parsing" }],
    ],
    [
      "malformed project id in the path",
      "GET",
      "/api/v1/projects/123",
      {},
      [{ loc: ["path", "project_id"], msg: "Input should be a valid UUID", type: "uuid_parsing" }],
    ],
    [
      "malformed project_id query",
      "GET",
      "/api/v1/api-keys?project_id=x",
      {},
      [{ loc: ["query", "project_id"], msg: "Input should be a valid UUID", type: "uuid_parsing" }],
    ],
    [
      "missing create body",
      "POST",
      "/api/v1/api-keys",
      {},
      [{ loc: ["body"], msg: "Field required", type: "missing" }],
    ],
    [
      "invalid JSON",
      "POST",
      "/api/v1/api-keys",
      { rawBody: "{" },
      [{ loc: ["body", 0], msg: "JSON decode error", type: "json_invalid" }],
    ],
    [
      "a JSON array body",
      "POST",
      "/api/v1/api-keys",
      { body: [] },
      [
        {
          loc: ["body"],
          msg: "Input should be a valid dictionary or object to extract fields from",
          type: "model_attributes_type",
        },
      ],
    ],
    [
      "a name over 3000 characters",
      "POST",
      "/api/v1/api-keys",
      { body: { name: "n".repeat(3001) } },
      [{ loc: ["body", "name"], msg: "String should have at most 3000 characters", type: "string_too_long" }],
    ],
    [
      "a non-string name",
      "PUT",
      "/api/v1/api-keys/0d000000-0000-4000-8000-000000000001",
      { body: { name: 5 } },
      [{ loc: ["body", "name"], msg: "Input should be a valid string", type: "string_type" }],
    ],
    [
      "a malformed body project_id",
      "POST",
      "/api/v1/api-keys",
      { body: { project_id: "p" } },
      [{ loc: ["body", "project_id"], msg: "Input should be a valid UUID", type: "uuid_parsing" }],
    ],
    [
      "path and body issues together",
      "PUT",
      "/api/v1/api-keys/x",
      { body: { name: "n".repeat(3001) } },
      [
        { loc: ["path", "api_key_id"], msg: "Input should be a valid UUID", type: "uuid_parsing" },
        { loc: ["body", "name"], msg: "String should have at most 3000 characters", type: "string_too_long" },
      ],
    ],
  ];
  for (const [name, method, path, options, detail] of table) {
    it(name, async () => {
      const response = await api(method, path, options);
      expect(response.status).toBe(422);
      expect(response.json).toEqual({ detail });
    });
  }

  it("a name of exactly 3000 characters is fine", async () => {
    expect((await api("POST", "/api/v1/api-keys", { body: { name: "n".repeat(3000) } })).status).toBe(200);
  });

  it("unknown paths and methods answer like FastAPI", async () => {
    expect(await api("GET", "/api/v1/nothing")).toMatchObject({ status: 404, json: { detail: "Not Found" } });
    expect(await api("PATCH", "/api/v1/api-keys")).toMatchObject({
      status: 405,
      json: { detail: "Method Not Allowed" },
    });
  });
});

describe("projects and organizations over the wire", () => {
  it("filters projects by project_name and organization_id; current and by-id", async () => {
    const byName = await api("GET", "/api/v1/projects?project_name=search");
    expect(byName.json).toEqual([expect.objectContaining({ id: SEARCH, name: "search", is_default: false })]);
    const otherOrg = await api("GET", `/api/v1/projects?organization_id=${DEFAULT}`);
    expect(otherOrg.json).toEqual([]);
    expect((await api("GET", "/api/v1/projects/current")).json).toMatchObject({
      id: DEFAULT,
      is_default: true,
    });
    expect((await api("GET", `/api/v1/projects/current?project_id=${SEARCH}`)).json).toMatchObject({
      id: SEARCH,
    });
    expect((await api("GET", `/api/v1/projects/${SEARCH}`)).json).toMatchObject({
      id: SEARCH,
      organization_id: emulator.organizationId,
    });
    expect((await api("GET", "/api/v1/organizations")).json).toEqual([
      expect.objectContaining({ id: emulator.organizationId, name: "org" }),
    ]);
  });
});

describe("the control API", () => {
  it("state lists every key including revoked ones, with secrets; issued lists every secret", async () => {
    const created = await api("POST", "/api/v1/api-keys", { body: { name: "gone", project_id: SEARCH } });
    const { id, redacted_api_key: secret } = created.json as { id: string; redacted_api_key: string };
    await api("DELETE", `/api/v1/api-keys/${id}`);
    const state = (await wire(emulator.url, "GET", "/_emulator/state")).json as {
      keys: { id: string; secret: string; live: boolean; revokedAt: string | null }[];
      projects: unknown[];
    };
    expect(state.keys.find((k) => k.id === id)).toMatchObject({
      secret,
      live: false,
      revokedAt: expect.any(String),
    });
    expect(state.projects).toHaveLength(2);
    const issued = (await wire(emulator.url, "GET", "/_emulator/issued")).json as { secrets: string[] };
    expect(issued.secrets).toEqual(expect.arrayContaining([emulator.adminKey, memberKey, secret]));
  });

  it("faults: set, validated, hit and cleared over HTTP", async () => {
    const bad = await wire(emulator.url, "POST", "/_emulator/faults", {
      body: { kind: "status", status: 200, route: "GET /nope" },
    });
    expect(bad.status).toBe(400);
    expect((bad.json as { error: string }).error).toMatch(/route: expected "\*" or "<METHOD> <route>"/);
    // README: "400 names a bad field", for a single spec and for one inside an array.
    const missing = await wire(emulator.url, "POST", "/_emulator/faults", { body: { kind: "status" } });
    expect(missing.status).toBe(400);
    expect((missing.json as { error: string }).error).toMatch(/^status: /);
    const unknownKind = await wire(emulator.url, "POST", "/_emulator/faults", { body: [{ kind: "nope" }] });
    expect(unknownKind.status).toBe(400);
    expect((unknownKind.json as { error: string }).error).toMatch(/^0\.kind: .*'latency'/);
    const set = await wire(emulator.url, "POST", "/_emulator/faults", {
      body: [{ route: "GET /api/v1/organizations", kind: "status", status: 503, retryAfter: "1", times: 2 }],
    });
    expect(set).toMatchObject({ status: 200, json: { ids: [expect.any(Number)] } });
    const first = await api("GET", "/api/v1/organizations");
    expect(first).toMatchObject({ status: 503, json: { detail: "Service Unavailable" } });
    expect(first.headers["retry-after"]).toBe("1");
    expect((await api("GET", "/api/v1/organizations")).status).toBe(503);
    expect((await api("GET", "/api/v1/organizations")).status).toBe(200);
    await wire(emulator.url, "POST", "/_emulator/faults", {
      body: { kind: "status", status: 500, times: "always" },
    });
    expect((await api("GET", "/api/v1/api-keys")).status).toBe(500);
    expect((await wire(emulator.url, "DELETE", "/_emulator/faults")).status).toBe(204);
    expect((await api("GET", "/api/v1/api-keys")).status).toBe(200);
    const log = (await wire(emulator.url, "GET", "/_emulator/faults")).json as { log: { kind: string }[] };
    expect(log.log.map((entry) => entry.kind)).toEqual(["status", "status", "status"]);
  });

  it("hold parks a request until released; held lists it meanwhile", async () => {
    await wire(emulator.url, "POST", "/_emulator/faults", {
      body: { route: "POST /api/v1/api-keys", kind: "hold" },
    });
    const pending = api("POST", "/api/v1/api-keys", { body: { name: "parked", project_id: SEARCH } });
    await emulator.faults.waitForHeld(1);
    const held = (await wire(emulator.url, "GET", "/_emulator/held")).json as {
      held: { id: number; route: string }[];
    };
    expect(held.held).toEqual([expect.objectContaining({ route: "POST /api/v1/api-keys" })]);
    // Held before handling: nothing was created yet.
    expect(emulator.state.allKeys().some((k) => k.name === "parked")).toBe(false);
    const released = await wire(emulator.url, "POST", "/_emulator/release", {
      body: { id: held.held[0]!.id },
    });
    expect(released.json).toEqual({ released: 1 });
    expect((await pending).status).toBe(200);
    expect(emulator.state.allKeys().some((k) => k.name === "parked")).toBe(true);
  });

  it("requests logs bodies, reset returns to the seed, config sets latency", async () => {
    await api("POST", "/api/v1/api-keys", { body: { name: "logged" } });
    const logged = (await wire(emulator.url, "GET", "/_emulator/requests")).json as { requests: unknown[] };
    expect(logged.requests).toEqual([
      expect.objectContaining({
        method: "POST",
        route: "POST /api/v1/api-keys",
        body: { name: "logged" },
        status: 200,
      }),
    ]);
    expect((await wire(emulator.url, "POST", "/_emulator/reset")).status).toBe(204);
    expect(emulator.state.allKeys().map((k) => k.name)).toEqual(["admin", "member"]);
    expect((await wire(emulator.url, "GET", "/_emulator/requests")).json).toEqual({ requests: [] });
    const config = await wire(emulator.url, "PUT", "/_emulator/config", { body: { latencyMs: 5 } });
    expect(config.json).toEqual({ latencyMs: 5, revocationDelayMs: 0 });
    expect((await wire(emulator.url, "PUT", "/_emulator/config", { body: { latencyMs: -1 } })).status).toBe(
      400,
    );
    await wire(emulator.url, "PUT", "/_emulator/config", { body: { latencyMs: 0 } });
  });
});

describe("hold: a client killed while blocked in a call", () => {
  const root = resolve(__dirname, "../..");

  it("a client SIGKILLed in a create held before the response leaves a key its name finds; held() empties", async () => {
    const built = join(root, "dist/llamacloud/index.js");
    if (!existsSync(built)) throw new Error("dist/ is missing: run `npm run build` (or `npm test`) first");
    emulator.faults.add({ route: "POST /api/v1/api-keys", kind: "hold", when: "before-response" });
    const script = `
      const { createLlamaCloudClient } = require(${JSON.stringify(built)});
      const client = createLlamaCloudClient({ apiKey: process.env.KEY, baseUrl: process.env.URL, env: {} });
      client.createApiKey({ projectId: process.env.PROJECT, name: "crash/token-1" });
    `;
    const child = spawn(process.execPath, ["-e", script], {
      env: { KEY: emulator.adminKey, URL: emulator.url, PROJECT: SEARCH, PATH: process.env["PATH"] ?? "" },
      stdio: "ignore",
    });
    const exited = new Promise<NodeJS.Signals | null>((done) =>
      child.once("exit", (_code, signal) => done(signal)),
    );
    const [held] = await emulator.faults.waitForHeld(1);
    expect(held).toMatchObject({ route: "POST /api/v1/api-keys" });
    child.kill("SIGKILL");
    expect(await exited).toBe("SIGKILL");
    await emulator.faults.waitForNoneHeld();

    // The rerun's reconciliation: the deterministic name finds the key the dead client never saw.
    const client = createLlamaCloudClient({ apiKey: emulator.adminKey, baseUrl: emulator.url, env: {} });
    const found = await client.findApiKeysByName({ projectId: SEARCH, name: "crash/token-1" });
    expect(found).toHaveLength(1);
    await client.close();
  });
});

describe("emulators in one process are apart", () => {
  it("each counts its own x-request-id from emu-1: no counter is shared between instances", async () => {
    const first = await startEmulator();
    const second = await startEmulator();
    try {
      const ids = async (e: EmulatorHandle) => {
        const out: unknown[] = [];
        for (let i = 0; i < 2; i++) {
          const response = await wire(e.url, "GET", "/api/v1/organizations", { key: e.adminKey });
          out.push(response.headers["x-request-id"]);
        }
        return out;
      };
      expect(await ids(first)).toEqual(["emu-1", "emu-2"]);
      expect(await ids(second)).toEqual(["emu-1", "emu-2"]);
      expect(await ids(first)).toEqual(["emu-3", "emu-4"]);
    } finally {
      await first.close();
      await second.close();
    }
  });
});
