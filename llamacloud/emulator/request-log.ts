/**
 * The API requests the emulator received, newest last, so tests can prove what a client sent
 * ("create was sent exactly once") and check request bodies against the OpenAPI document. Bounded:
 * a long-running emulator (the demo, a benchmark) must not grow without limit.
 */

export interface LoggedRequest {
  seq: number;
  method: string;
  path: string;
  /** The raw query string (without `?`), empty when there was none. */
  query: string;
  /** The route template (`"PUT /api/v1/api-keys/:id"`), or null for an unknown path. */
  route: string | null;
  /** Parsed JSON body for POST/PUT (the raw text if it was not JSON); bodies never hold secrets. */
  body?: unknown;
  /** Response status; absent while in flight, or when the request was reset, hung or abandoned. */
  status?: number;
  /** Kind of the fault that hit it, if any. */
  fault?: string;
  at: string;
}

export class RequestLog {
  private entries: LoggedRequest[] = [];
  private seq = 0;
  constructor(
    private readonly limit = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Records a request and returns its entry, to fill in status and fault as they become known. */
  add(method: string, path: string, query: string, route: string | null): LoggedRequest {
    const entry: LoggedRequest = {
      seq: ++this.seq,
      method,
      path,
      query,
      route,
      at: new Date(this.now()).toISOString(),
    };
    this.entries.push(entry);
    // Drop the oldest tenth at once: cheaper than shifting on every request.
    if (this.entries.length > this.limit) this.entries.splice(0, Math.ceil(this.limit / 10));
    return entry;
  }

  /** Logged requests, optionally only those of one route (`"POST /api/v1/api-keys"`). */
  list(route?: string): LoggedRequest[] {
    return route === undefined ? [...this.entries] : this.entries.filter((entry) => entry.route === route);
  }

  clear(): void {
    this.entries = [];
  }
}
