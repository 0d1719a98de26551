import { randomUUID } from "node:crypto";
import { z } from "zod";
import { LLAMACLOUD_REGIONS } from "../llamacloud/client-options";
import { KEY_PREFIX_PATTERN } from "../llamacloud/key-name";
import { scrub } from "../redaction";
import { formatDuration, parseDurationOrUndefined } from "../secrets/duration";
import { environmentSchema } from "../secrets/environment";
import {
  checkRotationPolicy,
  GRACE_FLOOR_MS,
  type RotationPolicyWording,
  rotationPolicyFields,
  rotationPolicyMs,
} from "../secrets/rotation-policy";
import {
  type RotationRules,
  rotationRulesIssues,
  rulesForInterval,
  rulesForSchedule,
  rulesIntervalMs,
} from "../secrets/rotation-rules";
import { ProviderError } from "./errors";
import { IDENTITY_INPUT, ownedToken, ownerDigest } from "./identity";
import { requirePeer } from "./peers";

/**
 * The `ApiKey` resource's inputs as the provider sees them (plain values, after the engine resolved
 * every `Input<>`): their schema, the check/diff rules, and the secret naming conventions. The schema
 * is the single source of truth; `ApiKeyArgs` in `api-key.ts` documents the same fields for users.
 * Key names follow `llamacloud/key-name.ts`, shared with the rotator.
 */

/**
 * What the engine sends for an input that is not known yet (preview): the SDK's own constant, read
 * on first use, so this module's schemas and constants load without `@pulumi/pulumi`; only judging
 * inputs the engine sent needs it, and the engine's provider host always has it.
 */
let unknownSentinel: string | undefined;
function unknownValue(): string {
  unknownSentinel ??= requirePeer<typeof import("@pulumi/pulumi")>(
    "@pulumi/pulumi",
    "llamacloud-keys/provider",
  ).runtime.unknownValue;
  return unknownSentinel;
}

/** First segment of provider-created secret names when `secretName` is not given. */
export const DEFAULT_SECRET_PREFIX = "llamacloud";

/** LlamaCloud may keep accepting a revoked key for up to a minute (DESIGN.md invariant 3). */
export const MIN_GRACE_MS = GRACE_FLOOR_MS;

// Secrets Manager: 1–512 of ASCII letters, digits and /_+=.@-
const secretNamePattern = /^[A-Za-z0-9/_+=.@-]{1,512}$/;
const tagKeyPattern = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$/u;
const tagValuePattern = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{0,256}$/u;
// A Lambda function ARN, optionally with a version or alias (RotationLambdaARN: at most 2048 characters).
const lambdaArnPattern =
  /^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9_$-]{1,128})?$/;

const must = (field: string, what: string) => ({ error: `"${field}" must be ${what}` });
const uuid = (field: string, what: string) => z.guid(must(field, `${what} (a UUID)`));
// The resource's wording of the rotation policy's rules (secrets/rotation-policy.ts): each message
// quotes its field.
const rotationWording: RotationPolicyWording = {
  notObject: must("rotation", 'an object { every, grace } of durations, e.g. { every: "30d", grace: "2h" }')
    .error,
  notString: (field) => must(`rotation.${field}`, "a duration string, e.g. 30d, 12h, 90m or 45s").error,
  notDuration: (field) =>
    `"rotation.${field}" must be a whole number and one unit (d, h, m, s), e.g. 30d, 12h, 90m or 45s`,
  graceBelowFloor: `"rotation.grace" must be a duration of at least 60s, e.g. 2h: LlamaCloud revocation can take up to a minute`,
  everyNotAboveGrace: (graceMs) =>
    `"rotation.every" must be longer than "rotation.grace" (${formatDuration(graceMs)}), e.g. 30d: the previous key must be revoked before the next rotation`,
};

