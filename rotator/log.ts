import { scrub } from "../redaction";
import type { RotatorEmitter, RotatorEventName, RotatorEvents } from "./events";

/**
 * The rotator's log: one JSON object per event on stderr (for machines: `jq`, Loki, CloudWatch), or
 * one readable line per meaningful event when stderr is a terminal. Events never carry key material
 * (ids and `llx-…abcd` only); as a second line of defence every line passes through the one
 * scrubber (`redaction/scrub.ts`) before it is written.
 */

export type LogFormat = "json" | "pretty";

export interface LoggerOptions {
  /** Where lines go; `process.stderr` by default. */
  write?: (line: string) => void;
  /** `pretty` when unset and stderr is a TTY, `json` otherwise. */
  format?: LogFormat;
  now?: () => number;
}

type Level = "debug" | "info" | "warn" | "error";

function levelOf<E extends RotatorEventName>(event: E, payload: RotatorEvents[E]): Level {
  if (event === "rotation:failed") return "error";
  if (event === "warning" || event === "schedule:overdue" || event === "schedule:skipped") return "warn";
  if (event === "rotation:step" && (payload as RotatorEvents["rotation:step"]).phase === "begin")
    return "debug";
  return "info";
}

/** A one-line human summary of an event, e.g. `createSecret: minted key 1f2e… for version 7a8b…`. */
function describeEvent<E extends RotatorEventName>(event: E, payload: RotatorEvents[E]): string {
  const p = payload as Record<string, unknown>;
  switch (event) {
    case "rotation:step": {
      const step = payload as RotatorEvents["rotation:step"];
      return step.phase === "begin" ? `${step.step}: started` : `${step.step}: ${step.outcome ?? "done"}`;
    }
    case "rotation:started":
      return `rotation started (${p.reason}): version ${p.fromVersionId} → ${p.versionId}`;
    case "rotation:staged":
      return `staged key ${p.keyId} (${p.key}) in version ${p.versionId} (${p.how})`;
    case "rotation:tested":
      return `tested key ${p.keyId} of version ${p.versionId} in ${p.durationMs} ms`;
    case "rotation:promoted":
      return `promoted version ${p.versionId} (key ${p.keyId}) to AWSCURRENT; AWSPREVIOUS is ${p.previousVersionId ?? "none"}`;
    case "rotation:revoked":
      return `revoked key ${p.keyId} (${p.reason}${p.alreadyRevoked ? ", already revoked" : ""})`;
    case "rotation:failed":
      return `FAILED${p.step ? ` in ${p.step}` : ""} [${p.code}]: ${p.message}`;
    case "schedule:overdue":
      return `overdue since ${p.dueAt}: ${p.why}`;
    case "schedule:skipped":
      return `scheduled pass skipped (${p.reason})`;
    case "pass:started":
      return `pass ${p.passId} started over ${p.secrets} secret(s)${p.dryRun ? " (dry run)" : ""}`;
    case "pass:finished":
      return `pass ${p.passId} finished in ${p.durationMs} ms: ${p.ok} ok, ${p.failed} failed${p.abandoned ? " (cut short)" : ""}`;
    case "daemon:listening":
      return `serving /healthz and /metrics on ${p.url}`;
    case "daemon:stopping":
      return `stopping${p.signal ? ` on ${p.signal}` : ""}; waiting on: ${(p.waitingOn as string[]).join(", ") || "nothing"}`;
    case "daemon:stopped":
      return "stopped";
    case "warning":
      return String(p.message);
    default:
      return event;
  }
}

/** Subscribes a logger to every event; returns a function that detaches it. */
export function attachLogger(events: RotatorEmitter, options: LoggerOptions = {}): () => void {
  const write = options.write ?? ((line: string) => process.stderr.write(line));
  const format = options.format ?? (process.stderr.isTTY ? "pretty" : "json");
  const now = options.now ?? Date.now;
  return events.onAny((event, payload) => {
    const level = levelOf(event, payload);
    const msg = describeEvent(event, payload);
    let line: string;
    if (format === "json") {
      line = JSON.stringify({ time: new Date(now()).toISOString(), level, event, msg, ...payload });
    } else {
      // On a terminal, step starts are noise: the step's end line says what happened.
      if (level === "debug") return;
      const secret = (payload as { secretArn?: string }).secretArn;
      const time = new Date(now()).toISOString().slice(11, 19);
      line = `${time} ${level === "info" ? "" : `${level.toUpperCase()} `}${secret ? `${shortName(secret)} ` : ""}${msg}`;
    }
    write(`${scrub(line)}\n`);
  });
}

/** `arn:aws:secretsmanager:…:secret:prod/app-AbCdEf` → `prod/app`: enough to tell secrets apart on a terminal. */
function shortName(arn: string): string {
  const match = /:secret:(.+)-[A-Za-z0-9]{6}$/.exec(arn);
  return match?.[1] ?? arn;
}
