import type { ManagedSecretSummary } from "../secrets/store";
import type { SecretPlan } from "./plan";

/** What one secret's pass is asked to do, and what it reports (`rotation.ts`, `native.ts`). */

export interface SecretOptions {
  /** Rotate now even if not due. */
  force?: boolean;
  /** Revoke displaced keys at once instead of after grace (a leaked key). */
  revokeNow?: boolean;
  /** Plan only: read, decide, report, change nothing. */
  dryRun?: boolean;
  /** The secret's entry in this pass's ListSecrets: its tags and labels, so no DescribeSecret is needed. */
  listed?: ManagedSecretSummary;
}

export interface SecretResult {
  /** The id the secret was asked for by (ARN or name). */
  secretId: string;
  arn?: string;
  projectId?: string;
  environment?: string;
  ok: boolean;
  /**
   * Set when the secret was left alone on purpose, not a failure (`ok` stays true), e.g.
   * `no key yet (the provider has not written it)`.
   */
  skipped?: string;
  /** What was done (or, in a dry run, would be done), in order, one short line each. */
  actions: string[];
  /** True when a new version was promoted to AWSCURRENT in this pass. */
  rotated: boolean;
  /** AWSCURRENT's version id at the end. */
  currentVersionId?: string;
  /** Set when the secret is due but was not rotated. */
  overdue?: { dueAt: string; overdueMs: number; why: string };
  /** The plan (dry runs only). */
  plan?: SecretPlan;
  /** `native` when Secrets Manager rotates the secret itself (`native.ts`); absent otherwise. */
  mode?: "native";
  error?: { code: string; message: string; step?: string };
  durationMs: number;
}
