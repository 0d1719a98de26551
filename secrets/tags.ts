import { z } from "zod";
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

const unitMs = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000 } as const;
type Unit = keyof typeof unitMs;

const durationPattern = /^([1-9][0-9]{0,8})(d|h|m|s)$/;
const durationHint = "a whole number and one unit, e.g. 30d, 12h, 90m or 45s";

/**
 * A duration as written in tags, config and flags: a positive whole number and one unit (`d`, `h`,
 * `m`, `s`). Parses to milliseconds.
 */
export const durationSchema = z
  .string({ error: `expected a duration string: ${durationHint}` })
  .regex(durationPattern, { error: `expected ${durationHint}` })
  .transform((text) => {
    const [, amount, unit] = durationPattern.exec(text) as RegExpExecArray;
    return Number(amount) * unitMs[unit as Unit];
  });

/** A duration string did not parse; `field` names where it came from. */
class InvalidDurationError extends Error {
  readonly code = "INVALID_DURATION";
  readonly field: string;

  constructor(field: string, value: unknown) {
    // Durations are not secret, so quoting the value is allowed and helps.
    super(`"${field}" must be ${durationHint}; got ${JSON.stringify(value) ?? String(value)}`);
    this.name = "InvalidDurationError";
    this.field = field;
  }
}

/**
 * `"30d"` → 2,592,000,000. Throws {@link InvalidDurationError} naming `field` when the text is
 * not a duration.
 */
export function parseDuration(text: string, field = "duration"): number {
  const result = durationSchema.safeParse(text);
  if (!result.success) throw new InvalidDurationError(field, text);
  return result.data;
}

/**
 * The inverse of {@link parseDuration}: the largest unit that divides `ms` exactly, e.g. 5,400,000
 * → `"90m"`. Throws a RangeError for values a duration string cannot express (not a positive whole
 * number of seconds).
 */
export function formatDuration(ms: number): string {
  if (!Number.isInteger(ms) || ms <= 0 || ms % 1000 !== 0) {
    throw new RangeError(`formatDuration: ${ms} ms is not a positive whole number of seconds`);
  }
  for (const unit of ["d", "h", "m", "s"] as const) {
    if (ms % unitMs[unit] === 0) return `${ms / unitMs[unit]}${unit}`;
  }
  /* c8 ignore next */
  throw new RangeError(`formatDuration: ${ms}`);
}

/** Accepts milliseconds or a duration string; for options like the reader's `ttl`. */
export function toMilliseconds(value: number | string, field: string): number {
  if (typeof value === "string") return parseDuration(value, field);
  if (!Number.isFinite(value) || value < 0) {
    throw new InvalidDurationError(field, value);
  }
  return value;
}

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

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Reads the management tags. A tag that is present but unusable throws
 * {@link InvalidManagementTagError} naming the tag, the secret and the command that fixes it;
 * absent tags are simply absent (the caller decides which it needs).
 */
export function readManagementTags(tags: Record<string, string>, secretId: string): ManagementTags {
  const result: ManagementTags = { managed: tags[TAG_MANAGED] === "true" };
  const projectId = tags[TAG_PROJECT_ID];
  if (projectId !== undefined) {
    if (!uuidPattern.test(projectId))
      throw badTag(secretId, TAG_PROJECT_ID, projectId, "a LlamaCloud project UUID");
    result.projectId = projectId;
  }
  const environment = tags[TAG_ENVIRONMENT];
  if (environment !== undefined) {
    if (environment.trim() === "")
      throw badTag(secretId, TAG_ENVIRONMENT, environment, "an environment name, e.g. prod");
    result.environment = environment;
  }
  const rotateEvery = tags[TAG_ROTATE_EVERY];
  if (rotateEvery !== undefined) {
    const parsed = durationSchema.safeParse(rotateEvery);
    if (!parsed.success) throw badTag(secretId, TAG_ROTATE_EVERY, rotateEvery, durationHint);
    result.rotateEveryMs = parsed.data;
  }
  const grace = tags[TAG_GRACE];
  if (grace !== undefined) {
    const parsed = durationSchema.safeParse(grace);
    if (!parsed.success) throw badTag(secretId, TAG_GRACE, grace, durationHint);
    result.graceMs = parsed.data;
  }
  return result;
}

function badTag(secretId: string, tag: string, value: string, expected: string): InvalidManagementTagError {
  return new InvalidManagementTagError(
    `Tag ${tag} on secret ${secretId} is ${JSON.stringify(value)}; expected ${expected}. ` +
      `Fix it with \`aws secretsmanager tag-resource --secret-id ${secretId} --tags Key=${tag},Value=<value>\`.`,
    { secretId, tag },
  );
}
