import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { setTimeout as delay } from "node:timers/promises";
import { z } from "zod";
import { type EmulatorRoute, type Fault, type FaultInjector, faultSpecSchema } from "./faults";
import type { LoggedRequest, RequestLog } from "./request-log";
import {
  type EmulatorState,
  type KeyRecord,
  type OrganizationRecord,
  type Principal,
  type ProjectRecord,
  StateError,
} from "./state";

/**
 * The emulator's HTTP layer: routing, parsing, validation in FastAPI's shapes, and mapping
 * {@link StateError}s to `{detail}` bodies. Behaviour is quoted from the reference
 * (`reference/llamacloud-api.md`, drawn from the server's `openapi.json` and the official SDKs)
 * next to the code that mimics it; `[inferred]` marks choices no public source settles.
 */

type Json = unknown;
interface Reply {
  status: number;
  body?: Json;
  /** Already-serialized JSON, used instead of `body` on hot paths. */
  raw?: string;
  headers?: Record<string, string>;
}

/** A FastAPI validation issue: `{"detail":[{"loc":[…],"msg":"…","type":"…"}]}`. */
interface Issue {
  loc: (string | number)[];
  msg: string;
  type: string;
}

const maxNameLength = 3000;
const maxBodyBytes = 1024 * 1024;

// ---- wire shapes (OpenAPI `APIKey`, `Project`, `Organization`) ----

const iso = (ms: number) => new Date(ms).toISOString();

/** Reference: "the full secret is returned in `redacted_api_key` (only on create)". */
function keyBody(key: KeyRecord, reveal: boolean): Json {
  return {
    id: key.id,
    name: key.name,
    project_id: key.projectId,
    user_id: key.userId,
    // Reference: "The masked form in list responses is [unknown]; the emulator uses `llx-…` + last 4".
    redacted_api_key: reveal ? key.secret : `llx-…${key.secret.slice(-4)}`,
    created_at: iso(key.createdAt),
    updated_at: iso(key.updatedAt),
  };
}

// Lists are the emulator's hot path (the rotator lists keys on every run): serialize each key's
// masked form once per change instead of once per request.
const maskedJsonCache = new WeakMap<KeyRecord, { updatedAt: number; name: string | null; json: string }>();

function maskedKeyJson(key: KeyRecord): string {
  const cached = maskedJsonCache.get(key);
  if (cached !== undefined && cached.updatedAt === key.updatedAt && cached.name === key.name)
    return cached.json;
  const json = JSON.stringify(keyBody(key, false));
  maskedJsonCache.set(key, { updatedAt: key.updatedAt, name: key.name, json });
  return json;
}

function projectBody(project: ProjectRecord): Json {
  return {
    id: project.id,
    name: project.name,
    organization_id: project.organizationId,
    is_default: project.isDefault,
    ad_hoc_eval_dataset_id: null,
    created_at: iso(project.createdAt),
    updated_at: iso(project.createdAt),
  };
}

function organizationBody(org: OrganizationRecord): Json {
  return {
    id: org.id,
    name: org.name,
    created_at: iso(org.createdAt),
    updated_at: iso(org.createdAt),
    stripe_customer_id: null,
    parse_plan_level: "DEFAULT",
  };
}

// ---- parsing in pydantic's terms ----

const uuidPattern =
  /^(?:urn:uuid:)?([0-9a-f]{8})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{12})$/i;

/** pydantic accepts hyphenless, upper-case and `urn:uuid:` forms; the state keys on the canonical one. */
function canonicalUuid(value: string): string | undefined {
  const match = uuidPattern.exec(value);
  return match === null ? undefined : match.slice(1).join("-").toLowerCase();
}

function uuidIssue(loc: (string | number)[]): Issue {
  return { loc, msg: "Input should be a valid UUID", type: "uuid_parsing" };
}

/** Validates an optional `name` field: string or null, at most 3000 characters. */
function nameField(body: Record<string, unknown>, issues: Issue[]): string | null {
  const value = body["name"];
  if (value === undefined || value === null) return null;
  if (typeof value !== "string") {
    issues.push({ loc: ["body", "name"], msg: "Input should be a valid string", type: "string_type" });
    return null;
  }
  // pydantic's max_length counts characters (code points), not UTF-16 units: 3000 emoji are fine.
  if (value.length > maxNameLength && [...value].length > maxNameLength) {
    issues.push({
      loc: ["body", "name"],
      msg: `String should have at most ${maxNameLength} characters`,
      type: "string_too_long",
    });
  }
  return value;
}

