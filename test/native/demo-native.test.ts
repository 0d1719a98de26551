import { join } from "node:path";
import { expect, it } from "vitest";
import { runProcess } from "../harness/processes";
import { repoRoot } from "../harness/tools";
import { requireBuilt } from "../rotator/fixtures";

// `npm run demo -- --native`: one native rotation through the local engine, then status and rotate.
// Its output is an artifact of the run, so the suite's leak scan reads it (and the demo's emulator
// records every key it issues).

it("shows the four steps run by the function, the new key current, and the secret reported as native", async () => {
  requireBuilt();
  const demo = await runProcess(
    process.execPath,
    [join(repoRoot, "examples", "demo", "demo.js"), "--native"],
    {
      cwd: repoRoot,
      timeoutMs: 240_000,
    },
  );
  expect(demo.code, demo.output).toBe(0);
  for (const step of [
    "createSecret: minted key",
    "setSecret:",
    "testSecret: key",
    "finishSecret: AWSCURRENT →",
  ]) {
    expect(demo.stdout).toContain(`lambda: ${step}`);
  }
  expect(demo.stdout).toMatch(/mode {9}native \(Secrets Manager rotates it\)/);
  expect(demo.stdout).toMatch(/native rotation: would call RotateSecret/);
  expect(demo.stdout).toMatch(/^Summary: one native rotation/m);
});
