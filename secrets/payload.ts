import { z } from "zod";
import { isRedacted, type Redacted, redacted } from "../redaction";
import { MalformedPayloadError } from "./errors";

/**
 * The JSON value of a managed secret (DESIGN.md, "The secret payload"). This is a public contract:
 * apps parse it with their own AWS clients. Changing it means a new `format` and readers that
 * accept both.
 */
export const PAYLOAD_FORMAT = 1 as const;

const uuid = (what: string) => z.guid({ error: `expected ${what} as a UUID` });

/**
 * The payload schema. Parsing turns `apiKey` into a {@link Redacted} at the boundary, so a parsed
 * payload can be logged, thrown or serialized by accident without leaking the key.
 *
 * Unknown fields are dropped rather than rejected: a field added without a format change must not
 * break older readers.
 */
export const secretPayloadSchema = z.object({
  format: z.literal(PAYLOAD_FORMAT, {
    error: `expected ${PAYLOAD_FORMAT} (this version of llamacloud-keys reads format ${PAYLOAD_FORMAT} only)`,
  }),
  apiKey: z
    .string({ error: "expected the LlamaCloud API key as a string" })
    .min(1, { error: "expected a non-empty LlamaCloud API key" })
    .transform((key) => redacted(key)),
  keyId: uuid("the LlamaCloud key id"),
  keyName: z
    .string({ error: "expected the key's name as a string" })
    .min(1, { error: "expected a non-empty key name" }),
  projectId: uuid("the LlamaCloud project id"),
  organizationId: uuid("the LlamaCloud organization id").nullable(),
  environment: z
    .string({ error: "expected the environment name as a string, e.g. prod" })
    .min(1, { error: "expected a non-empty environment name, e.g. prod" }),
  baseUrl: z.url({
    protocol: /^https?$/,
    error: "expected an http(s) URL, e.g. https://api.cloud.llamaindex.ai",
  }),
  createdAt: z.iso.datetime({
    offset: true,
    error: "expected an ISO-8601 date-time, e.g. 2025-01-31T12:00:00Z",
  }),
});

/** A parsed payload; `apiKey` is a {@link Redacted} string. */
export type SecretPayload = z.output<typeof secretPayloadSchema>;

/** What a writer supplies: the same fields, the key already wrapped. */
export type SecretPayloadInput = Omit<z.input<typeof secretPayloadSchema>, "apiKey"> & {
  apiKey: Redacted<string>;
};

/** What a writer knows of a key; {@link buildPayload} adds the rest. */
export interface PayloadFields {
  apiKey: Redacted<string>;
  keyId: string;
  keyName: string;
  projectId: string;
  /** Null (the default) when the project's organization is not known. */
  organizationId?: string | null;
  environment: string;
  baseUrl: string;
  /** When the key was made; now when unset. */
  createdAt?: string | Date;
}

/**
 * The payload to write for a key: the current `format`, the fields in their contract order. The one
 * place a payload is put together (the provider's create, the rotator's createSecret, the bench and
 * the demo), so a new field or format is added once.
 */
export function buildPayload(fields: PayloadFields): SecretPayloadInput {
  const createdAt = fields.createdAt ?? new Date();
  return {
    format: PAYLOAD_FORMAT,
    apiKey: fields.apiKey,
    keyId: fields.keyId,
    keyName: fields.keyName,
    projectId: fields.projectId,
    organizationId: fields.organizationId ?? null,
    environment: fields.environment,
    baseUrl: fields.baseUrl,
    createdAt: typeof createdAt === "string" ? createdAt : createdAt.toISOString(),
  };
}

/** Where a payload came from, for error messages. */
export interface PayloadLocation {
  secretId: string;
  versionId?: string;
}

/**
 * The JSON text to store in Secrets Manager. The only place the key is revealed on the write path.
 * Field order is fixed, so the same payload always serializes to the same bytes: Secrets Manager's
 * "same ClientRequestToken, same value" idempotency compares bytes.
 */