/** The JSON body as an object; reference: "body required, `{}` valid". */
function objectBody(raw: string, issues: Issue[]): Record<string, unknown> {
  if (raw.trim() === "") {
    issues.push({ loc: ["body"], msg: "Field required", type: "missing" });
    return {};
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    issues.push({ loc: ["body", 0], msg: "JSON decode error", type: "json_invalid" });
    return {};
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    issues.push({
      loc: ["body"],
      msg: "Input should be a valid dictionary or object to extract fields from",
      type: "model_attributes_type",
    });
    return {};
  }
  return parsed as Record<string, unknown>;
}

function optionalUuidQuery(query: URLSearchParams, name: string, issues: Issue[]): string | undefined {
  const value = query.get(name);
  if (value === null) return undefined;
  const id = canonicalUuid(value);
  if (id === undefined) issues.push(uuidIssue(["query", name]));
  return id;
}

// ---- routing ----

interface Matched {
  route: EmulatorRoute;
  id?: string;
}

function matchRoute(method: string, path: string): Matched | { status: 404 | 405 } {
  const parts = path.split("/");
  // ["", "api", "v1", resource, id?]
  if (parts[1] !== "api" || parts[2] !== "v1" || parts.length > 5) return { status: 404 };
  const [, , , resource, id] = parts;
  const allow = (
    routes: Partial<Record<string, EmulatorRoute>>,
    extra?: { id: string },
  ): Matched | { status: 405 } => {
    const route = routes[method];
    return route === undefined ? { status: 405 } : { route, ...extra };
  };
  if (resource === "api-keys") {
    if (id === undefined) return allow({ POST: "POST /api/v1/api-keys", GET: "GET /api/v1/api-keys" });
    return allow({ PUT: "PUT /api/v1/api-keys/:id", DELETE: "DELETE /api/v1/api-keys/:id" }, { id });
  }
  if (resource === "projects") {
    if (id === undefined) return allow({ GET: "GET /api/v1/projects" });
    if (id === "current") return allow({ GET: "GET /api/v1/projects/current" });
    return allow({ GET: "GET /api/v1/projects/:id" }, { id });
  }
  if (resource === "organizations" && id === undefined) return allow({ GET: "GET /api/v1/organizations" });
  return { status: 404 };
}

// ---- handlers: a few lines each ----

type Handler = (principal: Principal, request: ParsedRequest, issues: Issue[]) => Reply | undefined;

interface ParsedRequest {
  id?: string;
  query: URLSearchParams;
  body: string;
}

