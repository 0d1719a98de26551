import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { schedule as cronSchedule, type ScheduledTask } from "node-cron";
import type { RotatorConfig } from "./config";
import type { RotatorEmitter } from "./events";
import { createMetrics, type RotatorMetrics } from "./metrics";
import { type RunOnceConfig, type RunOnceResult, runOnce } from "./run-once";
import { buildServices, type RotatorDeps } from "./services";

/**
 * The rotation daemon (`llamacloud-keys rotator`), shaped like graphile/worker's runner: it returns
 * a handle whose `release()` stops it gracefully, handles the signals in {@link HANDLED_SIGNALS}
 * itself unless told not to, and arms an `unref()`ed watchdog on shutdown whose message says what is
 * stuck.
 *
 * The schedule (node-cron, UTC) only says when to look: each pass re-derives "is this secret due?"
 * from Secrets Manager, so missed ticks, restarts and clock jumps heal themselves, and a pass runs
 * at start to catch up on whatever was missed while the daemon was down. Passes never overlap; a
 * tick that finds one running is skipped (`schedule:skipped`).
 */

/** Signals that start a graceful shutdown; a second one exits at once (every step is resumable). */
const HANDLED_SIGNALS = ["SIGTERM", "SIGINT", "SIGHUP"] as const;

export interface DaemonDeps extends RotatorDeps {
  /** Install handlers for {@link HANDLED_SIGNALS} (default true; in-process tests pass false). */
  handleSignals?: boolean;
  /** `[0, 1)` for the random start delay (tests make it deterministic). */
  random?: () => number;
  /** How the watchdog and a second signal end the process; `process.exit` by default. */
  exit?: (code: number) => void;
}

export interface DaemonHandle {
  events: RotatorEmitter;
  metrics: RotatorMetrics;
  /** Where /healthz and /metrics are served, when `listen` was set (port 0 resolved). */
  url?: string;
  /** Resolves when the daemon has stopped (after `release()` or a handled signal). */
  promise: Promise<void>;
  /** Stops scheduling, lets the step in flight finish (or abandons the pass at the next step boundary), closes everything. */
  release(): Promise<void>;
}

type DaemonConfig = RunOnceConfig &
  Pick<RotatorConfig, "schedule" | "listen" | "startDelayMaxMs" | "shutdownTimeoutMs">;

