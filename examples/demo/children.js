// Child processes for the demo. Each one leads its own process group, so Ctrl-C in the terminal
// reaches the demo only, which then stops every group it started, in order, by id; a signal to a
// group also reaches what the child started in it (the Pulumi CLI's own plugins: see stopGroup).

const { spawn } = require("node:child_process");
const { readdirSync, readFileSync } = require("node:fs");
const { createServer } = require("node:net");
const { createInterface } = require("node:readline");
const { setTimeout: sleep } = require("node:timers/promises");

/** Every group still running, so an interrupt or a failure can stop them all. */
const live = new Set();
/** Every pid ever started, for the report the demo's test checks (none may outlive the demo). */
const startedPids = [];

/**
 * Starts `command` in its own process group. `onLine(line, stream)` sees each output line; the last
 * lines are kept (`tail()`) to explain a failure even in --quiet mode.
 */
function start(command, args, { cwd, env, input, onLine } = {}) {
  const child = spawn(command, args, {
    cwd,
    env,
    detached: true,
    stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
  });
  const lines = [];
  const exited = new Promise((resolve, reject) => {
    child.once("error", (error) => {
      live.delete(handle);
      reject(error);
    });
    child.once("close", (code, signal) => {
      live.delete(handle);
      resolve({ code, signal });
    });
  });
  for (const stream of ["stdout", "stderr"]) {
    createInterface({ input: child[stream], crlfDelay: Number.POSITIVE_INFINITY }).on("line", (line) => {
      lines.push(line);
      if (lines.length > 40) lines.shift();
      onLine?.(line, stream);
    });
  }
  if (input !== undefined) child.stdin.end(input);
  const handle = {
    child,
    pid: child.pid,
    exited,
    tail: () => lines.slice(),
    stop: (graceMs) => stopGroup(handle, graceMs),
  };
  live.add(handle);
  if (child.pid !== undefined) startedPids.push(child.pid);
  return handle;
}

/** Runs a command to completion; resolves with its exit code and signal (never throws on a non-zero code). */
async function run(command, args, options) {
  const handle = start(command, args, options);
  const result = await handle.exited;
  // Reap anything the command left running in its group.
  signalGroup(handle.pid, "SIGKILL");
  return { ...result, tail: handle.tail() };
}

/**
 * SIGTERM to the whole group, then SIGKILL if it is still there after `graceMs`. The Pulumi CLI puts
 * its language host and provider servers in groups of their own. It stops its providers on SIGTERM
 * but not always its language host (v3.276.0 left `pulumi-language-nodejs` running, orphaned, after
 * a SIGTERM during `up`), and if the CLI has to be killed everything it started would be orphaned:
 * so the tree's groups are noted first and all of them killed once the CLI has exited.
 */
async function stopGroup(handle, graceMs = 3000) {
  if (!live.has(handle)) return;
  const groups = new Set([handle.pid, ...descendants(handle.pid).map(groupOf)]);
  signalGroup(handle.pid, "SIGTERM");
  const timer = setTimeout(() => {
    for (const pid of descendants(handle.pid)) groups.add(groupOf(pid));
    for (const group of groups) signalGroup(group, "SIGKILL");
  }, graceMs);
  await handle.exited.catch(() => undefined);
  clearTimeout(timer);
  // The leader is gone; anything it started and left behind, in its group or its plugins', goes too.
  for (const group of groups) signalGroup(group, "SIGKILL");
}

/** Pids below `pid` (Linux /proc; elsewhere none, and the process group has to do). */
function descendants(pid) {
  let entries;
  try {
    entries = readdirSync("/proc").filter((name) => /^\d+$/.test(name));
  } catch {
    return [];
  }
  const children = new Map();
  for (const entry of entries) {
    const parent = statField(entry, 1);
    if (parent === undefined) continue;
    if (!children.has(parent)) children.set(parent, []);
    children.get(parent).push(Number(entry));
  }
  const found = [];
  const queue = [pid];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

const ownGroup = statField(String(process.pid), 2);

function groupOf(pid) {
  return statField(String(pid), 2);
}

/** Field `n` after the command name of /proc/<pid>/stat: 1 = ppid, 2 = pgid. */
function statField(pid, n) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name is in parentheses and may contain spaces: split after its closing one.
    const value = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[n]);
    return Number.isInteger(value) && value > 0 ? value : undefined;
  } catch {
    return undefined;
  }
}

function signalGroup(pid, signal) {
  // Never our own group (a child that joined it would take the demo down with it).
  if (pid === undefined || pid === ownGroup) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

/** Stops every group still running, the most recently started first (the app before its servers). */
async function stopAll(graceMs) {
  for (const handle of [...live].reverse()) await stopGroup(handle, graceMs);
}

/** A loopback port that was free a moment ago (the caller retries if it loses the race). */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Polls `check` until it returns a truthy value; throws `message()` after `timeoutMs`. */
async function waitFor(check, { timeoutMs, intervalMs = 100, message }) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(message());
    await sleep(intervalMs);
  }
}

module.exports = { freePort, run, start, startedPids, stopAll, stopGroup, waitFor };
