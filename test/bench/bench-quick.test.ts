import { readdirSync, readFileSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { runProcess } from "../harness/processes";
import { repoRoot } from "../harness/tools";

// Proves the benchmarks run, not how fast anything is: no figure is asserted (issue #9: machines here
// are shared and noisy). Every part is built by `npm test`, so every benchmark and every row must be
// measured: a benchmark that is absent, reports "missing" or errors fails the smoke run (issue #17).

// Every bench/*.js file that declares a benchmark, so a new file that run.js forgets is caught too.
const declared = readdirSync(join(repoRoot, "bench"))
  .filter((file) => file.endsWith(".js"))
  .flatMap((file) => {
    const match = /^\s*benchmark\("([^"]+)"/m.exec(readFileSync(join(repoRoot, "bench", file), "utf8"));
    return match === null ? [] : [match[1]];
  });

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

test("the benchmark files are the ones issues #9, #17 and the native driver ask for", () => {
  expect([...declared].sort()).toEqual(
    [
      "emulator",
      "native",
      "payload",
      "pulumi",
      "reader",
      "reader-peers",
      "rotation",
      "scale",
      "startup",
    ].sort(),
  );
});

test("`node bench/run.js --quick` measures every benchmark, prints the table and writes the results", async () => {
  const out = join(dir, "results.json");
  // --out keeps the developer's own bench/results.json from being overwritten by a smoke run.
  const result = await runProcess(process.execPath, ["bench/run.js", "--quick", "--out", out], {
    cwd: repoRoot,
    timeoutMs: 420_000,
  });
  expect(result.code, result.output).toBe(0);
  expect(result.stdout).toMatch(/^benchmark\s+measure\s+result\s+baseline \(same run\)\s+ratio\s+target$/m);
  for (const name of declared) expect(result.stdout).toMatch(new RegExp(`^${name}\\s`, "m"));

  const report = JSON.parse(await readFile(out, "utf8")) as { quick: boolean; benchmarks: Result[] };
  expect(report.quick).toBe(true);
  // Every declared benchmark ran: none left out of run.js's list, none silently skipped.
  expect([...report.benchmarks.map((b) => b.name)].sort()).toEqual([...declared].sort());
  for (const b of report.benchmarks) {
    expect(b.status, `${b.name}: ${b.reason ?? ""}`).toBe("ok");
    expect(b.machine).toMatchObject({ cores: expect.any(Number), node: process.version });
    expect(b.rows.length, b.name).toBeGreaterThan(0);
    for (const row of b.rows) {
      expect(row.status, `${b.name} / ${row.name}: ${row.reason ?? ""}`).toBe("ok");
      expect(typeof row.value, `${b.name} / ${row.name}`).toBe("number");
    }
  }
}, 450_000);

test("`node bench/run.js` exits 1 when a benchmark reports a part missing", async () => {
  const out = join(dir, "missing.json");
  // reader-peers reports its rows "missing" when Powertools is not installed; BENCH_HIDE_POWERTOOLS
  // stands for an install that left it out.
  const result = await runProcess(
    process.execPath,
    ["bench/run.js", "--quick", "--only", "reader-peers", "--out", out],
    { cwd: repoRoot, timeoutMs: 120_000, env: { ...process.env, BENCH_HIDE_POWERTOOLS: "1" } },
  );
  expect(result.code, result.output).toBe(1);
  expect(result.stderr).toMatch(/could not be measured \(missing a part\)/);
  const report = JSON.parse(await readFile(out, "utf8")) as { benchmarks: Result[] };
  expect(report.benchmarks[0]?.rows.every((r) => r.status === "missing" && r.value === undefined)).toBe(true);
}, 150_000);
