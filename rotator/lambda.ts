import { z } from "zod";
import type { LlamaCloudClient } from "../llamacloud/client";
import { KEY_PREFIX_PATTERN } from "../llamacloud/key-name";
import { nonEmpty } from "../secrets/env";
import { createKeyReader, type KeyReader, type KeyReading } from "../secrets/reader";
import { AWSCURRENT, AWSPENDING, createSecretStore, type SecretStore } from "../secrets/store";
import { RotatorEmitter } from "./events";
import { attachLogger } from "./log";
import { createServices, type RotatorServices } from "./services";
import {
  createSecret,
  finishSecret,
  revokePrevious,
  type StepGuardView,
  setSecret,
  sweepOrphans,
  testSecret,
} from "./steps";

/**
 * `llamacloud-keys/rotator/lambda`: the rotation function Secrets Manager's native rotation invokes,
 * and the revoke-only pass an EventBridge schedule invokes. The same four steps as the daemon
 * (`./steps`), driven one invocation at a time: Secrets Manager creates the token's empty AWSPENDING
 * version, then invokes createSecret, setSecret, testSecret and finishSecret, each possibly on
 * another instance, and retries a failed rotation. Every step is idempotent per token.
 *
 * Deploy the zip `npm run package:lambda` builds (handler `index.handler`, Node 22 or 24) with:
 * - `LLAMACLOUD_KEYS_ADMIN_SECRET_ARN` (required): the secret holding the LlamaCloud admin key, in the
 *   same JSON shape as a managed secret (`apiKey`, `baseUrl`, …). Read through the cached reader
 *   (`llamacloud-keys/secrets`), never from the rotated secret, never logged. Its `baseUrl` is the
 *   LlamaCloud host the function talks to.
 * - `LLAMACLOUD_KEYS_SECRET_IDS` (optional): comma-separated ARNs the scheduled revoke pass covers;
 *   unset, it lists every secret tagged `llamacloud-keys:managed=true` (needs `ListSecrets`).
 * - `LLAMACLOUD_KEYS_PREFIX` (optional): the fallback key-name prefix (default `llamacloud-keys`).
 * - `LLAMACLOUD_KEYS_ADMIN_TTL` (optional): how long the admin key is cached, e.g. `5m` (default).
 * - `LLAMACLOUD_KEYS_NOW_OFFSET_MS` (tests only): shifts the clock of due and grace decisions, as for
 *   the CLI. Never set it on a deployed function.
 */

/** The steps of Secrets Manager's rotation contract, named as in the AWS templates. */
export const ROTATION_STEPS = ["createSecret", "setSecret", "testSecret", "finishSecret"] as const;
export type RotationStep = (typeof ROTATION_STEPS)[number];

/**
 * What Secrets Manager sends a rotation function. `SecretId` is the ARN on AWS (moto sends the name:
 * both are accepted). `RotationToken` is present when the function is in another account or the
 * rotation assumes a role; community typings lack it, hence this declaration.
 */
export interface SecretsManagerRotationEvent {
  Step: RotationStep;
  SecretId: string;
  ClientRequestToken: string;
  RotationToken?: string;
}

/** An EventBridge scheduled rule's event: runs the revoke-only pass. */
export interface ScheduledEvent {
  "detail-type": "Scheduled Event";
  source?: string;
  id?: string;
  time?: string;
  account?: string;
  region?: string;
  resources?: string[];
  detail?: unknown;
}

export type RotationFunctionEvent = SecretsManagerRotationEvent | ScheduledEvent;

/** The parts of the Lambda context object the handler uses. */
export interface LambdaContext {
  awsRequestId?: string;
  functionName?: string;
  getRemainingTimeInMillis?: () => number;
}

/** What an invocation did (Secrets Manager ignores the result; tests and logs read it). */
export type HandlerResult =
  | { kind: "step"; step: RotationStep; secretId: string; token: string; outcome: "done" | "already-current" }
  | {
      kind: "revoke-pass";
      secrets: number;
      revoked: number;
      failed: { secretId: string; code: string; message: string }[];
    };

export const NATIVE_ERROR_CODES = [
  /** The event is not a rotation step or a scheduled event; nothing was read or changed. */
  "NATIVE_INVALID_EVENT",
  /** The function's environment is incomplete or malformed. */
  "NATIVE_CONFIG",
  /** The secret does not have rotation enabled (AWS template's guard). */
  "NATIVE_ROTATION_DISABLED",
  /** The token is not a version of the secret, or is not labelled AWSPENDING. */
  "NATIVE_TOKEN_NOT_PENDING",
  /** The scheduled revoke pass failed for at least one secret (the others were still processed). */
  "NATIVE_REVOKE_PASS_FAILED",
] as const;
export type NativeErrorCode = (typeof NATIVE_ERROR_CODES)[number];

