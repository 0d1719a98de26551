import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { expect, test } from "vitest";
import { repoRoot } from "../harness/tools";

const secretsDir = join(repoRoot, "secrets");
const redactionDir = join(repoRoot, "redaction");

/** The module specifiers a TypeScript file imports or re-exports. */
function specifiers(file: string): string[] {
  const source = readFileSync(file, "utf8");
  const found: string[] = [];
  for (const match of source.matchAll(
    /(?:import|export)\s[^;]*?from\s+"([^"]+)"|require\("([^"]+)"\)|import\("([^"]+)"\)/g,
  )) {
    found.push((match[1] ?? match[2] ?? match[3]) as string);
  }
  return found;
}

// Apps load `llamacloud-keys/secrets` to read their key: it must not drag in Pulumi, undici or the
// LlamaCloud client (DESIGN.md: dependencies point one way; STYLE.md rule 2).
test("secrets/ imports only node:*, the Secrets Manager SDK, zod, its own files and redaction/", () => {
  const files = readdirSync(secretsDir).filter((name) => name.endsWith(".ts"));
  expect(files).toContain("reader.ts");
  expect(files).toContain("index.ts");
  // The scan sees real imports (it cannot pass by matching nothing).
  expect(specifiers(join(secretsDir, "reader.ts"))).toEqual(expect.arrayContaining(["node:util", "./store"]));
  expect(specifiers(join(secretsDir, "store.ts"))).toContain("@aws-sdk/client-secrets-manager");
  const outside: string[] = [];
  for (const name of files) {
    for (const specifier of specifiers(join(secretsDir, name))) {
      if (
        specifier.startsWith("node:") ||
        specifier === "@aws-sdk/client-secrets-manager" ||
        specifier === "zod"
      ) {
        continue;
      }
      if (specifier.startsWith("./") && resolve(secretsDir, specifier).startsWith(secretsDir)) continue;
      // The redaction leaf (Redacted, scrub) imports nothing of ours: see test/redaction.
      if (resolve(secretsDir, specifier).startsWith(redactionDir)) continue;
      outside.push(`${name}: ${specifier}`);
    }
  }
  expect(outside).toEqual([]);
});
