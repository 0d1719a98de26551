import { z } from "zod";

/**
 * Scripted failures for the emulator (undici's tests do the same with a real loopback server that
 * fails on cue). A fault targets a route and the next N matching requests:
 * - `latency`: answer normally after `ms`;
 * - `status`: answer `status` with a `{detail}` body, optionally `Retry-After` / `retry-after-ms`;
 * - `reset`: destroy the socket. `mid-response` (default) handles the request first, so a create
 *   has minted its key when the connection dies: the ambiguous create. `before-handling` changes
 *   nothing;
 * - `hang`: never answer (until the client gives up or the emulator closes);
 * - `hold`: park the request until {@link FaultInjector.release}; `before-handling` (default) or
 *   `before-response` (the state change is done, the answer waits: a create killed here leaves a key);
 * - `masked-key`: a create answers with a masked key instead of the full one (a server regression);
 * - `body`: answer `status` (default 200) with this raw body, e.g. to break the response schema.
 */

/** Route templates the emulator serves, as faults name them. */
export const emulatorRoutes = [
  "POST /api/v1/api-keys",
  "GET /api/v1/api-keys",
  "PUT /api/v1/api-keys/:id",
  "DELETE /api/v1/api-keys/:id",
  "GET /api/v1/projects",
  "GET /api/v1/projects/current",
  "GET /api/v1/projects/:id",
  "GET /api/v1/organizations",
] as const;

export type EmulatorRoute = (typeof emulatorRoutes)[number];

const methods = ["GET", "POST", "PUT", "DELETE"];
const paths = [...new Set(emulatorRoutes.map((route) => route.split(" ")[1]!))];

/** `"*"`, a route (`"GET /api/v1/projects/:id"`), or either half as `*` (`"GET *"`, `"* /api/v1/api-keys"`). */
const routePattern = z.string().refine(
  (pattern) => {
    if (pattern === "*") return true;
    const [method, path, ...rest] = pattern.split(" ");
    return (
      rest.length === 0 &&
      method !== undefined &&
      path !== undefined &&
      (method === "*" || methods.includes(method)) &&
      (path === "*" || paths.includes(path))
    );
  },
  { message: `expected "*" or "<METHOD> <route>" with a route among: ${emulatorRoutes.join(", ")}` },
);

const common = {
  route: routePattern.default("*"),
  /** How many matching requests this fault hits; "always" until cleared. */
  times: z.union([z.number().int().positive(), z.literal("always")]).default(1),
};

export const faultSpecSchema = z.discriminatedUnion("kind", [
  z.object({ ...common, kind: z.literal("latency"), ms: z.number().int().min(0).max(600_000) }).strict(),
  z
    .object({
      ...common,
      kind: z.literal("status"),
      status: z.number().int().min(400).max(599),
      /** `Retry-After` value: delta-seconds (`"2"`) or an HTTP date. */
      retryAfter: z.string().optional(),
      /** `retry-after-ms` value (the official SDKs' extension). */
      retryAfterMs: z.number().int().min(0).optional(),
      detail: z.string().optional(),
    })
    .strict(),
  z
    .object({
      ...common,
      kind: z.literal("reset"),
      when: z.enum(["mid-response", "before-handling"]).optional(),
    })
    .strict(),
  z.object({ ...common, kind: z.literal("hang") }).strict(),
  z
    .object({
      ...common,
      kind: z.literal("hold"),
      when: z.enum(["before-handling", "before-response"]).optional(),
    })
    .strict(),
  z.object({ ...common, kind: z.literal("masked-key") }).strict(),
  z
    .object({
      ...common,
      kind: z.literal("body"),
      status: z.number().int().min(200).max(599).optional(),
      body: z.string(),
      contentType: z.string().optional(),
    })
    .strict(),
]);

/** A fault as callers write it (`route` defaults to `"*"`, `times` to 1). */
export type FaultSpec = z.input<typeof faultSpecSchema>;
/** A fault with defaults applied. */
export type Fault = z.output<typeof faultSpecSchema>;

/** A request parked by a `hold` fault. */
export interface HeldRequest {
  id: number;
  method: string;
  path: string;
  route: string;
  since: string;
}

/** A fault that hit a request, for tests that count what happened. */
export interface FaultLogEntry {
  faultId: number;
  kind: Fault["kind"];
  method: string;
  path: string;
  route: string;
  at: string;
}

interface ArmedFault {
  id: number;
  fault: Fault;
  remaining: number;
}

interface Parked {
  info: HeldRequest;
  release: () => void;
}

export class FaultInjector {
  /** Added to every emulated API request (the `--latency-ms` flag). */
  latencyMs = 0;
  private armed: ArmedFault[] = [];
  private nextId = 1;
  private parked = new Map<number, Parked>();
  private waiters: { ready: (size: number) => boolean; resolve: (held: HeldRequest[]) => void }[] = [];
  private history: FaultLogEntry[] = [];
  private readonly now: () => number;

