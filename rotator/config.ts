import { readFileSync } from "node:fs";
import { z } from "zod";
import type { LlamaCloudClientOptions } from "../llamacloud/client";
import { checkApiKey, timeoutsWithin } from "../llamacloud/client-options";
import { DEFAULT_KEY_PREFIX, KEY_PREFIX_PATTERN } from "../llamacloud/key-name";
import { type Redacted, redacted, scrub } from "../redaction";
import { durationSchema } from "../secrets/duration";
import { nonEmpty } from "../secrets/env";
import { RotatorError } from "./errors";

/**
 * The rotator's configuration: command-line flags, then an optional JSON config file, then the
 * environment (LLAMA_CLOUD_API_KEY, LLAMA_CLOUD_BASE_URL, the standard AWS variables), then
 * defaults. Every bad value is reported before anything is read or changed, as a ROTATOR_CONFIG
 * error (exit 2) with one line per problem naming the flag, env var or file field and what is
 * expected. Values are never echoed except durations, cron expressions and numbers (not secret).
 */

export type Command = "rotate" | "rotator" | "status";

export interface RotatorConfig {
  command: Command;
  /** Secret ids (ARN or name) from `--secret`; empty means every managed secret. */
  secrets: string[];
  force: boolean;
  revokeNow: boolean;
  dryRun: boolean;
  /** Machine-readable output on stdout. */
  json: boolean;
  /** node-cron expression, evaluated in UTC. */
  schedule: string;
  /** Secrets processed at once. */
  concurrency: number;
  /** Where the daemon serves /healthz and /metrics. */
  listen?: { host: string; port: number };
  /**
   * Fallback key-name prefix: each secret's new keys take the prefix of its current key's name
   * (`SecretState.keyPrefix`); this one only when that name is not one of ours.
   */
  prefix: string;
  /** A pass is cut short (at a step boundary) after this long. */
  passDeadlineMs: number;
  /** The daemon waits a random time up to this before each pass, to spread a fleet's load. */
  startDelayMaxMs: number;
  /** How long a SIGTERM waits for the step in flight before the watchdog exits. */
  shutdownTimeoutMs: number;
  llamaCloud: {
    apiKey: Redacted<string>;
    baseUrl?: string;
    /**
     * The longest one LlamaCloud call may take, retries included (`--llamacloud-timeout`); its
     * phases scale with it (`timeoutsWithin`). Absent: the client's defaults (60 s).
     */
    timeoutMs?: number;
  };
  aws: { region?: string; endpoint?: string };
  /**
   * Test/ops knob (env `LLAMACLOUD_KEYS_NOW_OFFSET_MS`): added to the clock for every due and grace
   * decision. Lets a test exercise "grace has passed" against real Secrets Manager timestamps, or an
   * operator preview a future pass with `--dry-run`. Never set it on a production daemon.
   */
  nowOffsetMs: number;
  logFormat?: "json" | "pretty";
}

/** Flag values as `node:util` parseArgs returns them. */
export interface FlagValues {
  secret?: string[];
  all?: boolean;
  force?: boolean;
  "revoke-now"?: boolean;
  "dry-run"?: boolean;
  json?: boolean;
  schedule?: string;
  concurrency?: string;
  listen?: string;
  config?: string;
  prefix?: string;
  "pass-deadline"?: string;
  "start-delay"?: string;
  "shutdown-timeout"?: string;
  "log-format"?: string;
  "llamacloud-timeout"?: string;
}

const DEFAULTS = {
  schedule: "*/15 * * * *",
  concurrency: 4,
  passDeadlineMs: 10 * 60_000,
  startDelayMaxMs: 30_000,
  shutdownTimeoutMs: 25_000,
  llamaCloudTimeoutMs: 60_000,
} as const;

/**
 * Where the LlamaCloud timeout is set, as timeout errors name it (the client's `timeoutSetting`):
 * the flag, the config file field and the environment variable, in that order of precedence.
 */
export const LLAMACLOUD_TIMEOUT_SETTING =
  "--llamacloud-timeout (config file field llamacloudTimeout, env LLAMACLOUD_KEYS_LLAMACLOUD_TIMEOUT)";

const llamaCloudTimeoutSchema = durationSchema.refine((ms) => ms >= 1_000 && ms <= 3_600_000, {
  error: "expected a duration from 1s to 1h, e.g. 2m (default 60s)",
});

const cronExpression = z.string().superRefine((value, ctx) => {
  // Loaded only when a schedule is given: `rotate` and `status` rarely have one, and start faster.
  const { validateDetailed } = require("node-cron") as typeof import("node-cron");
  const result = validateDetailed(value);
  if (!result.valid) {
    const why = result.errors.map((e) => e.message).join("; ");
    ctx.addIssue({
      code: "custom",
      message: `expected a cron expression (5 fields, or 6 with seconds), e.g. "*/15 * * * *"; ${scrub(JSON.stringify(value))}: ${scrub(why)}`,
    });
  }
});

