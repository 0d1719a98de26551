import { EventEmitter } from "node:events";

/**
 * The rotator's typed event map. Every observable thing the rotator does is one of these events;
 * the log (`log.ts`), the metrics (`metrics.ts`) and the tests all subscribe to the same stream, so
 * what is logged is what is counted is what is tested. Payloads carry ARNs, version ids, key ids
 * and redacted keys (`llx-…abcd`), never key material.
 */

/** The four template steps, our revocation step, and the bookkeeping around them. */
export type StepName =
  | "guard"
  | "createSecret"
  | "setSecret"
  | "testSecret"
  | "finishSecret"
  | "revokePrevious"
  | "sweepOrphans"
  | "abandonPending";

/** Why a key was revoked. */
export type RevokeReason =
  /** Grace has passed since the version holding it stopped being AWSCURRENT. */
  | "grace-passed"
  /** `--revoke-now`: the operator accepts that readers still holding it fail. */
  | "revoke-now"
  /** It was pending and failed its test against LlamaCloud. */
  | "test-failed"
  /** It was pending for longer than the staging window and is replaced by a new attempt. */
  | "stale-pending"
  /** A concurrent rotator wrote its own key under the same token first. */
  | "lost-race"
  /** It is named after a version of the secret that holds another key, or after none, and is old enough. */
  | "orphan";

export interface RotatorEvents {
  /** A pass over the managed secrets began. */
  "pass:started": { passId: string; at: string; secrets: number; dryRun: boolean };
  /** A pass ended; `failed` counts secrets whose processing failed. */
  "pass:finished": {
    passId: string;
    at: string;
    durationMs: number;
    ok: number;
    failed: number;
    /** True when the pass deadline or a shutdown cut it short. */
    abandoned: boolean;
  };
  /** One step of one secret, begun or ended: the log line `createSecret: adopted key … for version …`. */
  "rotation:step": {
    secretArn: string;
    step: StepName;
    phase: "begin" | "end";
    /** For `end`: what the step did, in a few words (`minted key 1f2e… for version 7a8b…`). */
    outcome?: string;
    versionId?: string;
    keyId?: string;
    durationMs?: number;
  };
  /** A rotation began (a new token was chosen) or an interrupted one was picked up. */
  "rotation:started": {
    secretArn: string;
    fromVersionId: string;
    versionId: string;
    reason: "due" | "forced" | "interrupted";
    /** 0 for the first attempt away from `fromVersionId`. */
    attempt?: number;
  };
  /** A key is in the secret under AWSPENDING. */
  "rotation:staged": {
    secretArn: string;
    versionId: string;
    keyId: string;
    key: string;
    /** How the key got there: minted now, already staged (resume), or staged by a concurrent rotator. */
    how: "minted" | "resumed" | "adopted-concurrent";
  };
  /** The pending key authenticated against LlamaCloud and reached its project. */
  "rotation:tested": { secretArn: string; versionId: string; keyId: string; durationMs: number };
  /** AWSCURRENT moved to the new version; AWSPREVIOUS follows. */
  "rotation:promoted": {
    secretArn: string;
    versionId: string;
    keyId: string;
    previousVersionId?: string;
    previousKeyId?: string;
    /** From `rotation:started` to promotion, within this process. */
    durationMs?: number;
  };
  /** A key was revoked (or found already revoked). */
  "rotation:revoked": {
    secretArn: string;
    keyId: string;
    versionId?: string;
    reason: RevokeReason;
    alreadyRevoked: boolean;
  };
  /** Processing of one secret failed; the secret is left consistent (see the message). */
  "rotation:failed": { secretArn: string; step?: StepName; code: string; message: string };
  /** A secret is overdue: its rotation was due but did not happen (blocked, failed or missed). */
  "schedule:overdue": { secretArn: string; dueAt: string; overdueMs: number; why: string };
  /** A scheduled pass was skipped because the previous one is still running. */
  "schedule:skipped": { at: string; reason: "overlap" | "stopping" };
  /** The daemon is serving `/healthz` and `/metrics`. */
  "daemon:listening": { url: string };
  /** The daemon began shutting down; `waitingOn` lists the steps in flight. */
  "daemon:stopping": { signal?: string; waitingOn: string[] };
  /** The daemon stopped. */
  "daemon:stopped": { at: string };
  /** Something worth an operator's attention that is not a failure (e.g. a key left for later). */
  warning: { secretArn?: string; message: string };
}

export type RotatorEventName = keyof RotatorEvents;

type Listener<E extends RotatorEventName> = (payload: RotatorEvents[E]) => void;

/** A typed wrapper around Node's EventEmitter. Listener exceptions never break a rotation. */
export class RotatorEmitter {
  private readonly inner = new EventEmitter();

  constructor() {
    // Logs, metrics, the daemon and tests may all listen; that is not a leak.
    this.inner.setMaxListeners(100);
  }

  on<E extends RotatorEventName>(event: E, listener: Listener<E>): this {
    this.inner.on(event, listener as (payload: unknown) => void);
    return this;
  }

  off<E extends RotatorEventName>(event: E, listener: Listener<E>): this {
    this.inner.off(event, listener as (payload: unknown) => void);
    return this;
  }

  /** Calls every listener; a listener that throws is skipped, not propagated into the rotation. */
  emit<E extends RotatorEventName>(event: E, payload: RotatorEvents[E]): void {
    for (const listener of this.inner.listeners(event)) {
      try {
        (listener as Listener<E>)(payload);
      } catch {
        // An observer's bug must not turn a good rotation into a failed one.
      }
    }
  }

  /** Subscribes to every event with one callback (for the log). Returns an unsubscribe function. */
  onAny(listener: <E extends RotatorEventName>(event: E, payload: RotatorEvents[E]) => void): () => void {
    const names = ALL_EVENTS;
    const bound = names.map((name) => {
      const fn = (payload: unknown) => listener(name, payload as RotatorEvents[typeof name]);
      this.inner.on(name, fn);
      return [name, fn] as const;
    });
    return () => {
      for (const [name, fn] of bound) this.inner.off(name, fn);
    };
  }

  /**
   * Resolves with the first `event` whose payload satisfies `predicate` (tests await this instead
   * of sleeping). Rejects with a message naming the event after `timeoutMs`.
   */
  waitFor<E extends RotatorEventName>(
    event: E,
    predicate: (payload: RotatorEvents[E]) => boolean = () => true,
    timeoutMs = 30_000,
  ): Promise<RotatorEvents[E]> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off(event, listener);
        reject(new Error(`no ${event} event matching the condition within ${timeoutMs} ms`));
      }, timeoutMs);
      const listener: Listener<E> = (payload) => {
        if (!predicate(payload)) return;
        clearTimeout(timer);
        this.off(event, listener);
        resolve(payload);
      };
      this.on(event, listener);
    });
  }
}

/** Every event name, for subscribers that want them all. */
export const ALL_EVENTS: readonly RotatorEventName[] = [
  "pass:started",
  "pass:finished",
  "rotation:step",
  "rotation:started",
  "rotation:staged",
  "rotation:tested",
  "rotation:promoted",
  "rotation:revoked",
  "rotation:failed",
  "schedule:overdue",
  "schedule:skipped",
  "daemon:listening",
  "daemon:stopping",
  "daemon:stopped",
  "warning",
];
