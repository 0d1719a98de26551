// What a benchmark reports and how it is printed. Each benchmark file calls `benchmark(name, fn)`;
// `fn` returns rows made with `row()` / `missing()`. Run alone, a file prints its own table; run by
// `bench/run.js` (with `--json`), it prints one JSON line that run.js collects.

const { existsSync } = require("node:fs");
const { join } = require("node:path");
const { machineInfo } = require("./measure");

const repoRoot = join(__dirname, "..");

/**
 * A result row. `value` (in `unit`) is measured; `baseline` is measured in the same run and
 * `ratio` = value / baseline.value unless given. `target` is checked against `value` or `ratio`:
 * `{ on: "value" | "ratio", op: "<=" | ">=" | "==", limit, text }`. Targets are reported, never
 * asserted. `peers` (optional): `{ [alternative]: { value, unit } }`, the same measure for each
 * alternative, printed as columns side by side in the README.
 */
function row({ name, value, unit, baseline, ratio, target, detail, peers, curve }) {
  const r = { name, status: "ok", value: round(value), unit };
  if (baseline !== undefined) {
    r.baseline = { ...baseline, value: round(baseline.value) };
    r.ratio = round(ratio ?? value / baseline.value);
  } else if (ratio !== undefined) {
    r.ratio = round(ratio);
  }
  if (target !== undefined) {
    r.target = target;
    const measured = target.on === "ratio" ? r.ratio : value;
    r.met =
      target.op === "<="
        ? measured <= target.limit
        : target.op === ">="
          ? measured >= target.limit
          : measured === target.limit;
  }
  if (detail !== undefined) r.detail = detail;
  // The same measure for each alternative a user would weigh (README's peers table): name → figure.
  // A point of the scale curve (README's scale table): plain figures, kept as measured.
  if (curve !== undefined) r.curve = curve;
  if (peers !== undefined) {
    r.peers = Object.fromEntries(Object.entries(peers).map(([k, v]) => [k, { ...v, value: round(v.value) }]));
  }
  return r;
}

/** A row for something that could not be measured because a part is not built: never a number. */
function missing(name, reason, target) {
  return { name, status: "missing", reason, ...(target === undefined ? {} : { target }) };
}

/** A row for a measurement that failed. */
function failed(name, reason, target) {
  return { name, status: "error", reason, ...(target === undefined ? {} : { target }) };
}

/** Undefined when `dist/<relative>` is built, else the reason to report: "dist/rotator not built (…)". */
function notBuilt(relative) {
  if (existsSync(join(repoRoot, "dist", relative))) return undefined;
  return `dist/${relative.split("/")[0]} not built (no dist/${relative})`;
}

/** Three significant digits: enough for ratios of noisy timings. */
function round(x) {
  if (typeof x !== "number" || !Number.isFinite(x) || x === 0) return x;
  const digits = Math.max(0, 2 - Math.floor(Math.log10(Math.abs(x))));
  return Number(x.toFixed(Math.min(digits, 6)));
}

function parseFlags(argv) {
  return { quick: argv.includes("--quick"), json: argv.includes("--json") };
}

/**
 * Runs one benchmark: `fn({ quick, log })` returns rows. Progress goes to stderr. With `--json`, the
 * result is the last stdout line; otherwise a table is printed. Exits 0 unless the benchmark itself
 * crashed (a missed target is not a failure).
 */
function benchmark(name, fn) {
  const flags = parseFlags(process.argv.slice(2));
  const log = (message) => process.stderr.write(`[${name}] ${message}\n`);
  const started = Date.now();
  const finish = (result) => {
    const full = {
      name,
      ...result,
      elapsedMs: Date.now() - started,
      quick: flags.quick,
      machine: machineInfo(),
    };
    if (flags.json) process.stdout.write(`${JSON.stringify(full)}\n`);
    else process.stdout.write(`${formatTable([full])}\n`);
  };
  Promise.resolve()
    .then(() => fn({ quick: flags.quick, log }))
    .then(
      (rows) => {
        const status = rows.every((r) => r.status === "missing") ? "missing" : "ok";
        finish({ status, rows });
        process.exit(0);
      },
      (error) => {
        log(error?.stack ?? String(error));
        finish({ status: "error", reason: String(error?.message ?? error), rows: [] });
        process.exit(1);
      },
    );
}

// ---- printing ----

function fmt(value, unit) {
  if (value === undefined) return "";
  const n = typeof value === "number" ? value.toLocaleString("en-US", { maximumFractionDigits: 6 }) : value;
  return unit === undefined || unit === "" ? String(n) : `${n} ${unit}`;
}

function targetCell(r) {
  if (r.target === undefined) return "";
  if (r.status !== "ok") return `${r.target.text} ?`;
  return `${r.target.text} ${r.met ? "✓" : "✗"}`;
}

/** The table printed at the end of a run: one line per row, missing parts said in words. */
function formatTable(benchmarks) {
  const lines = [["benchmark", "measure", "result", "baseline (same run)", "ratio", "target"]];
  for (const b of benchmarks) {
    if (b.rows.length === 0) {
      lines.push([b.name, `(${b.status})`, b.reason ?? "", "", "", ""]);
      continue;
    }
    for (const r of b.rows) {
      if (r.status !== "ok") {
        lines.push([b.name, r.name, `${r.status}: ${shorten(r.reason ?? "", 70)}`, "", "", targetCell(r)]);
        continue;
      }
      const baseline =
        r.baseline === undefined ? "" : `${fmt(r.baseline.value, r.baseline.unit)} (${r.baseline.name})`;
      const ratio = r.ratio === undefined ? "" : `${r.ratio}×`;
      lines.push([b.name, r.name, fmt(r.value, r.unit), baseline, ratio, targetCell(r)]);
    }
  }
  const widths = lines[0].map((_, col) => Math.max(...lines.map((l) => [...l[col]].length)));
  const render = (l) =>
    l
      .map((cell, col) => cell + " ".repeat(widths[col] - [...cell].length))
      .join("  ")
      .trimEnd();
  const table = [
    render(lines[0]),
    widths.map((w) => "-".repeat(w)).join("  "),
    ...lines.slice(1).map(render),
  ];
  // How each figure was obtained (sizes, runs, what the ratio compares) goes below the table.
  const notes = benchmarks.flatMap((b) =>
    b.rows.filter((r) => r.detail !== undefined).map((r) => `  ${b.name} / ${r.name}: ${r.detail}`),
  );
  return [...table, ...(notes.length > 0 ? ["", "notes:", ...notes] : [])].join("\n");
}

function shorten(text, max) {
  const flat = text.replace(/\s+/g, " ");
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

module.exports = { benchmark, failed, formatTable, missing, notBuilt, repoRoot, row };
