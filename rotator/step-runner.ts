import { RotatorError } from "./errors";
import type { StepName } from "./events";
import type { RotatorServices } from "./services";

/**
 * Runs one step: refuses to start it after the pass deadline or a shutdown (every step boundary is
 * a safe place to stop: the next run resumes there), emits its begin and end events, and stamps its
 * name on whatever it throws, so a failure is reported with the step it happened in ({@link failedStep})
 * without anyone listening to the events.
 */

/** What a step body returns: its value, and the outcome line of its `rotation:step` end event. */
export interface StepOutcome<T> {
  value: T;
  outcome: string;
  versionId?: string;
  keyId?: string;
}

const stepOfError = new WeakMap<object, StepName>();

export async function runStep<T>(
  services: RotatorServices,
  secretArn: string,
  step: StepName,
  body: () => Promise<StepOutcome<T>>,
): Promise<T> {
  const { signal, events } = services;
  if (signal?.aborted) {
    throw new RotatorError(
      "ROTATOR_ABANDONED",
      `Stopped before ${step} of secret ${secretArn} (${abortReason(signal)}). Nothing is half-done: ` +
        `the next run resumes here (\`llamacloud-keys rotate --secret ${secretArn}\`).`,
      { secretId: secretArn, step },
    );
  }
  const started = performance.now();
  events.emit("rotation:step", { secretArn, step, phase: "begin" });
  let result: StepOutcome<T>;
  try {
    result = await body();
  } catch (error) {
    // The innermost step wins: a revocation inside testSecret is reported as testSecret's failure.
    if (typeof error === "object" && error !== null && !stepOfError.has(error)) stepOfError.set(error, step);
    throw error;
  }
  events.emit("rotation:step", {
    secretArn,
    step,
    phase: "end",
    outcome: result.outcome,
    ...(result.versionId === undefined ? {} : { versionId: result.versionId }),
    ...(result.keyId === undefined ? {} : { keyId: result.keyId }),
    durationMs: Math.round(performance.now() - started),
  });
  return result.value;
}

/** The step an error was thrown from: its own `step` (our errors name it), else the runner's stamp. */
export function failedStep(error: unknown): StepName | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const own = (error as { step?: unknown }).step;
  if (typeof own === "string") return own as StepName;
  return stepOfError.get(error);
}

function abortReason(signal: AbortSignal): string {
  const reason = signal.reason as { message?: unknown } | undefined;
  return typeof reason?.message === "string" ? reason.message : "the pass was stopped";
}
