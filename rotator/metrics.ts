import type { RotatorEmitter } from "./events";

/**
 * Prometheus metrics fed by the event stream, rendered in the text exposition format (0.0.4) by
 * the daemon's `/metrics`. Labels are low-cardinality (results, reasons, codes); secret ARNs are
 * not labels, so a fleet of secrets does not explode the series count.
 */

export interface RotatorMetrics {
  /** The exposition text. */
  render(): string;
  /** The last pass that finished without failures, in seconds since the epoch (0: none yet). */
  lastSuccessfulPassSeconds(): number;
  /** Detaches from the event stream. */
  detach(): void;
}

type Labels = Record<string, string>;

class Counter {
  private readonly values = new Map<string, { labels: Labels; value: number }>();
  inc(labels: Labels, by = 1): void {
    const key = JSON.stringify(labels);
    const entry = this.values.get(key) ?? { labels, value: 0 };
    entry.value += by;
    this.values.set(key, entry);
  }
  entries() {
    return [...this.values.values()];
  }
}

export function createMetrics(events: RotatorEmitter, now: () => number = Date.now): RotatorMetrics {
  const passes = new Counter();
  const rotations = new Counter();
  const revocations = new Counter();
  const failures = new Counter();
  let overdueNow = new Set<string>();
  let overdueGauge = 0;
  let managed = 0;
  let lastSuccess = 0;
  let lastDuration = 0;

  const rotationSteps = new Set(["createSecret", "setSecret", "testSecret", "finishSecret"]);
  const handlers = {
    "pass:started": (e: { secrets: number }) => {
      overdueNow = new Set();
      managed = e.secrets;
    },
    "pass:finished": (e: { failed: number; abandoned: boolean; durationMs: number }) => {
      const result = e.abandoned ? "abandoned" : e.failed > 0 ? "failed" : "ok";
      passes.inc({ result });
      overdueGauge = overdueNow.size;
      lastDuration = e.durationMs / 1000;
      if (result === "ok") lastSuccess = now() / 1000;
    },
    "rotation:promoted": () => rotations.inc({ result: "promoted" }),
    "rotation:revoked": (e: { reason: string; alreadyRevoked: boolean }) =>
      revocations.inc({ reason: e.reason, result: e.alreadyRevoked ? "already_revoked" : "revoked" }),
    "rotation:failed": (e: { step?: string; code: string }) => {
      failures.inc({ code: e.code });
      if (e.code === "ROTATOR_TEST_FAILED") rotations.inc({ result: "test_failed" });
      else if (e.step !== undefined && rotationSteps.has(e.step)) rotations.inc({ result: "failed" });
      else if (e.step === "revokePrevious" || e.step === "sweepOrphans") {
        // The `reason` label keeps its documented values (rotator/README.md): the step names the reason.
        revocations.inc({ reason: e.step === "sweepOrphans" ? "orphan" : "grace-passed", result: "failed" });
      }
    },
    "schedule:overdue": (e: { secretArn: string }) => {
      // Events come within a pass; the gauge follows at its end.
      overdueNow.add(e.secretArn);
    },
  };
  events.on("pass:started", handlers["pass:started"]);
  events.on("pass:finished", handlers["pass:finished"]);
  events.on("rotation:promoted", handlers["rotation:promoted"]);
  events.on("rotation:revoked", handlers["rotation:revoked"]);
  events.on("rotation:failed", handlers["rotation:failed"]);
  events.on("schedule:overdue", handlers["schedule:overdue"]);

  return {
    render() {
      const out: string[] = [];
      const counter = (name: string, help: string, c: Counter) => {
        out.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`);
        for (const { labels, value } of c.entries()) out.push(`${name}${formatLabels(labels)} ${value}`);
      };
      const gauge = (name: string, help: string, value: number) => {
        out.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`, `${name} ${value}`);
      };
      counter("llamacloud_keys_passes_total", "Rotation passes over the managed secrets, by result.", passes);
      counter(
        "llamacloud_keys_rotations_total",
        "Rotations, by result (promoted, test_failed, failed).",
        rotations,
      );
      counter(
        "llamacloud_keys_revocations_total",
        "Key revocations, by reason and result (revoked, already_revoked, failed).",
        revocations,
      );
      counter(
        "llamacloud_keys_secret_failures_total",
        "Secrets whose processing failed, by error code.",
        failures,
      );
      gauge(
        "llamacloud_keys_secrets_overdue",
        "Secrets that were due for rotation but not rotated in the last pass.",
        overdueGauge,
      );
      gauge("llamacloud_keys_secrets_managed", "Secrets seen in the last pass.", managed);
      gauge(
        "llamacloud_keys_last_successful_pass_timestamp_seconds",
        "When the last pass without failures finished (seconds since the epoch; 0: none yet).",
        lastSuccess,
      );
      gauge("llamacloud_keys_last_pass_duration_seconds", "How long the last pass took.", lastDuration);
      return `${out.join("\n")}\n`;
    },
    lastSuccessfulPassSeconds: () => lastSuccess,
    detach() {
      events.off("pass:started", handlers["pass:started"]);
      events.off("pass:finished", handlers["pass:finished"]);
      events.off("rotation:promoted", handlers["rotation:promoted"]);
      events.off("rotation:revoked", handlers["rotation:revoked"]);
      events.off("rotation:failed", handlers["rotation:failed"]);
      events.off("schedule:overdue", handlers["schedule:overdue"]);
    },
  };
}

function formatLabels(labels: Labels): string {
  const parts = Object.entries(labels).map(
    ([k, v]) => `${k}="${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`,
  );
  return parts.length === 0 ? "" : `{${parts.join(",")}}`;
}
