import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { runProcess } from "../harness/processes";
import {
  measureNodeModules,
  megabytes,
  npmInstall,
  type PackedTarball,
  packTarball,
  type TreeSize,
} from "./npm";

// An app that only reads its key installs the tarball alone, with npm's own defaults: Pulumi is an
// optional peer, so neither @pulumi/pulumi nor @pulumi/aws (84 MB of it) may arrive, and the whole
// node_modules stays within a budget. Then the app's imports work, and the Pulumi side, asked for
// by mistake, says what to install.

/** The budget of an app-only install (issue: 203 MB and 250 packages with Pulumi as dependencies). */
const BUDGET_BYTES = 40_000_000;

let tarball: PackedTarball;
let app: string;
let installed: TreeSize;

beforeAll(async () => {
  tarball = await packTarball();
  app = await mkdtemp(join(tmpdir(), "llamacloud-keys-app-"));
  await writeFile(
    join(app, "package.json"),
    JSON.stringify({
      name: "reads-its-key",
      private: true,
      dependencies: { "llamacloud-keys": `file:${tarball.path}` },
    }),
  );
  const install = await npmInstall(app);
  installed = measureNodeModules(join(app, "node_modules"));
  // Measured per run, for the report.
  console.info(
    `app-only install: ${install.ms} ms, ${installed.packages.length} packages, ${installed.files} files, ` +
      `${megabytes(installed.bytes)} (${installed.bytes} bytes)`,
  );
}, 600_000);

afterAll(async () => {
  if (app !== undefined) await rm(app, { recursive: true, force: true });
  if (tarball !== undefined) await rm(dirname(tarball.path), { recursive: true, force: true });
});

test("an app-only install brings no Pulumi package", () => {
  expect(installed.packages).toContain("llamacloud-keys");
  expect(installed.packages).toContain("@aws-sdk/client-secrets-manager");
  expect(installed.packages.filter((name) => /(^|\/)@pulumi\//.test(name))).toEqual([]);
  expect(existsSync(join(app, "node_modules", "@pulumi"))).toBe(false);
});

test(`an app-only install's node_modules stays within ${megabytes(BUDGET_BYTES)}`, () => {
  expect(installed.bytes).toBeGreaterThan(1_000_000);
  expect(installed.bytes).toBeLessThanOrEqual(BUDGET_BYTES);
});

/** Runs a CommonJS script in the app with plain node and returns its JSON line. */
async function inApp(script: string): Promise<Record<string, unknown>> {
  const file = join(app, `probe-${Math.random().toString(36).slice(2)}.js`);
  await writeFile(file, script);
  const result = await runProcess(process.execPath, [file], { cwd: app, timeoutMs: 60_000 });
  if (result.code !== 0) throw new Error(`node ${file} exited with ${result.code}:\n${result.output}`);
  return JSON.parse(result.stdout.trim().split("\n").at(-1)!) as Record<string, unknown>;
}

test("the app's imports load without Pulumi: the root and /secrets", async () => {
  const loaded = await inApp(`
    const root = require("llamacloud-keys");
    const secrets = require("llamacloud-keys/secrets");
    const pulumi = Object.keys(require.cache).filter((file) => file.includes("/@pulumi/"));
    console.log(JSON.stringify({
      root: typeof root.createKeyReader,
      secrets: typeof secrets.createKeyReader,
      pulumi,
    }));
  `);
  expect(loaded).toEqual({ root: "function", secrets: "function", pulumi: [] });
});

// What each entry point loads, as documented: README, "The package root loads only the AWS SDK and
// zod"; SECURITY.md, `/secrets` loads "the AWS SDK and zod only (no Pulumi, no undici)"; DESIGN.md's
// table of the parts for the LlamaCloud client (undici, loaded at the first request, and zod) and the
// emulator (Node's http, zod). Each entry point is loaded alone, in its own process.
const awsSdk = /^(@aws-sdk\/|@smithy\/|@aws-crypto\/|@aws\/|tslib$)/;
test.each([
  ["llamacloud-keys", awsSdk, /^(dist\/library\.js|dist\/secrets|dist\/redaction)$/],
  ["llamacloud-keys/secrets", awsSdk, /^(dist\/secrets|dist\/redaction)$/],
  ["llamacloud-keys/llamacloud", /^undici$/, /^(dist\/llamacloud|dist\/redaction)$/],
  ["llamacloud-keys/llamacloud/emulator", /^$/, /^dist\/llamacloud$/],
])(
  "require(%j) loads only zod and what its row names, and only its own parts of the package",
  async (specifier, allowed, parts) => {
    const loaded = await inApp(`
      require(${JSON.stringify(specifier)});
      const packages = new Set();
      const ours = new Set();
      for (const file of Object.keys(require.cache)) {
        const at = file.lastIndexOf("/node_modules/");
        if (at < 0) continue;
        const [first, second] = file.slice(at + "/node_modules/".length).split("/");
        const name = first.startsWith("@") ? first + "/" + second : first;
        if (name === "llamacloud-keys") {
          const inside = file.slice(at + "/node_modules/llamacloud-keys/".length).split("/");
          if (inside[0] !== "package.json") ours.add(inside.slice(0, 2).join("/"));
        } else packages.add(name);
      }
      console.log(JSON.stringify({ packages: [...packages].sort(), ours: [...ours].sort() }));
    `);
    const packages = loaded["packages"] as string[];
    expect(packages).toContain("zod");
    if (allowed === awsSdk) expect(packages).toContain("@aws-sdk/client-secrets-manager");
    expect(packages.filter((name) => name !== "zod" && !allowed.test(name))).toEqual([]);
    const ours = loaded["ours"] as string[];
    expect(ours.length).toBeGreaterThan(0);
    expect(ours.filter((part) => !parts.test(part))).toEqual([]);
  },
);

test("the provider without @pulumi/pulumi: one error naming the package and the range to install", async () => {
  const failure = await inApp(`
    try {
      require("llamacloud-keys/provider");
      console.log(JSON.stringify({ loaded: true }));
    } catch (error) {
      console.log(JSON.stringify({ name: error.name, code: error.code, packageName: error.packageName, range: error.range, message: error.message }));
    }
  `);
  expect(failure).toEqual({
    name: "MissingPeerDependencyError",
    code: "MISSING_PEER_DEPENDENCY",
    packageName: "@pulumi/pulumi",
    range: "^3.249.0",
    message:
      'llamacloud-keys/provider needs @pulumi/pulumi (^3.249.0), which is not installed: run `npm install @pulumi/pulumi@"^3.249.0"` in your Pulumi program',
  });
});
