import { randomUUID } from "node:crypto";
import type { ManagedSecretSummary } from "../secrets/store";
import type { RotatorConfig } from "./config";
import { errorCode, errorMessage } from "./errors";
import { processSecret, type SecretResult } from "./rotation";
import { buildServices, type RotatorDeps, type RotatorServices } from "./services";

/**
 * One pass over the managed secrets: what `llamacloud-keys rotate` runs once and the daemon runs
 * on its schedule. Secrets are independent: each is processed with bounded concurrency, and one
 * failing (or Secrets Manager refusing one) does not stop the others.
 */

export interface RunOnceResult {
  passId: string;
  results: SecretResult[];
  /** 0 when every secret succeeded, 1 when any failed (or discovery failed). */
  exitCode: 0 | 1;
  durationMs: number;
  /** True when the pass deadline or a shutdown cut it short. */
  abandoned: boolean;
  /** Set when the secrets could not even be listed. */
  error?: { code: string; message: string };
}

export interface RunOnceDeps extends RotatorDeps {
  /** Aborting it stops the pass at the next step boundary (the daemon's shutdown). */
  signal?: AbortSignal;
}

/** What one pass reads of the configuration. */
export type RunOnceConfig = Pick<
  RotatorConfig,
  | "secrets"
  | "force"
  | "revokeNow"
  | "dryRun"
  | "concurrency"
  | "prefix"
  | "passDeadlineMs"
  | "llamaCloud"
  | "aws"
  | "nowOffsetMs"
>;

/** Runs one pass. Never throws for a secret's failure; see {@link RunOnceResult.exitCode}. */
export async function runOnce(config: RunOnceConfig, deps: RunOnceDeps = {}): Promise<RunOnceResult> {
  const services = buildServices(config as RotatorConfig, deps);
  const passId = randomUUID().slice(0, 8);
  const started = performance.now();
  const { events } = services.ctx;

  // The deadline stops the pass at the next step boundary; a step in flight finishes.
  const deadline = new AbortController();
  const timer = setTimeout(
    () =>
      deadline.abort(new Error(`the pass deadline of ${Math.round(config.passDeadlineMs / 1000)} s passed`)),
    config.passDeadlineMs,
  );
  timer.unref();
  const signal =
    deps.signal === undefined ? deadline.signal : AbortSignal.any([deadline.signal, deps.signal]);
  // One LlamaCloud key list per project per pass, shared by that project's secrets.
  const ctx: RotatorServices = { ...services.ctx, signal, keyLists: new Map() };

  const finish = (results: SecretResult[], error?: { code: string; message: string }): RunOnceResult => {
    const failed = results.filter((r) => !r.ok).length + (error === undefined ? 0 : 1);
    const durationMs = Math.round(performance.now() - started);
    const abandoned = signal.aborted;
    events.emit("pass:finished", {
      passId,
      at: new Date(ctx.now()).toISOString(),
      durationMs,
      ok: results.length - results.filter((r) => !r.ok).length,
      failed,
      abandoned,
    });
    return {
      passId,
      results,
      exitCode: failed > 0 ? 1 : 0,
      durationMs,
      abandoned,
      ...(error === undefined ? {} : { error }),
    };
  };

  try {
    let ids: string[];
    // The listing carries each secret's tags and labels: no DescribeSecret per secret.
    const listed = new Map<string, ManagedSecretSummary>();
    try {
      if (config.secrets.length > 0) ids = [...new Set(config.secrets)];
      else {
        for (const secret of await ctx.store.listManagedSecrets()) listed.set(secret.arn, secret);
        ids = [...listed.keys()];
      }
    } catch (error) {
      events.emit("pass:started", {
        passId,
        at: new Date(ctx.now()).toISOString(),
        secrets: 0,
        dryRun: config.dryRun,
      });
      const failure = {
        code: errorCode(error),
        message: `Listing the managed secrets failed: ${errorMessage(error)}`,
      };
      events.emit("rotation:failed", {
        secretArn: "(discovery)",
        code: failure.code,
        message: failure.message,
      });
      return finish([], failure);
    }
    events.emit("pass:started", {
      passId,
      at: new Date(ctx.now()).toISOString(),
      secrets: ids.length,
      dryRun: config.dryRun,
    });
    const results = await mapBounded(ids, config.concurrency, (id) =>
      processSecret(ctx, id, {
        force: config.force,
        revokeNow: config.revokeNow,
        dryRun: config.dryRun,
        ...(listed.has(id) ? { listed: listed.get(id) as ManagedSecretSummary } : {}),
      }),
    );
    return finish(results);
  } finally {
    clearTimeout(timer);
    await services.close();
  }
}

/** Maps with at most `limit` calls in flight, keeping the input order in the output. */
export async function mapBounded<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
