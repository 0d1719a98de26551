import { redactKey } from "../secrets/payload";
import type { RotatorConfig } from "./config";
import { errorCode, errorMessage } from "./errors";
import { rotationMode } from "./native";
import { dueAt, isLive, planSecret, revokeAt } from "./plan";
import { mapBounded } from "./run-once";
import { buildServices, type RotatorDeps } from "./services";
import { inspectSecret, NO_KEY_YET } from "./state";

/**
 * `llamacloud-keys status`: each managed secret's rotation state, read-only. Everything comes from
 * Secrets Manager and LlamaCloud at the moment of asking, as the rotator itself would see it.
 */

export interface SecretStatus {
  /**
   * The secret's ARN. Absent when the secret could not be read and was asked for by a name, not an
   * ARN: a name Secrets Manager does not know is not shown as an ARN.
   */
  arn?: string;
  /** On an entry whose secret could not be read: the id as given (`--secret`, or discovery). */
  secretId?: string;
  name?: string;
  projectId?: string;
  environment?: string;
  current?: { versionId: string; keyId: string; key: string; since: string; ageMs: number };
  /** When the current key is due for rotation (absent: no rotate-every tag). */
  nextDueAt?: string;
  previous?: { versionId: string; keyId?: string; live: boolean; revokeAt?: string };
  /** An interrupted rotation (AWSPENDING present) and what the next pass does with it. */
  interrupted?: { versionId: string; keyId?: string; stagedAt: string; action: string };
  /** Set when the next pass leaves the secret alone, not a failure: `no key yet (the provider has not written it)`. */
  skipped?: string;
  /** What the next pass would do. */
  next: string;
  /** Who rotates it: the daemon/`rotate`, or Secrets Manager (`native`). */
  mode?: "daemon" | "native";
  /** Secrets Manager's LastRotatedDate and NextRotationDate, when it records them. */
  lastRotatedDate?: string;
  nextRotationDate?: string;
  error?: { code: string; message: string };
}

export async function collectStatus(
  config: Pick<RotatorConfig, "secrets" | "prefix" | "llamaCloud" | "aws" | "nowOffsetMs" | "concurrency">,
  deps: RotatorDeps = {},
): Promise<SecretStatus[]> {
  const services = buildServices(config as RotatorConfig, deps);
  const { ctx } = services;
  try {
    const ids =
      config.secrets.length > 0 ? config.secrets : (await ctx.store.listManagedSecrets()).map((s) => s.arn);
    return await mapBounded(ids, config.concurrency, async (id): Promise<SecretStatus> => {
      try {
        const reading = await inspectSecret(ctx, id);
        if (reading.kind === "no-key-yet") {
          const { policy } = reading;
          return {
            arn: policy.arn,
            name: policy.name,
            projectId: policy.projectId,
            environment: policy.environment,
            skipped: NO_KEY_YET,
            next: `skipped: ${NO_KEY_YET}`,
          };
        }
        const { state } = reading;
        const now = ctx.now();
        const plan = planSecret(state, { wallNow: Date.now() }, now);
        const { current, previous, pending, policy } = state;
        const status: SecretStatus = {
          arn: policy.arn,
          name: policy.name,
          projectId: policy.projectId,
          environment: policy.environment,
          current: {
            versionId: current.versionId,
            keyId: current.payload.keyId,
            key: redactKey(current.payload.apiKey),
            since: current.createdDate.toISOString(),
            ageMs: now - current.createdDate.getTime(),
          },
          next:
            plan.rotation.action === "rotate"
              ? `rotate (${plan.rotation.reason})`
              : plan.rotation.action === "refuse"
                ? plan.rotation.error.message
                : plan.rotation.why,
        };
        const due = dueAt(state);
        if (due !== undefined) status.nextDueAt = new Date(due).toISOString();
        status.mode = rotationMode(state.rotation);
        if (state.rotation?.lastRotatedDate !== undefined)
          status.lastRotatedDate = state.rotation.lastRotatedDate.toISOString();
        if (state.rotation?.nextRotationDate !== undefined)
          status.nextRotationDate = state.rotation.nextRotationDate.toISOString();
        if (status.mode === "native") status.next = "rotated by Secrets Manager; revoke and sweep only";
        if (previous !== undefined) {
          const keyId = previous.payload?.keyId;
          const live = isLive(state, keyId);
          status.previous = {
            versionId: previous.versionId,
            ...(keyId === undefined ? {} : { keyId }),
            live,
            ...(live ? { revokeAt: new Date(revokeAt(state)).toISOString() } : {}),
          };
        }
        if (pending !== undefined && plan.interrupted !== undefined) {
          status.interrupted = {
            versionId: pending.versionId,
            ...(pending.payload === undefined ? {} : { keyId: pending.payload.keyId }),
            stagedAt: pending.createdDate?.toISOString() ?? "(no value yet)",
            action: `${plan.interrupted.action}: ${plan.interrupted.why}`,
          };
        }
        return status;
      } catch (error) {
        // Only what was typed: an unknown name is not an ARN, and must not be shown as one.
        return {
          ...(id.startsWith("arn:") ? { arn: id } : {}),
          secretId: id,
          next: "fails until fixed",
          error: { code: errorCode(error), message: errorMessage(error) },
        };
      }
    });
  } finally {
    await services.close();
  }
}