/** Each handler validates into `issues` first and returns undefined if it found any (→ 422). */
function handlers(state: EmulatorState): Record<EmulatorRoute, Handler> {
  return {
    "POST /api/v1/api-keys": (principal, request, issues) => {
      const body = objectBody(request.body, issues);
      const name = nameField(body, issues);
      const rawProject = body["project_id"];
      let projectId: string | null = null;
      if (rawProject !== undefined && rawProject !== null) {
        projectId = typeof rawProject === "string" ? (canonicalUuid(rawProject) ?? null) : null;
        if (projectId === null) issues.push(uuidIssue(["body", "project_id"]));
      }
      if (issues.length > 0) return undefined;
      // Reference: POST answers **200** (not 201) with the full key in `redacted_api_key`.
      return { status: 200, body: keyBody(state.createApiKey(principal, { name, projectId }), true) };
    },
    "GET /api/v1/api-keys": (principal, request, issues) => {
      const projectId = optionalUuidQuery(request.query, "project_id", issues);
      if (issues.length > 0) return undefined;
      // Reference: "bare JSON array of `APIKey` (redacted), not paginated".
      const keys = state.listApiKeys(principal, projectId === undefined ? {} : { projectId });
      return { status: 200, raw: `[${keys.map(maskedKeyJson).join(",")}]` };
    },
    "PUT /api/v1/api-keys/:id": (principal, request, issues) => {
      const id = pathUuid(request, "api_key_id", issues);
      const name = nameField(objectBody(request.body, issues), issues);
      if (issues.length > 0 || id === undefined) return undefined;
      return { status: 200, body: keyBody(state.renameApiKey(principal, id, name), false) };
    },
    "DELETE /api/v1/api-keys/:id": (principal, request, issues) => {
      const id = pathUuid(request, "api_key_id", issues);
      if (issues.length > 0 || id === undefined) return undefined;
      state.deleteApiKey(principal, id);
      // Reference: "**204**, empty body (this is revocation)".
      return { status: 204 };
    },
    "GET /api/v1/projects": (principal, request, issues) => {
      const organizationId = optionalUuidQuery(request.query, "organization_id", issues);
      if (issues.length > 0) return undefined;
      const name = request.query.get("project_name") ?? undefined;
      const filter = {
        ...(name === undefined ? {} : { name }),
        ...(organizationId ? { organizationId } : {}),
      };
      return { status: 200, body: state.findProjects(principal, filter).map(projectBody) };
    },
    "GET /api/v1/projects/current": (principal, request, issues) => {
      const projectId = optionalUuidQuery(request.query, "project_id", issues);
      const organizationId = optionalUuidQuery(request.query, "organization_id", issues);
      if (issues.length > 0) return undefined;
      const hints = { ...(projectId ? { projectId } : {}), ...(organizationId ? { organizationId } : {}) };
      return { status: 200, body: projectBody(state.currentProject(principal, hints)) };
    },
    "GET /api/v1/projects/:id": (principal, request, issues) => {
      const id = pathUuid(request, "project_id", issues);
      if (issues.length > 0 || id === undefined) return undefined;
      return { status: 200, body: projectBody(state.getProject(principal, id)) };
    },
    "GET /api/v1/organizations": (principal) => ({
      status: 200,
      body: state.listOrganizations(principal).map(organizationBody),
    }),
  };
}

function pathUuid(request: ParsedRequest, name: string, issues: Issue[]): string | undefined {
  const id = canonicalUuid(decodeURIComponent(request.id ?? ""));
  if (id === undefined) issues.push(uuidIssue(["path", name]));
  return id;
}

/** State refusals as the real service words them (reference: "Seen in the wild"). */
function stateErrorReply(error: StateError): Reply {
  switch (error.kind) {
    case "invalid-token":
      return {
        status: 401,
        body: { detail: "Invalid authentication token" },
        headers: { "www-authenticate": "Bearer" },
      };
    case "forbidden":
      return { status: 403, body: { detail: "User does not have access to this resource" } };
    case "key-not-found":
      return { status: 404, body: { detail: "API key not found" } };
    case "project-not-found":
      return { status: 404, body: { detail: "Project not found" } };
  }
}

// ---- the server ----

export interface EmulatorServerParts {
  state: EmulatorState;
  faults: FaultInjector;
  requests: RequestLog;
}

function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBodyBytes) {
        resolve(undefined);
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

let requestCounter = 0;

function serialize(reply: Reply): string | undefined {
  return reply.raw ?? (reply.body === undefined ? undefined : JSON.stringify(reply.body));
}

function send(res: ServerResponse, reply: Reply, requestId: string): void {
  if (gone(res) || res.headersSent) return;
  const payload = serialize(reply) ?? "";
  res.writeHead(reply.status, {
    ...(payload === "" ? {} : { "content-type": "application/json" }),
    "content-length": Buffer.byteLength(payload),
    "x-request-id": requestId,
    ...reply.headers,
  });
  res.end(payload);
}

/** Writes headers and half the body, then destroys the socket: a reset mid-response. */
function resetMidResponse(res: ServerResponse, reply: Reply, requestId: string): void {
  const payload = serialize(reply) ?? "";
  res.writeHead(reply.status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(payload) + 1,
    "x-request-id": requestId,
  });
  res.write(payload.slice(0, Math.floor(payload.length / 2)), () => res.socket?.destroy());
}

/** The client went away (or close() dropped the connection): nothing more to send. */
function gone(res: ServerResponse): boolean {
  return res.destroyed || res.socket === null || res.socket.destroyed;
}

function isLoopback(address: string | undefined): boolean {
  return address === "127.0.0.1" || address === "::1" || address === "::ffff:127.0.0.1";
}