/** The schema of the resource's own inputs (`__provider` and output seeds removed first). */
export const apiKeyInputsSchema = z
  .object({
    projectId: uuid("projectId", "the LlamaCloud project id").optional(),
    projectName: z
      .string(must("projectName", "the LlamaCloud project's name"))
      .min(1, must("projectName", "a non-empty project name"))
      // LlamaCloud (pydantic) counts characters, not UTF-16 units: 3,000 emoji are a valid name.
      .refine((name) => [...name].length <= 3000, must("projectName", "at most 3000 characters"))
      .optional(),
    organizationId: uuid("organizationId", "the LlamaCloud organization id").optional(),
    environment: environmentSchema({
      notString: must("environment", "a short lowercase label, e.g. prod").error,
      invalid: must(
        "environment",
        "a short lowercase label: a letter, then up to 31 letters, digits or dashes, e.g. prod",
      ).error,
    }),
    name: z
      .string(must("name", "a display prefix for key names"))
      .regex(
        KEY_PREFIX_PATTERN,
        must("name", "1-100 letters, digits, dots, underscores or dashes (no slashes), e.g. checkout-api"),
      )
      .optional(),
    secretId: z
      .string(must("secretId", "the ARN or name of an existing Secrets Manager secret"))
      .min(1, must("secretId", "a non-empty secret ARN or name"))
      .max(2048, must("secretId", "at most 2048 characters"))
      .optional(),
    secretName: z
      .string(must("secretName", "a Secrets Manager secret name"))
      .regex(
        secretNamePattern,
        must("secretName", "1-512 characters among letters, digits and /_+=.@-, e.g. llamacloud/search/prod"),
      )
      .optional(),
    kmsKeyId: z
      .string(must("kmsKeyId", "a KMS key id, alias or ARN"))
      .min(1, must("kmsKeyId", "a non-empty KMS key id, alias or ARN"))
      .max(2048, must("kmsKeyId", "at most 2048 characters"))
      .optional(),
    description: z
      .string(must("description", "a string"))
      .max(2048, must("description", "at most 2048 characters"))
      .optional(),
    tags: z
      .record(
        z.string(),
        z
          .string(must("tags", "a map of string values"))
          .regex(tagValuePattern, must("tags", "values of at most 256 letters, digits, spaces or _.:/=+-@")),
        must("tags", "a map of string tag values"),
      )
      .superRefine((tags, ctx) => {
        for (const key of Object.keys(tags)) {
          const message =
            key.startsWith("llamacloud-keys:") || key.startsWith("aws:")
              ? `"tags" must not use the reserved prefixes llamacloud-keys: (set "rotation" instead) or aws:`
              : tagKeyPattern.test(key)
                ? undefined
                : `"tags" must be keyed by 1-128 letters, digits, spaces or _.:/=+-@`;
          // What is wrong is the key, not its value: name the key as what was given.
          if (message !== undefined)
            ctx.addIssue({
              code: "custom",
              path: [key],
              message,
              params: { given: `given the key ${shown(key)}` },
            });
        }
      })
      .optional(),
    recoveryWindowInDays: z
      .number(must("recoveryWindowInDays", "a number of days"))
      .int(must("recoveryWindowInDays", "a whole number of days"))
      .refine((days) => days === 0 || (days >= 7 && days <= 30), {
        error: `"recoveryWindowInDays" must be 0 (delete without recovery) or 7 to 30`,
      })
      .optional(),
    // The policy's two rules and the native rules are judged below, after the other cross-field
    // rules; durations become milliseconds once every field parsed.
    rotation: z
      .object(
        {
          ...rotationPolicyFields(rotationWording),
          // Native rotation (Secrets Manager runs the function); format and ranges in superRefine.
          lambdaArn: z
            .string(must("rotation.lambdaArn", "the ARN of the rotation function"))
            .max(2048, must("rotation.lambdaArn", "at most 2048 characters"))
            .regex(
              lambdaArnPattern,
              must(
                "rotation.lambdaArn",
                "a Lambda function ARN, e.g. arn:aws:lambda:eu-west-1:123456789012:function:llamacloud-keys-rotation",
              ),
            )
            .optional(),
          schedule: z
            .union(
              [z.number(), z.string()],
              must(
                "rotation.schedule",
                'a number of days or a rate()/cron() expression, e.g. "rate(30 days)"',
              ),
            )
            .optional(),
          window: z.string(must("rotation.window", 'whole hours, e.g. "3h"')).optional(),
        },
        { error: rotationWording.notObject },
      )
      .strict()
      .transform((rotation) => ({ ...rotation, ...rotationPolicyMs(rotation) }))
      .optional(),
    region: z
      .enum(LLAMACLOUD_REGIONS, must("region", `"us" or "eu" (the public LlamaCloud deployments)`))
      .optional(),
    baseUrl: z
      .url({
        protocol: /^https?$/,
        ...must("baseUrl", "an http(s) URL, e.g. https://api.cloud.llamaindex.ai"),
      })
      .optional(),
    adopt: z.boolean(must("adopt", "true or false")).optional(),
    __createToken: uuid("__createToken", "a create token (set by the provider; do not pass it)").optional(),
    // Set by the ApiKey class (provider/identity.ts); absent in state written before it existed.
    __identity: z
      .string(must("__identity", "the resource's identity (set by ApiKey; do not pass it)"))
      .min(1, must("__identity", "a non-empty identity (set by ApiKey; do not pass it)"))
      .max(4096, must("__identity", "at most 4096 characters"))
      .optional(),
  })
  .strict()
  .superRefine((inputs, ctx) => {
    const issue = (path: string, message: string, given?: string) =>
      ctx.addIssue({
        code: "custom",
        path: [path],
        message,
        ...(given === undefined ? {} : { params: { given } }),
      });
    if ((inputs.projectId === undefined) === (inputs.projectName === undefined)) {
      issue(
        inputs.projectId === undefined ? "projectId" : "projectName",
        `exactly one of "projectId" and "projectName" must be set`,
        inputs.projectId === undefined
          ? "neither is set"
          : `both are set: ${shown(inputs.projectId)} and ${shown(inputs.projectName)}`,
      );
    }
    if (inputs.secretId !== undefined) {
      for (const option of ["secretName", "kmsKeyId", "description", "recoveryWindowInDays"] as const) {
        if (inputs[option] !== undefined) {
          issue(
            option,
            `"${option}" configures a secret the provider creates; it cannot be combined with "secretId" (an existing secret)`,
          );
        }
      }
    }
    if (inputs.region !== undefined && inputs.baseUrl !== undefined) {
      issue(
        "baseUrl",
        `set "region" or "baseUrl", not both`,
        `both are set: ${shown(inputs.region)} and ${shown(inputs.baseUrl)}`,
      );
    }
    if (inputs.rotation !== undefined) {
      checkRotationPolicy(rotationWording, ["rotation"])(inputs.rotation, ctx);
      nativeRotationIssues(inputs.rotation, issue);
    }
  });

