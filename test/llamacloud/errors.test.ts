import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createLlamaCloudClient,
  isLlamaCloudError,
  type LlamaCloudError,
  llamaCloudErrorCodes,
} from "../../llamacloud";
import { resolveClientOptions } from "../../llamacloud/client-options";
import { type EmulatorHandle, startEmulator } from "../../llamacloud/emulator";
import { type CallContext, errorFromResponse, errorFromTransport } from "../../llamacloud/error-mapping";
import { LlamaCloudError as ErrorBase, LlamaCloudNetworkError } from "../../llamacloud/errors";

const limits = { connectMs: 10_000, headersMs: 30_000, bodyMs: 30_000, totalMs: 60_000 };
const get: CallContext = {
  endpoint: "GET /api/v1/projects/{project_id}",
  subject: 'project "9a1e0000-0000-4000-8000-000000000001"',
  baseUrl: "https://api.cloud.llamaindex.ai",
  attempts: 1,
};
const create: CallContext = {
  endpoint: "POST /api/v1/api-keys",
  subject: 'a new key named "app/search/prod/7f3e" in project "9a1e0000-0000-4000-8000-000000000001"',
  baseUrl: "https://api.cloud.llamaindex.ai",
  attempts: 1,
  reconcile:
    'Before creating again, look for it with findApiKeysByName({ projectId: "9a1e0000-0000-4000-8000-000000000001", name: "app/search/prod/7f3e" }) and adopt or revoke what you find.',
};
const detail = (text: string) => JSON.stringify({ detail: text });

function row(error: LlamaCloudError) {
  return { name: error.name, code: error.code, message: error.message };
}

/** Random ids and counters out, so the snapshot pins only the wording. */
function stable(text: string): string {
  return text
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, "<uuid>")
    .replace(/emu-\d+/g, "emu-<n>")
    .replace(/127\.0\.0\.1:\d+/g, "127.0.0.1:<port>");
}

