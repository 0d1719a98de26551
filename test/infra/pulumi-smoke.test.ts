import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { runProcess } from "../harness/processes";
import { createPulumiWorkspace, type PulumiWorkspace } from "../harness/pulumi";
import { installedTools, pulumiBinDir, repoRoot } from "../harness/tools";

// Proves the harness, not the product: the real CLI, its Node language host and the dynamic
// provider shim deploy a program on the local backend with no network.

// The CLI follows the SDK: setup pins the CLI to the @pulumi/pulumi version the lockfile installs,
// so an SDK bump without a CLI bump (or the reverse) fails here rather than as a protocol mismatch.
test("the Pulumi CLI on the tests' PATH is the version setup pinned, the same as the installed @pulumi/pulumi", async () => {
  const sdk = JSON.parse(
    readFileSync(join(repoRoot, "node_modules", "@pulumi", "pulumi", "package.json"), "utf8"),
  );
  const result = await runProcess(join(pulumiBinDir(), "pulumi"), ["version"], { timeoutMs: 30_000 });
  expect(result.code).toBe(0);
  expect(result.stdout.trim()).toBe(installedTools().pulumiVersion);
  expect(result.stdout.trim()).toBe(`v${sdk.version}`);
});

const program = `
const pulumi = require("@pulumi/pulumi");
// Nothing captured: the engine serializes this object into state.
const provider = {
  async create(inputs) {
    return { id: "smoke-" + inputs.size, outs: { size: inputs.size, created: true } };
  },
  async delete() {},
};
const thing = new pulumi.dynamic.Resource(provider, "thing", { size: 3, created: undefined });
exports.created = thing.created;
`;

let workspace: PulumiWorkspace;
beforeAll(async () => {
  workspace = await createPulumiWorkspace({
    files: {
      "Pulumi.yaml":
        "name: smoke\nruntime:\n  name: nodejs\n  options:\n    typescript: false\nmain: index.js\n",
      "package.json": JSON.stringify({ name: "smoke", main: "index.js" }),
      "index.js": program,
    },
  });
});
afterAll(async () => {
  await workspace?.cleanup();
});

test("a trivial dynamic resource deploys with `pulumi up` and goes with `pulumi destroy`", async () => {
  const up = await workspace.runOk(["up", "--yes", "--skip-preview"]);
  expect(up.stdout).toMatch(/\+ 2 created/);
  const outputs = await workspace.runOk(["stack", "output", "--json"]);
  expect(JSON.parse(outputs.stdout)).toEqual({ created: true });

  const destroy = await workspace.runOk(["destroy", "--yes", "--skip-preview"]);
  expect(destroy.stdout).toMatch(/- 2 deleted/);
}, 180_000);