/** A plain-text table of statuses, for a terminal. */
export function formatStatus(statuses: SecretStatus[], now: number): string {
  if (statuses.length === 0) return "No managed secrets (none tagged llamacloud-keys:managed=true).\n";
  const lines: string[] = [];
  for (const s of statuses) {
    lines.push(`${s.name ?? s.arn ?? s.secretId ?? "(unknown)"}`);
    if (s.arn !== undefined) lines.push(`  arn          ${s.arn}`);
    if (s.error !== undefined) {
      lines.push(`  ERROR        [${s.error.code}] ${s.error.message.split("\n").join("\n               ")}`);
      lines.push("");
      continue;
    }
    lines.push(`  project      ${s.projectId}   environment ${s.environment}`);
    if (s.mode !== undefined) {
      lines.push(
        `  mode         ${s.mode === "native" ? "native (Secrets Manager rotates it)" : "daemon"}` +
          (s.lastRotatedDate === undefined ? "" : `   last rotated ${s.lastRotatedDate}`) +
          (s.nextRotationDate === undefined ? "" : `   next rotation ${s.nextRotationDate}`),
      );
    }
    if (s.skipped !== undefined) {
      // No current key: no age, no due time, no previous key to speak of.
      lines.push(`  next pass    ${s.next}`, "");
      continue;
    }
    if (s.current !== undefined) {
      lines.push(
        `  current      key ${s.current.keyId} (${s.current.key}), version ${s.current.versionId}, ${age(s.current.ageMs)} old`,
      );
    }
    lines.push(
      `  next due     ${s.nextDueAt === undefined ? "never (no rotate-every tag)" : relative(s.nextDueAt, now)}`,
    );
    if (s.previous !== undefined) {
      lines.push(
        `  previous     key ${s.previous.keyId ?? "(unreadable)"}, version ${s.previous.versionId}, ` +
          (s.previous.live ? `revoked ${relative(s.previous.revokeAt as string, now)}` : "revoked"),
      );
    }
    if (s.interrupted !== undefined) {
      lines.push(
        `  interrupted  version ${s.interrupted.versionId} staged ${s.interrupted.stagedAt}: ${s.interrupted.action}`,
      );
    }
    lines.push(`  next pass    ${s.next}`);
    lines.push("");
  }
  return `${lines.join("\n")}`;
}

function age(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172_800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86_400)}d`;
}

function relative(iso: string, now: number): string {
  const at = Date.parse(iso);
  return at <= now ? `${iso} (${age(now - at)} ago)` : `${iso} (in ${age(at - now)})`;
}