type RotationInput = {
  every: number;
  grace: number;
  lambdaArn?: string | undefined;
  schedule?: number | string | undefined;
  window?: string | undefined;
};

/**
 * The native rotation part of `rotation`: `schedule` and `window` need `lambdaArn`; the rules they
 * make (or `every` makes, without `schedule`) are validated as Secrets Manager does
 * (`secrets/rotation-rules.ts`), and rotate no sooner than the previous key's grace ends.
 */
function nativeRotationIssues(
  input: Omit<RotationInput, "every" | "grace"> & { every: number | string; grace: number | string },
  issue: (path: string, message: string) => void,
) {
  const { lambdaArn, schedule, window } = input;
  if (lambdaArn === undefined && schedule === undefined && window === undefined) return;
  // A duration that did not parse is reported already; the native rules need both.
  const every = typeof input.every === "number" ? input.every : parseDurationOrUndefined(input.every);
  const grace = typeof input.grace === "number" ? input.grace : parseDurationOrUndefined(input.grace);
  if (every === undefined || grace === undefined) return;
  const rotation: RotationInput = { ...input, every, grace };
  if (lambdaArn === undefined) {
    issue(
      "rotation.lambdaArn",
      `"rotation.lambdaArn" must be set when "rotation.schedule" or "rotation.window" is: they configure native ` +
        "rotation by that function; set it, or drop them to keep rotation with the llamacloud-keys rotator",
    );
  }
  const fields = {
    schedule: schedule === undefined ? "rotation.every" : "rotation.schedule",
    window: "rotation.window",
  };
  const rules = nativeRulesOf(rotation);
  if (rules === undefined) {
    issue(
      "rotation.schedule",
      `"rotation.schedule" must be set when "rotation.every" (${formatDuration(rotation.every)}) is not whole hours or ` +
        'days: Secrets Manager schedules in hours or days, e.g. "rate(12 hours)"',
    );
    return;
  }
  const problems = rotationRulesIssues(rules, fields);
  for (const problem of problems) issue(problem.field, problem.message);
  const interval = rulesIntervalMs(rules);
  if (
    problems.length === 0 &&
    schedule !== undefined &&
    interval !== undefined &&
    interval <= rotation.grace
  ) {
    issue(
      "rotation.schedule",
      `"rotation.schedule" must rotate less often than "rotation.grace" (${formatDuration(rotation.grace)}) lasts: ` +
        "the previous key must be revoked before the next rotation",
    );
  }
}

