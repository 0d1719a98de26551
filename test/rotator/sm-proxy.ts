import { createServer, type IncomingMessage, request, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A loopback proxy in front of moto that fails or holds Secrets Manager calls on cue, matched on the
 * `X-Amz-Target` header (`secretsmanager.PutSecretValue`) and optionally the secret named in the
 * body. Real HTTP, real AWS SDK on the other side (STYLE.md §8): nothing is mocked. It also counts:
 * every call is recorded with when it arrived and when it was answered, so a test can tell how many
 * calls a rotation makes and how many of them had to wait for another ({@link sequentialRoundTrips}).
 * In front of any other HTTP server (the LlamaCloud emulator) a call is named `METHOD /path`.
 */

interface ProxyRule {
  /** The operation, e.g. `PutSecretValue`. */
  operation: string;
  /** Only requests whose SecretId contains this string. */
  secret?: string;
  /** Only while this says so (checked when each request arrives), e.g. while a given step runs. */
  when?: () => boolean;
  /** Let this many matching requests through before the rule applies. */
  skip?: number;
  /** How many matching requests the rule hits ("always" until cleared). */
  times?: number | "always";
  action:
    | { kind: "error"; status: number; type: string; message?: string }
    /** Park the request until `release()`; then forward it to moto (the call reached AWS) or drop it. */
    | { kind: "hold"; onRelease: "forward" | "drop" };
}

export interface HeldCall {
  operation: string;
  secretId?: string;
  /** When the proxy had the whole request, and when it had answered (performance.now()). */
  startMs?: number;
  endMs?: number;
}

export interface SmProxyOptions {
  /** Delay before each request is forwarded: widens every call, so calls made together overlap. */
  latencyMs?: number;
}

export interface SmProxy {
  url: string;
  add(rule: ProxyRule): void;
  clear(): void;
  /** Operations seen, in order (with their SecretId). */
  calls: HeldCall[];
  /** Resolves once a request is parked. */
  waitForHeld(): Promise<HeldCall>;
  /** Releases every parked request; resolves once each was forwarded (and moto answered) or dropped. */
  release(): Promise<void>;
  close(): Promise<void>;
}

interface Armed {
  rule: ProxyRule;
  skipped: number;
  hits: number;
}

export async function startSmProxy(target: string, options: SmProxyOptions = {}): Promise<SmProxy> {
  const upstream = new URL(target);
  let rules: Armed[] = [];
  const calls: HeldCall[] = [];
  const parked: { call: HeldCall; release: () => Promise<void> }[] = [];
  let heldWaiters: ((call: HeldCall) => void)[] = [];

  function forward(
    req: IncomingMessage,
    body: Buffer,
    res: ServerResponse | undefined,
    call?: HeldCall,
  ): Promise<void> {
    const latency = options.latencyMs ?? 0;
    const delayed = latency > 0 ? new Promise((r) => setTimeout(r, latency)) : Promise.resolve();
    return delayed.then(() => forwardNow(req, body, res, call));
  }

  function forwardNow(
    req: IncomingMessage,
    body: Buffer,
    res: ServerResponse | undefined,
    call?: HeldCall,
  ): Promise<void> {
    return new Promise((resolve) => {
      const headers = { ...req.headers, host: upstream.host };
      const out = request(
        { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers },
        (answer) => {
          const chunks: Buffer[] = [];
          answer.on("data", (c: Buffer) => chunks.push(c));
          answer.on("end", () => {
            if (res !== undefined && !res.destroyed) {
              res.writeHead(answer.statusCode ?? 502, answer.headers);
              res.end(Buffer.concat(chunks));
            }
            if (call !== undefined) call.endMs = performance.now();
            resolve();
          });
        },
      );
      out.on("error", () => {
        if (res !== undefined && !res.destroyed) res.destroy();
        resolve();
      });
      out.end(body);
    });
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const targetHeader = String(req.headers["x-amz-target"] ?? "");
      const operation =
        targetHeader === ""
          ? `${req.method} ${(req.url ?? "").split("?")[0]}`
          : (targetHeader.split(".").pop() ?? "");
      let secretId: string | undefined;
      try {
        secretId = (JSON.parse(body.toString("utf8")) as { SecretId?: string }).SecretId;
      } catch {
        secretId = undefined;
      }
      const call: HeldCall = {
        operation,
        ...(secretId === undefined ? {} : { secretId }),
        startMs: performance.now(),
      };
      calls.push(call);
      const armed = rules.find(
        (a) =>
          a.rule.operation === operation &&
          (a.rule.secret === undefined || (secretId ?? "").includes(a.rule.secret)) &&
          (a.rule.when === undefined || a.rule.when()) &&
          (a.rule.times === "always" || a.hits < (a.rule.times ?? 1)),
      );
      if (armed !== undefined && armed.skipped < (armed.rule.skip ?? 0)) {
        armed.skipped += 1;
        void forward(req, body, res, call);
        return;
      }
      if (armed === undefined) {
        void forward(req, body, res, call);
        return;
      }
      armed.hits += 1;
      const action = armed.rule.action;
      if (action.kind === "error") {
        const payload = JSON.stringify({ __type: action.type, message: action.message ?? action.type });
        res.writeHead(action.status, {
          "content-type": "application/x-amz-json-1.1",
          "x-amzn-errortype": action.type,
          "x-amzn-requestid": "proxy-fault",
          "content-length": Buffer.byteLength(payload),
        });
        res.end(payload);
        return;
      }
      parked.push({
        call,
        release: () => {
          if (action.onRelease === "forward") return forward(req, body, res);
          res.destroy();
          return Promise.resolve();
        },
      });
      const waiters = heldWaiters;
      heldWaiters = [];
      for (const w of waiters) w(call);
    });
  });
  async function releaseAll(): Promise<void> {
    const all = parked.splice(0);
    await Promise.all(all.map((p) => p.release()));
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    add(rule) {
      rules.push({ rule, skipped: 0, hits: 0 });
    },
    clear() {
      rules = [];
    },
    calls,
    waitForHeld() {
      const first = parked[0];
      if (first !== undefined) return Promise.resolve(first.call);
      return new Promise((resolve) => heldWaiters.push(resolve));
    },
    release: releaseAll,
    async close() {
      await releaseAll();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/**
 * The number of round trips that had to follow one another: the longest chain of calls in which each
 * call arrived after the one before it was answered. Calls made together (overlapping) count once.
 */
export function sequentialRoundTrips(calls: readonly HeldCall[]): number {
  const timed = calls
    .filter(
      (c): c is HeldCall & { startMs: number; endMs: number } =>
        c.startMs !== undefined && c.endMs !== undefined,
    )
    .sort((a, b) => a.startMs - b.startMs);
  const depth: number[] = [];
  for (const [j, call] of timed.entries()) {
    let before = 0;
    for (let i = 0; i < j; i++) {
      const earlier = timed[i] as (typeof timed)[number];
      if (earlier.endMs <= call.startMs) before = Math.max(before, depth[i] ?? 0);
    }
    depth.push(before + 1);
  }
  return Math.max(0, ...depth);
}
