import { spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { repoRoot } from "../harness/tools";

// The README's Performance figures are generated from bench/results.json (issue #17): the peers'
// columns and the scale curve come out as tables, and a smoke run's figures are refused.

const nodeRequire = createRequire(join(repoRoot, "package.json"));
const { block, load } = nodeRequire("./bench/readme.js") as {
  block: (benchmarks: unknown[], options: { notes: boolean }) => string;
  load: (files: string[]) => { benchmarks: unknown[] };
};
const { row } = nodeRequire("./bench/report.js") as { row: (r: Record<string, unknown>) => unknown };

const machine = {
  cores: 2,
  cpuModel: "test CPU",
  node: "v24.0.0",
  loadAverage1m: 0.5,
  date: "2026-11-29T19:50:00.000Z",
};
const peers = {
  createKeyReader: { value: 0.3, unit: "µs" },
  "Powertools SecretsProvider": { value: 0.9, unit: "µs" },
  "bare SDK + Map cache": { value: 0.2, unit: "µs" },
};
const results = (quick: boolean) => ({
  quick,
  machine,
  benchmarks: [
    {
      name: "reader-peers",
      status: "ok",
      machine,
      rows: [
        row({
          name: "cached get() per call (median)",
          value: 0.3,
          unit: "µs",
          baseline: { name: "Powertools SecretsProvider", value: 0.9, unit: "µs" },
          target: { on: "ratio", op: "<=", limit: 0.5, text: "≤ 0.5× Powertools" },
          peers,
        }),
      ],
    },
    {
      name: "scale",
      status: "ok",
      machine,
      rows: [
        row({
          name: "N = 1,000: idle pass, wall time",
          value: 30,
          unit: "s",
          baseline: { name: "the rotator's CPU time in it", value: 6, unit: "s" },
          curve: {
            n: 1000,
            pass: "idle",
            wallS: 30,
            cpuS: 6,
            sm: 3000,
            llama: 1000,
            peakRssMB: 240,
            smPerS: 100,
          },
        }),
      ],
    },
  ],
});

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "llamacloud-keys-bench-readme-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

test("the generated block has the result table, the peers' columns and the scale curve", async () => {
  const file = join(dir, "results.json");
  await writeFile(file, JSON.stringify(results(false)));
  const text = block(load([file]).benchmarks, { notes: false });
  expect(text).toContain("load average as each benchmark finished: reader-peers 0.5, scale 0.5");
  expect(text).toMatch(/^reader-peers\s+cached get\(\) per call \(median\)\s+0\.3 µs/m);
  expect(text).toContain(
    "| measure | createKeyReader | Powertools SecretsProvider | bare SDK + Map cache | target (ours) |",
  );
  expect(text).toContain(
    "| cached get() per call (median) | 0.3 µs | 0.9 µs | 0.2 µs | ≤ 0.5× Powertools ✓ |",
  );
  expect(text).toContain("| 1,000 | idle | 30 s | 3,000 | 1,000 | 6 s | 6 ms | 240 MB | 100 |");
  expect(text).toContain("Targets met: 1 of 1.");
});

test("a --quick run's figures are refused as README material", async () => {
  const file = join(dir, "quick.json");
  await writeFile(file, JSON.stringify(results(true)));
  expect(() => load([file])).toThrow(/--quick run/);
});

test("bench/readme.js answers --help, and refuses an unknown option or a missing results file without writing", () => {
  const script = join(repoRoot, "bench", "readme.js");
  const run = (...args: string[]) =>
    spawnSync(process.execPath, [script, ...args], { cwd: repoRoot, encoding: "utf8" });
  const help = run("--help");
  expect(help.status).toBe(0);
  expect(help.stdout).toMatch(/^Usage: node bench\/readme\.js \[RESULTS\.json…\]/);
  const unknown = run("--frobnicate");
  expect(unknown.status).toBe(2);
  expect(unknown.stderr).toMatch(/^unknown option --frobnicate\n/);
  const missing = run(join(dir, "absent.json"));
  expect(missing.status).toBe(2);
  expect(missing.stderr).toContain(`${join(dir, "absent.json")} does not exist: run "npm run bench" first`);
  expect(missing.stdout).toBe("");
});
