import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, test } from "vitest";
import { repoRoot } from "../harness/tools";

// SECURITY.md, "Dependencies": the runtime dependencies "as installed from package-lock.json", and
// the optional Pulumi peers with their ranges and the versions tested. A dependency added, dropped
// or bumped fails here until the page follows.

const security = readFileSync(join(repoRoot, "SECURITY.md"), "utf8");
const manifest = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as {
  dependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
};
const lock = JSON.parse(readFileSync(join(repoRoot, "package-lock.json"), "utf8")) as {
  packages: Record<string, { version: string }>;
};
const locked = (name: string) => lock.packages[`node_modules/${name}`]?.version;

test("the table lists every runtime dependency, each at its package-lock.json version", () => {
  const section = security.slice(
    security.indexOf("## Dependencies"),
    security.indexOf("## How this is tested"),
  );
  const rows = [...section.matchAll(/^\| `([^`]+)` +\| ([^ |]+) +\|/gm)].map((m) => [m[1], m[2]]);
  expect(rows).toEqual(Object.keys(manifest.dependencies).map((name) => [name, locked(name)]));
});

test("the peers' ranges are package.json's and their tested versions package-lock.json's", () => {
  for (const [name, range] of Object.entries(manifest.peerDependencies)) {
    expect(security).toContain(`\`${name}\` (\`${range}\`, tested with ${locked(name)})`);
  }
});