/** Creates the `node:http` server (not yet listening). */
export function createEmulatorServer(parts: EmulatorServerParts): Server {
  const { state, faults, requests } = parts;
  const routes = handlers(state);

  async function handleApi(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    query: string,
  ): Promise<void> {
    const method = req.method ?? "GET";
    const requestId = `emu-${++requestCounter}`;
    const matched = matchRoute(method, path);
    const entry = requests.add(method, path, query, "route" in matched ? matched.route : null);
    const body = (await readBody(req)) ?? "";
    if (method === "POST" || method === "PUT") entry.body = logBody(body);
    const reply = (r: Reply) => {
      if (!res.destroyed) entry.status = r.status;
      send(res, r, requestId);
    };
    if (!("route" in matched)) {
      reply({
        status: matched.status,
        body: { detail: matched.status === 404 ? "Not Found" : "Method Not Allowed" },
      });
      return;
    }

    if (faults.latencyMs > 0) await delay(faults.latencyMs);
    const fault = faults.take(method, path, matched.route);
    if (fault !== undefined) entry.fault = fault.kind;
    if (fault !== undefined && (await applyBefore(fault, entry, req, res, reply, requestId))) {
      return;
    }

    const result = handle(matched, req, body, query);
    if (fault?.kind === "masked-key" && matched.route === "POST /api/v1/api-keys" && result.status === 200) {
      const created = result.body as { redacted_api_key: string };
      created.redacted_api_key = `llx-…${created.redacted_api_key.slice(-4)}`;
    }
    if (fault?.kind === "reset") {
      resetMidResponse(res, result, requestId);
      return;
    }
    if (fault?.kind === "hold" && fault.when === "before-response") {
      if (!(await park(method, path, matched.route, res))) return;
    }
    reply(result);
  }

  /** Faults that act before the request is handled; true when the request is finished. */
  async function applyBefore(
    fault: Fault,
    logged: LoggedRequest,
    req: IncomingMessage,
    res: ServerResponse,
    reply: (r: Reply) => void,
    requestId: string,
  ): Promise<boolean> {
    switch (fault.kind) {
      case "latency":
        await delay(fault.ms);
        return false;
      case "status": {
        const headers: Record<string, string> = {};
        if (fault.retryAfter !== undefined) headers["retry-after"] = fault.retryAfter;
        if (fault.retryAfterMs !== undefined) headers["retry-after-ms"] = String(fault.retryAfterMs);
        reply({ status: fault.status, body: { detail: fault.detail ?? statusText(fault.status) }, headers });
        return true;
      }
      case "reset":
        if (fault.when !== "before-handling") return false;
        req.socket.destroy();
        return true;
      case "hang":
        // Never answer: the client's timeout fires, or close() drops the connection.
        return true;
      case "hold":
        if (fault.when === "before-response") return false;
        return !(await park(logged.method, logged.path, logged.route ?? "", res));
      case "body":
        if (res.destroyed) return true;
        logged.status = fault.status ?? 200;
        res.writeHead(fault.status ?? 200, {
          "content-type": fault.contentType ?? "application/json",
          "content-length": Buffer.byteLength(fault.body),
          "x-request-id": requestId,
        });
        res.end(fault.body);
        return true;
      case "masked-key":
        return false;
    }
  }

  /** Parks until released; false when the client went away meanwhile (nothing more to do). */
  async function park(method: string, path: string, route: string, res: ServerResponse): Promise<boolean> {
    const { released, abandon } = faults.park(method, path, route);
    res.once("close", abandon);
    await released;
    res.off("close", abandon);
    return !gone(res);
  }

  function handle(matched: Matched, req: IncomingMessage, body: string, query: string): Reply {
    // Reference: 401 "Not authenticated" for a missing or malformed header; FastAPI's HTTPBearer
    // runs before request validation, so a bad body from an unauthenticated caller is a 401.
    const header = req.headers.authorization;
    const token = header === undefined ? undefined : /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1];
    if (token === undefined) {
      return {
        status: 401,
        body: { detail: "Not authenticated" },
        headers: { "www-authenticate": "Bearer" },
      };
    }
    try {
      const principal = state.authenticate(token);
      const issues: Issue[] = [];
      const parsed: ParsedRequest = {
        query: new URLSearchParams(query),
        body,
        ...(matched.id === undefined ? {} : { id: matched.id }),
      };
      const result = routes[matched.route](principal, parsed, issues);
      // Reference: 422 is FastAPI's `{"detail":[{"loc":[…],"msg":"…","type":"…"}]}`.
      return result ?? { status: 422, body: { detail: issues } };
    } catch (error) {
      if (error instanceof StateError) return stateErrorReply(error);
      throw error;
    }
  }

  const control = controlApi(parts);

  const server = createServer({ keepAliveTimeout: 5_000 }, (req, res) => {
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const path = q === -1 ? url : url.slice(0, q);
    const query = q === -1 ? "" : url.slice(q + 1);
    const work = path.startsWith("/_emulator/") ? control(req, res, path) : handleApi(req, res, path, query);
    work.catch((error: unknown) => {
      if (!res.headersSent && !res.destroyed) {
        send(res, { status: 500, body: { detail: `Emulator error: ${String(error)}` } }, "emu-error");
      }
    });
  });
  return server;
}