/** Errors of the rotation function itself (the steps throw their own RotatorError codes). */
export class NativeRotationError extends Error {
  readonly code: NativeErrorCode;
  constructor(code: NativeErrorCode, message: string) {
    super(message);
    this.name = "NativeRotationError";
    this.code = code;
  }
}

const rotationEventSchema = z
  .object({
    Step: z.enum(ROTATION_STEPS),
    SecretId: z.string().min(1),
    ClientRequestToken: z.string().min(32).max(64),
    RotationToken: z.string().min(1).optional(),
  })
  .strict();

// The documented contract is the `detail-type`; EventBridge also sends `source`, which is not required.
const scheduledEventSchema = z.looseObject({
  "detail-type": z.literal("Scheduled Event"),
  source: z.string().optional(),
});

/**
 * Parses an invocation's event. A malformed event or an unknown step is refused with an error
 * naming each offending field (never its value beyond the step name), before anything is read.
 */
export function parseEvent(event: unknown): RotationFunctionEvent {
  if (typeof event === "object" && event !== null && "detail-type" in event) {
    const scheduled = scheduledEventSchema.safeParse(event);
    if (scheduled.success) return scheduled.data as ScheduledEvent;
    throw invalidEvent("scheduled event", scheduled.error.issues);
  }
  const parsed = rotationEventSchema.safeParse(event);
  if (parsed.success) {
    const { RotationToken, ...rest } = parsed.data;
    return RotationToken === undefined ? rest : { ...rest, RotationToken };
  }
  throw invalidEvent("rotation event", parsed.error.issues);
}

function invalidEvent(kind: string, issues: z.core.$ZodIssue[]): NativeRotationError {
  const lines = issues.map((issue) => {
    const field = issue.path.length === 0 ? "(event)" : issue.path.map(String).join(".");
    if (field === "Step" && issue.code === "invalid_value") {
      return `"Step": must be one of ${ROTATION_STEPS.join(", ")}`;
    }
    if (issue.code === "unrecognized_keys") return `${field}: unknown field(s) ${issue.keys.join(", ")}`;
    return `"${field}": ${issue.message}`;
  });
  return new NativeRotationError(
    "NATIVE_INVALID_EVENT",
    `Invalid ${kind}; nothing was changed:\n  ${lines.join("\n  ")}\n` +
      'Expected {"Step","SecretId","ClientRequestToken"} from Secrets Manager, or an EventBridge "Scheduled Event".',
  );
}

const durationPattern = /^\d+[smhd]$/;
const envSchema = z.object({
  LLAMACLOUD_KEYS_ADMIN_SECRET_ARN: z
    .string({ error: "required: the ARN of the secret holding the LlamaCloud admin key" })
    .min(1, "required: the ARN of the secret holding the LlamaCloud admin key"),
  LLAMACLOUD_KEYS_SECRET_IDS: z.string().optional(),
  // The provider's and the CLI's prefix rule (llamacloud/key-name.ts): one rule for every key name.
  LLAMACLOUD_KEYS_PREFIX: z
    .string()
    .regex(
      KEY_PREFIX_PATTERN,
      "1-100 letters, digits, dots, dashes or underscores (no `/`), e.g. llamacloud-keys",
    )
    .optional(),
  LLAMACLOUD_KEYS_ADMIN_TTL: z.string().regex(durationPattern, "a duration such as 5m").optional(),
  LLAMACLOUD_KEYS_NOW_OFFSET_MS: z
    .string()
    .regex(/^-?\d+$/, "whole milliseconds")
    .optional(),
});

export interface FunctionConfig {
  adminSecretId: string;
  secretIds?: string[];
  prefix?: string;
  adminTtl?: string;
  /** Test/ops knob, as for the CLI: shifts the clock of due and grace decisions. Never in production. */
  nowOffsetMs?: number;
}

