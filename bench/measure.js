// Timing and process helpers shared by the benchmarks. Machines here are shared and noisy, so
// nothing is reported alone: each figure is compared with a baseline measured in the same run,
// interleaved with it (A, B, A, B…) so a burst of noise hits both sides.

const { spawn } = require("node:child_process");
const { readFileSync } = require("node:fs");
const os = require("node:os");

/** Median of a non-empty list of numbers. */
function median(values) {
  if (values.length === 0) throw new Error("median of nothing");
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Milliseconds since `start` (a `process.hrtime.bigint()`), as a float. */
function msSince(start) {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/**
 * Runs `count` sequential awaited calls of `fn` and returns the mean nanoseconds per call. Batching
 * keeps the timer's own cost out of sub-microsecond figures.
 */
async function nsPerCall(fn, count) {
  const start = process.hrtime.bigint();
  for (let i = 0; i < count; i++) await fn(i);
  return Number(process.hrtime.bigint() - start) / count;
}

/** Synchronous variant of {@link nsPerCall}; the result is kept alive so V8 cannot drop the call. */
function nsPerSyncCall(fn, count) {
  let sink;
  const start = process.hrtime.bigint();
  for (let i = 0; i < count; i++) sink = fn(i);
  const ns = Number(process.hrtime.bigint() - start) / count;
  if (sink === Symbol.for("never")) console.log(sink);
  return ns;
}

/**
 * Measures `a` and `b` alternately, `samples` times each, and returns both lists. `measure(fn)`
 * returns one sample (e.g. ns per call over a batch).
 */
async function alternate(samples, a, b) {
  const as = [];
  const bs = [];
  for (let i = 0; i < samples; i++) {
    // Swap the order every other round so neither side always runs on a warmer cache.
    if (i % 2 === 0) {
      as.push(await a());
      bs.push(await b());
    } else {
      bs.push(await b());
      as.push(await a());
    }
  }
  return { a: as, b: bs };
}

/** Runs `total` tasks with `concurrency` workers; `task(i)` is awaited. Returns elapsed ms. */
async function runConcurrently(total, concurrency, task) {
  let next = 0;
  const start = process.hrtime.bigint();
  const worker = async () => {
    while (next < total) {
      const i = next++;
      await task(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, worker));
  return msSince(start);
}

/** The machine a result was measured on. */
function machineInfo() {
  const cpus = os.cpus();
  return {
    cores: cpus.length,
    cpuModel: cpus[0]?.model?.trim() ?? "unknown",
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    totalMemoryMB: Math.round(os.totalmem() / 2 ** 20),
    // The 1-minute load average when the run started: a high one explains noisy figures.
    loadAverage1m: Number(os.loadavg()[0].toFixed(2)),
    date: new Date().toISOString(),
  };
}

/** Resident set size of a live process, in MB (Linux /proc; `ps` elsewhere). */
function rssMB(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    if (match) return Number(match[1]) / 1024;
  } catch {
    // not Linux, or the process is gone: try ps
  }
  const { execFileSync } = require("node:child_process");
  const out = execFileSync("ps", ["-o", "rss=", "-p", String(pid)], { encoding: "utf8" }).trim();
  if (out === "") throw new Error(`process ${pid} is gone`);
  return Number(out) / 1024;
}

const children = new Set();
// Whatever a benchmark started dies with it, even when it throws or is interrupted.
process.once("exit", () => {
  for (const child of children) {
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
});

/**
 * Spawns a process in its own group (so a kill reaches its children) and registers it for cleanup.
 * Returns the child; `exited` resolves with `{ code, signal }` once its output is all read.
 */
function spawnTracked(command, args, options = {}) {
  const child = spawn(command, args, { ...options, detached: true, stdio: options.stdio ?? "pipe" });
  children.add(child);
  child.exited = new Promise((resolve) => {
    child.once("close", (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    });
    child.once("error", (error) => {
      children.delete(child);
      resolve({ code: null, signal: null, error });
    });
  });
  return child;
}

/** Sends `signal` to a tracked child's whole group. */
function killTree(child, signal = "SIGTERM") {
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

/**
 * Runs a command to completion and returns `{ code, signal, stdout, stderr, ms }` (`ms`: wall time
 * from spawn to exit). Killed after `timeoutMs`.
 */
async function run(command, args, { env, cwd, timeoutMs = 120_000, input } = {}) {
  const start = process.hrtime.bigint();
  const child = spawnTracked(command, args, { env, cwd });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk) => {
    stdout += chunk;
  });
  child.stderr.on("data", (chunk) => {
    stderr += chunk;
  });
  child.stdin.end(input ?? "");
  const timer = setTimeout(() => {
    stderr += `\n[bench] killed after ${timeoutMs} ms\n`;
    killTree(child, "SIGKILL");
  }, timeoutMs);
  const { code, signal, error } = await child.exited;
  clearTimeout(timer);
  if (error) throw error;
  return { code, signal, stdout, stderr, ms: msSince(start) };
}

/** The last `lines` lines of a text, for error messages. */
function tail(text, lines = 15) {
  return text.trim().split("\n").slice(-lines).join("\n");
}

module.exports = {
  alternate,
  killTree,
  machineInfo,
  median,
  msSince,
  nsPerCall,
  nsPerSyncCall,
  rssMB,
  run,
  runConcurrently,
  spawnTracked,
  tail,
};