describe("error table: each status and failure maps to a class, code and actionable message", () => {
  it("HTTP statuses", () => {
    const rows = [
      errorFromResponse(get, 401, detail("Invalid authentication token"), {}, "req-1"),
      errorFromResponse(get, 403, detail("User does not have access to this resource"), {}, "req-2"),
      errorFromResponse(
        { ...get, endpoint: "DELETE /api/v1/api-keys/{api_key_id}", subject: 'API key "k-1"' },
        404,
        detail("API key not found"),
        {},
        undefined,
      ),
      errorFromResponse(
        create,
        422,
        JSON.stringify({
          detail: [
            {
              loc: ["body", "name"],
              msg: "String should have at most 3000 characters",
              type: "string_too_long",
            },
          ],
        }),
        {},
        "req-4",
      ),
      errorFromResponse(
        { ...get, attempts: 4 },
        429,
        detail("Too Many Requests"),
        { "retry-after": "20" },
        "req-5",
      ),
      errorFromResponse({ ...get, attempts: 4 }, 503, detail("Service Unavailable"), {}, "req-6"),
      errorFromResponse(create, 500, "<html>oops</html>", {}, "req-7"),
      errorFromResponse(create, 408, "", {}, undefined),
      errorFromResponse(get, 418, detail("I'm a teapot"), {}, undefined),
    ].map(row);
    expect(rows).toMatchInlineSnapshot(`
      [
        {
          "code": "LLAMACLOUD_AUTHENTICATION",
          "message": "GET /api/v1/projects/{project_id} → 401 ("Invalid authentication token"), request id req-1: LlamaCloud at https://api.cloud.llamaindex.ai did not accept the API key. Set LLAMA_CLOUD_API_KEY (or the client's apiKey option) to a live key for this deployment: US and EU keys are not interchangeable, and a revoked key stops working within a minute.",
          "name": "LlamaCloudAuthenticationError",
        },
        {
          "code": "LLAMACLOUD_PERMISSION",
          "message": "GET /api/v1/projects/{project_id} → 403 ("User does not have access to this resource"), request id req-2: the API key may not act on project "9a1e0000-0000-4000-8000-000000000001". A key reaches only the project it was created in, and creating or deleting keys needs admin rights on the project: use a key created in that project by a project admin.",
          "name": "LlamaCloudPermissionError",
        },
        {
          "code": "LLAMACLOUD_NOT_FOUND",
          "message": "DELETE /api/v1/api-keys/{api_key_id} → 404 ("API key not found"): API key "k-1" does not exist or is not visible to this key. Check the id and that the key belongs to the same organization and region (https://api.cloud.llamaindex.ai).",
          "name": "LlamaCloudNotFoundError",
        },
        {
          "code": "LLAMACLOUD_VALIDATION",
          "message": "POST /api/v1/api-keys → 422, request id req-4: LlamaCloud rejected the request for a new key named "app/search/prod/7f3e" in project "9a1e0000-0000-4000-8000-000000000001": body.name: String should have at most 3000 characters. Fix the named field and call again.",
          "name": "LlamaCloudValidationError",
        },
        {
          "code": "LLAMACLOUD_RATE_LIMITED",
          "message": "GET /api/v1/projects/{project_id} → 429 ("Too Many Requests"), request id req-5: LlamaCloud rate-limited project "9a1e0000-0000-4000-8000-000000000001" after 4 attempts (it asked to wait 20 s). Try again later or lower the request rate; a create is never retried automatically.",
          "name": "LlamaCloudRateLimitedError",
        },
        {
          "code": "LLAMACLOUD_SERVER",
          "message": "GET /api/v1/projects/{project_id} → 503 ("Service Unavailable"), request id req-6: LlamaCloud answered with a server error for project "9a1e0000-0000-4000-8000-000000000001" after 4 attempts. The call is safe to repeat later; if it persists, quote the request id to LlamaCloud support.",
          "name": "LlamaCloudServerError",
        },
        {
          "code": "LLAMACLOUD_SERVER",
          "message": "POST /api/v1/api-keys → 500, request id req-7: LlamaCloud answered with a server error for a new key named "app/search/prod/7f3e" in project "9a1e0000-0000-4000-8000-000000000001" after 1 attempt. The key may have been created anyway. Before creating again, look for it with findApiKeysByName({ projectId: "9a1e0000-0000-4000-8000-000000000001", name: "app/search/prod/7f3e" }) and adopt or revoke what you find.",
          "name": "LlamaCloudServerError",
        },
        {
          "code": "LLAMACLOUD_TIMEOUT",
          "message": "POST /api/v1/api-keys → 408: LlamaCloud timed out the request for a new key named "app/search/prod/7f3e" in project "9a1e0000-0000-4000-8000-000000000001" after 1 attempt. Before creating again, look for it with findApiKeysByName({ projectId: "9a1e0000-0000-4000-8000-000000000001", name: "app/search/prod/7f3e" }) and adopt or revoke what you find.",
          "name": "LlamaCloudTimeoutError",
        },
        {
          "code": "LLAMACLOUD_SERVER",
          "message": "GET /api/v1/projects/{project_id} → 418 ("I'm a teapot"): LlamaCloud answered with an unexpected status for project "9a1e0000-0000-4000-8000-000000000001" after 1 attempt. The call is safe to repeat later; if it persists, quote the request id to LlamaCloud support.",
          "name": "LlamaCloudServerError",
        },
      ]
    `);
  });

  it("transport failures", () => {
    const rows = [
      errorFromTransport(
        { ...get, attempts: 4 },
        { code: "ECONNREFUSED", message: "connect ECONNREFUSED" },
        limits,
        false,
      ),
      errorFromTransport(create, { code: "UND_ERR_SOCKET", message: "other side closed" }, limits, false),
      errorFromTransport(
        get,
        { code: "UND_ERR_CONNECT_TIMEOUT", message: "Connect Timeout Error" },
        limits,
        false,
      ),
      errorFromTransport(
        create,
        { code: "UND_ERR_HEADERS_TIMEOUT", message: "Headers Timeout Error" },
        limits,
        false,
      ),
      errorFromTransport(get, { code: "UND_ERR_BODY_TIMEOUT", message: "Body Timeout Error" }, limits, false),
      errorFromTransport(get, { name: "AbortError", message: "aborted" }, limits, true),
    ].map(row);
    expect(rows).toMatchInlineSnapshot(`
      [
        {
          "code": "LLAMACLOUD_NETWORK",
          "message": "GET /api/v1/projects/{project_id}: the connection to api.cloud.llamaindex.ai failed (ECONNREFUSED) (project "9a1e0000-0000-4000-8000-000000000001", 4 attempts). Check that https://api.cloud.llamaindex.ai is reachable from here (proxy, DNS, firewall) and try again.",
          "name": "LlamaCloudNetworkError",
        },
        {
          "code": "LLAMACLOUD_NETWORK",
          "message": "POST /api/v1/api-keys: the connection to api.cloud.llamaindex.ai failed (UND_ERR_SOCKET) (a new key named "app/search/prod/7f3e" in project "9a1e0000-0000-4000-8000-000000000001", 1 attempt). The request may have reached LlamaCloud before the connection broke. Before creating again, look for it with findApiKeysByName({ projectId: "9a1e0000-0000-4000-8000-000000000001", name: "app/search/prod/7f3e" }) and adopt or revoke what you find.",
          "name": "LlamaCloudNetworkError",
        },
        {
          "code": "LLAMACLOUD_TIMEOUT",
          "message": "GET /api/v1/projects/{project_id}: could not connect to api.cloud.llamaindex.ai within 10000 ms (project "9a1e0000-0000-4000-8000-000000000001", 1 attempt). Check that https://api.cloud.llamaindex.ai is reachable from here (proxy, DNS, firewall) or raise timeouts.connectMs.",
          "name": "LlamaCloudTimeoutError",
        },
        {
          "code": "LLAMACLOUD_TIMEOUT",
          "message": "POST /api/v1/api-keys: api.cloud.llamaindex.ai sent no response within 30000 ms (a new key named "app/search/prod/7f3e" in project "9a1e0000-0000-4000-8000-000000000001", 1 attempt). Raise timeouts.headersMs if LlamaCloud is slow today, or try again later. Before creating again, look for it with findApiKeysByName({ projectId: "9a1e0000-0000-4000-8000-000000000001", name: "app/search/prod/7f3e" }) and adopt or revoke what you find.",
          "name": "LlamaCloudTimeoutError",
        },
        {
          "code": "LLAMACLOUD_TIMEOUT",
          "message": "GET /api/v1/projects/{project_id}: the response body from api.cloud.llamaindex.ai stalled for more than 30000 ms (project "9a1e0000-0000-4000-8000-000000000001", 1 attempt). Raise timeouts.bodyMs or try again later.",
          "name": "LlamaCloudTimeoutError",
        },
        {
          "code": "LLAMACLOUD_TIMEOUT",
          "message": "GET /api/v1/projects/{project_id}: no complete response within the overall deadline of 60000 ms (project "9a1e0000-0000-4000-8000-000000000001", 1 attempt). Raise timeouts.totalMs or check that https://api.cloud.llamaindex.ai is reachable.",
          "name": "LlamaCloudTimeoutError",
        },
      ]
    `);
  });

  it("configuration", () => {
    const attempt = (options: Parameters<typeof resolveClientOptions>[0]) => {
      try {
        resolveClientOptions(options);
      } catch (error) {
        if (isLlamaCloudError(error)) return row(error);
      }
      throw new Error("expected a config error");
    };
    expect([
      attempt({ env: {} }),
      attempt({ env: { LLAMA_CLOUD_API_KEY: "llx-abc\n" } }),
      attempt({ apiKey: "k", env: { LLAMA_CLOUD_BASE_URL: "not a url" } }),
      attempt({ apiKey: "k", baseUrl: "https://user:pw@example.com" }),
      attempt({ apiKey: "k", baseUrl: "https://example.com", region: "eu" }),
      attempt({ apiKey: "k", timeouts: { connectMs: -1 }, region: "mars" as "eu" }),
    ]).toMatchInlineSnapshot(`
      [
        {
          "code": "LLAMACLOUD_CONFIG",
          "message": "No LlamaCloud API key: set env LLAMA_CLOUD_API_KEY or pass apiKey to createLlamaCloudClient().",
          "name": "LlamaCloudConfigError",
        },
        {
          "code": "LLAMACLOUD_CONFIG",
          "message": "The LlamaCloud API key from the LLAMA_CLOUD_API_KEY environment variable contains whitespace or non-printable characters (often a trailing newline). Set it to the key exactly as LlamaCloud showed it.",
          "name": "LlamaCloudConfigError",
        },
        {
          "code": "LLAMACLOUD_CONFIG",
          "message": "The LLAMA_CLOUD_BASE_URL environment variable is not a valid URL. Set it to e.g. https://api.cloud.llamaindex.ai.",
          "name": "LlamaCloudConfigError",
        },
        {
          "code": "LLAMACLOUD_CONFIG",
          "message": "The baseUrl option must not contain credentials; pass the key as apiKey or LLAMA_CLOUD_API_KEY.",
          "name": "LlamaCloudConfigError",
        },
        {
          "code": "LLAMACLOUD_CONFIG",
          "message": "Pass either baseUrl or region to createLlamaCloudClient(), not both.",
          "name": "LlamaCloudConfigError",
        },
        {
          "code": "LLAMACLOUD_CONFIG",
          "message": "Invalid LlamaCloud client options: region: Invalid option: expected one of "us"|"eu"; timeouts.connectMs: Too small: expected number to be >0.",
          "name": "LlamaCloudConfigError",
        },
      ]
    `);
  });
});

