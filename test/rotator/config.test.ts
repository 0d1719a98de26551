import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type CliIo, main } from "../../rotator/cli";
import { loadConfig } from "../../rotator/config";
import { fakeKey } from "../harness/fake-key";

const env = { LLAMA_CLOUD_API_KEY: "llx-config-test-key-not-real-000000000000000000000" };
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "llamacloud-keys-rotator-config-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("LlamaCloud base URL", () => {
  test("the config file's baseUrl is used, and wins over LLAMA_CLOUD_BASE_URL like region and endpoint do", async () => {
    const file = join(dir, "eu.json");
    await writeFile(file, JSON.stringify({ baseUrl: "https://api.cloud.eu.llamaindex.ai" }));
    const fromFile = loadConfig(
      "rotate",
      { config: file },
      { ...env, LLAMA_CLOUD_BASE_URL: "http://127.0.0.1:1" },
    );
    expect(fromFile.llamaCloud.baseUrl).toBe("https://api.cloud.eu.llamaindex.ai");

    const fromEnv = loadConfig("rotate", {}, { ...env, LLAMA_CLOUD_BASE_URL: "http://127.0.0.1:1" });
    expect(fromEnv.llamaCloud.baseUrl).toBe("http://127.0.0.1:1");
  });
});

describe("usage errors never echo a key pasted into the command line", () => {
  const pasted = fakeKey("PastedByMistake0123456789abcdefghijklmnopqrstuvwxyzAB");
  const run = async (argv: string[]) => {
    let stderr = "";
    const io: CliIo = {
      stdout: () => {},
      stderr: (text) => {
        stderr += text;
      },
      env,
    };
    const code = await main(argv, io);
    return { code, stderr };
  };

  test.each([
    ["as the command", [pasted]],
    ["as an unknown flag", ["rotate", `--${pasted}`]],
    ["as a flag value that fails validation", ["rotator", "--schedule", pasted]],
  ])("%s", async (_label, argv) => {
    const { code, stderr } = await run(argv);
    expect(code).toBe(2);
    expect(stderr).not.toContain(pasted.slice(4));
    expect(stderr.length).toBeGreaterThan(0);
  });
});

describe("loadConfig's own errors never quote a key (an embedder may print them unscrubbed)", () => {
  const pasted = fakeKey("PastedIntoConfig0123456789abcdefghijklmnopqrstuvwxyz");
  test.each([
    ["schedule", { schedule: pasted }],
    ["listen", { listen: pasted }],
  ])("a key given as %s is refused with the field named and the key scrubbed", (field, flags) => {
    let message = "";
    try {
      loadConfig("rotator", flags, env);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain(field);
    expect(message).toContain("llx-");
    expect(message).not.toContain(pasted.slice(4, 16));
  });
});