export function serializePayload(payload: SecretPayload | SecretPayloadInput): string {
  const apiKey = payload.apiKey;
  if (!isRedacted(apiKey)) {
    throw new TypeError("serializePayload: apiKey must be a Redacted<string>; wrap it with redacted()");
  }
  return JSON.stringify({
    format: payload.format,
    apiKey: apiKey.reveal(),
    keyId: payload.keyId,
    keyName: payload.keyName,
    projectId: payload.projectId,
    organizationId: payload.organizationId,
    environment: payload.environment,
    baseUrl: payload.baseUrl,
    createdAt: payload.createdAt,
  });
}

/**
 * Parses a secret's value. Plain text, another tool's JSON or another format throw a
 * {@link MalformedPayloadError} naming the secret, the version and each bad field, one line per
 * issue. Neither the message nor the error holds any part of the received text (`JSON.parse`'s own
 * message quotes the input, so it is not passed on).
 */
export function parsePayload(text: string, where: PayloadLocation): SecretPayload {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw malformed(where, ["(value): expected JSON, found plain text"]);
  }
  const result = checkPayload(json);
  if (!result.ok) throw malformed(where, result.issues);
  return result.payload;
}

/** Validates a parsed JSON value; `issues` has one line per problem, each naming its field path. */
export function checkPayload(
  json: unknown,
): { ok: true; payload: SecretPayload } | { ok: false; issues: string[] } {
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    const found = json === null ? "null" : Array.isArray(json) ? "an array" : `a JSON ${typeof json}`;
    return { ok: false, issues: [`(value): expected a JSON object, found ${found}`] };
  }
  const result = secretPayloadSchema.safeParse(json);
  if (result.success) return { ok: true, payload: result.data };
  return {
    ok: false,
    issues: result.error.issues.map((issue) => `${formatPath(issue.path)}: ${issueText(issue)}`),
  };
}

function issueText(issue: z.core.$ZodIssue): string {
  // A missing field reports "expected string, received undefined" from zod; say it plainly.
  if (issue.code === "invalid_type" && issue.message.endsWith("received undefined")) return "missing";
  return issue.message;
}

function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return "(value)";
  return path.map((part) => (typeof part === "number" ? `[${part}]` : String(part))).join(".");
}

function malformed(where: PayloadLocation, issues: string[]): MalformedPayloadError {
  const version = where.versionId === undefined ? "" : ` (version ${where.versionId})`;
  return new MalformedPayloadError(
    `Secret ${where.secretId}${version} does not hold a llamacloud-keys payload (format ${PAYLOAD_FORMAT}):\n` +
      issues.map((line) => `  ${line}`).join("\n") +
      "\nIt was written by another tool or edited by hand; llamacloud-keys will not overwrite it. " +
      "Move AWSCURRENT back to a good version (aws secretsmanager update-secret-version-stage) " +
      "or point llamacloud-keys at a secret of its own.",
    {
      secretId: where.secretId,
      ...(where.versionId === undefined ? {} : { versionId: where.versionId }),
      issues,
    },
  );
}

/**
 * A log-safe form of a key: its prefix (`llx-`) and last 4 characters, e.g. `llx-…abcd`. Keys
 * shorter than 16 characters show no characters at all: 4 of 12 is too much of a secret.
 */
export function redactKey(apiKey: string | Redacted<string>): string {
  const key = typeof apiKey === "string" ? apiKey : apiKey.reveal();
  const prefix = key.startsWith("llx-") ? "llx-" : "";
  if (key.length < 16) return `${prefix}…`;
  return `${prefix}…${key.slice(-4)}`;
}

/** What of a payload may appear in logs, events and Pulumi state. */
export interface RedactedPayloadView {
  format: number;
  keyId: string;
  /** The key as {@link redactKey} renders it. */
  key: string;
  keyName: string;
  projectId: string;
  organizationId: string | null;
  environment: string;
  baseUrl: string;
  createdAt: string;
}

/** A plain object, safe to log, describing a payload. */
export function redactPayload(payload: SecretPayload | SecretPayloadInput): RedactedPayloadView {
  return {
    format: payload.format,
    keyId: payload.keyId,
    key: redactKey(payload.apiKey),
    keyName: payload.keyName,
    projectId: payload.projectId,
    organizationId: payload.organizationId,
    environment: payload.environment,
    baseUrl: payload.baseUrl,
    createdAt: payload.createdAt,
  };
}
