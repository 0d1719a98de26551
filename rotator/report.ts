import type { RunOnceResult } from "./run-once";

/** The human summary `llamacloud-keys rotate` prints on stdout (logs go to stderr). */
export function formatResults(result: RunOnceResult, dryRun: boolean): string {
  const lines: string[] = [];
  if (result.error !== undefined) lines.push(`FAILED [${result.error.code}] ${result.error.message}`);
  if (result.results.length === 0 && result.error === undefined) {
    lines.push("No managed secrets (none tagged llamacloud-keys:managed=true).");
  }
  for (const r of result.results) {
    const head = !r.ok ? "FAIL" : r.skipped !== undefined ? "skip" : dryRun ? "plan" : "ok  ";
    lines.push(`${head} ${r.arn ?? r.secretId}`);
    for (const action of r.actions) lines.push(`       ${action}`);
    if (r.error !== undefined) {
      lines.push(
        `       [${r.error.code}]${r.error.step ? ` in ${r.error.step}` : ""}: ${r.error.message.split("\n").join("\n       ")}`,
      );
    }
  }
  const failed = result.results.filter((r) => !r.ok).length;
  const skipped = result.results.filter((r) => r.skipped !== undefined).length;
  lines.push(
    `${dryRun ? "Dry run: nothing was changed. " : ""}${result.results.length} secret(s), ${failed} failed, ` +
      `${skipped > 0 ? `${skipped} skipped, ` : ""}${result.durationMs} ms` +
      (result.abandoned ? " (cut short by the deadline or a shutdown)" : ""),
  );
  return `${lines.join("\n")}\n`;
}
