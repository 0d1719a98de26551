import { performance } from "node:perf_hooks";
import type { Agent, Dispatcher } from "undici";
import { z } from "zod";
import { type Redacted, scrub } from "../redaction";
import {
  checkApiKey,
  type LlamaCloudClientOptions,
  type ResolvedClientOptions,
  resolveClientOptions,
} from "./client-options";
import { type CallContext, errorFromResponse, errorFromTransport, transportErrorCode } from "./error-mapping";
import {
  isLlamaCloudError,
  LlamaCloudAmbiguousProjectError,
  LlamaCloudBadResponseError,
  LlamaCloudMaskedKeyError,
  LlamaCloudUnknownProjectError,
} from "./errors";
import { decideRetry } from "./retry-policy";
import {
  type ApiKeyInfo,
  apiKeyListSchema,
  apiKeySchema,
  type CreatedApiKey,
  createdApiKeySchema,
  looksLikeFullKey,
  type Organization,
  organizationListSchema,
  type Project,
  projectListSchema,
  projectSchema,
} from "./schemas";

/**
 * The LlamaCloud REST client used by the provider and the rotator. One undici `Agent` per client
 * (shared with clients made by {@link LlamaCloudClient.withApiKey}), explicit timeouts, zod-checked
 * responses and typed errors (see `errors.ts`). Retries follow `retry-policy.ts`; a create is never
 * retried.
 */
export interface LlamaCloudClient {
  /** The host this client talks to, without a trailing slash. */
  readonly baseUrl: string;

  /**
   * Creates a key in `projectId` named `name` and returns its metadata and the one-time secret.
   * Sent exactly once, never retried: LlamaCloud's create takes no idempotency key. When it fails
   * with `error.ambiguous === true` the key may exist anyway; reconcile with
   * {@link findApiKeysByName} before creating again. If the response holds anything but a full key,
   * the created key is revoked and `LLAMACLOUD_MASKED_KEY` is thrown.
   */
  createApiKey(input: { projectId: string; name: string }): Promise<CreatedApiKey>;

  /** Live keys of `projectId` named exactly `name` (the way to reconcile an ambiguous create). */
  findApiKeysByName(input: { projectId: string; name: string }): Promise<ApiKeyInfo[]>;

  /** The calling user's live keys, optionally only those of one project. */
  listApiKeys(input?: { projectId?: string }): Promise<ApiKeyInfo[]>;

  /** Renames a key; returns its updated metadata. */
  renameApiKey(id: string, name: string): Promise<ApiKeyInfo>;

  /**
   * Revokes a key. A 404 counts as success (`alreadyRevoked: true`), so repeating a delete is safe.
   * LlamaCloud may keep accepting a revoked key for up to a minute.
   */
  deleteApiKey(id: string): Promise<{ alreadyRevoked: boolean }>;

  /**
   * The project named `name` (exact match), within `organizationId` when given. Throws
   * `LLAMACLOUD_UNKNOWN_PROJECT` for none and `LLAMACLOUD_AMBIGUOUS_PROJECT` for several.
   */
  resolveProject(input: { name: string; organizationId?: string }): Promise<Project>;

  /** One project by id; with a fresh key, the cheapest proof that the key works for its project. */
  getProject(id: string): Promise<Project>;

  /** The project the key belongs to (or its user's default project). */
  getCurrentProject(): Promise<Project>;

  /** Organizations the key's user belongs to. */
  listOrganizations(): Promise<Organization[]>;

  /**
   * A client for the same host, connection pool, timeouts and retry policy, authenticating with
   * `key` (e.g. to test a pending key). Closing it does nothing; close the client it came from.
   */
  withApiKey(key: Redacted<string> | string): LlamaCloudClient;

  /** Closes the connection pool (only on the client `createLlamaCloudClient` returned). */
  close(): Promise<void>;
}

export type { LlamaCloudClientOptions } from "./client-options";

