import { z } from "zod";
import { DURATION_PATTERN, parseDurationOrUndefined } from "./duration";

/**
 * The rotation policy `{ every, grace }` and its two rules, written once for every surface that
 * takes one (`ApiKey`'s `rotation`, stack config, `ProjectKeys`, the rotator's tags):
 * - grace is at least {@link GRACE_FLOOR_MS} (DESIGN.md invariant 3: LlamaCloud may keep accepting a
 *   revoked key for up to a minute);
 * - every is longer than grace: the previous key must be revoked before the next rotation.
 * Each surface words its messages its own way (a resource arg quotes its field, a config key is
 * prefixed by the caller), so the schema takes the wording; the rules are the same.
 */

/** Invariant 3's floor: LlamaCloud may keep accepting a revoked key for up to a minute. */
export const GRACE_FLOOR_MS = 60_000;

export type RotationPolicyField = "every" | "grace";

/** The rule a policy breaks, grace first: `every` is judged only against a grace that is valid. */
export type RotationPolicyViolation = "grace-below-floor" | "every-not-above-grace";

/** The first rule `{ everyMs, graceMs }` breaks, or undefined. */
export function rotationPolicyViolation(policy: {
  everyMs: number;
  graceMs: number;
}): RotationPolicyViolation | undefined {
  if (policy.graceMs < GRACE_FLOOR_MS) return "grace-below-floor";
  if (policy.everyMs <= policy.graceMs) return "every-not-above-grace";
  return undefined;
}

/** How a surface words each problem. */
export interface RotationPolicyWording {
  /** The value is not an object. */
  notObject: string;
  /** A field is missing or not a string. */
  notString(field: RotationPolicyField): string;
  /** A field is a string but not a duration. */
  notDuration(field: RotationPolicyField): string;
  graceBelowFloor: string;
  everyNotAboveGrace(graceMs: number): string;
}

/** Stack config's and `ProjectKeys`' wording: the caller puts the field's path in front. */
export const ROTATION_POLICY_WORDING: RotationPolicyWording = {
  notObject: 'must be { every, grace }, e.g. { every: "30d", grace: "2h" }',
  notString: () => "must be a duration string, e.g. 30d or 2h",
  notDuration: () => "must be a whole number and one unit (d, h, m, s), e.g. 30d, 12h, 90m or 45s",
  graceBelowFloor: "must be at least 60s: LlamaCloud revocation can take up to a minute",
  everyNotAboveGrace: () =>
    "must be longer than grace: the previous key must be revoked before the next rotation",
};

// A failed format check does not stop zod from running the object's rules, so every problem is
// reported at once; the rules then judge only the fields that parsed.
const durationField = (field: RotationPolicyField, wording: RotationPolicyWording) =>
  z
    .string({ error: wording.notString(field) })
    .regex(DURATION_PATTERN, { error: wording.notDuration(field) });

const milliseconds = (value: string | number): number | undefined =>
  typeof value === "number" ? value : parseDurationOrUndefined(value);

/**
 * The policy's two rules as a zod refinement, for objects that carry more than the policy, or that
 * judge it after their own fields (`at`: the policy's path in that object). Takes duration strings
 * or the milliseconds they parse to.
 */
export function checkRotationPolicy(
  wording: RotationPolicyWording = ROTATION_POLICY_WORDING,
  at: readonly PropertyKey[] = [],
) {
  return (policy: { every: string | number; grace: string | number }, ctx: z.core.$RefinementCtx): void => {
    const everyMs = milliseconds(policy.every);
    const graceMs = milliseconds(policy.grace);
    if (graceMs === undefined) return;
    const violation = rotationPolicyViolation({ everyMs: everyMs ?? Number.POSITIVE_INFINITY, graceMs });
    if (violation === "grace-below-floor") {
      ctx.addIssue({ code: "custom", path: [...at, "grace"], message: wording.graceBelowFloor });
    } else if (violation === "every-not-above-grace" && everyMs !== undefined) {
      ctx.addIssue({ code: "custom", path: [...at, "every"], message: wording.everyNotAboveGrace(graceMs) });
    }
  };
}

/** The fields `every` and `grace` as duration strings, for an object that carries more. */
export function rotationPolicyFields(wording: RotationPolicyWording = ROTATION_POLICY_WORDING) {
  return { every: durationField("every", wording), grace: durationField("grace", wording) };
}

/** The policy in milliseconds, once its fields parsed (for objects built on {@link rotationPolicyFields}). */
export function rotationPolicyMs(policy: { every: string; grace: string }): { every: number; grace: number } {
  return { every: milliseconds(policy.every) as number, grace: milliseconds(policy.grace) as number };
}

/**
 * `{ every, grace }` as duration strings, strict: unknown fields are refused (a misspelt `grase`
 * must not pass silently). Parses to milliseconds. Without `checked: false` both rules are judged
 * here; with it, the caller judges them with {@link checkRotationPolicy} where its other
 * cross-field rules are (so its problems keep their order).
 */
export function rotationPolicySchema(
  wording: RotationPolicyWording = ROTATION_POLICY_WORDING,
  options: { checked?: boolean } = {},
) {
  const fields = z.object(rotationPolicyFields(wording), { error: wording.notObject }).strict();
  return (options.checked === false ? fields : fields.superRefine(checkRotationPolicy(wording))).transform(
    rotationPolicyMs,
  );
}
