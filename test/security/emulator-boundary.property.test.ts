import { request as httpRequest } from "node:http";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createLlamaCloudClient, isLlamaCloudError, type LlamaCloudClient } from "../../llamacloud";
import { type EmulatorHandle, startEmulator } from "../../llamacloud/emulator";
import { expectNoKey, RUNS, renderError, settle } from "./fixtures";
import { codePoints, hostileString, NAME_LIMIT, nameNearLimit, notUuid } from "./hostile";

// Boundary: LlamaCloud's API as the emulator serves it, and the client's reading of its refusals.
// Already covered elsewhere and not repeated here: 401 for a missing header and an unknown key,
// 403 across projects for getProject, the revocation delay on the wire
// (test/llamacloud/emulator-server.test.ts); 401/403/404/422 mapping (test/llamacloud/client.test.ts).
// Added: any Authorization header a caller could send, names at and over the limit in code points,
// ids that are not uuids everywhere an id enters, a revoked key through the client after the delay,
// and each cross-project operation through the client.

let emulator: EmulatorHandle;
let admin: LlamaCloudClient;
let clock = Date.now();
const revocationDelayMs = 60_000;

beforeAll(async () => {
  emulator = await startEmulator({ now: () => clock, revocationDelayMs });
  admin = client(emulator.adminKey);
});
afterAll(async () => {
  await admin?.close();
  await emulator?.close();
});

function client(apiKey: string): LlamaCloudClient {
  return createLlamaCloudClient({
    apiKey,
    baseUrl: emulator.url,
    env: {},
    retry: { maxRetries: 0 },
    timeouts: { totalMs: 5_000 },
  });
}

function project(name: "default" | "search"): string {
  return emulator.projects.find((p) => p.name === name)!.id;
}

/** One raw request with exactly the headers given (the client would never send a bad one). */
function raw(
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<{ status: number; body: string; headers: Record<string, string | string[] | undefined> }> {
  const url = new URL(path, emulator.url);
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        text += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text, headers: res.headers }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

const routes: [string, () => string, string?][] = [
  ["GET", () => "/api/v1/api-keys"],
  ["POST", () => "/api/v1/api-keys", "{}"],
  ["DELETE", () => "/api/v1/api-keys/00000000-0000-4000-8000-000000000000"],
  ["GET", () => `/api/v1/projects/${project("default")}`],
  ["GET", () => "/api/v1/organizations"],
];

// Header values Node will put on the wire: printable Latin-1, no CR/LF.
const headerText = fc.string({
  unit: fc
    .integer({ min: 0x20, max: 0xff })
    .filter((c) => c !== 0x7f)
    .map((c) => String.fromCharCode(c)),
  maxLength: 80,
});

describe("authentication of any Authorization header", () => {
  test("only a live key gets in: 401 Not authenticated (+ WWW-Authenticate) or Invalid authentication token", async () => {
    const header = fc.oneof(
      headerText,
      headerText.map((t) => `Bearer ${t}`),
      headerText.map((t) => `bearer ${t}`),
      fc.constantFrom(
        "Bearer",
        "Bearer ",
        "Basic Zm9vOmJhcg==",
        "Token x",
        `Bearer ${emulator.adminKey} extra`,
      ),
      fc.constant(`Basic ${Buffer.from(`x:${emulator.adminKey}`).toString("base64")}`),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...routes),
        fc.option(header, { nil: undefined }),
        async (route, value) => {
          const [method, path, body] = route;
          const headers: Record<string, string> = { "content-type": "application/json" };
          if (value !== undefined) headers["authorization"] = value;
          const response = await raw(method, path(), headers, body);
          expect(response.status).toBe(401);
          const detail = (JSON.parse(response.body) as { detail: string }).detail;
          expect(["Not authenticated", "Invalid authentication token"]).toContain(detail);
          if (detail === "Not authenticated") expect(response.headers["www-authenticate"]).toBe("Bearer");
          // A refusal never quotes what was sent.
          if (value !== undefined && value.length > 3) expect(response.body).not.toContain(value);
        },
      ),
      { numRuns: RUNS.wire },
    );
  });

  test("the client refuses a key it could not send (control characters, spaces) as LLAMACLOUD_CONFIG, unquoted", () => {
    fc.assert(
      fc.property(
        fc.tuple(hostileString, hostileString).filter(([a, b]) => /[^\x21-\x7e]/.test(a + b)),
        ([a, b]) => {
          const key = `${a}llx-${"k".repeat(40)}${b}`;
          try {
            createLlamaCloudClient({ apiKey: key, baseUrl: emulator.url, env: {} });
          } catch (error) {
            expect(isLlamaCloudError(error, "LLAMACLOUD_CONFIG")).toBe(true);
            expectNoKey(renderError("client-bad-key", error), key, "the config error");
            return;
          }
          expect.fail("a key with whitespace or control characters was accepted");
        },
      ),
      { numRuns: RUNS.pure },
    );
  });
});

