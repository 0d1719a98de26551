import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { type EmulatorHandle, startEmulator } from "../../llamacloud/emulator";
import { runProcess } from "../harness/processes";
import { repoRoot } from "../harness/tools";
import { distDir, requireDist, useMoto } from "./fixtures";

// What the provider process pays before its first create: `configure`, `check` and `diff` (all a
// `pulumi preview` runs) load neither the AWS SDK nor undici; the first create loads them. Run in a
// plain `node` child, whose module cache is the real one, through the provider object the engine
// deserializes (it requires the compiled operations module by path), against the emulator and moto.

requireDist("provider/api-key-provider.js");
const providerModule = join(distDir, "provider", "api-key-provider.js");
const region = "test-lean-provider";
let emulator: EmulatorHandle;

beforeAll(async () => {
  useMoto(region);
  emulator = await startEmulator();
});

afterAll(async () => {
  await emulator?.close();
});

test("check and diff load neither the AWS SDK nor undici; the first create loads both", async () => {
  const secretName = `test/lean-provider/${randomUUID()}`;
  const script = `
    // The packages in the module cache that configure/check/diff must not need.
    const heavy = () => {
      const names = new Set();
      for (const file of Object.keys(require.cache)) {
        const at = file.lastIndexOf("/node_modules/");
        if (at < 0) continue;
        const [first, second] = file.slice(at + "/node_modules/".length).split("/");
        const name = first.startsWith("@") ? first + "/" + second : first;
        if (/^(@aws-sdk\\/|@smithy\\/|@aws-crypto\\/|@aws\\/|undici$)/.test(name)) names.add(name);
      }
      return [...names].sort();
    };
    const { apiKeyProvider: provider } = require(${JSON.stringify(providerModule)});
    (async () => {
      // No stack config: the credentials come from the environment, as in CI.
      await provider.configure({ config: { get: () => undefined } });
      const news = {
        projectName: "search", environment: "prod", name: "lean", secretName: ${JSON.stringify(secretName)},
        recoveryWindowInDays: 0, rotation: { every: "30d", grace: "2h" }, tags: { team: "search" },
      };
      const checked = await provider.check({}, news);
      const refused = await provider.check({}, { projectId: "not-a-uuid", environment: "prod" });
      const renamed = await provider.check(checked.inputs, { ...news, name: "lean2" });
      const moved = await provider.check(checked.inputs, { ...news, environment: "staging" });
      const state = { __inputs: checked.inputs };
      const update = await provider.diff("id", state, renamed.inputs);
      const replace = await provider.diff("id", state, moved.inputs);
      const beforeCreate = heavy();
      const created = await provider.create(checked.inputs);
      const afterCreate = heavy();
      await provider.delete(created.id, created.outs);
      process.stdout.write(JSON.stringify({
        checked: checked.failures === undefined, refused: (refused.failures ?? []).length,
        update: update.changes === true && update.replaces.length === 0,
        replace: replace.replaces,
        beforeCreate, afterCreate, created: created.outs.secretName,
      }) + "\\n");
    })().catch((error) => { console.error(error); process.exit(1); });
  `;
  const result = await runProcess(process.execPath, ["-e", script], {
    cwd: repoRoot,
    env: { ...process.env, LLAMA_CLOUD_API_KEY: emulator.adminKey, LLAMA_CLOUD_BASE_URL: emulator.url },
    timeoutMs: 120_000,
  });
  expect(result.code, result.output).toBe(0);
  const out = JSON.parse(result.stdout.trim().split("\n").pop() ?? "{}") as Record<string, unknown>;
  // The inputs were realistic: valid ones pass, bad ones fail, and diff decided both ways.
  expect(out).toMatchObject({
    checked: true,
    update: true,
    replace: ["environment"],
    created: secretName,
    beforeCreate: [],
  });
  expect(out["refused"]).toBeGreaterThan(0);
  expect(out["afterCreate"]).toEqual(expect.arrayContaining(["@aws-sdk/client-secrets-manager", "undici"]));
});
