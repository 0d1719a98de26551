import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  createLlamaCloudClient,
  isLlamaCloudError,
  type LlamaCloudClient,
  type LlamaCloudRequestEvent,
} from "../../llamacloud";
import { expectNoKey, issuedKey, RUNS, renderError, renderValue, settle } from "./fixtures";

// Boundary: what LlamaCloud answers. A scripted loopback server (STYLE §8: a real
// `http.createServer`, failing on cue) answers the client with arbitrary statuses and bodies:
// wrong types, missing fields, arbitrary JSON, huge, truncated, not JSON at all, and a planted key
// in every place a server could put one (error details, 422 issues, unknown fields, list entries,
// request ids, plain-text bodies). Every call ends in a value or a typed LlamaCloudError, within
// its deadline, and nothing the caller can log — error, cause, result, onRequest events — holds the
// planted key.

const key = issuedKey();
const projectId = randomUUID();
const keyId = randomUUID();

interface Script {
  status: number;
  body: string;
  contentType: string;
  requestId?: string;
  /** `truncate`: promise more bytes than are sent, then drop the connection. */
  mode: "normal" | "truncate";
}

let script: Script = { status: 200, body: "{}", contentType: "application/json", mode: "normal" };
let server: Server;
let baseUrl: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      const current = script;
      const body = Buffer.from(current.body);
      const headers: Record<string, string> = { "content-type": current.contentType };
      if (current.requestId !== undefined) headers["x-request-id"] = current.requestId;
      if (current.mode === "truncate") {
        res.writeHead(current.status, { ...headers, "content-length": String(body.length + 100) });
        res.write(body.subarray(0, Math.floor(body.length / 2)));
        setImmediate(() => res.socket?.destroy());
        return;
      }
      res.writeHead(current.status, { ...headers, "content-length": String(body.length) });
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

// --- what a server could send ------------------------------------------------------------------

const wireKey = (secret: string) => ({
  id: keyId,
  user_id: randomUUID(),
  redacted_api_key: secret,
  name: "app/search/prod/t",
  project_id: projectId,
  created_at: "2025-01-31T12:00:00",
  updated_at: null,
});
const wireProject = { id: projectId, name: "search", organization_id: randomUUID(), is_default: true };
const wireOrganization = { id: randomUUID(), name: "acme" };

/** Valid bodies per operation; `key` sits where only a create may carry it. */
const validBodies: Record<Operation, () => unknown> = {
  create: () => wireKey(key),
  list: () => [wireKey(`llx-…${key.slice(-4)}`), wireKey(key)], // a list must never leak a full key
  rename: () => wireKey(key),
  delete: () => "",
  getProject: () => wireProject,
  currentProject: () => wireProject,
  resolveProject: () => [wireProject],
  organizations: () => [wireOrganization],
};

type Operation =
  | "create"
  | "list"
  | "rename"
  | "delete"
  | "getProject"
  | "currentProject"
  | "resolveProject"
  | "organizations";
const operations = Object.keys(validBodies) as Operation[];

/** A JSON value with a random field dropped, retyped, or given a planted key. */
function mutate(value: unknown, path: number[], replacement: unknown, drop: boolean): unknown {
  if (typeof value !== "object" || value === null) return replacement;
  const entries = Array.isArray(value) ? [...value.entries()] : Object.entries(value);
  if (entries.length === 0) return replacement;
  const [name, child] = entries[path[0]! % entries.length]!;
  const copy = (Array.isArray(value) ? [...value] : { ...value }) as Record<string | number, unknown>;
  if (path.length === 1) {
    if (drop && !Array.isArray(value)) delete copy[name];
    else copy[name] = replacement;
  } else copy[name] = mutate(child, path.slice(1), replacement, drop);
  return copy;
}

const planted = fc.constantFrom(key, `Bearer ${key}`, `key=${key}`, `${key}${key}`);
const replacement = fc.oneof(
  fc.jsonValue(),
  fc.constantFrom(null, 0, -1, "", [], {}, true, "2025-13-45", "x".repeat(5000)),
  planted.map((k) => ({ unexpected: k })),
);