describe("a revoked key and a key of another project, through the client", () => {
  test("a revoked key works until LlamaCloud's revocation delay has passed, then is LLAMACLOUD_AUTHENTICATION", async () => {
    const { key, secret } = await admin.createApiKey({ projectId: project("search"), name: "to-revoke" });
    const revoked = client(secret.reveal());
    try {
      await admin.deleteApiKey(key.id);
      clock += revocationDelayMs - 1;
      await expect(revoked.getProject(project("search"))).resolves.toMatchObject({ name: "search" });
      clock += 1;
      const outcome = await settle(revoked.getProject(project("search")), 10_000, "getProject");
      expect(outcome.ok).toBe(false);
      const error = (outcome as { error: unknown }).error;
      expect(error).toMatchObject({ code: "LLAMACLOUD_AUTHENTICATION", status: 401 });
      expectNoKey(renderError("revoked-key", error), secret.reveal(), "the 401 error");
    } finally {
      await revoked.close();
    }
  });

  test("a project key reaches nothing of another project: each operation is LLAMACLOUD_PERMISSION (403)", async () => {
    const other = await admin.createApiKey({ projectId: project("default"), name: "other-project" });
    const { secret } = await admin.createApiKey({ projectId: project("search"), name: "scoped" });
    const scoped = client(secret.reveal());
    try {
      const attempts: [string, Promise<unknown>][] = [
        ["getProject", scoped.getProject(project("default"))],
        ["listApiKeys", scoped.listApiKeys({ projectId: project("default") })],
        ["createApiKey", scoped.createApiKey({ projectId: project("default"), name: "x" })],
        ["deleteApiKey", scoped.deleteApiKey(other.key.id)],
        ["renameApiKey", scoped.renameApiKey(other.key.id, "y")],
      ];
      for (const [name, promise] of attempts) {
        const outcome = await settle(promise, 10_000, name);
        expect(outcome.ok, name).toBe(false);
        expect((outcome as { error: unknown }).error, name).toMatchObject({
          code: "LLAMACLOUD_PERMISSION",
          status: 403,
        });
        expectNoKey(
          renderError(`cross-project-${name}`, (outcome as { error: unknown }).error),
          secret.reveal(),
          name,
        );
      }
      // And nothing happened: the other project's key is live, no key was made there by the scoped key.
      expect(emulator.state.allKeys().find((k) => k.id === other.key.id)).toMatchObject({
        live: true,
        name: "other-project",
      });
      expect(emulator.state.allKeys().filter((k) => k.name === "x")).toEqual([]);
    } finally {
      await scoped.close();
    }
  });
});

describe("hostile names and ids", () => {
  test(`names up to ${NAME_LIMIT} code points (unicode, controls, path-like) are accepted; one more is a 422 on body.name`, async () => {
    const name = fc.oneof(
      nameNearLimit,
      hostileString.map((n) => ({ name: n, over: [...n].length > NAME_LIMIT })),
    );
    await fc.assert(
      fc.asyncProperty(name, async ({ name, over }) => {
        const outcome = await settle(
          admin.createApiKey({ projectId: project("default"), name }),
          10_000,
          "create",
        );
        if (!over) {
          expect(outcome.ok, outcome.ok ? "" : renderError("name-refused", outcome.error)).toBe(true);
          const created = (outcome as { value: Awaited<ReturnType<LlamaCloudClient["createApiKey"]>> }).value;
          expect(created.key.name).toBe(name);
          await admin.deleteApiKey(created.key.id);
          return;
        }
        expect(outcome.ok).toBe(false);
        expect((outcome as { error: unknown }).error).toMatchObject({
          code: "LLAMACLOUD_VALIDATION",
          status: 422,
          issues: [{ loc: ["body", "name"], type: "string_too_long" }],
        });
      }),
      { numRuns: RUNS.remote },
    );
  });

  test("3,000 astral characters are 3,000 characters (LlamaCloud counts code points, not UTF-16 units)", async () => {
    const name = "😀".repeat(NAME_LIMIT);
    const created = await admin.createApiKey({ projectId: project("default"), name });
    expect(created.key.name).toBe(name);
    await admin.deleteApiKey(created.key.id);
    await expect(
      admin.createApiKey({ projectId: project("default"), name: `${name}a` }),
    ).rejects.toMatchObject({
      code: "LLAMACLOUD_VALIDATION",
    });
  });

  test("an id that is not a uuid is a 422 naming the parameter, wherever it enters; never a 5xx", async () => {
    const entry = fc.constantFrom(
      "path:api_key_id(delete)",
      "path:api_key_id(rename)",
      "path:project_id",
      "query:project_id",
      "body:project_id",
    );
    const before = emulator.state.allKeys().length;
    await fc.assert(
      fc.asyncProperty(entry, notUuid, async (where, id) => {
        let promise: Promise<unknown>;
        if (where === "path:api_key_id(delete)") promise = admin.deleteApiKey(id);
        else if (where === "path:api_key_id(rename)") promise = admin.renameApiKey(id, "x");
        else if (where === "path:project_id") promise = admin.getProject(id);
        else if (where === "query:project_id") promise = admin.listApiKeys({ projectId: id });
        else promise = admin.createApiKey({ projectId: id, name: "x" });
        const outcome = await settle(promise, 10_000, where);
        // A path segment that is empty or only dots never reaches the route (404 Not Found; a
        // delete reads that as already revoked) — any other non-uuid is a 422 on that parameter.
        if (outcome.ok) {
          expect(where).toBe("path:api_key_id(delete)");
          expect(outcome.value).toEqual({ alreadyRevoked: true });
          return;
        }
        const error = outcome.error as { code?: string; status?: number; issues?: { loc: unknown[] }[] };
        if (error.code === "LLAMACLOUD_NOT_FOUND") {
          expect(where.startsWith("path:")).toBe(true);
          return;
        }
        expect(error, renderError("not-uuid", outcome.error)).toMatchObject({
          code: "LLAMACLOUD_VALIDATION",
          status: 422,
        });
        const [place, name] = where.replace(/\(.*\)$/, "").split(":");
        expect(error.issues?.map((issue) => issue.loc)).toContainEqual([place, name]);
      }),
      { numRuns: RUNS.wire },
    );
    expect(emulator.state.allKeys().length).toBe(before);
  });

  test("codePoints() builds what it says", () => {
    fc.assert(
      fc.property(
        fc.nat({ max: 50 }).chain((n) => codePoints(n).map((s) => [n, s] as const)),
        ([n, s]) => {
          expect([...s].length).toBe(n);
        },
      ),
    );
  });
});
