#!/usr/bin/env node

// `node bench/readme.js [RESULTS.json…]`: regenerates the figures in README.md's Performance
// section and in bench/README.md from results written by `npm run bench` (default
// bench/results.json). With several files, a benchmark's latest result wins (e.g. a full run plus a
// later `--only pulumi`); each benchmark keeps the machine, load and date of its own run. Writes
// between the `<!-- bench:results:start -->` / `<!-- bench:results:end -->` markers only.

const { existsSync, readFileSync, writeFileSync } = require("node:fs");
const { join } = require("node:path");
const { formatTable, repoRoot } = require("./report");

const START = "<!-- bench:results:start -->";
const END = "<!-- bench:results:end -->";

function load(files) {
  const byName = new Map();
  const reports = [];
  for (const file of files) {
    const report = JSON.parse(readFileSync(file, "utf8"));
    if (report.quick) throw new Error(`${file} is a --quick run: its figures are a smoke test, not results`);
    reports.push(report);
    for (const b of report.benchmarks) byName.set(b.name, b);
  }
  // bench/run.js's order (its list of benchmarks), whichever file each result came from.
  const listed = [...readFileSync(join(__dirname, "run.js"), "utf8").matchAll(/\{ name: "([^"]+)"/g)].map(
    (m) => m[1],
  );
  const order = [
    ...listed.filter((name) => byName.has(name)),
    ...[...byName.keys()].filter((n) => !listed.includes(n)),
  ];
  return { reports, benchmarks: order.map((name) => byName.get(name)) };
}

/** Three significant digits, thousands separated. */
const fmt = (v) =>
  typeof v !== "number"
    ? String(v ?? "")
    : Number(v.toPrecision(3)).toLocaleString("en-US", { maximumFractionDigits: 6 });

function markdownTable(header, lines) {
  return [
    `| ${header.join(" | ")} |`,
    `| ${header.map(() => "---").join(" | ")} |`,
    ...lines.map((l) => `| ${l.join(" | ")} |`),
  ].join("\n");
}

/** The peers' table: one line per measure, one column per alternative. */
function peersTable(benchmarks) {
  const rows = benchmarks.flatMap((b) => b.rows.filter((r) => r.peers !== undefined));
  if (rows.length === 0) return "";
  const names = Object.keys(rows[0].peers);
  const lines = rows.map((r) => [
    r.name,
    ...names.map((n) => `${fmt(r.peers[n]?.value)}${r.peers[n]?.unit ? ` ${r.peers[n].unit}` : ""}`),
    r.target === undefined ? "" : `${r.target.text} ${r.met ? "✓" : "✗"}`,
  ]);
  return markdownTable(["measure", ...names, "target (ours)"], lines);
}

/** The scale curve: one line per N and pass. */
function scaleTable(benchmarks) {
  const rows = benchmarks.flatMap((b) => b.rows.filter((r) => r.curve !== undefined));
  if (rows.length === 0) return "";
  const lines = rows.map(({ curve: c }) => [
    fmt(c.n),
    c.pass === "idle" ? "idle" : "10 % due",
    `${fmt(c.wallS)} s`,
    fmt(c.sm),
    fmt(c.llama),
    `${fmt(c.cpuS)} s`,
    `${fmt((c.cpuS * 1000) / c.n)} ms`,
    `${fmt(c.peakRssMB)} MB`,
    fmt(Math.round(c.smPerS)),
  ]);
  return markdownTable(
    [
      "N secrets",
      "pass",
      "wall time",
      "Secrets Manager calls",
      "LlamaCloud calls",
      "rotator CPU",
      "CPU per secret",
      "peak RSS",
      "SM calls/s",
    ],
    lines,
  );
}

function runLine(benchmarks) {
  const m = benchmarks[0].machine;
  const first = Date.parse(m.date);
  // A benchmark from a later run (merged in) says when it ran.
  const each = benchmarks.map((b) => {
    const later = Math.abs(Date.parse(b.machine.date) - first) > 10 * 60_000;
    return `${b.name} ${b.machine.loadAverage1m}${later ? ` (run ${b.machine.date.slice(0, 16).replace("T", " ")} UTC)` : ""}`;
  });
  return (
    `Run of ${m.date.slice(0, 16).replace("T", " ")} UTC on ${m.cores} cores (${m.cpuModel}), Node ${m.node}. ` +
    `1-minute load average as each benchmark finished: ${each.join(", ")}.`
  );
}

function block(benchmarks, { notes }) {
  const rows = benchmarks.flatMap((b) => b.rows);
  const targets = rows.filter((r) => r.target !== undefined && r.status === "ok");
  const table = formatTable(benchmarks);
  const main = notes ? table : table.split("\n\nnotes:")[0];
  const peers = peersTable(benchmarks);
  const scale = scaleTable(benchmarks);
  return [
    runLine(benchmarks),
    "",
    "```",
    main,
    "```",
    "",
    `Targets met: ${targets.filter((r) => r.met).length} of ${targets.length}${rows.some((r) => r.status !== "ok") ? `; rows not measured: ${rows.filter((r) => r.status !== "ok").length}` : ""}.`,
    ...(peers === ""
      ? []
      : ["", "**The reader against what an app would use instead** (same run, same moto):", "", peers]),
    ...(scale === ""
      ? []
      : [
          "",
          "**Scale curve: one rotator process, one pass** (concurrency 16, moto on loopback):",
          "",
          scale,
        ]),
  ].join("\n");
}

function replaceBlock(file, text) {
  const source = readFileSync(file, "utf8");
  const start = source.indexOf(START);
  const end = source.indexOf(END);
  if (start < 0 || end < start) throw new Error(`${file} has no ${START} … ${END} markers`);
  writeFileSync(file, `${source.slice(0, start + START.length)}\n${text}\n${source.slice(end)}`);
}

const usage = `Usage: node bench/readme.js [RESULTS.json…]

Regenerates README.md's Performance figures and bench/README.md from results files written by
\`npm run bench\` (default bench/results.json). With several files, a benchmark's latest result wins.
`;

function main() {
  const args = process.argv.slice(2);
  if (args.includes("--help") || args.includes("-h")) {
    process.stdout.write(usage);
    return 0;
  }
  const flag = args.find((a) => a.startsWith("-"));
  if (flag !== undefined) {
    process.stderr.write(`unknown option ${flag}\n\n${usage}`);
    return 2;
  }
  const files = args.length > 0 ? args : [join(repoRoot, "bench", "results.json")];
  const missing = files.find((f) => !existsSync(f));
  if (missing !== undefined) {
    process.stderr.write(`${missing} does not exist: run "npm run bench" first, or name a results file\n`);
    return 2;
  }
  const { benchmarks } = load(files);
  replaceBlock(join(repoRoot, "README.md"), block(benchmarks, { notes: false }));
  replaceBlock(join(repoRoot, "bench", "README.md"), block(benchmarks, { notes: true }));
  // The project's formatter aligns the tables, so `npm run lint` stays green.
  const { execFileSync } = require("node:child_process");
  execFileSync(
    process.execPath,
    [require.resolve("@biomejs/biome/bin/biome"), "format", "--write", "README.md", "bench/README.md"],
    { cwd: repoRoot, stdio: "ignore" },
  );
  process.stdout.write("README.md and bench/README.md updated\n");
  return 0;
}

if (require.main === module) process.exitCode = main();

module.exports = { block, load };
