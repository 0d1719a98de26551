import type * as ChildProcessModule from "node:child_process";
import { appendFileSync } from "node:fs";
import { syncBuiltinESMExports } from "node:module";
import { format } from "node:util";
import { artifactPath, artifactsDir, recordChild, recordText } from "./artifacts";

/**
 * Runs in every test worker (vitest `setupFiles`) and records, for the leak scan, what tests do not
 * route through the harness themselves:
 * - every child process started with `child_process.spawn` (its stdout and stderr), whoever calls
 *   it: test files, fixtures, the harness;
 * - everything the worker prints (console methods, `process.stdout`/`process.stderr` writes), which
 *   covers in-process CLI runs, loggers and error messages tests print;
 * - the bodies of `/metrics` and `/healthz` responses fetched with `fetch`.
 * Idempotent per process (vitest runs setup files once per test file).
 */

const installed = Symbol.for("llamacloud-keys.test.record-setup");
const registry = globalThis as typeof globalThis & { [installed]?: true };

if (artifactsDir() !== undefined && registry[installed] !== true) {
  registry[installed] = true;
  // The CommonJS module object itself (an ES namespace import is read-only).
  const childProcess = process.getBuiltinModule("node:child_process") as typeof ChildProcessModule;

  const spawn = childProcess.spawn;
  const recordingSpawn = function (this: unknown, ...args: unknown[]) {
    const child = (spawn as (...a: unknown[]) => ChildProcessModule.ChildProcess).apply(this, args);
    const command = String(args[0]);
    const argv = Array.isArray(args[1]) ? (args[1] as unknown[]).map(String) : [];
    const options = (Array.isArray(args[1]) ? args[2] : args[1]) as { cwd?: string } | undefined;
    try {
      recordChild(child, command, argv, options?.cwd);
    } catch {
      // Recording must never break the test that spawned the process.
    }
    return child;
  } as typeof childProcess.spawn;
  childProcess.spawn = recordingSpawn;
  // `import { spawn } from "node:child_process"` reads the ESM facade: bring it in line.
  syncBuiltinESMExports();

  let outputFile: string | undefined;
  const record = (stream: string, text: string) => {
    try {
      outputFile ??= artifactPath("console", "worker-output", ".log");
      if (outputFile !== undefined)
        appendFileSync(outputFile, `[${stream}] ${text}${text.endsWith("\n") ? "" : "\n"}`);
    } catch {
      // never break a test over its recording
    }
  };
  for (const method of ["log", "info", "warn", "error", "debug", "trace"] as const) {
    const original = console[method].bind(console);
    console[method] = (...values: unknown[]) => {
      record(`console.${method}`, format(...values));
      original(...values);
    };
  }
  for (const name of ["stdout", "stderr"] as const) {
    const stream = process[name];
    const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      record(name, typeof chunk === "string" ? chunk : Buffer.from(chunk as Uint8Array).toString("utf8"));
      return write(chunk, ...rest);
    }) as typeof stream.write;
  }

  const fetch = globalThis.fetch;
  globalThis.fetch = async (input: Parameters<typeof fetch>[0], init?: Parameters<typeof fetch>[1]) => {
    const response = await fetch(input, init);
    try {
      const url = new URL(typeof input === "string" || input instanceof URL ? input : input.url);
      if (/\/(metrics|healthz)$/.test(url.pathname)) {
        const copy = response.clone();
        void copy.text().then(
          (text) => recordText("metrics", `${url.host}${url.pathname}`, text),
          () => undefined,
        );
      }
    } catch {
      // not a URL we record
    }
    return response;
  };
}
