import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { type EmulatorHandle, startEmulator } from "../../llamacloud/emulator";
import { runProcess } from "../harness/processes";
import { repoRoot } from "../harness/tools";

// Every command that calls LlamaCloud (the CLI's preflight included) loads the client. undici's
// entry point loads every dispatcher, fetch, WebSocket, the cache stores and the mock agents; the
// client needs one Agent and the request API, so it loads those files alone (issue #17: `status`
// start-up and the daemon's idle memory). Proved on the built package in a fresh process, with
// a real call to the emulator, so the lighter path is the one that answers.

let emulator: EmulatorHandle;
beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(async () => {
  await emulator?.close();
});

test("a client's calls work without loading undici's entry point", async () => {
  const script = `
    const { createLlamaCloudClient } = require(${JSON.stringify(join(repoRoot, "dist", "llamacloud", "client.js"))});
    const client = createLlamaCloudClient({ apiKey: process.env.KEY, baseUrl: process.env.URL });
    client.listOrganizations().then(async (organizations) => {
      await client.close();
      const loaded = Object.keys(require.cache).filter((f) => f.includes("/node_modules/undici/"));
      process.stdout.write(JSON.stringify({
        organizations: organizations.length,
        entryPoint: loaded.some((f) => f.endsWith("/node_modules/undici/index.js")),
        undiciModules: loaded.length,
      }));
    });
  `;
  const result = await runProcess(process.execPath, ["-e", script], {
    env: { ...process.env, KEY: emulator.adminKey, URL: emulator.url },
  });
  expect(result.code, result.stderr).toBe(0);
  const report = JSON.parse(result.stdout) as {
    organizations: number;
    entryPoint: boolean;
    undiciModules: number;
  };
  expect(report.organizations).toBeGreaterThan(0);
  expect(report.entryPoint).toBe(false);
  // The Agent and the request API do load (the call went through undici), a fraction of its files.
  expect(report.undiciModules).toBeGreaterThan(0);
  expect(report.undiciModules).toBeLessThan(60);
});
