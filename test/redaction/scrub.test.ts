import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { scrub } from "../../redaction";
import { fakeKey } from "../harness/fake-key";
import { repoRoot } from "../harness/tools";

// One scrubber for every message and log line that may quote text we did not write: the client's
// errors, the AWS error summaries, the rotator's log, the CLI's usage errors.
const key = fakeKey("scrubtable");

describe("scrub: one pattern set", () => {
  test.each([
    ["a key anywhere in the text", `a ${key} b`, [], "a llx-[redacted] b"],
    ["a key-shaped token of 8 key characters", `x llx-${"AbCdEfGh"} y`, [], "x llx-[redacted] y"],
    ["a bearer credential", "Authorization: Bearer abc.def", [], "Authorization: Bearer [redacted]"],
    ["a bearer credential, any case", "bearer abc.def", [], "Bearer [redacted]"],
    ["a known sensitive value", "password=hunter2hunter2", ["hunter2hunter2"], "password=[redacted]"],
    ["both at once", `v=hunter2hunter2 k=${key}`, ["hunter2hunter2"], "v=[redacted] k=llx-[redacted]"],
    ["a masked form stays readable", "key llx-…wxyz", [], "key llx-…wxyz"],
    ["`llx-` with fewer than 8 key characters stays", "llx-abc", [], "llx-abc"],
    ["a short sensitive value would blank ordinary words: ignored", "the test", ["test"], "the test"],
    ["text without secrets is unchanged", "nothing to see", [], "nothing to see"],
  ] as const)("%s", (_what, text, sensitive, expected) => {
    expect(scrub(text, sensitive)).toBe(expected);
  });

  test("every key a scrubbed text held is gone, however often it appears", () => {
    const text = `${key}:${key} Bearer ${key}`;
    expect(scrub(text)).not.toContain(key.slice(4));
  });
});

test("redaction/ is a leaf: it imports only node:* and its own files", () => {
  const dir = join(repoRoot, "redaction");
  const files = readdirSync(dir).filter((name) => name.endsWith(".ts"));
  expect(files).toEqual(expect.arrayContaining(["index.ts", "redacted.ts", "scrub.ts"]));
  const outside: string[] = [];
  for (const name of files) {
    const source = readFileSync(join(dir, name), "utf8");
    for (const match of source.matchAll(/from\s+"([^"]+)"|require\("([^"]+)"\)|import\("([^"]+)"\)/g)) {
      const specifier = (match[1] ?? match[2] ?? match[3]) as string;
      if (specifier.startsWith("node:") || /^\.\/[^/]+$/.test(specifier)) continue;
      outside.push(`${name}: ${specifier}`);
    }
  }
  expect(outside).toEqual([]);
  // The scan sees real imports (it cannot pass by matching nothing).
  expect(readFileSync(join(dir, "redacted.ts"), "utf8")).toContain('from "node:util"');
});