type Method = "GET" | "POST" | "PUT" | "DELETE";

interface CallSpec<T> {
  method: Method;
  /** Route template (OpenAPI path), for errors and metrics. */
  route: string;
  path: string;
  query?: Record<string, string | undefined>;
  body?: unknown;
  subject: string;
  schema: z.ZodType<T>;
  /** Set for a create: see {@link CallContext.reconcile}. */
  reconcile?: string;
}

interface CallResult<T> {
  value: T;
  status: number;
  requestId?: string;
}

type AttemptResult =
  | { kind: "response"; status: number; text: string; headers: Record<string, string | string[] | undefined> }
  | { kind: "error"; error: unknown };

class DeadlineExceeded extends Error {
  override name = "DeadlineExceeded";
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function formatZodIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .slice(0, 5)
    .map((issue) => `${issue.path.map(String).join(".") || "(body)"}: ${issue.message}`)
    .join("; ");
}

function short(id: string): string {
  return JSON.stringify(scrub(id.length > 80 ? `${id.slice(0, 80)}…` : id));
}

/**
 * undici's entry point loads every dispatcher, fetch, WebSocket, the cache stores and the mock
 * agents (~110 modules, ~70 ms of CPU at start, and every command that calls LlamaCloud pays it);
 * this client needs one `Agent` and the request API, so it loads those two files alone, on the
 * first client made. The request is the one `undici.request` makes (it only splits the URL into
 * origin and path first). Should an undici release move them, the entry point is used instead.
 */
interface Transport {
  Agent: typeof Agent;
  request(agent: Dispatcher, url: string, options: TransportOptions): Promise<Dispatcher.ResponseData>;
}
type TransportOptions = Pick<Dispatcher.RequestOptions, "method" | "headers" | "body" | "signal">;
let transport: Transport | undefined;

function loadTransport(): Transport {
  if (transport !== undefined) return transport;
  try {
    const AgentClass = require("undici/lib/dispatcher/agent") as typeof Agent;
    const request = require("undici/lib/api/api-request") as (
      this: Dispatcher,
      options: Dispatcher.RequestOptions,
    ) => Promise<Dispatcher.ResponseData>;
    if (typeof AgentClass !== "function" || typeof request !== "function") throw new Error("undici moved");
    transport = {
      Agent: AgentClass,
      request: (agent, url, options) => {
        const { origin, pathname, search } = new URL(url);
        return request.call(agent, { ...options, origin, path: `${pathname}${search}` });
      },
    };
  } catch {
    const undici = require("undici") as typeof import("undici");
    transport = {
      Agent: undici.Agent,
      request: (agent, url, options) => undici.request(url, { ...options, dispatcher: agent }),
    };
  }
  return transport;
}

/**
 * Creates a client. Options fall back to env `LLAMA_CLOUD_API_KEY` and `LLAMA_CLOUD_BASE_URL`; the
 * default host is the US deployment. Throws `LLAMACLOUD_CONFIG` when no usable key or URL is found.
 *
 * @example
 * const client = createLlamaCloudClient({ region: "eu" });
 * const project = await client.resolveProject({ name: "search" });
 * const { key, secret } = await client.createApiKey({ projectId: project.id, name: "app/search/prod/7f3e" });
 */
export function createLlamaCloudClient(options: LlamaCloudClientOptions = {}): LlamaCloudClient {
  const resolved = resolveClientOptions(options);
  const agent = new (loadTransport().Agent)({
    connect: { timeout: resolved.timeouts.connectMs },
    headersTimeout: resolved.timeouts.headersMs,
    bodyTimeout: resolved.timeouts.bodyMs,
    // Below common server idle timeouts (Node's 5 s default, the emulator's 5 s), so a pooled socket
    // is not reused just as the server closes it: that race would fail a create for nothing.
    keepAliveTimeout: 4_000,
  });
  return buildClient(resolved, agent, true);
}

