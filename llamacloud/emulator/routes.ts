import type { EmulatorRoute } from "./faults";
import type { Reply } from "./http";
import {
  type EmulatorState,
  type KeyRecord,
  type OrganizationRecord,
  type Principal,
  type ProjectRecord,
  StateError,
} from "./state";

/**
 * The emulated LlamaCloud API: routing, parsing and validation in FastAPI's shapes, and mapping
 * {@link StateError}s to `{detail}` bodies, a few lines per endpoint. Behaviour is quoted from the
 * reference (`reference/llamacloud-api.md`, drawn from the server's `openapi.json` and the official
 * SDKs) next to the code that mimics it; `[inferred]` marks choices no public source settles.
 */

/** A FastAPI validation issue: `{"detail":[{"loc":[…],"msg":"…","type":"…"}]}`. */
interface Issue {
  loc: (string | number)[];
  msg: string;
  type: string;
}

const maxNameLength = 3000;

// ---- wire shapes (OpenAPI `APIKey`, `Project`, `Organization`) ----

const iso = (ms: number) => new Date(ms).toISOString();

// Reference: "The masked form in list responses is [unknown]; the emulator uses `llx-…` + last 4".
function maskSecret(secret: string): string {
  return `llx-…${secret.slice(-4)}`;
}

/** Reference: "the full secret is returned in `redacted_api_key` (only on create)". */
function keyBody(key: KeyRecord, reveal: boolean): unknown {
  return {
    id: key.id,
    name: key.name,
    project_id: key.projectId,
    user_id: key.userId,
    redacted_api_key: reveal ? key.secret : maskSecret(key.secret),
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

function projectBody(project: ProjectRecord): unknown {
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

function organizationBody(org: OrganizationRecord): unknown {
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

export interface Matched {
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

/** A matched API route, or the status for a path or method the API does not have. */
export type RouteMatch = Matched | { status: 404 | 405 };

/**
 * The API over one state: `match` finds the route of a request, `handle` authenticates the bearer
 * token of the `Authorization` header and answers.
 */
export function apiRoutes(state: EmulatorState): {
  match: (method: string, path: string) => RouteMatch;
  handle: (matched: Matched, authorization: string | undefined, body: string, query: string) => Reply;
} {
  const routes = handlers(state);
  return {
    match: matchRoute,
    handle(matched, header, body, query) {
      // Reference: 401 "Not authenticated" for a missing or malformed header; FastAPI's HTTPBearer
      // runs before request validation, so a bad body from an unauthenticated caller is a 401.
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
    },
  };
}

/** A created key's body with the key masked as lists show it (the `masked-key` fault). */
export function maskCreatedKey(reply: Reply): void {
  const created = reply.body as { redacted_api_key: string };
  created.redacted_api_key = maskSecret(created.redacted_api_key);
}