/** `0` (none, also written `0s`, `0m`…) or a duration string (`30s`, `10m`). */
const durationOrZero = z.union(
  [
    z
      .string()
      .regex(/^0[smhd]?$/)
      .transform(() => 0),
    durationSchema,
  ],
  {
    error: "expected 0 or a whole number and one unit, e.g. 30s, 10m",
  },
);

const concurrencySchema = z.coerce
  .number({ error: "expected a whole number from 1 to 64" })
  .int({ error: "expected a whole number from 1 to 64" })
  .min(1, { error: "expected a whole number from 1 to 64" })
  .max(64, { error: "expected a whole number from 1 to 64" });

const listenSchema = z.string().transform((value, ctx) => {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(value);
  const port = match === null ? Number.NaN : Number(match[3]);
  if (match === null || !(port >= 0 && port <= 65_535)) {
    ctx.addIssue({
      code: "custom",
      message: `expected HOST:PORT, e.g. 127.0.0.1:9464 or [::1]:9464; got ${scrub(JSON.stringify(value))}`,
    });
    return z.NEVER;
  }
  return { host: (match[1] ?? match[2]) as string, port };
});

// The provider's `name` pattern (llamacloud/key-name.ts): any prefix it names keys with is accepted here.
const prefixSchema = z.string().regex(KEY_PREFIX_PATTERN, {
  error: "expected 1-100 letters, digits, dots, dashes or underscores (no slashes), e.g. llamacloud-keys",
});

const baseUrlSchema = z.url({
  protocol: /^https?$/,
  error: "expected an http(s) URL, e.g. https://api.cloud.llamaindex.ai",
});

/** The optional JSON config file (`--config FILE`). Unknown fields are errors: a typo must not be ignored. */
const configFileSchema = z
  .object({
    secrets: z.array(z.string().min(1)).optional(),
    schedule: cronExpression.optional(),
    concurrency: concurrencySchema.optional(),
    listen: listenSchema.optional(),
    prefix: prefixSchema.optional(),
    baseUrl: baseUrlSchema.optional(),
    region: z.string().min(1).optional(),
    endpoint: baseUrlSchema.optional(),
    passDeadline: durationSchema.optional(),
    startDelay: durationOrZero.optional(),
    shutdownTimeout: durationSchema.optional(),
    logFormat: z.enum(["json", "pretty"]).optional(),
    llamacloudTimeout: llamaCloudTimeoutSchema.optional(),
  })
  .strict();

type FileConfig = z.output<typeof configFileSchema>;

/**
 * Builds the configuration. Throws one ROTATOR_CONFIG error listing every problem (its `field` is
 * the first one's), before anything touches AWS or LlamaCloud.
 */