/**
 * The RotationRules of a rotation input: from `schedule` when given, else from `every` (ms). Also
 * what refresh compares Secrets Manager's rules with (`native-rotation-sync.ts`).
 */
export function nativeRulesOf(
  rotation: Pick<RotationInput, "every" | "schedule" | "window">,
): RotationRules | undefined {
  if (rotation.schedule !== undefined) return rulesForSchedule(rotation.schedule, rotation.window);
  return rulesForInterval(rotation.every, rotation.window);
}

/** What native rotation the inputs ask for: the function and its RotationRules, or none. */
export function nativeRotationOf(
  inputs: ApiKeyInputs,
): { lambdaArn: string; rules: RotationRules } | undefined {
  const rotation = inputs.rotation;
  if (rotation?.lambdaArn === undefined) return undefined;
  const rules = nativeRulesOf(rotation);
  // `check` refused inputs without rules; state from before native rotation has no lambdaArn.
  if (rules === undefined) return undefined;
  return { lambdaArn: rotation.lambdaArn, rules };
}

/** Validated inputs; rotation durations in milliseconds. */
export type ApiKeyInputs = z.output<typeof apiKeyInputsSchema>;

/**
 * Outputs that are not also inputs; the `ApiKey` class seeds them as `undefined`, so they may arrive
 * with the inputs. (`projectId`, `organizationId` and `secretName` are both.)
 */
const OUTPUT_ONLY_NAMES = [
  "keyId",
  "keyName",
  "redactedKey",
  "secretArn",
  "versionId",
  "createdAt",
  "secretRestored",
  "nativeRotation",
] as const;

/** A failure as Pulumi's `CheckFailure` carries it. */
export interface InputFailure {
  property: string;
  reason: string;
}

/** The raw inputs minus what the engine or the resource class adds. */
function ownInputs(raw: Record<string, unknown>): Record<string, unknown> {
  const own: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (key === "__provider" || value === undefined || value === null) continue;
    // Output seeds (`keyId: undefined`) are dropped by the engine; tolerate them if they come through.
    if ((OUTPUT_ONLY_NAMES as readonly string[]).includes(key)) continue;
    own[key] = value;
  }
  return own;
}

/** Paths (dotted) of inputs that are unknown during preview. */
function unknownPaths(value: unknown, prefix = ""): string[] {
  if (value === unknownValue()) return [prefix];
  if (typeof value !== "object" || value === null || Array.isArray(value)) return [];
  return Object.entries(value).flatMap(([key, child]) =>
    unknownPaths(child, prefix === "" ? key : `${prefix}.${key}`),
  );
}

const MAX_SHOWN = 80;

/**
 * A value as a check failure quotes it: JSON, with anything shaped like a LlamaCloud key replaced
 * (someone may paste a key into the wrong field), invisible and direction-changing characters
 * escaped, and cut to {@link MAX_SHOWN} characters.
 */