/** Reads the function's configuration from its environment; every problem in one error. */
export function readFunctionConfig(env: NodeJS.ProcessEnv = process.env): FunctionConfig {
  const parsed = envSchema.safeParse({
    LLAMACLOUD_KEYS_ADMIN_SECRET_ARN: env.LLAMACLOUD_KEYS_ADMIN_SECRET_ARN,
    LLAMACLOUD_KEYS_SECRET_IDS: nonEmpty(env.LLAMACLOUD_KEYS_SECRET_IDS),
    LLAMACLOUD_KEYS_PREFIX: nonEmpty(env.LLAMACLOUD_KEYS_PREFIX),
    LLAMACLOUD_KEYS_ADMIN_TTL: nonEmpty(env.LLAMACLOUD_KEYS_ADMIN_TTL),
    LLAMACLOUD_KEYS_NOW_OFFSET_MS: nonEmpty(env.LLAMACLOUD_KEYS_NOW_OFFSET_MS),
  });
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.map(String).join(".")}: ${i.message}`);
    throw new NativeRotationError(
      "NATIVE_CONFIG",
      `The rotation function's environment is invalid:\n  ${lines.join("\n  ")}\nSet it in the function's configuration (ProjectKeys does).`,
    );
  }
  const e = parsed.data;
  const ids = e.LLAMACLOUD_KEYS_SECRET_IDS?.split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  return {
    adminSecretId: e.LLAMACLOUD_KEYS_ADMIN_SECRET_ARN,
    ...(ids === undefined || ids.length === 0 ? {} : { secretIds: ids }),
    ...(e.LLAMACLOUD_KEYS_PREFIX === undefined ? {} : { prefix: e.LLAMACLOUD_KEYS_PREFIX }),
    ...(e.LLAMACLOUD_KEYS_ADMIN_TTL === undefined ? {} : { adminTtl: e.LLAMACLOUD_KEYS_ADMIN_TTL }),
    ...(e.LLAMACLOUD_KEYS_NOW_OFFSET_MS === undefined
      ? {}
      : { nowOffsetMs: Number(e.LLAMACLOUD_KEYS_NOW_OFFSET_MS) }),
  };
}

/** What a handler is built from; `createRotationHandler()` with no argument reads the environment. */
export interface HandlerDeps {
  config?: FunctionConfig;
  store?: SecretStore;
  /** The admin key's reader; by default a cached reader of `config.adminSecretId`. */
  adminReader?: Pick<KeyReader, "get">;
  /** Builds the LlamaCloud client for an admin key; by default `createLlamaCloudClient`. */
  clientFor?: (admin: KeyReading) => LlamaCloudClient;
  /** Where log lines go (JSON, one per line); default stderr, which Lambda sends to CloudWatch. */
  write?: (line: string) => void;
  now?: () => number;
  testRetryDelaysMs?: readonly number[];
}

export type RotationHandler = (event: unknown, context?: LambdaContext) => Promise<HandlerResult>;

/**
 * Builds a handler. What it creates (the Secrets Manager client, the admin key's cached reader, the
 * LlamaCloud client) lives as long as the execution environment, so warm invocations reuse them;
 * a new admin key (its secret rotated) gets a new LlamaCloud client.
 */
export function createRotationHandler(deps: HandlerDeps = {}): RotationHandler {
  let config = deps.config;
  let store = deps.store;
  let adminReader = deps.adminReader;
  let client: { versionId: string; client: LlamaCloudClient } | undefined;

  function setup(): { config: FunctionConfig; store: SecretStore; adminReader: Pick<KeyReader, "get"> } {
    config ??= readFunctionConfig();
    store ??= createSecretStore();
    adminReader ??= createKeyReader({
      secretId: config.adminSecretId,
      store,
      ...(config.adminTtl === undefined ? {} : { ttl: config.adminTtl }),
    });
    return { config, store, adminReader };
  }

  async function services(parts: ReturnType<typeof setup>): Promise<RotatorServices> {
    const admin = await parts.adminReader.get();
    if (client?.versionId !== admin.versionId) {
      const previous = client?.client;
      const build =
        deps.clientFor ??
        ((reading: KeyReading) => {
          const { createLlamaCloudClient } =
            require("../llamacloud/client") as typeof import("../llamacloud/client");
          return createLlamaCloudClient({
            apiKey: reading.apiKey,
            baseUrl: reading.baseUrl,
            userAgent: "llamacloud-keys-rotation-function",
          });
        });
      client = { versionId: admin.versionId, client: build(admin) };
      await previous?.close();
    }
    const events = new RotatorEmitter();
    attachLogger(events, {
      format: "json",
      write: deps.write ?? ((line) => process.stderr.write(line.endsWith("\n") ? line : `${line}\n`)),
    });
    const offset = parts.config.nowOffsetMs ?? 0;
    const now = deps.now ?? (offset === 0 ? undefined : () => Date.now() + offset);
    return createServices({
      store: parts.store,
      client: client.client,
      events,
      ...(now === undefined ? {} : { now }),
      ...(parts.config.prefix === undefined ? {} : { prefix: parts.config.prefix }),
      ...(deps.testRetryDelaysMs === undefined ? {} : { testRetryDelaysMs: deps.testRetryDelaysMs }),
    });
  }

  return async (event) => {
    const parsed = parseEvent(event);
    const parts = setup();
    if ("detail-type" in parsed) return revokePass(await services(parts), parts);
    const { Step, SecretId, ClientRequestToken } = parsed;
    const s = await services(parts);
    // The template's guard runs inside the step, on the step's own DescribeSecret read: one read per
    // step, not two (the steps guard the token themselves; this adds "rotation enabled").
    const seen: { verdict: "current" | "pending" } = { verdict: "pending" };
    const input = {
      secretId: SecretId,
      token: ClientRequestToken,
      guard: (view: StepGuardView) => {
        seen.verdict = nativeGuard(view, parsed);
      },
    };
    switch (Step) {
      case "createSecret":
        await createSecret(s, input);
        break;
      case "setSecret":
        await setSecret(s, input);
        break;
      case "testSecret":
        await testSecret(s, input);
        break;
      case "finishSecret":
        await finishSecret(s, input);
        break;
    }
    return {
      kind: "step",
      step: Step,
      secretId: SecretId,
      token: ClientRequestToken,
      // A token already AWSCURRENT: the step found its work done (each step's own "already done?").
      outcome: seen.verdict === "current" ? "already-current" : "done",
    };
  };
}

/**
 * The guard as the AWS templates have it, judged on the step's own read of the secret: rotation
 * enabled on the secret, the token a version of it, labelled AWSPENDING unless it is already
 * AWSCURRENT (then the step has nothing to do).
 */
function nativeGuard(view: StepGuardView, event: SecretsManagerRotationEvent): "current" | "pending" {
  const arn = view.arn;
  if (view.rotation?.enabled !== true) {
    throw new NativeRotationError(
      "NATIVE_ROTATION_DISABLED",
      `Secret ${arn} is not enabled for rotation; ${event.Step} did nothing. Enable it with RotateSecret ` +
        '(RotationLambdaARN and RotationRules), e.g. through ProjectKeys\' rotation.mode "native".',
    );
  }
  const stages = view.versionIdsToStages[event.ClientRequestToken];
  if (stages === undefined) {
    throw new NativeRotationError(
      "NATIVE_TOKEN_NOT_PENDING",
      `Version ${event.ClientRequestToken} is not a version of ${arn}; ${event.Step} did nothing ` +
        "(a stale or foreign ClientRequestToken). Start a new rotation with RotateSecret.",
    );
  }
  if (stages.includes(AWSCURRENT)) {
    // finishSecret interrupted between moving AWSCURRENT and clearing AWSPENDING: AWS accepts that
    // end state, moto refuses the next RotateSecret on it, so finishSecret still clears the label.
    return event.Step === "finishSecret" && stages.includes(AWSPENDING) ? "pending" : "current";
  }
  if (!stages.includes(AWSPENDING)) {
    throw new NativeRotationError(
      "NATIVE_TOKEN_NOT_PENDING",
      `Version ${event.ClientRequestToken} of ${arn} is not AWSPENDING (labels: ${stages.join(", ") || "none"}); ` +
        `${event.Step} did nothing. Its rotation was superseded; the current rotation has its own token.`,
    );
  }
  return "pending";
}

/**
 * The scheduled pass: revokePrevious and sweepOrphans for each covered secret, never a rotation.
 * A failing secret does not stop the others; the pass then fails as a whole, naming each.
 */
async function revokePass(
  services: RotatorServices,
  parts: { config: FunctionConfig; store: SecretStore },
): Promise<HandlerResult> {
  const ids =
    parts.config.secretIds ?? (await parts.store.listManagedSecrets()).map((summary) => summary.arn);
  let revoked = 0;
  const failed: { secretId: string; code: string; message: string }[] = [];
  for (const secretId of ids) {
    try {
      revoked += await revokePrevious(services, secretId);
      revoked += await sweepOrphans(services, secretId);
    } catch (error) {
      const e = error as { code?: unknown; message?: unknown };
      // A managed secret whose first key is not written yet has nothing to revoke.
      if (e.code === "ROTATOR_NO_KEY_YET") continue;
      failed.push({
        secretId,
        code: typeof e.code === "string" ? e.code : "UNKNOWN",
        message: typeof e.message === "string" ? e.message : String(error),
      });
    }
  }
  const result: HandlerResult = { kind: "revoke-pass", secrets: ids.length, revoked, failed };
  if (failed.length > 0) {
    throw new NativeRotationError(
      "NATIVE_REVOKE_PASS_FAILED",
      `Revoke pass: ${failed.length} of ${ids.length} secret(s) failed (${revoked} key(s) revoked):\n  ` +
        failed.map((f) => `${f.secretId}: ${f.code}: ${f.message}`).join("\n  "),
    );
  }
  return result;
}

let defaultHandler: RotationHandler | undefined;

/**
 * The Lambda entry point (`index.handler` in the packaged zip). Secrets Manager invokes it with a
 * {@link SecretsManagerRotationEvent}; an EventBridge schedule with a {@link ScheduledEvent}.
 */
export async function handler(event: unknown, context?: LambdaContext): Promise<HandlerResult> {
  defaultHandler ??= createRotationHandler();
  return defaultHandler(event, context);
}