  constructor(options: { now?: () => number; latencyMs?: number } = {}) {
    this.now = options.now ?? Date.now;
    this.latencyMs = options.latencyMs ?? 0;
  }

  /** Arms a fault (validated; throws a zod error for a bad spec). Returns its id. */
  add(spec: FaultSpec): number {
    const fault = faultSpecSchema.parse(spec);
    const id = this.nextId++;
    this.armed.push({
      id,
      fault,
      remaining: fault.times === "always" ? Number.POSITIVE_INFINITY : fault.times,
    });
    return id;
  }

  /** Disarms one fault, or all of them. Parked requests stay parked until released. */
  clear(id?: number): void {
    this.armed = id === undefined ? [] : this.armed.filter((armed) => armed.id !== id);
  }

  /** Armed faults with their remaining counts. */
  list(): { id: number; fault: Fault; remaining: number | "always" }[] {
    return this.armed.map(({ id, fault, remaining }) => ({
      id,
      fault,
      remaining: remaining === Number.POSITIVE_INFINITY ? "always" : remaining,
    }));
  }

  /**
   * The fault for this request, if any (first armed match wins), counting it down. `route` is the
   * full route, e.g. `"GET /api/v1/projects/:id"`.
   */
  take(method: string, path: string, route: EmulatorRoute): Fault | undefined {
    if (this.armed.length === 0) return undefined;
    const index = this.armed.findIndex((armed) => matches(armed.fault.route, route));
    if (index === -1) return undefined;
    const armed = this.armed[index]!;
    armed.remaining -= 1;
    if (armed.remaining <= 0) this.armed.splice(index, 1);
    this.history.push({
      faultId: armed.id,
      kind: armed.fault.kind,
      method,
      path,
      route,
      at: new Date(this.now()).toISOString(),
    });
    return armed.fault;
  }

  /** Faults that hit requests, oldest first. */
  log(): FaultLogEntry[] {
    return [...this.history];
  }

  /**
   * Parks a request; resolves when released. `abandon` (the client went away) drops it from the
   * held list without releasing it.
   */
  park(method: string, path: string, route: string): { released: Promise<void>; abandon: () => void } {
    const id = this.nextId++;
    const info: HeldRequest = { id, method, path, route, since: new Date(this.now()).toISOString() };
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    this.parked.set(id, { info, release });
    this.notifyWaiters();
    return {
      released,
      abandon: () => {
        if (this.parked.delete(id)) this.notifyWaiters();
      },
    };
  }

  /** Requests parked by `hold` faults whose clients are still waiting. */
  held(): HeldRequest[] {
    return [...this.parked.values()].map((parked) => parked.info);
  }

  /** Resolves once at least `count` requests are parked (no polling, no sleeps). */
  waitForHeld(count = 1): Promise<HeldRequest[]> {
    return this.waitUntil((size) => size >= count);
  }

  /** Resolves once no request is parked: all released, or their clients went away (e.g. SIGKILL). */
  waitForNoneHeld(): Promise<void> {
    return this.waitUntil((size) => size === 0).then(() => undefined);
  }

  private waitUntil(ready: (size: number) => boolean): Promise<HeldRequest[]> {
    if (ready(this.parked.size)) return Promise.resolve(this.held());
    return new Promise((resolve) => this.waiters.push({ ready, resolve }));
  }

  /** Lets one parked request (by id) or all of them through. Returns how many were released. */
  release(id?: number): number {
    const targets = id === undefined ? [...this.parked.keys()] : [id];
    let released = 0;
    for (const target of targets) {
      const parked = this.parked.get(target);
      if (parked === undefined) continue;
      this.parked.delete(target);
      parked.release();
      released += 1;
    }
    if (released > 0) this.notifyWaiters();
    return released;
  }

  /** Disarms everything, forgets the log, releases every parked request. */
  reset(): void {
    this.armed = [];
    this.history = [];
    this.release();
  }

  private notifyWaiters(): void {
    const size = this.parked.size;
    const ready = this.waiters.filter((waiter) => waiter.ready(size));
    if (ready.length === 0) return;
    this.waiters = this.waiters.filter((waiter) => !waiter.ready(size));
    const held = this.held();
    for (const waiter of ready) waiter.resolve(held);
  }
}

function matches(pattern: string, route: EmulatorRoute): boolean {
  if (pattern === "*" || pattern === route) return true;
  const [patternMethod, patternPath] = pattern.split(" ");
  const [method, path] = route.split(" ");
  return (patternMethod === "*" || patternMethod === method) && (patternPath === "*" || patternPath === path);
}