const body = (operation: Operation): fc.Arbitrary<{ status: number; body: string; contentType?: string }> =>
  fc.oneof(
    // The documented shape, intact: the control group.
    fc.constant({ status: 200, body: JSON.stringify(validBodies[operation]()) }),
    // The documented shape with one field missing or retyped.
    fc
      .tuple(fc.array(fc.nat(), { minLength: 1, maxLength: 3 }), replacement, fc.boolean())
      .map(([path, value, drop]) => ({
        status: 200,
        body: JSON.stringify(mutate(validBodies[operation](), path, value, drop)),
      })),
    // Extra fields holding a key: stripped, never echoed.
    planted.map((k) => ({
      status: 200,
      body: JSON.stringify(
        Array.isArray(validBodies[operation]())
          ? (validBodies[operation]() as object[]).map((item) => ({ ...item, secret: k }))
          : { ...(validBodies[operation]() as object), secret: k, debug: { authorization: `Bearer ${k}` } },
      ),
    })),
    // Arbitrary JSON, arbitrary text, HTML, nothing.
    fc.jsonValue().map((v) => ({ status: 200, body: JSON.stringify(v) })),
    fc
      .string({ unit: "binary", maxLength: 200 })
      .map((t) => ({ status: 200, body: t, contentType: "text/plain" })),
    planted.map((k) => ({ status: 200, body: `<html>your key: ${k}</html>`, contentType: "text/html" })),
    fc.constant({ status: 200, body: "" }),
    // Huge.
    fc.constant({ status: 200, body: JSON.stringify(Array.from({ length: 5_000 }, () => wireKey(key))) }),
    fc.constant({ status: 200, body: `"${"x".repeat(2_000_000)}"` }),
    // Error statuses with details that quote a key, as a careless server might.
    fc.tuple(fc.integer({ min: 300, max: 599 }), planted, fc.boolean()).map(([status, k, list]) => ({
      status,
      body: JSON.stringify(
        list
          ? { detail: [{ loc: ["body", k], msg: `bad ${k}`, type: "x", input: k }] }
          : { detail: `bad key ${k}` },
      ),
    })),
    fc.tuple(fc.integer({ min: 200, max: 599 }), fc.jsonValue()).map(([status, v]) => ({
      status,
      body: JSON.stringify(v),
    })),
  );

const scripted = fc.constantFrom(...operations).chain((operation) =>
  fc.record({
    operation: fc.constant(operation),
    reply: body(operation),
    truncate: fc.boolean().map((b) => b && Math.random() < 0.3),
    requestId: fc.option(fc.oneof(fc.constant("req-1"), planted), { nil: undefined }),
  }),
);

function call(client: LlamaCloudClient, operation: Operation): Promise<unknown> {
  switch (operation) {
    case "create":
      return client.createApiKey({ projectId, name: "app/search/prod/t" });
    case "list":
      return client.listApiKeys({ projectId });
    case "rename":
      return client.renameApiKey(keyId, "renamed");
    case "delete":
      return client.deleteApiKey(keyId);
    case "getProject":
      return client.getProject(projectId);
    case "currentProject":
      return client.getCurrentProject();
    case "resolveProject":
      return client.resolveProject({ name: "search" });
    case "organizations":
      return client.listOrganizations();
  }
}

describe("the client against a server that answers anything", () => {
  test("a value or a typed LlamaCloudError, within the deadline, never holding a planted key", async () => {
    const outcomes = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(scripted, async ({ operation, reply, truncate, requestId }) => {
        script = {
          status: reply.status,
          body: reply.body,
          contentType: reply.contentType ?? "application/json",
          mode: truncate ? "truncate" : "normal",
          ...(requestId === undefined ? {} : { requestId }),
        };
        const events: LlamaCloudRequestEvent[] = [];
        const client = createLlamaCloudClient({
          apiKey: "llx-admin-key-of-the-test-0000000000",
          baseUrl,
          env: {},
          retry: { maxRetries: 1, initialDelayMs: 1, maxDelayMs: 2 },
          timeouts: { headersMs: 2_000, bodyMs: 2_000, totalMs: 5_000 },
          onRequest: (event) => events.push(event),
        });
        try {
          const outcome = await settle(call(client, operation), 10_000, `${operation}`);
          if (outcome.ok) {
            outcomes.set("value", (outcomes.get("value") ?? 0) + 1);
            expectNoKey(renderValue(outcome.value), key, `the ${operation} result`);
          } else {
            const error = outcome.error;
            expect(isLlamaCloudError(error), renderError("llamacloud-response-untyped", error)).toBe(true);
            const code = (error as { code: string }).code;
            outcomes.set(code, (outcomes.get(code) ?? 0) + 1);
            expectNoKey(
              renderError(`llamacloud-response-${operation}`, error),
              key,
              `the ${operation} error`,
            );
          }
          expectNoKey(renderValue(events), key, "the onRequest events");
        } finally {
          await client.close();
        }
      }),
      { numRuns: RUNS.wire },
    );
    // Not vacuous: both values and the main failure kinds were seen.
    expect(outcomes.get("value") ?? 0).toBeGreaterThan(0);
    expect(outcomes.get("LLAMACLOUD_BAD_RESPONSE") ?? 0).toBeGreaterThan(0);
  }, 120_000);

  test("a malformed 200 body is BAD_RESPONSE naming the endpoint and field, never the value", async () => {
    script = {
      status: 200,
      body: JSON.stringify({ ...wireProject, organization_id: { secret: key } }),
      contentType: "application/json",
      mode: "normal",
    };
    const client = createLlamaCloudClient({
      apiKey: "llx-admin-key-of-the-test-0000000000",
      baseUrl,
      env: {},
    });
    try {
      const outcome = await settle(client.getProject(projectId), 10_000, "getProject");
      expect(outcome.ok).toBe(false);
      const error = (outcome as { error: Error & { code?: string } }).error;
      expect(error.code).toBe("LLAMACLOUD_BAD_RESPONSE");
      expect(error.message).toContain("GET /api/v1/projects/{project_id} → 200");
      expect(error.message).toContain("organization_id");
      expectNoKey(renderError("llamacloud-bad-response", error), key, "the error");
    } finally {
      await client.close();
    }
  });
});
