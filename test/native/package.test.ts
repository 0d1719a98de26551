import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inflateRawSync } from "node:zlib";
import { expect, it } from "vitest";
import { runProcess } from "../harness/processes";
import { repoRoot } from "../harness/tools";

/**
 * `npm run package:lambda`: one bundled file with its dependencies, reproducible, its size printed;
 * the bundle is self-contained (it runs from an empty directory, with no node_modules).
 */

const script = join(repoRoot, "tools", "package-lambda.js");

async function packageTo(out: string): Promise<string> {
  const run = await runProcess(process.execPath, [script, "--out", out], { cwd: repoRoot });
  expect(run.code, run.output).toBe(0);
  return run.stdout;
}

/** The entries of a zip: name, DOS date/time, and the inflated bytes (one-entry archives). */
function entries(zip: Buffer): { name: string; time: number; date: number; data: Buffer }[] {
  const found: { name: string; time: number; date: number; data: Buffer }[] = [];
  let offset = 0;
  while (zip.readUInt32LE(offset) === 0x04034b50) {
    const size = zip.readUInt32LE(offset + 18);
    const nameLength = zip.readUInt16LE(offset + 26);
    const extra = zip.readUInt16LE(offset + 28);
    const name = zip.subarray(offset + 30, offset + 30 + nameLength).toString("utf8");
    const start = offset + 30 + nameLength + extra;
    found.push({
      name,
      time: zip.readUInt16LE(offset + 10),
      date: zip.readUInt16LE(offset + 12),
      data: inflateRawSync(zip.subarray(start, start + size)),
    });
    offset = start + size;
  }
  return found;
}

it("builds the same bytes twice from the same sources, prints its size, and holds one file: index.js", async () => {
  const dir = mkdtempSync(join(tmpdir(), "llamacloud-keys-package-"));
  const first = await packageTo(join(dir, "a.zip"));
  await packageTo(join(dir, "b.zip"));
  const a = readFileSync(join(dir, "a.zip"));
  expect(a.equals(readFileSync(join(dir, "b.zip")))).toBe(true);
  expect(first).toContain(`${statSync(join(dir, "a.zip")).size} bytes`);
  expect(first).toContain("handler index.handler");
  const files = entries(a);
  expect(files.map((f) => f.name)).toEqual(["index.js"]);
  // No build clock in the archive: 1980-01-01 00:00.
  expect([files[0]!.date, files[0]!.time]).toEqual([(0 << 9) | (1 << 5) | 1, 0]);
});

it("the bundle runs on its own: from an empty directory it loads and refuses a malformed event naming the field", async () => {
  const dir = mkdtempSync(join(tmpdir(), "llamacloud-keys-bundle-"));
  await packageTo(join(dir, "f.zip"));
  const [index] = entries(readFileSync(join(dir, "f.zip")));
  writeFileSync(join(dir, "index.js"), index!.data);
  const probe = [
    'const m = require("./index.js");',
    'm.handler({ Step: "rotateSecret", SecretId: "s", ClientRequestToken: "t".repeat(36) })',
    "  .then(() => console.log('accepted'), (e) => console.log(JSON.stringify({ name: e.name, code: e.code, message: e.message })));",
  ].join("\n");
  // A fresh process in the extracted directory: nothing from this repository's node_modules.
  const run = await runProcess(process.execPath, ["-e", probe], {
    cwd: dir,
    env: { PATH: process.env.PATH },
  });
  expect(run.code, run.output).toBe(0);
  const outcome = JSON.parse(run.stdout.trim()) as { name: string; code: string; message: string };
  expect(outcome.name).toBe("NativeRotationError");
  expect(outcome.code).toBe("NATIVE_INVALID_EVENT");
  expect(outcome.message).toMatch(/"Step": must be one of createSecret, setSecret, testSecret, finishSecret/);
});
