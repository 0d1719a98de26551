import { type ChildProcess, spawn } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { freePort } from "./ports";
import { installedTools } from "./tools";

export interface MotoServer {
  /** e.g. `http://127.0.0.1:41234`; pass as the AWS SDK `endpoint`. */
  endpoint: string;
  stop(): Promise<void>;
}

/** Credentials moto accepts; any region works, tests use their own to keep inventories apart. */
export const motoCredentials = { accessKeyId: "test", secretAccessKey: "test" } as const;

/**
 * Starts moto's server on a free loopback port and waits until it answers. The process is killed
 * by `stop()`, and also when this process exits, so a failing test leaves nothing behind.
 */
export async function startMoto(): Promise<MotoServer> {
  const { motoServer } = installedTools();
  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const child = spawn(motoServer, ["-H", "127.0.0.1", "-p", String(port)], {
      stdio: ["ignore", "ignore", "pipe"],
      env: { ...process.env, MOTO_ALLOW_NONEXISTENT_REGION: "true" },
    });
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
    });
    const endpoint = `http://127.0.0.1:${port}`;
    try {
      await waitUntilUp(endpoint, child, () => stderr);
      const killOnExit = () => child.kill("SIGKILL");
      process.once("exit", killOnExit);
      return {
        endpoint,
        stop: async () => {
          process.removeListener("exit", killOnExit);
          await stopChild(child);
        },
      };
    } catch (error) {
      lastError = error;
      await stopChild(child);
    }
  }
  throw new Error(`moto's server did not start after 5 attempts: ${String(lastError)}`);
}

/** Empties every region of a shared moto server. */
async function waitUntilUp(endpoint: string, child: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(`moto_server exited with ${child.exitCode}: ${stderr()}`);
    }
    try {
      const response = await fetch(`${endpoint}/moto-api/data.json`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`moto_server did not answer on ${endpoint} within 30 s: ${stderr()}`);
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
  await exited;
  clearTimeout(timer);
}