describe("errors the client composes itself", () => {
  let emulator: EmulatorHandle;
  beforeAll(async () => {
    emulator = await startEmulator();
  });
  afterAll(async () => {
    await emulator.close();
  });

  it("unknown project, ambiguous project (seeded), masked key and bad response", async () => {
    const client = createLlamaCloudClient({ apiKey: emulator.adminKey, baseUrl: emulator.url, env: {} });
    const rows: ReturnType<typeof row>[] = [];
    const capture = async (promise: Promise<unknown>) => {
      const error = await promise.then(
        () => undefined,
        (e: unknown) => e,
      );
      if (!isLlamaCloudError(error)) throw new Error(`expected a LlamaCloud error, got ${String(error)}`);
      rows.push({ ...row(error), message: stable(error.message) });
    };
    await capture(client.resolveProject({ name: "nope" }));
    emulator.faults.add({
      route: "GET /api/v1/projects",
      kind: "body",
      body: JSON.stringify([
        { id: "p1", name: "dup", organization_id: "org-a" },
        { id: "p2", name: "dup", organization_id: "org-b" },
      ]),
    });
    await capture(client.resolveProject({ name: "dup" }));
    emulator.faults.add({ route: "POST /api/v1/api-keys", kind: "masked-key" });
    await capture(client.createApiKey({ projectId: emulator.projects[0]!.id, name: "m" }));
    emulator.faults.add({ route: "GET /api/v1/api-keys", kind: "body", body: JSON.stringify([{ id: "k" }]) });
    await capture(client.listApiKeys());
    expect(rows).toMatchInlineSnapshot(`
      [
        {
          "code": "LLAMACLOUD_UNKNOWN_PROJECT",
          "message": "Unknown project name nope. Please confirm a managed project with this name exists and that the API key's user belongs to it (GET /api/v1/projects on http://127.0.0.1:<port>; names are case-sensitive).",
          "name": "LlamaCloudUnknownProjectError",
        },
        {
          "code": "LLAMACLOUD_AMBIGUOUS_PROJECT",
          "message": "Multiple projects found with name dup. Please specify organization_id (the projects are in organizations org-a, org-b).",
          "name": "LlamaCloudAmbiguousProjectError",
        },
        {
          "code": "LLAMACLOUD_MASKED_KEY",
          "message": "POST /api/v1/api-keys → 200, request id emu-<n>: LlamaCloud returned a masked value instead of the full key for new key <uuid> in project "<uuid>". The key was revoked. The create response format may have changed; upgrade llamacloud-keys or report it with the request id.",
          "name": "LlamaCloudMaskedKeyError",
        },
        {
          "code": "LLAMACLOUD_BAD_RESPONSE",
          "message": "GET /api/v1/api-keys → 200, request id emu-<n>: the response for the key list does not match the documented shape: 0.user_id: Invalid input: expected string, received undefined; 0.redacted_api_key: Invalid input: expected string, received undefined. The LlamaCloud API may have changed; upgrade llamacloud-keys or report it with the request id.",
          "name": "LlamaCloudBadResponseError",
        },
      ]
    `);
    await client.close();
  });
});

