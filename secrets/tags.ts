import { z } from "zod";
import { scrub } from "../redaction";
import { DURATION_HINT, durationSchema, formatDuration, parseDuration } from "./duration";
import { InvalidManagementTagError } from "./errors";

/**
 * The management tags (DESIGN.md). They are the rotator's whole inventory: a secret someone tags
 * by hand with `llamacloud-keys:managed=true` is managed too.
 */
export const TAG_MANAGED = "llamacloud-keys:managed";
export const TAG_PROJECT_ID = "llamacloud-keys:project-id";
export const TAG_ENVIRONMENT = "llamacloud-keys:environment";
export const TAG_ROTATE_EVERY = "llamacloud-keys:rotate-every";
export const TAG_GRACE = "llamacloud-keys:grace";
/**
 * Set by the Pulumi provider: a digest of the `ApiKey` resource (stack, project, resource name) and
 * its secret, so a create retried after a killed `pulumi up` recognises the secret its earlier
 * attempt made. Not part of the rotator's inventory; it ignores it.
 */
export const TAG_OWNER = "llamacloud-keys:owner";

export interface ManagementTagsInput {
  projectId: string;
  environment: string;
  /** Milliseconds or a duration string. */
  rotateEvery?: number | string;
  /** Milliseconds or a duration string. */
  grace?: number | string;
}

/** The tags a managed secret carries, ready for CreateSecret or TagResource. */
export function managementTags(input: ManagementTagsInput): Record<string, string> {
  const tags: Record<string, string> = {
    [TAG_MANAGED]: "true",
    [TAG_PROJECT_ID]: input.projectId,
    [TAG_ENVIRONMENT]: input.environment,
  };
  if (input.rotateEvery !== undefined)
    tags[TAG_ROTATE_EVERY] = normalizeDuration(input.rotateEvery, "rotateEvery");
  if (input.grace !== undefined) tags[TAG_GRACE] = normalizeDuration(input.grace, "grace");
  return tags;
}

function normalizeDuration(value: number | string, field: string): string {
  return formatDuration(typeof value === "string" ? parseDuration(value, field) : value);
}

/** The management metadata read back from a secret's tags. */
export interface ManagementTags {
  /** True only when `llamacloud-keys:managed` is exactly `true`. */
  managed: boolean;
  projectId?: string;
  environment?: string;
  rotateEveryMs?: number;
  graceMs?: number;
}

const expected = {
  [TAG_PROJECT_ID]: "a LlamaCloud project UUID",
  [TAG_ENVIRONMENT]: "an environment name, e.g. prod",
  [TAG_ROTATE_EVERY]: DURATION_HINT,
  [TAG_GRACE]: DURATION_HINT,
} as const;

/**
 * The tag contract as read back (DESIGN.md): each tag optional, each present one usable. The
 * environment tag need only be non-blank (a secret tagged by hand is managed too); the first issue
 * names the tag, in this order.
 */
const managementTagsSchema = z.object({
  [TAG_MANAGED]: z.string().optional(),
  [TAG_PROJECT_ID]: z.guid().optional(),
  [TAG_ENVIRONMENT]: z
    .string()
    .refine((text) => text.trim() !== "")
    .optional(),
  [TAG_ROTATE_EVERY]: durationSchema.optional(),
  [TAG_GRACE]: durationSchema.optional(),
});

/**
 * Reads the management tags. A tag that is present but unusable throws
 * {@link InvalidManagementTagError} naming the tag, the secret and the command that fixes it;
 * absent tags are simply absent (the caller decides which it needs).
 */
export function readManagementTags(tags: Record<string, string>, secretId: string): ManagementTags {
  const parsed = managementTagsSchema.safeParse(tags);
  if (!parsed.success) {
    const tag = parsed.error.issues[0]?.path[0] as keyof typeof expected;
    throw badTag(secretId, tag, tags[tag] as string, expected[tag]);
  }
  const read = parsed.data;
  return {
    // Only the exact value `true` marks a secret managed.
    managed: read[TAG_MANAGED] === "true",
    ...(read[TAG_PROJECT_ID] === undefined ? {} : { projectId: read[TAG_PROJECT_ID] }),
    ...(read[TAG_ENVIRONMENT] === undefined ? {} : { environment: read[TAG_ENVIRONMENT] }),
    ...(read[TAG_ROTATE_EVERY] === undefined ? {} : { rotateEveryMs: read[TAG_ROTATE_EVERY] }),
    ...(read[TAG_GRACE] === undefined ? {} : { graceMs: read[TAG_GRACE] }),
  };
}

function badTag(secretId: string, tag: string, value: string, expected: string): InvalidManagementTagError {
  return new InvalidManagementTagError(
    // A tag is not secret, but someone may have pasted a key into one: quote it scrubbed.
    `Tag ${tag} on secret ${secretId} is ${scrub(JSON.stringify(value))}; expected ${expected}. ` +
      `Fix it with \`aws secretsmanager tag-resource --secret-id ${secretId} --tags Key=${tag},Value=<value>\`.`,
    { secretId, tag },
  );
}
