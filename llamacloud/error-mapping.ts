import { scrub } from "../redaction";
import {
  LlamaCloudAuthenticationError,
  type LlamaCloudError,
  LlamaCloudNetworkError,
  LlamaCloudNotFoundError,
  LlamaCloudPermissionError,
  LlamaCloudRateLimitedError,
  LlamaCloudServerError,
  LlamaCloudTimeoutError,
  LlamaCloudValidationError,
  type ValidationIssue,
} from "./errors";
import { retryAfterMs } from "./retry-policy";
import { errorBodySchema } from "./schemas";

/**
 * Turns a failed HTTP exchange into a typed {@link LlamaCloudError} whose message says what went
 * wrong, on which object, and what to do. Only identifiers and the server's short `detail` string
 * (scrubbed) reach a message: never a body, a header or a key.
 */

/** What the client knows about the call that failed. */
export interface CallContext {
  /** Method and route template, e.g. `"DELETE /api/v1/api-keys/{api_key_id}"`. */
  endpoint: string;
  /** The object acted on, for messages: `API key 5f0c…`, `project 9a1e…`, `the key list`. */
  subject: string;
  baseUrl: string;
  attempts: number;
  /**
   * Set for a create: how to reconcile if it may have taken effect. Its presence makes 5xx and
   * mid-request transport failures `ambiguous`.
   */
  reconcile?: string;
}

/** The per-phase limits, named as the client's `timeouts` options so messages can cite them. */
export interface TimeoutLimits {
  connectMs: number;
  headersMs: number;
  bodyMs: number;
  totalMs: number;
  /**
   * What the user sets to raise these limits (the CLI's flag, config field and env var); when absent,
   * messages name the client's `timeouts.*` options.
   */
  setting?: string;
}

const maxDetailLength = 200;

function describeDetail(detail: string | undefined): string {
  if (detail === undefined || detail === "") return "";
  const clean = scrub(detail).replace(/\s+/g, " ");
  return ` (${JSON.stringify(clean.length > maxDetailLength ? `${clean.slice(0, maxDetailLength)}…` : clean)})`;
}

function describeRequestId(requestId: string | undefined): string {
  return requestId === undefined ? "" : `, request id ${scrub(requestId)}`;
}

function attemptsText(attempts: number): string {
  return attempts === 1 ? "1 attempt" : `${attempts} attempts`;
}

function parseDetail(bodyText: string): { text?: string; issues?: ValidationIssue[] } {
  let json: unknown;
  try {
    json = JSON.parse(bodyText);
  } catch {
    return {};
  }
  const parsed = errorBodySchema.safeParse(json);
  if (!parsed.success) return {};
  return typeof parsed.data.detail === "string"
    ? { text: parsed.data.detail }
    : { issues: parsed.data.detail };
}

function formatIssues(issues: ValidationIssue[]): string {
  if (issues.length === 0) return "no details given";
  return issues.map((issue) => `${issue.loc.join(".")}: ${scrub(issue.msg)}`).join("; ");
}

/** The error for a response with a non-success status (after retries, if any, were spent). */
export function errorFromResponse(
  context: CallContext,
  status: number,
  bodyText: string,
  headers: Record<string, string | string[] | undefined>,
  requestId: string | undefined,
): LlamaCloudError {
  const { endpoint, subject, baseUrl, attempts } = context;
  const parsed = parseDetail(bodyText);
  const head = `${endpoint} → ${status}${describeDetail(parsed.text)}${describeRequestId(requestId)}`;
  const details = { status, requestId, endpoint, attempts };

  if (status === 401) {
    return new LlamaCloudAuthenticationError(
      `${head}: LlamaCloud at ${baseUrl} did not accept the API key. Set LLAMA_CLOUD_API_KEY (or the ` +
        "client's apiKey option) to a live key for this deployment: US and EU keys are not " +
        "interchangeable, and a revoked key stops working within a minute.",
      details,
    );
  }
  if (status === 403) {
    return new LlamaCloudPermissionError(
      `${head}: the API key may not act on ${subject}. A key reaches only the project it was created ` +
        "in, and creating or deleting keys needs admin rights on the project: use a key created in " +
        "that project by a project admin.",
      details,
    );
  }
  if (status === 404) {
    return new LlamaCloudNotFoundError(
      `${head}: ${subject} does not exist or is not visible to this key. Check the id and that the ` +
        `key belongs to the same organization and region (${baseUrl}).`,
      details,
    );
  }
  if (status === 422 || status === 400) {
    const issues = parsed.issues ?? [];
    return new LlamaCloudValidationError(
      `${endpoint} → ${status}${describeRequestId(requestId)}: LlamaCloud rejected the request for ` +
        `${subject}: ${parsed.issues === undefined ? (parsed.text ?? "no details given") : formatIssues(issues)}. ` +
        "Fix the named field and call again.",
      issues,
      details,
    );
  }
  if (status === 429) {
    const hint = retryAfterMs(headers);
    return new LlamaCloudRateLimitedError(
      `${head}: LlamaCloud rate-limited ${subject} after ${attemptsText(attempts)}` +
        `${hint === undefined ? "" : ` (it asked to wait ${Math.ceil(hint / 1000)} s)`}. ` +
        "Try again later or lower the request rate; a create is never retried automatically.",
      { ...details, ...(hint === undefined ? {} : { retryAfterMs: hint }) },
    );
  }
  if (status === 408) {
    return new LlamaCloudTimeoutError(
      `${head}: LlamaCloud timed out the request for ${subject} after ${attemptsText(attempts)}.` +
        reconcileText(context),
      { ...details, ambiguous: context.reconcile !== undefined },
    );
  }
  const kind = status >= 500 ? "a server error" : "an unexpected status";
  return new LlamaCloudServerError(
    `${head}: LlamaCloud answered with ${kind} for ${subject} after ${attemptsText(attempts)}. ` +
      (context.reconcile === undefined
        ? "The call is safe to repeat later; if it persists, quote the request id to LlamaCloud support."
        : `The key may have been created anyway.${reconcileText(context)}`),
    { ...details, ambiguous: context.reconcile !== undefined && status >= 500 },
  );
}