export async function runDaemon(config: DaemonConfig, deps: DaemonDeps = {}): Promise<DaemonHandle> {
  const services = buildServices(config as RotatorConfig, deps);
  const { events, now } = services.ctx;
  const metrics = createMetrics(events, now);
  const exit = deps.exit ?? ((code: number) => process.exit(code));
  const random = deps.random ?? Math.random;
  // The pass itself must not close the shared clients, nor force or revoke-now on every tick.
  const passDeps = { ...deps, store: services.ctx.store, client: services.ctx.client, events, now };
  const passConfig = { ...config, force: false, revokeNow: false, dryRun: false };

  const shutdown = new AbortController();
  let stopping = false;
  let current: Promise<RunOnceResult> | undefined;
  let lastPass: RunOnceResult | undefined;
  const inFlight = new Map<string, { step: string; since: number }>();
  const trackStep = (e: { secretArn: string; step: string; phase: "begin" | "end" }) => {
    if (e.phase === "begin") inFlight.set(e.secretArn, { step: e.step, since: Date.now() });
    else inFlight.delete(e.secretArn);
  };
  const clearSteps = () => inFlight.clear();
  events.on("rotation:step", trackStep);
  events.on("pass:finished", clearSteps);

  function waitingOn(): string[] {
    return [...inFlight.entries()].map(
      ([arn, { step, since }]) => `${step} of ${arn} (for ${Math.round((Date.now() - since) / 1000)} s)`,
    );
  }

  function tick(): void {
    if (stopping) {
      events.emit("schedule:skipped", { at: new Date(now()).toISOString(), reason: "stopping" });
      return;
    }
    if (current !== undefined) {
      events.emit("schedule:skipped", { at: new Date(now()).toISOString(), reason: "overlap" });
      return;
    }
    current = runOnce(passConfig, { ...passDeps, signal: shutdown.signal })
      .then((result) => {
        lastPass = result;
        return result;
      })
      .finally(() => {
        current = undefined;
      });
  }

  // Health and metrics.
  let server: Server | undefined;
  let url: string | undefined;
  if (config.listen !== undefined) {
    server = createServer((req, res) => {
      const path = (req.url ?? "/").split("?")[0];
      if (req.method !== "GET") {
        res.writeHead(405, { allow: "GET" }).end();
      } else if (path === "/metrics") {
        res
          .writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" })
          .end(metrics.render());
      } else if (path === "/healthz") {
        // Healthy while running and scheduling; a failed pass is a metric, not ill health.
        const body = {
          status: stopping ? "stopping" : "ok",
          passRunning: current !== undefined,
          lastPass:
            lastPass === undefined
              ? null
              : { passId: lastPass.passId, exitCode: lastPass.exitCode, durationMs: lastPass.durationMs },
          lastSuccessfulPassAt:
            metrics.lastSuccessfulPassSeconds() === 0
              ? null
              : new Date(metrics.lastSuccessfulPassSeconds() * 1000).toISOString(),
        };
        res.writeHead(stopping ? 503 : 200, { "content-type": "application/json" }).end(JSON.stringify(body));
      } else {
        res.writeHead(404, { "content-type": "text/plain" }).end("not found: try /healthz or /metrics\n");
      }
    });
    const { host, port } = config.listen;
    await new Promise<void>((resolve, reject) => {
      server?.once("error", reject);
      server?.listen(port, host, () => {
        server?.off("error", reject);
        resolve();
      });
    });
    const address = server.address() as AddressInfo;
    url = `http://${address.family === "IPv6" ? `[${address.address}]` : address.address}:${address.port}`;
    events.emit("daemon:listening", { url });
  }

  const task: ScheduledTask = cronSchedule(config.schedule, () => tick(), {
    timezone: "Etc/UTC",
    name: "llamacloud-keys-rotator",
    noOverlap: true,
    // Spread a fleet of daemons on the same schedule over a window rather than one instant.
    ...(config.startDelayMaxMs > 0 ? { maxRandomDelay: config.startDelayMaxMs } : {}),
    logger: {
      info: () => {},
      debug: () => {},
      warn: (message) => events.emit("warning", { message: `scheduler: ${message}` }),
      error: (message) => events.emit("warning", { message: `scheduler: ${String(message)}` }),
    },
  });

  // The pass at start catches up on anything due while the daemon was down.
  const startDelay = Math.floor(random() * config.startDelayMaxMs);
  const startTimer = setTimeout(tick, startDelay);

  let resolveDone!: () => void;
  const promise = new Promise<void>((resolve) => {
    resolveDone = resolve;
  });
  let releasing: Promise<void> | undefined;

  const onSignal = (signal: NodeJS.Signals) => {
    if (releasing !== undefined) {
      events.emit("warning", {
        message: `second ${signal}: exiting now. Waiting on: ${waitingOn().join("; ") || "nothing"}. The next run resumes any unfinished step.`,
      });
      exit(1);
      return;
    }
    void release(signal);
  };
  if (deps.handleSignals !== false) for (const signal of HANDLED_SIGNALS) process.on(signal, onSignal);

  function release(signal?: string): Promise<void> {
    if (releasing !== undefined) return releasing;
    releasing = (async () => {
      stopping = true;
      events.emit("daemon:stopping", { ...(signal === undefined ? {} : { signal }), waitingOn: waitingOn() });
      clearTimeout(startTimer);
      await task.destroy();
      shutdown.abort(new Error("the rotator is shutting down"));
      const watchdog = setTimeout(() => {
        events.emit("warning", {
          message:
            `shutdown is taking longer than ${Math.round(config.shutdownTimeoutMs / 1000)} s; still waiting on: ` +
            `${waitingOn().join("; ") || "closing connections"}. Exiting: the next run resumes it safely.`,
        });
        exit(1);
      }, config.shutdownTimeoutMs);
      // The watchdog must never be what keeps the process alive.
      watchdog.unref();
      try {
        await current;
        await new Promise<void>((resolve) => {
          if (server === undefined) return resolve();
          server.close(() => resolve());
          // Keep-alive connections (a Prometheus scraper) would otherwise hold close() open.
          server.closeAllConnections();
        });
        await services.close();
      } finally {
        clearTimeout(watchdog);
        if (deps.handleSignals !== false) for (const s of HANDLED_SIGNALS) process.off(s, onSignal);
        metrics.detach();
        events.off("rotation:step", trackStep);
        events.off("pass:finished", clearSteps);
        events.emit("daemon:stopped", { at: new Date(now()).toISOString() });
        resolveDone();
      }
    })();
    return releasing;
  }

  return { events, metrics, ...(url === undefined ? {} : { url }), promise, release: () => release() };
}
