import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { runProcess } from "../harness/processes";
import { repoRoot } from "../harness/tools";

// Proves the benchmarks run, not how fast anything is: no figure is asserted (issue #9: machines here
// are shared and noisy). A benchmark whose part is not built yet reports "missing", never a number.

const benchmarks = ["payload", "reader", "emulator", "startup", "rotation", "native", "pulumi"];

interface Row {
  name: string;
  status: "ok" | "missing" | "error";
  value?: number;
  reason?: string;
}
interface Result {
  name: string;
  status: "ok" | "missing" | "error";
  reason?: string;
  rows: Row[];
  machine: { cores: number; node: string; date: string };
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "llamacloud-keys-bench-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

test("`node bench/run.js --quick` runs every benchmark, prints the table and writes the results", async () => {
  const out = join(dir, "results.json");
  // --out keeps the developer's own bench/results.json from being overwritten by a smoke run.
  const result = await runProcess(process.execPath, ["bench/run.js", "--quick", "--out", out], {
    cwd: repoRoot,
    timeoutMs: 120_000,
  });
  expect(result.code, result.output).toBe(0);
  expect(result.stdout).toMatch(/^benchmark\s+measure\s+result\s+baseline \(same run\)\s+ratio\s+target$/m);
  for (const name of benchmarks) expect(result.stdout).toMatch(new RegExp(`^${name}\\s`, "m"));

  const report = JSON.parse(await readFile(out, "utf8")) as { quick: boolean; benchmarks: Result[] };
  expect(report.quick).toBe(true);
  expect(report.benchmarks.map((b) => b.name)).toEqual(benchmarks);
  for (const b of report.benchmarks) {
    expect(["ok", "missing"], `${b.name}: ${b.reason ?? ""}`).toContain(b.status);
    expect(b.machine).toMatchObject({ cores: expect.any(Number), node: process.version });
    expect(b.rows.length, b.name).toBeGreaterThan(0);
    for (const row of b.rows) {
      expect(["ok", "missing"], `${b.name} / ${row.name}: ${row.reason ?? ""}`).toContain(row.status);
      // A missing part is said in words, never given a number.
      if (row.status === "missing") {
        expect(row.value).toBeUndefined();
        expect(row.reason).toMatch(/\S/);
      } else {
        expect(typeof row.value).toBe("number");
      }
    }
  }
  // The parts that exist today are measured, not skipped.
  const statusOf = (name: string) => report.benchmarks.find((b) => b.name === name)?.status;
  expect(["payload", "reader", "emulator", "startup"].map(statusOf)).toEqual(["ok", "ok", "ok", "ok"]);
}, 150_000);