function reconcileText(context: CallContext): string {
  return context.reconcile === undefined ? "" : ` ${context.reconcile}`;
}

// Failures that happen before a single byte of the request can have reached the server: a create
// that failed this way is not ambiguous.
const notSentCodes = new Set(["ECONNREFUSED", "UND_ERR_CONNECT_TIMEOUT", "ENOTFOUND", "EAI_AGAIN"]);

/** `code` and `message` of whatever undici or Node threw; nothing else is read from it. */
export function transportErrorCode(error: unknown): { code: string; name: string; message: string } {
  if (typeof error === "object" && error !== null) {
    const { code, name, message } = error as { code?: unknown; name?: unknown; message?: unknown };
    return {
      code: typeof code === "string" ? code : "UNKNOWN",
      name: typeof name === "string" ? name : "Error",
      message: typeof message === "string" ? message : "",
    };
  }
  return { code: "UNKNOWN", name: "Error", message: String(error) };
}

/**
 * The error for a call whose last attempt got no complete response. `deadlineHit` means the
 * call's overall deadline (`timeouts.totalMs`) fired. The cause is a fresh Error holding only the
 * scrubbed code and message: undici errors can reference sockets and request state.
 */
export function errorFromTransport(
  context: CallContext,
  error: unknown,
  limits: TimeoutLimits,
  deadlineHit: boolean,
): LlamaCloudError {
  const { endpoint, subject, baseUrl, attempts } = context;
  const raw = transportErrorCode(error);
  const cause = new Error(scrub(`${raw.code}: ${raw.message}`));
  cause.name = raw.name;
  const ambiguous = context.reconcile !== undefined && (deadlineHit || !notSentCodes.has(raw.code));
  const details = { endpoint, attempts, cause, ambiguous };
  const after = ` (${subject}, ${attemptsText(attempts)})`;
  const tail = ambiguous ? reconcileText(context) : "";
  let host = baseUrl;
  try {
    host = new URL(baseUrl).host;
  } catch {
    // baseUrl was validated when the client was made; keep it whole if it still does not parse.
  }

  const raise = (option: string) => limits.setting ?? `timeouts.${option}`;
  if (deadlineHit) {
    return new LlamaCloudTimeoutError(
      `${endpoint}: no complete response within the overall deadline of ${limits.totalMs} ms${after}. ` +
        `Raise ${raise("totalMs")} or check that ${baseUrl} is reachable.${tail}`,
      details,
    );
  }
  if (raw.code === "UND_ERR_CONNECT_TIMEOUT") {
    return new LlamaCloudTimeoutError(
      `${endpoint}: could not connect to ${host} within ${limits.connectMs} ms${after}. ` +
        `Check that ${baseUrl} is reachable from here (proxy, DNS, firewall) or raise ${raise("connectMs")}.`,
      details,
    );
  }
  if (raw.code === "UND_ERR_HEADERS_TIMEOUT") {
    return new LlamaCloudTimeoutError(
      `${endpoint}: ${host} sent no response within ${limits.headersMs} ms${after}. ` +
        `Raise ${raise("headersMs")} if LlamaCloud is slow today, or try again later.${tail}`,
      details,
    );
  }
  if (raw.code === "UND_ERR_BODY_TIMEOUT") {
    return new LlamaCloudTimeoutError(
      `${endpoint}: the response body from ${host} stalled for more than ${limits.bodyMs} ms${after}. ` +
        `Raise ${raise("bodyMs")} or try again later.${tail}`,
      details,
    );
  }
  return new LlamaCloudNetworkError(
    `${endpoint}: the connection to ${host} failed (${scrub(raw.code)})${after}. ` +
      (ambiguous
        ? `The request may have reached LlamaCloud before the connection broke.${tail}`
        : `Check that ${baseUrl} is reachable from here (proxy, DNS, firewall) and try again.`),
    details,
  );
}
