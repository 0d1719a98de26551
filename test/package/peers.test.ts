import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { runProcess } from "../harness/processes";
import { repoRoot } from "../harness/tools";
import { requireDist } from "../provider/fixtures";

// requirePeer turns "this peer is not installed" into MissingPeerDependencyError, and only that: a
// peer that is installed but fails to load (one of its own dependencies missing, or a throw at load)
// keeps its own error, so the message never sends a user to install what they already have.

type Peers = typeof import("../../provider/peers");
const peers = requireDist<Peers>("provider/peers.js");

let root: string;

/** A project whose node_modules holds our compiled peers.js and the given fake peer packages. */
async function project(fakes: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(root, "project-"));
  const ours = join(dir, "node_modules", "llamacloud-keys", "dist", "provider");
  await mkdir(ours, { recursive: true });
  await copyFile(join(repoRoot, "dist", "provider", "peers.js"), join(ours, "peers.js"));
  for (const [name, source] of Object.entries(fakes)) {
    await mkdir(join(dir, "node_modules", name), { recursive: true });
    await writeFile(join(dir, "node_modules", name, "index.js"), source);
  }
  return dir;
}

async function load(dir: string, name: string): Promise<Record<string, unknown>> {
  const script = `
    const { requirePeer } = require("./node_modules/llamacloud-keys/dist/provider/peers.js");
    try {
      const loaded = requirePeer(${JSON.stringify(name)}, "the test");
      console.log(JSON.stringify({ loaded: loaded.marker }));
    } catch (error) {
      console.log(JSON.stringify({ name: error.name, code: error.code, message: error.message.split("\\n")[0] }));
    }`;
  const result = await runProcess(process.execPath, ["-e", script], { cwd: dir, timeoutMs: 30_000 });
  expect(result.code, result.output).toBe(0);
  return JSON.parse(result.stdout.trim()) as Record<string, unknown>;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "llamacloud-keys-peers-"));
});

afterAll(async () => {
  if (root !== undefined) await rm(root, { recursive: true, force: true });
});

test("the supported ranges are the package's peerDependencies", async () => {
  const manifest = JSON.parse(await readFile(join(repoRoot, "package.json"), "utf8")) as {
    peerDependencies: Record<string, string>;
  };
  expect(peers.PEER_RANGES).toEqual(manifest.peerDependencies);
});

test("an installed peer is returned as Node loads it", async () => {
  const dir = await project({ "@pulumi/aws": "exports.marker = 'aws';" });
  expect(await load(dir, "@pulumi/aws")).toEqual({ loaded: "aws" });
});

test("an absent peer is a MissingPeerDependencyError naming the package, the range and the command", async () => {
  const dir = await project({});
  expect(await load(dir, "@pulumi/aws")).toEqual({
    name: "MissingPeerDependencyError",
    code: "MISSING_PEER_DEPENDENCY",
    message:
      'the test needs @pulumi/aws (^7.0.0), which is not installed: run `npm install @pulumi/aws@"^7.0.0"` in your Pulumi program',
  });
});

test("a peer whose own dependency is missing keeps Node's error, naming that dependency", async () => {
  const dir = await project({ "@pulumi/aws": "require('@pulumi/some-missing-dependency');" });
  expect(await load(dir, "@pulumi/aws")).toEqual({
    name: "Error",
    code: "MODULE_NOT_FOUND",
    message: "Cannot find module '@pulumi/some-missing-dependency'",
  });
});

test("a peer that throws while loading keeps its own error", async () => {
  const dir = await project({ "@pulumi/pulumi": "throw new TypeError('broken install');" });
  expect(await load(dir, "@pulumi/pulumi")).toEqual({ name: "TypeError", message: "broken install" });
});