function logBody(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

function statusText(status: number): string {
  const texts: Record<number, string> = {
    408: "Request Timeout",
    409: "Conflict",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
  };
  return texts[status] ?? "Error";
}

// ---- control API (`/_emulator/…`): a test tool, loopback only, no auth ----

const configSchema = z
  .object({
    latencyMs: z.number().int().min(0).max(600_000),
    revocationDelayMs: z.number().int().min(0).max(3_600_000),
  })
  .partial()
  .strict();

const releaseSchema = z.object({ id: z.number().int().optional() }).strict();

function controlApi(parts: EmulatorServerParts) {
  const { state, faults, requests } = parts;
  const json = (res: ServerResponse, status: number, body?: Json) =>
    send(res, { status, body }, "emu-control");
  const badRequest = (res: ServerResponse, error: z.ZodError) =>
    json(res, 400, {
      error: error.issues.map((issue) => `${issue.path.join(".") || "(body)"}: ${issue.message}`).join("; "),
    });

  return async (req: IncomingMessage, res: ServerResponse, path: string): Promise<void> => {
    // The control API hands out every secret: never serve it beyond this machine.
    if (!isLoopback(req.socket.remoteAddress))
      return json(res, 403, { error: "the control API is loopback-only" });
    const raw = (await readBody(req)) ?? "";
    let body: unknown = {};
    if (raw.trim() !== "") {
      try {
        body = JSON.parse(raw);
      } catch {
        return json(res, 400, { error: "the body is not JSON" });
      }
    }
    const route = `${req.method} ${path}`;
    switch (route) {
      case "GET /_emulator/state":
        return json(res, 200, {
          ...state.describe(),
          keys: state.allKeys(),
          config: { latencyMs: faults.latencyMs, revocationDelayMs: state.revocationDelayMs },
        });
      case "GET /_emulator/issued":
        return json(res, 200, { secrets: state.issuedSecrets() });
      case "GET /_emulator/requests":
        return json(res, 200, { requests: requests.list() satisfies LoggedRequest[] });
      case "GET /_emulator/faults":
        return json(res, 200, { faults: faults.list(), log: faults.log() });
      case "POST /_emulator/faults": {
        const parsed = z.union([faultSpecSchema, z.array(faultSpecSchema)]).safeParse(body);
        if (!parsed.success) return badRequest(res, parsed.error);
        const specs = Array.isArray(parsed.data) ? parsed.data : [parsed.data];
        return json(res, 200, { ids: specs.map((spec) => faults.add(spec)) });
      }
      case "DELETE /_emulator/faults":
        faults.clear();
        return json(res, 204);
      case "GET /_emulator/held":
        return json(res, 200, { held: faults.held() });
      case "POST /_emulator/release": {
        const parsed = releaseSchema.safeParse(body);
        if (!parsed.success) return badRequest(res, parsed.error);
        return json(res, 200, { released: faults.release(parsed.data.id) });
      }
      case "POST /_emulator/reset":
        faults.reset();
        state.reset();
        requests.clear();
        return json(res, 204);
      case "PUT /_emulator/config": {
        const parsed = configSchema.safeParse(body);
        if (!parsed.success) return badRequest(res, parsed.error);
        if (parsed.data.latencyMs !== undefined) faults.latencyMs = parsed.data.latencyMs;
        if (parsed.data.revocationDelayMs !== undefined)
          state.revocationDelayMs = parsed.data.revocationDelayMs;
        return json(res, 200, { latencyMs: faults.latencyMs, revocationDelayMs: state.revocationDelayMs });
      }
      default:
        return json(res, 404, { error: `no control route ${route}` });
    }
  };
}
