import { setTimeout as sleep } from "node:timers/promises";
import { createKeyReader, type KeyReader } from "../../secrets/reader";
import { motoCredentials } from "../harness/moto";

/**
 * An app-like load: readers that each hold their own cached key reader (as separate app instances
 * would) and call LlamaCloud (the emulator) in a loop with the key they hold. Everything is
 * counted, nothing asserted here: the tests assert on the figures once the load has stopped.
 * Keys stay in memory (maps keyed by the plaintext); they are never printed.
 */

export interface ReaderSpec {
  /** A label for figures and messages, e.g. `withKey` or `plain-get`. */
  group: string;
  secretArn: string;
  projectId: string;
  ttlMs: number;
  /**
   * `withKey`: the app calls through {@link KeyReader.withKey}, which retries a 401/403 once with a
   * refreshed key. `get`: the app takes `get()`'s key and calls with it, no retry.
   */
  mode: "withKey" | "get";
}

interface ReaderFigures {
  group: string;
  secretArn: string;
  /** Calls the app made (one per loop turn, whatever withKey did inside). */
  calls: number;
  /** HTTP requests sent to LlamaCloud, withKey's retries included. */
  requests: number;
  /** 200s with the right project, as the app saw them. */
  successes: number;
  /** 401/403 responses on the wire, before withKey's retry. */
  rawAuthFailures: number;
  /** 401/403 the app saw: after withKey's retry, or straight from the wire in `get` mode. */
  appAuthFailures: number;
  /** Anything else (another status, a thrown error): messages, never key material. */
  otherFailures: string[];
  /** When the last call that the app saw finish began (epoch ms). */
  lastCallStartedAt: number;
}

export interface Load {
  readers: ReaderFigures[];
  /** Per plaintext key: when a request with it was last sent, and whether one ever succeeded. */
  keyUse: Map<string, { lastSentAt: number; succeeded: boolean; readers: Set<number> }>;
  /** Resolves once `predicate` holds, checked after every call; rejects after `timeoutMs`. */
  until(predicate: () => boolean, what: string, timeoutMs?: number): Promise<void>;
  /** Stops every reader after its current call and closes the readers. */
  stop(): Promise<void>;
  totals(): {
    calls: number;
    requests: number;
    successes: number;
    rawAuthFailures: number;
    appAuthFailures: number;
    otherFailures: number;
  };
}

export interface LoadOptions {
  region: string;
  motoEndpoint: string;
  readers: ReaderSpec[];
  /** Pause between one reader's calls (a little jitter is added), so the load leaves CPU to the rotator. */
  paceMs: number;
}

export function startLoad(options: LoadOptions): Load {
  let stopped = false;
  const keyUse: Load["keyUse"] = new Map();
  const waiters: { predicate: () => boolean; resolve: () => void }[] = [];
  const notify = () => {
    for (const waiter of [...waiters]) {
      if (waiter.predicate()) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  };

  const figures: ReaderFigures[] = [];
  const loops = options.readers.map((spec, index) => {
    const reader: KeyReader = createKeyReader({
      secretId: spec.secretArn,
      ttl: spec.ttlMs,
      // The reader's own TTL jitter (default 10%) stays on: readers refetch out of step, as in a fleet.
      region: options.region,
      endpoint: options.motoEndpoint,
      credentials: motoCredentials,
    });
    const f: ReaderFigures = {
      group: spec.group,
      secretArn: spec.secretArn,
      calls: 0,
      requests: 0,
      successes: 0,
      rawAuthFailures: 0,
      appAuthFailures: 0,
      otherFailures: [],
      lastCallStartedAt: 0,
    };
    figures.push(f);

    const callLlamaCloud = async (apiKey: string, baseUrl: string): Promise<Response> => {
      const sentAt = Date.now();
      f.requests += 1;
      const use = keyUse.get(apiKey) ?? { lastSentAt: 0, succeeded: false, readers: new Set<number>() };
      use.lastSentAt = Math.max(use.lastSentAt, sentAt);
      use.readers.add(index);
      keyUse.set(apiKey, use);
      const response = await fetch(`${baseUrl}/api/v1/projects/${spec.projectId}`, {
        headers: { authorization: `Bearer ${apiKey}` },
      });
      if (response.status === 401 || response.status === 403) f.rawAuthFailures += 1;
      else if (response.ok) use.succeeded = true;
      return response;
    };

    return (async () => {
      while (!stopped) {
        const startedAt = Date.now();
        try {
          const response =
            spec.mode === "withKey"
              ? await reader.withKey(callLlamaCloud)
              : await reader.get().then((reading) => callLlamaCloud(reading.apiKey, reading.baseUrl));
          if (response.status === 401 || response.status === 403) {
            f.appAuthFailures += 1;
            await response.body?.cancel();
          } else if (response.ok) {
            const project = (await response.json()) as { id?: unknown };
            if (project.id === spec.projectId) f.successes += 1;
            else f.otherFailures.push(`200 with project ${String(project.id)}`);
          } else {
            f.otherFailures.push(`HTTP ${response.status}`);
            await response.body?.cancel();
          }
        } catch (error) {
          f.otherFailures.push(error instanceof Error ? `${error.name}: ${error.message}` : String(error));
        }
        f.calls += 1;
        f.lastCallStartedAt = startedAt;
        notify();
        await sleep(options.paceMs * (0.5 + Math.random()));
      }
      reader.close();
    })();
  });

  return {
    readers: figures,
    keyUse,
    until(predicate, what, timeoutMs = 20_000) {
      if (predicate()) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1);
          reject(new Error(`the load did not reach "${what}" within ${timeoutMs} ms`));
        }, timeoutMs);
        const waiter = {
          predicate,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        };
        waiters.push(waiter);
      });
    },
    async stop() {
      stopped = true;
      await Promise.all(loops);
    },
    totals() {
      const sum = (pick: (r: ReaderFigures) => number) => figures.reduce((n, r) => n + pick(r), 0);
      return {
        calls: sum((r) => r.calls),
        requests: sum((r) => r.requests),
        successes: sum((r) => r.successes),
        rawAuthFailures: sum((r) => r.rawAuthFailures),
        appAuthFailures: sum((r) => r.appAuthFailures),
        otherFailures: sum((r) => r.otherFailures.length),
      };
    },
  };
}
