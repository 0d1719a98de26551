import { copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { runProcess } from "../harness/processes";
import { repoRoot } from "../harness/tools";
import { manifest } from "./npm";

// README, Quick start: supported runtimes are Node 22 (22.19 or later) and Node 24 LTS (`engines`);
// `npm run setup` stops at once, naming the versions, on an older Node. The script runs from a copy
// in a scratch directory, so that even if the check were gone it could install nothing here.

let scratch: string;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), "llamacloud-keys-setup-node-"));
  await mkdir(join(scratch, "tools", "moto"), { recursive: true });
  await copyFile(join(repoRoot, "tools", "setup.js"), join(scratch, "tools", "setup.js"));
  await copyFile(
    join(repoRoot, "tools", "moto", "requirements.txt"),
    join(scratch, "tools", "moto", "requirements.txt"),
  );
});

afterAll(async () => {
  if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
});

test("engines is the README's runtimes: Node 22 from 22.19, and Node 24 on", () => {
  expect((manifest as unknown as { engines: { node: string } }).engines.node).toBe(">=22.19 <23 || >=24");
});

test.each(["20.20.2", "21.7.3", "22.18.0", "23.11.0"])(
  "setup on Node %s stops at once, naming the supported versions, having installed nothing",
  async (version) => {
    // The running Node reports the version under test to setup.js.
    const preload = join(scratch, `node-${version}.js`);
    await writeFile(
      preload,
      `Object.defineProperty(process.versions, "node", { value: ${JSON.stringify(version)} });\n`,
    );
    const before = (await readdir(scratch)).sort();
    const result = await runProcess(
      process.execPath,
      ["--require", preload, join(scratch, "tools", "setup.js")],
      {
        cwd: scratch,
        timeoutMs: 30_000,
      },
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`Node ${version} is not supported`);
    expect(result.stderr).toContain("Node 22 (22.19 or later) or Node 24 LTS");
    expect(result.stdout).not.toContain("setup: ");
    expect((await readdir(scratch)).sort()).toEqual(before);
  },
);