export function loadConfig(
  command: Command,
  flags: FlagValues,
  env: Record<string, string | undefined> = process.env,
): RotatorConfig {
  const problems: { field: string; message: string }[] = [];
  const check = <T>(field: string, schema: z.ZodType<T, unknown>, value: unknown): T | undefined => {
    if (value === undefined) return undefined;
    const parsed = schema.safeParse(value);
    if (parsed.success) return parsed.data;
    for (const issue of parsed.error.issues) problems.push({ field, message: issue.message });
    return undefined;
  };

  let file: FileConfig = {};
  if (flags.config !== undefined) file = readConfigFile(flags.config, problems);

  if (flags.secret !== undefined && flags.secret.length > 0 && flags.all === true) {
    problems.push({
      field: "--all",
      message: "--all and --secret exclude each other: pass one or the other",
    });
  }
  for (const id of flags.secret ?? []) {
    if (id.trim() === "")
      problems.push({ field: "--secret", message: "expected a secret ARN or name, got an empty value" });
  }
  // --dry-run with --revoke-now is allowed: the plan shows what revoke-now would do.

  const schedule = check("--schedule", cronExpression, flags.schedule) ?? file.schedule ?? DEFAULTS.schedule;
  const concurrency =
    check("--concurrency", concurrencySchema, flags.concurrency) ?? file.concurrency ?? DEFAULTS.concurrency;
  const listen = check("--listen", listenSchema, flags.listen) ?? file.listen;
  const prefix = check("--prefix", prefixSchema, flags.prefix) ?? file.prefix ?? DEFAULT_KEY_PREFIX;
  const passDeadlineMs =
    check("--pass-deadline", durationSchema, flags["pass-deadline"]) ??
    file.passDeadline ??
    DEFAULTS.passDeadlineMs;
  const startDelayMaxMs =
    check("--start-delay", durationOrZero, flags["start-delay"]) ??
    file.startDelay ??
    DEFAULTS.startDelayMaxMs;
  const shutdownTimeoutMs =
    check("--shutdown-timeout", durationSchema, flags["shutdown-timeout"]) ??
    file.shutdownTimeout ??
    DEFAULTS.shutdownTimeoutMs;
  const logFormat = check("--log-format", z.enum(["json", "pretty"]), flags["log-format"]) ?? file.logFormat;
  const llamaCloudTimeoutMs =
    check("--llamacloud-timeout", llamaCloudTimeoutSchema, flags["llamacloud-timeout"]) ??
    file.llamacloudTimeout ??
    check(
      "LLAMACLOUD_KEYS_LLAMACLOUD_TIMEOUT",
      llamaCloudTimeoutSchema,
      nonEmpty(env.LLAMACLOUD_KEYS_LLAMACLOUD_TIMEOUT),
    ) ??
    DEFAULTS.llamaCloudTimeoutMs;

  const apiKey = env.LLAMA_CLOUD_API_KEY;
  if (apiKey === undefined || apiKey.trim() === "") {
    problems.push({
      field: "LLAMA_CLOUD_API_KEY",
      message:
        "not set: the rotator mints and revokes keys with it. Export a key of a user who is an admin of every " +
        "managed project (it is read from the environment only, never from flags or files)",
    });
  } else {
    try {
      checkApiKey(apiKey, "the LLAMA_CLOUD_API_KEY environment variable");
    } catch (error) {
      // A stray newline from `$(cat key.txt)`: named here, with the other problems, not per secret later.
      problems.push({ field: "LLAMA_CLOUD_API_KEY", message: (error as Error).message });
    }
  }
  // Like region and endpoint below: the config file's value wins over the environment's.
  const baseUrl =
    file.baseUrl ?? check("LLAMA_CLOUD_BASE_URL", baseUrlSchema, nonEmpty(env.LLAMA_CLOUD_BASE_URL));
  const region = file.region ?? nonEmpty(env.AWS_REGION) ?? nonEmpty(env.AWS_DEFAULT_REGION);
  const endpoint =
    file.endpoint ??
    check(
      "AWS_ENDPOINT_URL_SECRETS_MANAGER",
      baseUrlSchema,
      nonEmpty(env.AWS_ENDPOINT_URL_SECRETS_MANAGER),
    ) ??
    check("AWS_ENDPOINT_URL", baseUrlSchema, nonEmpty(env.AWS_ENDPOINT_URL));
  const nowOffsetMs =
    check(
      "LLAMACLOUD_KEYS_NOW_OFFSET_MS",
      z.coerce
        .number({ error: "expected a whole number of milliseconds" })
        .int({ error: "expected a whole number of milliseconds" }),
      nonEmpty(env.LLAMACLOUD_KEYS_NOW_OFFSET_MS),
    ) ?? 0;

  if (problems.length > 0) {
    const lines = problems.map((p) => `  ${p.field}: ${p.message}`);
    throw new RotatorError(
      "ROTATOR_CONFIG",
      `Invalid configuration for \`llamacloud-keys ${command}\` (nothing was changed):\n${lines.join("\n")}\n` +
        `Run \`llamacloud-keys ${command} --help\` for the flags.`,
      { field: problems[0]?.field as string },
    );
  }

  return {
    command,
    // `--all` is a flag, and flags win over the file: it overrides the file's `secrets` list.
    secrets: flags.secret ?? (flags.all === true ? [] : (file.secrets ?? [])),
    force: flags.force === true,
    revokeNow: flags["revoke-now"] === true,
    dryRun: flags["dry-run"] === true,
    json: flags.json === true,
    schedule,
    concurrency,
    ...(listen === undefined ? {} : { listen }),
    prefix,
    passDeadlineMs,
    startDelayMaxMs,
    shutdownTimeoutMs,
    llamaCloud: {
      apiKey: redacted(apiKey as string),
      ...(baseUrl === undefined ? {} : { baseUrl }),
      timeoutMs: llamaCloudTimeoutMs,
    },
    aws: { ...(region === undefined ? {} : { region }), ...(endpoint === undefined ? {} : { endpoint }) },
    nowOffsetMs,
    ...(logFormat === undefined ? {} : { logFormat }),
  };
}

function readConfigFile(path: string, problems: { field: string; message: string }[]): FileConfig {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    problems.push({
      field: "--config",
      message: `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
    });
    return {};
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    problems.push({ field: "--config", message: `${path} is not valid JSON` });
    return {};
  }
  const parsed = configFileSchema.safeParse(json);
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) {
    const where = issue.path.length === 0 ? "(file)" : issue.path.map(String).join(".");
    const message =
      issue.code === "unrecognized_keys"
        ? `unknown field(s) ${issue.keys.map((k) => JSON.stringify(k)).join(", ")}; expected: ${Object.keys(configFileSchema.shape).join(", ")}`
        : issue.message;
    problems.push({ field: `${path}: ${where}`, message });
  }
  return {};
}

/** The rotator's LlamaCloud client options: its key, host and `--llamacloud-timeout`. */
export function llamaCloudClientOptions(config: Pick<RotatorConfig, "llamaCloud">): LlamaCloudClientOptions {
  const { apiKey, baseUrl, timeoutMs } = config.llamaCloud;
  return {
    apiKey,
    ...(baseUrl === undefined ? {} : { baseUrl }),
    ...(timeoutMs === undefined
      ? {}
      : { timeouts: timeoutsWithin(timeoutMs), timeoutSetting: LLAMACLOUD_TIMEOUT_SETTING }),
    userAgent: "llamacloud-keys-rotator",
  };
}