describe("isLlamaCloudError", () => {
  it("matches on code, so an error from another copy of the classes (a plain object) still matches", () => {
    const foreign = Object.assign(new Error("x"), { code: "LLAMACLOUD_NETWORK" });
    expect(isLlamaCloudError(foreign)).toBe(true);
    expect(isLlamaCloudError(foreign, "LLAMACLOUD_NETWORK")).toBe(true);
    expect(isLlamaCloudError(foreign, "LLAMACLOUD_TIMEOUT")).toBe(false);
    expect(isLlamaCloudError(Object.assign(new Error("x"), { code: "ECONNRESET" }))).toBe(false);
    expect(isLlamaCloudError(null)).toBe(false);
    expect(isLlamaCloudError("LLAMACLOUD_NETWORK")).toBe(false);
  });

  it("every class carries its own code and is a LlamaCloudError", () => {
    const error = new LlamaCloudNetworkError("m", { endpoint: "GET /x", attempts: 2 });
    expect(error).toBeInstanceOf(ErrorBase);
    expect(error).toBeInstanceOf(Error);
    expect(JSON.parse(JSON.stringify(error))).toEqual({
      name: "LlamaCloudNetworkError",
      code: "LLAMACLOUD_NETWORK",
      message: "m",
      endpoint: "GET /x",
      attempts: 2,
      ambiguous: false,
    });
    expect(new Set(llamaCloudErrorCodes).size).toBe(13);
  });
});
