import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { recordChild } from "./artifacts";

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** stdout and stderr as they interleaved, for error messages. */
  output: string;
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  input?: string;
  /** Kill the whole process group after this long (default 5 minutes). */
  timeoutMs?: number;
}

const live = new Set<ChildProcess>();

// Each child leads its own process group, so a kill reaches everything it started (the Pulumi CLI
// starts language hosts and provider servers); on exit of the test process nothing is left behind.
process.once("exit", () => {
  for (const child of live) killGroup(child, "SIGKILL");
});

export function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

/** Runs a command to completion in its own process group and collects its output. */
export function runProcess(command: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      detached: true,
      stdio: ["pipe", "pipe", "pipe"],
    });
    live.add(child);
    // Its output is an artifact of the run, scanned for keys by the global teardown.
    recordChild(child, command, args, options.cwd);
    let stdout = "";
    let stderr = "";
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk;
      output += chunk;
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk;
      output += chunk;
    });
    child.stdin.end(options.input ?? "");
    const timer = setTimeout(() => {
      output += `\n[harness] killed after ${options.timeoutMs ?? 300_000} ms\n`;
      killGroup(child, "SIGKILL");
    }, options.timeoutMs ?? 300_000);
    child.on("error", (error) => {
      clearTimeout(timer);
      live.delete(child);
      reject(error);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      live.delete(child);
      // Reap anything the command left running in its group (e.g. a provider server).
      killGroup(child, "SIGKILL");
      resolve({ code, signal, stdout, stderr, output });
    });
  });
}

export interface Proc {
  pid: number;
  /** Field 22 of /proc/<pid>/stat: with the pid, names one process even if the pid is reused. */
  started: string;
  command: string;
}

function procStat(pid: number): { ppid: number; started: string; state: string } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    return { state: fields[0]!, ppid: Number(fields[1]), started: fields[19]! };
  } catch {
    return undefined;
  }
}

/** Every process below `root` (Linux /proc) (Pulumi's language host, program, provider shim and server). */
export function descendants(root: number): Proc[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const info = procStat(Number(entry));
    if (info === undefined) continue;
    children.set(info.ppid, [...(children.get(info.ppid) ?? []), Number(entry)]);
  }
  const found: Proc[] = [];
  const queue = [...(children.get(root) ?? [])];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    const info = procStat(pid);
    if (info === undefined) continue;
    let command = "";
    try {
      command = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ").trim();
    } catch {
      // exited meanwhile
    }
    found.push({ pid, started: info.started, command });
    queue.push(...(children.get(pid) ?? []));
  }
  return found;
}

/** Whether `proc` still runs: the same pid and start time, not a zombie. */
export function alive(proc: Proc): boolean {
  const info = procStat(proc.pid);
  return info !== undefined && info.started === proc.started && info.state !== "Z";
}
