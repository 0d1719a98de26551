import { z } from "zod";
import { scrub } from "../redaction";

/**
 * Durations, as written in tags, stack config, resource args, config files and flags: a positive
 * whole number and one unit, `30d`, `12h`, `90m`, `45s` (DESIGN.md). The one parser and formatter;
 * every surface that takes a duration validates it with {@link durationSchema}.
 */

const unitMs = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000 } as const;
type Unit = keyof typeof unitMs;

/** A positive whole number (at most 9 digits) and one unit. */
export const DURATION_PATTERN = /^([1-9][0-9]{0,8})(d|h|m|s)$/;
/** What a duration looks like, for messages. */
export const DURATION_HINT = "a whole number and one unit, e.g. 30d, 12h, 90m or 45s";

/**
 * A duration as written in tags, config and flags: a positive whole number and one unit (`d`, `h`,
 * `m`, `s`). Parses to milliseconds.
 */
export const durationSchema = z
  .string({ error: `expected a duration string: ${DURATION_HINT}` })
  .regex(DURATION_PATTERN, { error: `expected ${DURATION_HINT}` })
  .transform((text) => {
    const [, amount, unit] = DURATION_PATTERN.exec(text) as RegExpExecArray;
    return Number(amount) * unitMs[unit as Unit];
  });

/** A duration string did not parse; `field` names where it came from. */
class InvalidDurationError extends Error {
  readonly code = "INVALID_DURATION";
  readonly field: string;

  constructor(field: string, value: unknown) {
    // Durations are not secret, so quoting the value is allowed and helps; a key pasted into the
    // wrong field is scrubbed all the same (SECURITY.md: errors never quote a key).
    super(`"${field}" must be ${DURATION_HINT}; got ${scrub(JSON.stringify(value) ?? String(value))}`);
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

/** `"30d"` → 2,592,000,000; anything that is not a duration → undefined. */
export function parseDurationOrUndefined(text: unknown): number | undefined {
  const result = durationSchema.safeParse(text);
  return result.success ? result.data : undefined;
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
