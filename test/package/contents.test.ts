import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { dirname, join, posix } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { repoRoot } from "../harness/tools";
import { manifest, megabytes, moduleSubpaths, type PackedTarball, packTarball } from "./npm";

// What we publish is what `npm pack` puts in the tarball: these tests read its file list (as npm
// reports it) and check that a user gets the program, its types and every document the docs link
// to, and nothing of the test suite.

let tarball: PackedTarball;
let files: Set<string>;

beforeAll(async () => {
  if (!existsSync(join(repoRoot, "dist", "library.d.ts"))) {
    throw new Error("dist/ is missing: run `npm run build` first (npm test does it)");
  }
  tarball = await packTarball();
  files = new Set(tarball.files);
  // Measured per run, for the report.
  console.info(
    `npm pack: ${tarball.files.length} files, tarball ${megabytes(tarball.size)} (${tarball.size} bytes), ` +
      `unpacked ${megabytes(tarball.unpackedSize)}`,
  );
}, 120_000);

afterAll(async () => {
  if (tarball !== undefined) await rm(dirname(tarball.path), { recursive: true, force: true });
});

/** The repository's own files (no dependencies, build output, tool installs or dot-folders). */
function sourceTree(dir = ""): string[] {
  return readdirSync(join(repoRoot, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = dir === "" ? entry.name : `${dir}/${entry.name}`;
    if (!entry.isDirectory()) return [path];
    return entry.name.startsWith(".") || entry.name === "node_modules" || entry.name === "dist"
      ? []
      : sourceTree(path);
  });
}