function shown(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  text = scrub(text).replace(/\p{C}/gu, (c) => `\\u${c.codePointAt(0)!.toString(16).padStart(4, "0")}`);
  return text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN)}…` : text;
}

/** The raw input at a zod issue path (our cross-field issues use dotted names as one segment). */
function valueAt(inputs: Record<string, unknown>, path: readonly PropertyKey[]): unknown {
  let node: unknown = inputs;
  for (const part of path.flatMap((p) => String(p).split("."))) {
    if (node === null || typeof node !== "object") return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}

/**
 * One failure per problem, each naming the field, the value given and the expected form, in the
 * reason alone: the engine prints the reason once per failure.
 */
function failuresOf(issue: z.core.$ZodIssue, inputs: Record<string, unknown>): InputFailure[] {
  const base = issue.path.map(String).join(".");
  if (issue.code === "unrecognized_keys") {
    // Name the object the key was found in: `unknown property ""` alone does not say where.
    const where = base === "" ? "" : `"${base}": `;
    return issue.keys.map((key) => ({
      property: base === "" ? key : `${base}.${key}`,
      reason:
        `${where}unknown property ${JSON.stringify(key)}: check the spelling against ApiKeyArgs; ` +
        `given ${shown(valueAt(inputs, [...issue.path, key]))}`,
    }));
  }
  // Our own messages start with the quoted field (or name both fields); zod's fallbacks get it prefixed.
  const ours =
    issue.message.startsWith('"') || issue.message.startsWith("exactly") || issue.message.startsWith("set ");
  const message = ours ? issue.message : `"${base}": ${issue.message}`;
  const params = issue.code === "custom" ? (issue.params as { given?: string } | undefined) : undefined;
  const value = valueAt(inputs, issue.path);
  const given = params?.given ?? (value === undefined ? "not set" : `given ${shown(value)}`);
  return [{ property: base, reason: `${message}; ${given}` }];
}

/**
 * Validates raw inputs. Inputs still unknown (preview) are not judged: a rule that involves one is
 * skipped, so a preview never fails on a value the engine has not computed yet.
 */
export function validateInputs(
  raw: Record<string, unknown>,
): { ok: true; inputs: ApiKeyInputs } | { ok: false; failures: InputFailure[]; unknown: boolean } {
  const own = ownInputs(raw);
  const unknown = unknownPaths(own);
  const known = unknown.length === 0 ? own : withoutPaths(own, unknown);
  const result = apiKeyInputsSchema.safeParse(known);
  if (result.success && unknown.length === 0) return { ok: true, inputs: result.data };
  const failures = (result.success ? [] : result.error.issues)
    .flatMap((issue) => failuresOf(issue, known))
    .filter((failure) => !involvesUnknown(failure, unknown));
  if (result.success || failures.length === 0) return { ok: false, failures: [], unknown: true };
  return { ok: false, failures, unknown: unknown.length > 0 };
}

function withoutPaths(value: Record<string, unknown>, paths: string[]): Record<string, unknown> {
  const copy: Record<string, unknown> = structuredClone(value);
  for (const path of paths) {
    const parts = path.split(".");
    let node: Record<string, unknown> | undefined = copy;
    for (const part of parts.slice(0, -1)) node = node?.[part] as Record<string, unknown> | undefined;
    if (node !== undefined) delete node[parts[parts.length - 1]!];
  }
  return copy;
}

// Cross-field rules name one field but depend on its partner: skip them when the partner is unknown.
const partners: Record<string, string[]> = {
  projectId: ["projectName"],
  projectName: ["projectId"],
  secretName: ["secretId"],
  kmsKeyId: ["secretId"],
  description: ["secretId"],
  recoveryWindowInDays: ["secretId"],
  baseUrl: ["region"],
  "rotation.every": ["rotation.grace", "rotation", "rotation.schedule", "rotation.window"],
  "rotation.grace": ["rotation.every", "rotation"],
  "rotation.lambdaArn": ["rotation.schedule", "rotation.window", "rotation"],
  // Not lambdaArn: a function declared in the same program is unknown at preview, its rules are not.
  "rotation.schedule": ["rotation.every", "rotation.grace", "rotation.window", "rotation"],
  "rotation.window": ["rotation.every", "rotation.schedule", "rotation"],
};

function involvesUnknown(failure: InputFailure, unknown: string[]): boolean {
  const within = (path: string, u: string) => u === path || path.startsWith(`${u}.`);
  // The field itself: unknown, inside something unknown, or holding something unknown. A partner
  // only when it (or what holds it) is unknown: `rotation.lambdaArn` unknown says nothing of
  // `rotation.schedule`, whose partner `rotation` stands for the whole object being unknown.
  return (
    unknown.some((u) => within(failure.property, u) || u.startsWith(`${failure.property}.`)) ||
    (partners[failure.property] ?? []).some((path) => unknown.some((u) => within(path, u)))
  );
}

/** Validates or throws `PROVIDER_INVALID_ARGS` listing every failure (for create/update). */
export function parseInputs(raw: Record<string, unknown>, resource = "ApiKey"): ApiKeyInputs {
  const result = validateInputs(raw);
  if (result.ok) return result.inputs;
  const issues = result.unknown && result.failures.length === 0 ? ["some inputs are still unknown"] : [];
  const lines = [...result.failures.map((f) => f.reason), ...issues];
  throw new ProviderError("PROVIDER_INVALID_ARGS", `Invalid ${resource} inputs:\n  ${lines.join("\n  ")}`, {
    issues: lines,
  });
}

/** Inputs whose change means another key (or another secret): the resource is replaced. */
const REPLACE_KEYS = [
  "projectId",
  "projectName",
  "organizationId",
  "environment",
  "secretId",
  "secretName",
  "kmsKeyId",
  "description",
  "region",
  "baseUrl",
] as const;

/** Inputs applied in place: the key is renamed, the secret retagged, the recovery window recorded. */
const UPDATE_KEYS = ["name", "rotation", "tags", "recoveryWindowInDays"] as const;

/**
 * Where the key goes: the `secretId`, or the name of the secret the provider creates (default
 * `llamacloud/<project>/<environment>`, `<project>` being the project name when given, else its id).
 */
export function secretTarget(inputs: Record<string, unknown>): string {
  if (typeof inputs["secretId"] === "string") return `id:${inputs["secretId"]}`;
  if (typeof inputs["secretName"] === "string") return `name:${inputs["secretName"]}`;
  return `name:${defaultSecretName(inputs)}`;
}

export function defaultSecretName(inputs: Record<string, unknown>): string {
  const project = inputs["projectName"] ?? inputs["projectId"];
  return `${DEFAULT_SECRET_PREFIX}/${String(project)}/${String(inputs["environment"])}`;
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

/**
 * The create token, kept in the hidden input `__createToken`. It is generated here, in `check`, so
 * the engine records it with the inputs before `create` runs: a create retried with the same inputs
 * (the engine re-running a pending create, or a test) reuses it and finds the key it may already have
 * minted by name. It is carried over from the old inputs while the resource's identity (the
 * {@link REPLACE_KEYS}) is unchanged, and renewed when a replacement is coming, because the
 * replacement's first secret version must not reuse the old version's ClientRequestToken.
 */
export function createToken(olds: Record<string, unknown>, news: Record<string, unknown>): string {
  const given = news["__createToken"];
  if (typeof given === "string" && given !== unknownValue()) return given;
  const old = olds["__createToken"];
  if (typeof old === "string" && REPLACE_KEYS.every((key) => same(olds[key], news[key]))) return old;
  const identity = news[IDENTITY_INPUT];
  // A token carrying the owner lets a later create recognise this attempt's key by its name.
  if (typeof identity === "string" && identity !== unknownValue())
    return ownedToken(ownerDigest(identity, secretTarget(news)));
  return randomUUID();
}

/** What changed between the recorded inputs and the new ones, and what that means. */
export function diffInputs(
  olds: Record<string, unknown>,
  news: Record<string, unknown>,
): { changes: boolean; replaces: string[]; deleteBeforeReplace: boolean } {
  const changed = [...REPLACE_KEYS, ...UPDATE_KEYS].filter(
    (key) =>
      news[key] === unknownValue() ||
      !same(normalizeForDiff(key, olds[key]), normalizeForDiff(key, news[key])),
  );
  const replaces = changed.filter((key) => (REPLACE_KEYS as readonly string[]).includes(key));
  // Create-before-delete needs two secrets; when the secret stays the same, the old key must go
  // first (and a secret we created is restored from pending deletion by the replacement's create).
  const sameSecret =
    news["secretId"] !== unknownValue() &&
    news["secretName"] !== unknownValue() &&
    secretTarget(olds) === secretTarget(news);
  return { changes: changed.length > 0, replaces, deleteBeforeReplace: replaces.length > 0 && sameSecret };
}

// No tags and an empty tag map mean the same thing to Secrets Manager.
function normalizeForDiff(key: string, value: unknown): unknown {
  if (key === "tags" && value !== null && typeof value === "object" && Object.keys(value).length === 0)
    return undefined;
  return value;
}

/** The inputs as recorded in outputs (`__inputs`), so `diff` (which gets outputs) can compare. */
export function recordInputs(raw: Record<string, unknown>): Record<string, unknown> {
  const own = ownInputs(raw);
  delete own["__createToken"];
  delete own[IDENTITY_INPUT];
  return own;
}