function buildClient(config: ResolvedClientOptions, agent: Dispatcher, ownsAgent: boolean): LlamaCloudClient {
  const { baseUrl, timeouts, retry } = config;
  const limits =
    config.timeoutSetting === undefined ? timeouts : { ...timeouts, setting: config.timeoutSetting };

  function emit(event: Parameters<NonNullable<ResolvedClientOptions["onRequest"]>>[0]): void {
    try {
      config.onRequest?.(event);
    } catch {
      // A broken logging hook must not turn a successful call into a failure.
    }
  }

  async function attempt(
    url: string,
    method: Method,
    body: string | undefined,
    signal: AbortSignal,
  ): Promise<AttemptResult> {
    try {
      const headers: Record<string, string> = {
        accept: "application/json",
        authorization: `Bearer ${config.apiKey.reveal()}`,
        "user-agent": config.userAgent,
      };
      if (body !== undefined) headers["content-type"] = "application/json";
      const response = await loadTransport().request(agent, url, { method, headers, body, signal });
      const text = await response.body.text();
      return { kind: "response", status: response.statusCode, text, headers: response.headers };
    } catch (error) {
      return { kind: "error", error };
    }
  }

  async function call<T>(spec: CallSpec<T>): Promise<CallResult<T>> {
    const endpoint = `${spec.method} ${spec.route}`;
    const search = new URLSearchParams();
    for (const [name, value] of Object.entries(spec.query ?? {}))
      if (value !== undefined) search.set(name, value);
    const query = search.toString();
    const url = `${baseUrl}${spec.path}${query === "" ? "" : `?${query}`}`;
    const body = spec.body === undefined ? undefined : JSON.stringify(spec.body);
    const deadlineAt = performance.now() + timeouts.totalMs;
    const deadline = new AbortController();
    const timer = setTimeout(
      () => deadline.abort(new DeadlineExceeded("overall deadline")),
      timeouts.totalMs,
    );

    try {
      for (let attemptNumber = 1; ; attemptNumber++) {
        const started = performance.now();
        const result = await attempt(url, spec.method, body, deadline.signal);
        const requestId =
          result.kind === "response" ? firstHeader(result.headers["x-request-id"]) : undefined;
        emit({
          method: spec.method,
          // Scrubbed: a caller who passes a key where an id belongs must not see it in its logs.
          path: scrub(spec.path),
          endpoint,
          attempt: attemptNumber,
          durationMs: Math.round(performance.now() - started),
          ...(result.kind === "response"
            ? { status: result.status }
            : { errorCode: transportErrorCode(result.error).code }),
          // Server-supplied, so scrubbed like the path: events feed logs and metrics.
          ...(requestId === undefined ? {} : { requestId: scrub(requestId) }),
        });

        if (result.kind === "response" && result.status >= 200 && result.status < 300) {
          return {
            value: parseBody(spec, endpoint, result.status, result.text, requestId),
            status: result.status,
            requestId,
          };
        }

        const context: CallContext = {
          endpoint,
          subject: spec.subject,
          baseUrl,
          attempts: attemptNumber,
          ...(spec.reconcile === undefined ? {} : { reconcile: spec.reconcile }),
        };
        if (deadline.signal.aborted) {
          throw errorFromTransport(context, result.kind === "error" ? result.error : undefined, limits, true);
        }
        const decision = decideRetry(
          retry,
          {
            method: spec.method,
            attempt: attemptNumber,
            remainingMs: deadlineAt - performance.now(),
            ...(result.kind === "response"
              ? { status: result.status, headers: result.headers }
              : { errorCode: transportErrorCode(result.error).code }),
          },
          config.random,
        );
        if (!decision.retry) {
          throw result.kind === "response"
            ? errorFromResponse(context, result.status, result.text, result.headers, requestId)
            : errorFromTransport(context, result.error, limits, false);
        }
        await config.sleep(decision.delayMs);
      }
    } finally {
      clearTimeout(timer);
    }
  }

  function parseBody<T>(
    spec: CallSpec<T>,
    endpoint: string,
    status: number,
    text: string,
    requestId?: string,
  ): T {
    const where = `${endpoint} → ${status}${requestId === undefined ? "" : `, request id ${scrub(requestId)}`}`;
    let json: unknown;
    if (text === "") json = undefined;
    else {
      try {
        json = JSON.parse(text);
      } catch {
        // Never quote the body: on a create it holds the new key.
        throw new LlamaCloudBadResponseError(
          `${where}: the response for ${spec.subject} is not JSON (${text.length} bytes). Check that ` +
            `${baseUrl} is a LlamaCloud API host (LLAMA_CLOUD_BASE_URL, baseUrl) and not a proxy or web page.`,
          { status, endpoint, ...(requestId === undefined ? {} : { requestId }) },
        );
      }
    }
    const parsed = spec.schema.safeParse(json);
    if (!parsed.success) {
      throw new LlamaCloudBadResponseError(
        `${where}: the response for ${spec.subject} does not match the documented shape: ` +
          `${formatZodIssues(parsed.error.issues)}. The LlamaCloud API may have changed; upgrade ` +
          "llamacloud-keys or report it with the request id.",
        { status, endpoint, ...(requestId === undefined ? {} : { requestId }) },
      );
    }
    return parsed.data;
  }

  const keyPath = (id: string) => `/api/v1/api-keys/${encodeURIComponent(id)}`;

  const client: LlamaCloudClient = {
    baseUrl,

    async createApiKey({ projectId, name }) {
      const reconcile =
        `Before creating again, look for it with findApiKeysByName({ projectId: ${short(projectId)}, ` +
        `name: ${short(name)} }) and adopt or revoke what you find.`;
      let created: CallResult<CreatedApiKey>;
      try {
        created = await call({
          method: "POST",
          route: "/api/v1/api-keys",
          path: "/api/v1/api-keys",
          body: { name, project_id: projectId },
          subject: `a new key named ${short(name)} in project ${short(projectId)}`,
          schema: createdApiKeySchema,
          reconcile,
        });
      } catch (error) {
        // A 200 whose body does not parse still created a key we cannot use: say so.
        if (isLlamaCloudError(error, "LLAMACLOUD_BAD_RESPONSE")) {
          throw new LlamaCloudBadResponseError(
            `${error.message} The key may have been created. ${reconcile}`,
            {
              ...(error.status === undefined ? {} : { status: error.status }),
              ...(error.requestId === undefined ? {} : { requestId: error.requestId }),
              endpoint: "POST /api/v1/api-keys",
              ambiguous: true,
            },
          );
        }
        throw error;
      }
      const { key, secret } = created.value;
      if (!looksLikeFullKey(secret.reveal())) {
        let revoked = false;
        try {
          await client.deleteApiKey(key.id);
          revoked = true;
        } catch {
          // Reported in the message below: the caller must revoke it by hand.
        }
        throw new LlamaCloudMaskedKeyError(
          `POST /api/v1/api-keys → ${created.status}${created.requestId === undefined ? "" : `, request id ${created.requestId}`}: ` +
            `LlamaCloud returned a masked value instead of the full key for new key ${key.id} in project ` +
            `${short(projectId)}. ` +
            (revoked
              ? "The key was revoked. "
              : `Revoking it failed: revoke key ${key.id} yourself (DELETE /api/v1/api-keys/${key.id}). `) +
            "The create response format may have changed; upgrade llamacloud-keys or report it with the request id.",
          key.id,
          revoked,
          {
            status: created.status,
            endpoint: "POST /api/v1/api-keys",
            ...(created.requestId === undefined ? {} : { requestId: created.requestId }),
          },
        );
      }
      return { key, secret };
    },

    async findApiKeysByName({ projectId, name }) {
      const keys = await client.listApiKeys({ projectId });
      // Filter on the project too: the server's project filter is the only thing scoping the list.
      return keys.filter((key) => key.name === name && key.projectId === projectId);
    },

    async listApiKeys({ projectId } = {}) {
      const { value } = await call({
        method: "GET",
        route: "/api/v1/api-keys",
        path: "/api/v1/api-keys",
        query: { project_id: projectId },
        subject: projectId === undefined ? "the key list" : `the key list of project ${short(projectId)}`,
        schema: apiKeyListSchema,
      });
      return value;
    },

    async renameApiKey(id, name) {
      const { value } = await call({
        method: "PUT",
        route: "/api/v1/api-keys/{api_key_id}",
        path: keyPath(id),
        body: { name },
        subject: `API key ${short(id)}`,
        schema: apiKeySchema,
      });
      return value;
    },

    async deleteApiKey(id) {
      try {
        await call({
          method: "DELETE",
          route: "/api/v1/api-keys/{api_key_id}",
          path: keyPath(id),
          subject: `API key ${short(id)}`,
          schema: emptyBodySchema,
        });
        return { alreadyRevoked: false };
      } catch (error) {
        // Deleting twice (or after a reset swallowed the first 204) must converge, not fail.
        if (isLlamaCloudError(error, "LLAMACLOUD_NOT_FOUND")) return { alreadyRevoked: true };
        throw error;
      }
    },

    async resolveProject({ name, organizationId }) {
      const { value } = await call({
        method: "GET",
        route: "/api/v1/projects",
        path: "/api/v1/projects",
        query: { project_name: name, organization_id: organizationId },
        subject: `projects named ${short(name)}`,
        schema: projectListSchema,
      });
      const matches = value.filter(
        (project) =>
          project.name === name &&
          (organizationId === undefined || project.organizationId === organizationId),
      );
      const where = organizationId === undefined ? "" : ` in organization ${short(organizationId)}`;
      if (matches.length === 0) {
        // Wording of the official helpers (llama_index / @llamaindex/cloud), plus where we looked.
        throw new LlamaCloudUnknownProjectError(
          `Unknown project name ${name}. Please confirm a managed project with this name exists${where} ` +
            `and that the API key's user belongs to it (GET /api/v1/projects on ${baseUrl}; names are case-sensitive).`,
          { endpoint: "GET /api/v1/projects" },
        );
      }
      const [first, ...rest] = matches;
      if (first === undefined || rest.length > 0) {
        const organizations = [...new Set(matches.map((project) => project.organizationId))].join(", ");
        throw new LlamaCloudAmbiguousProjectError(
          `Multiple projects found with name ${name}. Please specify organization_id ` +
            `(the projects are in organizations ${organizations}).`,
          { endpoint: "GET /api/v1/projects" },
        );
      }
      return first;
    },

    async getProject(id) {
      const { value } = await call({
        method: "GET",
        route: "/api/v1/projects/{project_id}",
        path: `/api/v1/projects/${encodeURIComponent(id)}`,
        subject: `project ${short(id)}`,
        schema: projectSchema,
      });
      return value;
    },

    async getCurrentProject() {
      const { value } = await call({
        method: "GET",
        route: "/api/v1/projects/current",
        path: "/api/v1/projects/current",
        subject: "the key's current project",
        schema: projectSchema,
      });
      return value;
    },

    async listOrganizations() {
      const { value } = await call({
        method: "GET",
        route: "/api/v1/organizations",
        path: "/api/v1/organizations",
        subject: "the organization list",
        schema: organizationListSchema,
      });
      return value;
    },

    withApiKey(key) {
      return buildClient({ ...config, apiKey: checkApiKey(key, "withApiKey()") }, agent, false);
    },

    async close() {
      if (ownsAgent) await agent.close();
    },
  };
  return client;
}

// DELETE answers 204 with no body; tolerate a JSON body too rather than fail a successful revoke.
const emptyBodySchema = z.unknown();