describe("the tarball holds what a user runs and reads", () => {
  test("bin, Pulumi.yaml, README, LICENSE, SECURITY.md, the design doc and package.json", () => {
    for (const file of [
      "bin/llamacloud-keys.js",
      "Pulumi.yaml",
      "README.md",
      "LICENSE",
      "SECURITY.md",
      "docs/DESIGN.md",
      "package.json",
      "dist/index.js",
      "examples/Pulumi.dev.yaml",
    ]) {
      expect(files, file).toContain(file);
    }
  });

  test("the per-folder READMEs and examples/ ship, but not examples/demo/ (README: What the package ships)", () => {
    const tracked = sourceTree();
    // Per-folder READMEs of the package itself: not the test suite's or the build tooling's.
    const readmes = tracked.filter(
      (file) => /(^|\/)README\.md$/.test(file) && !/^(test|tools|examples\/demo)\//.test(file),
    );
    expect(readmes).toEqual(expect.arrayContaining(["provider/README.md", "examples/app/README.md"]));
    expect(readmes.filter((file) => !files.has(file))).toEqual([]);
    const examples = tracked.filter(
      (file) => file.startsWith("examples/") && !file.startsWith("examples/demo/"),
    );
    expect(examples.length).toBeGreaterThan(10);
    expect(examples.filter((file) => !files.has(file))).toEqual([]);
    expect(tracked).toContain("examples/demo/demo.js");
    expect(tarball.files.filter((file) => file.startsWith("examples/demo/"))).toEqual([]);
  });

  test("the rotation function's zip ships where ProjectKeys' native mode looks by default, built from today's sources", async () => {
    const zip = "dist/lambda/llamacloud-keys-rotator.zip";
    expect(files).toContain(zip);
    // package:lambda is reproducible: a fresh build gives the same bytes unless the shipped one is stale.
    const fresh = join(dirname(tarball.path), "fresh.zip");
    const built = spawnSync(
      process.execPath,
      [join(repoRoot, "tools", "package-lambda.js"), "--out", fresh],
      {
        cwd: repoRoot,
        encoding: "utf8",
      },
    );
    expect(built.status, built.stderr).toBe(0);
    expect(readFileSync(join(repoRoot, zip)).equals(readFileSync(fresh))).toBe(true);
  }, 60_000);

  test("LICENSE is the Apache License 2.0 the manifest names", () => {
    expect(readFileSync(join(repoRoot, "package.json"), "utf8")).toContain('"license": "Apache-2.0"');
    const license = readFileSync(join(repoRoot, "LICENSE"), "utf8");
    expect(license).toMatch(/^\s*Apache License\s+Version 2\.0, January 2004/);
    expect(license).toContain("END OF TERMS AND CONDITIONS");
  });

  test("every compiled module ships with its declaration file, and no source map", () => {
    const modules = tarball.files.filter((file) => file.startsWith("dist/") && file.endsWith(".js"));
    expect(modules.length).toBeGreaterThan(40);
    const missing = modules.filter((file) => !files.has(file.replace(/\.js$/, ".d.ts")));
    expect(missing).toEqual([]);
    expect(tarball.files.filter((file) => file.endsWith(".map"))).toEqual([]);
  });

  test("every compiled module comes from a source file of the package (no stale build output)", () => {
    const orphans = tarball.files
      .filter((file) => file.startsWith("dist/") && file.endsWith(".js"))
      .filter((file) => !existsSync(join(repoRoot, file.replace(/^dist\//, "").replace(/\.js$/, ".ts"))));
    expect(orphans).toEqual([]);
  });

  test("no tests, fixtures, tooling or installed dependencies", () => {
    const forbidden = tarball.files.filter(
      (file) =>
        /(^|\/)(test|tests|__tests__|fixtures|node_modules|tools|\.ci)\//.test(file) ||
        /\.(test|spec)\.[cm]?[jt]s$/.test(file) ||
        /(^|\/)(tsconfig\.test\.json|vitest\.config\.m?[jt]s|biome\.json|\.npmrc|\.tools\.json)$/.test(file),
    );
    expect(forbidden).toEqual([]);
  });

  test("TypeScript sources ship only as documents: the root program and the TypeScript example", () => {
    const sources = tarball.files.filter((file) => file.endsWith(".ts") && !file.endsWith(".d.ts"));
    expect(sources).toEqual(["examples/typescript/index.ts", "index.ts"]);
  });

  test("every subpath of exports points at a shipped module with types for node10 (typesVersions)", () => {
    const subpaths = moduleSubpaths();
    expect(subpaths).toEqual(expect.arrayContaining(["", "provider", "secrets", "llamacloud", "rotator"]));
    const mapping = manifest.typesVersions["*"] ?? {};
    for (const subpath of subpaths) {
      const target = manifest.exports[subpath === "" ? "." : `./${subpath}`]!.replace(/^\.\//, "");
      expect(files, `exports["./${subpath}"]`).toContain(target);
      const types = target.replace(/\.js$/, ".d.ts");
      expect(files).toContain(types);
      // node10 ignores `exports`: the root resolves through `types`, every subpath through typesVersions.
      if (subpath === "") expect(manifest).toMatchObject({ types: types });
      else expect(mapping[subpath], `typesVersions["*"]["${subpath}"]`).toEqual([types]);
    }
    expect(Object.keys(mapping).sort()).toEqual(subpaths.filter((s) => s !== "").sort());
  });

  test("Pulumi is an optional peer, in the ranges the provider's missing-peer error names", async () => {
    const { PEER_RANGES } = await import("../../provider/peers");
    expect(manifest.peerDependencies).toEqual(PEER_RANGES);
    expect(manifest.peerDependenciesMeta).toEqual({
      "@pulumi/aws": { optional: true },
      "@pulumi/pulumi": { optional: true },
    });
    expect(manifest).not.toHaveProperty("dependencies.@pulumi/pulumi");
    expect(manifest).not.toHaveProperty("dependencies.@pulumi/aws");
  });
});

/** Markdown links `[text](target)` and `[text]: target` of a document, code blocks and spans left out. */
function relativeLinks(markdown: string): string[] {
  const text = markdown.replace(/```[\s\S]*?```/g, "").replace(/`[^`\n]*`/g, "");
  const targets = [
    ...[...text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]!),
    ...[...text.matchAll(/^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm)].map((m) => m[1]!),
  ];
  return targets.filter((target) => !/^([a-z][a-z0-9+.-]*:|#)/i.test(target));
}

describe("the shipped documents", () => {
  test("every relative link in every shipped Markdown file resolves inside the tarball", () => {
    const documents = tarball.files.filter((file) => file.endsWith(".md"));
    expect(documents).toEqual(
      expect.arrayContaining([
        "README.md",
        "SECURITY.md",
        "docs/DESIGN.md",
        "provider/README.md",
        "rotator/README.md",
        "llamacloud/emulator/README.md",
      ]),
    );
    const checked: string[] = [];
    const broken: string[] = [];
    for (const document of documents) {
      for (const link of relativeLinks(readFileSync(join(repoRoot, document), "utf8"))) {
        const path = decodeURI(link.split("#")[0]!);
        const target = posix.normalize(posix.join(posix.dirname(document), path)).replace(/\/$/, "");
        checked.push(`${document} → ${link}`);
        const isFile = files.has(target);
        const isDirectory = tarball.files.some((file) => file.startsWith(`${target}/`));
        if (target.startsWith("..") || !(isFile || isDirectory)) broken.push(`${document} → ${link}`);
      }
    }
    // The scan finds the README's own links (it cannot pass by matching nothing).
    expect(checked).toEqual(
      expect.arrayContaining(["README.md → SECURITY.md", "README.md → provider/README.md"]),
    );
    expect(broken).toEqual([]);
  });

  test("the link scan sees inline and reference links, and skips URLs, anchors and code", () => {
    expect(
      relativeLinks(
        [
          'See [a](docs/A.md#x), [b](b.md "title") and [c](https://example.com/c.md), [d](#d).',
          "`[not](code.md)`",
          "```",
          "[nor](fenced.md)",
          "```",
          "[ref]: ../up.md",
        ].join("\n"),
      ),
    ).toEqual(["docs/A.md#x", "b.md", "../up.md"]);
  });

  test("no shipped document points into the repository's shared folder", () => {
    const offenders = tarball.files
      .filter((file) => file.endsWith(".md"))
      .filter((file) => /(\.\.\/)+shared\b|shared folder/.test(readFileSync(join(repoRoot, file), "utf8")));
    expect(offenders).toEqual([]);
  });
});
