#!/usr/bin/env node

// `npm run bench` → `node bench/run.js [--quick] [--only NAME[,NAME]] [--out FILE]`
//
// Runs each benchmark file (one per hot path) in a process of its own, so one's heap, JIT state or
// crash cannot colour another's figures; prints one table and writes bench/results.json. Every
// figure is a ratio against a baseline measured in the same run, or a count; targets are printed
// beside the results (✓/✗), never asserted. `--quick` shrinks every benchmark to a smoke test
// (under a minute in all) for `npm test`.

const { existsSync, writeFileSync } = require("node:fs");
const { join, relative } = require("node:path");
const { parseArgs } = require("node:util");
const { machineInfo, spawnTracked } = require("./measure");
const { formatTable, repoRoot } = require("./report");
const { startMoto } = require("./services");

/** In run order: the cheap, self-contained ones first. */
const BENCHMARKS = [
  { name: "payload", needsMoto: false },
  { name: "reader", needsMoto: true },
  { name: "reader-peers", needsMoto: true },
  { name: "emulator", needsMoto: false },
  { name: "startup", needsMoto: true },
  { name: "rotation", needsMoto: true },
  { name: "scale", needsMoto: true },
  // Starts its own moto (the native engine: moto whose Lambda invoke runs the packaged function).
  { name: "native", needsMoto: false },
  { name: "pulumi", needsMoto: true },
];

const usage = `Usage: node bench/run.js [--quick] [--only NAME[,NAME…]] [--out FILE]

  --quick        every benchmark reduced to a smoke test (few iterations, small N): under a minute
  --only NAMES   run only these (${BENCHMARKS.map((b) => b.name).join(", ")})
  --out FILE     where to write the JSON results (default bench/results.json)
`;

async function main() {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        quick: { type: "boolean" },
        only: { type: "string", multiple: true },
        out: { type: "string" },
        help: { type: "boolean" },
      },
    }));
  } catch (error) {
    process.stderr.write(`${error.message}\n\n${usage}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(usage);
    return 0;
  }
  const only = (values.only ?? []).flatMap((v) => v.split(",")).filter(Boolean);
  const unknown = only.filter((name) => !BENCHMARKS.some((b) => b.name === name));
  if (unknown.length > 0) {
    process.stderr.write(`unknown benchmark(s): ${unknown.join(", ")}\n\n${usage}`);
    return 2;
  }
  if (!existsSync(join(repoRoot, "dist", "secrets", "index.js"))) {
    process.stderr.write('dist/ is not built: run "npm run bench" (it builds first) or "npm run build"\n');
    return 2;
  }
  const selected = only.length === 0 ? BENCHMARKS : BENCHMARKS.filter((b) => only.includes(b.name));
  const quick = values.quick === true;
  const out = values.out ?? join(repoRoot, "bench", "results.json");
  const machine = machineInfo();
  const started = Date.now();
  process.stderr.write(
    `bench: ${quick ? "quick" : "full"} run of ${selected.map((b) => b.name).join(", ")} on ${machine.cores} × ${machine.cpuModel}, Node ${machine.node}, load ${machine.loadAverage1m}\n`,
  );

  // One moto for every benchmark (each keeps to regions of its own): starting it costs seconds.
  let moto;
  if (selected.some((b) => b.needsMoto)) {
    try {
      moto = await startMoto();
    } catch (error) {
      // Each benchmark that needs it will try again and report the reason in its row.
      process.stderr.write(`bench: moto did not start: ${error.message}\n`);
    }
  }

  const results = [];
  try {
    for (const b of selected) {
      process.stderr.write(`bench: ${b.name}…\n`);
      results.push(await runOne(b.name, { quick, motoEndpoint: moto?.endpoint }));
    }
  } finally {
    await moto?.stop();
  }

  const report = {
    command: `node bench/run.js${quick ? " --quick" : ""}${only.length > 0 ? ` --only ${only.join(",")}` : ""}`,
    quick,
    machine,
    elapsedMs: Date.now() - started,
    benchmarks: results,
  };
  writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);

  const rows = results.flatMap((r) => r.rows);
  const targets = rows.filter((r) => r.target !== undefined && r.status === "ok");
  const errors =
    results.filter((r) => r.status === "error").length + rows.filter((r) => r.status === "error").length;
  process.stdout.write(`\n${formatTable(results)}\n\n`);
  process.stdout.write(
    `${machine.cores} cores (${machine.cpuModel}), Node ${machine.node}, ${machine.date}, load average ${machine.loadAverage1m}; ` +
      `${(report.elapsedMs / 1000).toFixed(1)} s${quick ? " (quick: reduced sizes, figures are a smoke test only)" : ""}\n`,
  );
  process.stdout.write(
    `targets met: ${targets.filter((r) => r.met).length}/${targets.length}; ` +
      `rows missing a part: ${rows.filter((r) => r.status === "missing").length}; errors: ${errors}; ` +
      `results: ${relative(process.cwd(), out) || out}\n`,
  );
  // A missed target is information, not a failure; a benchmark that could not run is, and so is
  // a part reported missing (everything is built by "npm run bench"; a missing row means a build
  // or install step did not happen, and a smoke run must not pass without measuring it).
  const missingRows = rows.filter((r) => r.status === "missing").length;
  if (missingRows > 0)
    process.stderr.write(`bench: ${missingRows} row(s) could not be measured (missing a part)\n`);
  return errors > 0 || missingRows > 0 ? 1 : 0;
}

/** Runs `bench/<name>.js --json` and returns its result, or an error result saying why there is none. */
async function runOne(name, { quick, motoEndpoint }) {
  const file = join(__dirname, `${name}.js`);
  const args = [file, "--json", ...(quick ? ["--quick"] : [])];
  const child = spawnTracked(process.execPath, args, {
    cwd: repoRoot,
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      ...(motoEndpoint === undefined ? {} : { BENCH_MOTO_ENDPOINT: motoEndpoint }),
    },
  });
  let stdout = "";
  child.stdout.on("data", (chunk) => {
    stdout += chunk;
  });
  child.stderr.pipe(process.stderr, { end: false });
  const limitMs = quick ? 120_000 : 45 * 60_000;
  const timer = setTimeout(() => {
    process.stderr.write(`bench: ${name} still running after ${limitMs / 1000} s; killing it\n`);
    process.kill(-child.pid, "SIGKILL");
  }, limitMs);
  const { code, signal } = await child.exited;
  clearTimeout(timer);
  const last = stdout.trim().split("\n").pop() ?? "";
  try {
    const result = JSON.parse(last);
    if (result.name === name) return result;
  } catch {
    // fall through: no result line
  }
  return {
    name,
    status: "error",
    reason: `bench/${name}.js exited ${code ?? signal} without a result`,
    rows: [],
    quick,
    machine: machineInfo(),
  };
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    process.stderr.write(`bench: ${error?.stack ?? error}\n`);
    process.exitCode = 1;
  },
);
