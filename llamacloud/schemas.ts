import { z } from "zod";
import { type Redacted, redacted } from "../redaction";

/**
 * Wire schemas for the LlamaCloud responses the client reads, and the camelCase shapes it returns.
 * Field facts come from the server's OpenAPI document (`@llamaindex/cloud` 4.1.3, `openapi.json`):
 * see `/work/shared/reference/llamacloud-api.md`. Unknown fields are stripped, so additions on the
 * server (`key_type`, `ad_hoc_eval_dataset_id`, …) never break a parse.
 *
 * Ids are checked as non-empty strings, not as uuids: the client should not fail on an id format
 * change it does not depend on.
 */

const id = z.string().min(1);
const nullableString = z.string().nullable().optional();

/** A key as it appears in a list, rename or create response (`APIKey` in the OpenAPI document). */
const apiKeyWireSchema = z.object({
  id,
  user_id: z.string(),
  // In lists this is masked; in the create response it is the full key (the wire name misleads).
  redacted_api_key: z.string(),
  name: nullableString,
  project_id: nullableString,
  created_at: nullableString,
  updated_at: nullableString,
});
export type ApiKeyWire = z.infer<typeof apiKeyWireSchema>;

/** Key metadata, safe to log and to keep in Pulumi state. */
export interface ApiKeyInfo {
  id: string;
  name: string | null;
  projectId: string | null;
  userId: string;
  /** A masked form (`llx-…` + last 4); never the key itself. */
  maskedKey: string;
  createdAt: string | null;
  updatedAt: string | null;
}

// The usual key characters after `llx-`. A masked value carries `…`, `*` or `.` instead.
const fullKeyPattern = /^llx-[A-Za-z0-9_-]+$/;
// Keys are `llx-` + 48 characters today; the length is not documented, so only reject values far too
// short to be a key (a masked `llx-…abcd` is 9 characters).
const minimumKeyLength = 24;

/** True when `value` looks like a complete key rather than a masked form. */
export function looksLikeFullKey(value: string): boolean {
  return value.length >= minimumKeyLength && fullKeyPattern.test(value);
}

/** The masked form the emulator lists and the client shows: `llx-…` + last 4 characters. */
export function maskKey(value: string): string {
  return `llx-…${value.slice(-4)}`;
}

function toApiKeyInfo(wire: ApiKeyWire): ApiKeyInfo {
  return {
    id: wire.id,
    name: wire.name ?? null,
    projectId: wire.project_id ?? null,
    userId: wire.user_id,
    // Defence in depth: should a server ever list a full key, it still never leaves this boundary.
    maskedKey: looksLikeFullKey(wire.redacted_api_key)
      ? maskKey(wire.redacted_api_key)
      : wire.redacted_api_key,
    createdAt: wire.created_at ?? null,
    updatedAt: wire.updated_at ?? null,
  };
}

/** A listed or renamed key. */
export const apiKeySchema = apiKeyWireSchema.transform(toApiKeyInfo);
export const apiKeyListSchema = z.array(apiKeySchema);

/** What a create returns: metadata plus the one-time secret, wrapped so it cannot leak by accident. */
export interface CreatedApiKey {
  key: ApiKeyInfo;
  secret: Redacted<string>;
}

/**
 * The create response: `redacted_api_key` holds the full key here (only here), so it becomes a
 * `Redacted<string>` at the boundary and the misleading wire name goes no further.
 */
export const createdApiKeySchema = apiKeyWireSchema.transform(
  (wire): CreatedApiKey => ({
    key: { ...toApiKeyInfo(wire), maskedKey: maskKey(wire.redacted_api_key) },
    secret: redacted(wire.redacted_api_key),
  }),
);

/** `Project` in the OpenAPI document. */
const projectWireSchema = z.object({
  id,
  name: z.string(),
  organization_id: z.string(),
  is_default: z.boolean().optional(),
});
export interface Project {
  id: string;
  name: string;
  organizationId: string;
  isDefault: boolean;
}

export const projectSchema = projectWireSchema.transform(
  (wire): Project => ({
    id: wire.id,
    name: wire.name,
    organizationId: wire.organization_id,
    isDefault: wire.is_default ?? false,
  }),
);
export const projectListSchema = z.array(projectSchema);

/** `Organization` in the OpenAPI document. */
const organizationWireSchema = z.object({ id, name: z.string() });
export interface Organization {
  id: string;
  name: string;
}

const organizationSchema = organizationWireSchema.transform(
  (wire): Organization => ({ id: wire.id, name: wire.name }),
);
export const organizationListSchema = z.array(organizationSchema);

/** One FastAPI validation issue (`ValidationError`); pydantic's extra `input`/`ctx` are dropped. */
const validationIssueSchema = z.object({
  loc: z.array(z.union([z.string(), z.number()])),
  msg: z.string(),
  type: z.string(),
});

/** FastAPI error bodies: `{"detail": "<message>"}` or, for 422, `{"detail": [issue, …]}`. */
export const errorBodySchema = z.object({
  detail: z.union([z.string(), z.array(validationIssueSchema)]),
});
