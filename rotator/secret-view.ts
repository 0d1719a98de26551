import {
  AWSCURRENT,
  AWSPENDING,
  AWSPREVIOUS,
  type PayloadReading,
  type SecretDescription,
} from "../secrets/store";
import type { RotationContext } from "./state";

/**
 * What one pass has already read of one secret, handed from step to step so each need not read it
 * again (Secrets Manager calls are what a busy pass runs out of):
 * - payloads by version id: Secrets Manager versions are immutable, so a payload once read does not
 *   go stale. (moto, which the tests run against, does let a second writer rewrite a version under
 *   the same token while it carries AWSPENDING: one more reason for the rule below.)
 * - the latest DescribeSecret, with the pass's own label moves applied as it makes them.
 *
 * The view is a belief, good for planning and for the steps' "already done?" checks. It is never the
 * last word before an act that cannot be undone: revoking a key re-reads the labels and the values
 * they point at (`revokeKey`), staging re-reads the labels (`createSecret`, then `writeVersion`),
 * promoting re-reads them (`finishSecret`, whose move is also conditional on AWSCURRENT's holder),
 * and a plan that revokes anything at the end of a pass is re-made from a fresh read. A step run on
 * its own, without a view, reads for itself.
 */
export interface SecretView {
  /** Unset until the pass first describes the secret. */
  description?: SecretDescription;
  readonly payloads: Map<string, PayloadReading>;
}

export function newSecretView(): SecretView {
  return { payloads: new Map() };
}

/** The view's DescribeSecret; a fresh one (kept in the view) when it has none, or there is no view. */
export async function describeSecret(
  ctx: RotationContext,
  arn: string,
  view: SecretView | undefined,
): Promise<SecretDescription> {
  if (view?.description !== undefined) return view.description;
  const description = await ctx.store.describe(arn);
  refreshView(view, description);
  return description;
}

/** GetSecretValue of one version, at most once per view. Throws as `SecretStore.readPayload` does. */
export async function readVersion(
  ctx: RotationContext,
  arn: string,
  versionId: string,
  view: SecretView | undefined,
): Promise<PayloadReading> {
  const cached = view?.payloads.get(versionId);
  if (cached !== undefined) return cached;
  const reading = await ctx.store.readPayload(arn, { versionId });
  view?.payloads.set(versionId, reading);
  return reading;
}

/** Replaces the view's description with a fresh one (the payloads stay: they cannot change). */
export function refreshView(view: SecretView | undefined, description: SecretDescription): void {
  if (view !== undefined) view.description = description;
}

/** A version was just written with AWSPENDING (which Secrets Manager takes off any other version). */
export function noteStaged(view: SecretView | undefined, versionId: string): void {
  if (view?.description === undefined) return;
  const stages = withoutStage(view.description.versionIdsToStages, AWSPENDING);
  stages[versionId] = [...(stages[versionId] ?? []), AWSPENDING];
  view.description = described(view.description, stages);
}

/**
 * `versionId` was promoted: AWSCURRENT moved to it, AWSPREVIOUS to the version it left, and its
 * AWSPENDING label was cleared.
 */
export function notePromoted(view: SecretView | undefined, versionId: string): void {
  if (view?.description === undefined) return;
  const from = view.description.currentVersionId;
  let stages = withoutStage(view.description.versionIdsToStages, AWSPREVIOUS);
  if (from !== undefined && from !== versionId) {
    stages = withoutStage(stages, AWSCURRENT);
    stages[from] = [...(stages[from] ?? []), AWSPREVIOUS];
  }
  stages[versionId] = [
    ...(stages[versionId] ?? []).filter((s) => s !== AWSPENDING && s !== AWSCURRENT),
    AWSCURRENT,
  ];
  view.description = described(view.description, stages);
}

/** `stage` was removed from `versionId`. */
export function noteUnstaged(view: SecretView | undefined, stage: string, versionId: string): void {
  if (view?.description === undefined) return;
  const stages = { ...view.description.versionIdsToStages };
  const labels = stages[versionId];
  if (labels !== undefined) stages[versionId] = labels.filter((s) => s !== stage);
  view.description = described(view.description, stages);
}

function withoutStage(versions: Record<string, string[]>, stage: string): Record<string, string[]> {
  return Object.fromEntries(
    Object.entries(versions).map(([versionId, stages]) => [versionId, stages.filter((s) => s !== stage)]),
  );
}

/** The description with new labels, and the label shortcuts recomputed from them. */
function described(description: SecretDescription, versionIdsToStages: Record<string, string[]>) {
  const next: SecretDescription = { ...description, versionIdsToStages };
  delete next.currentVersionId;
  delete next.pendingVersionId;
  delete next.previousVersionId;
  for (const [versionId, stages] of Object.entries(versionIdsToStages)) {
    if (stages.includes(AWSCURRENT)) next.currentVersionId = versionId;
    if (stages.includes(AWSPENDING)) next.pendingVersionId = versionId;
    if (stages.includes(AWSPREVIOUS)) next.previousVersionId = versionId;
  }
  return next;
}
