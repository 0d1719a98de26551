/**
 * The layering of docs/DESIGN.md ("The parts"), checked on every `npm run lint`:
 * - the provider and the rotator use llamacloud/ and secrets/, never each other;
 * - llamacloud/ and secrets/ (and the app entry, library.ts) know nothing of Pulumi, of provider/
 *   or rotator/, nor of each other;
 * - redaction/ (the one scrubber and `Redacted`) is a leaf: it imports nothing of ours, and every
 *   part may import it;
 * - source never imports test code;
 * - no cycles, type-only imports included (a type cycle still ties two modules' designs together).
 * @type {import("dependency-cruiser").IConfiguration}
 */

const pulumi = "^node_modules/@pulumi/";

module.exports = {
  forbidden: [
    {
      name: "provider-not-rotator",
      comment: "provider/ and rotator/ use llamacloud/ and secrets/, never each other (DESIGN.md).",
      severity: "error",
      from: { path: "^provider/" },
      to: { path: "^rotator/" },
    },
    {
      name: "rotator-not-provider",
      comment: "provider/ and rotator/ use llamacloud/ and secrets/, never each other (DESIGN.md).",
      severity: "error",
      from: { path: "^rotator/" },
      to: { path: "^provider/" },
    },
    {
      name: "llamacloud-stands-alone",
      comment:
        "llamacloud/ knows nothing of Pulumi, provider/, rotator/ or secrets/ (DESIGN.md); " +
        "it may use redaction/.",
      severity: "error",
      from: { path: "^llamacloud/" },
      to: {
        path: ["^(provider|rotator|secrets)/", pulumi],
      },
    },
    {
      name: "secrets-stands-alone",
      comment:
        "secrets/ knows nothing of Pulumi, provider/, rotator/ or llamacloud/ (DESIGN.md); " +
        "it may use redaction/.",
      severity: "error",
      from: { path: "^secrets/" },
      to: { path: ["^(provider|rotator|llamacloud)/", pulumi] },
    },
    {
      name: "app-entry-without-pulumi",
      comment: "`llamacloud-keys` (library.ts) is what an app loads: no Pulumi, provider/ or rotator/.",
      severity: "error",
      from: { path: "^library\\.ts$" },
      to: { path: ["^(provider|rotator)/", pulumi] },
    },
    {
      name: "redaction-is-a-leaf",
      comment: "redaction/ imports nothing of ours, so every part may import it without a cycle.",
      severity: "error",
      from: { path: "^redaction/" },
      to: { pathNot: ["^redaction/", "^node_modules/"], dependencyTypesNot: ["core"] },
    },
    {
      name: "no-test-code-in-source",
      comment: "Source never imports test code (test/): the package ships without it.",
      severity: "error",
      from: { pathNot: "^test/" },
      to: { path: "^test/" },
    },
    {
      name: "no-cycles",
      comment: "No import cycles, type-only imports included.",
      severity: "error",
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: ["node_modules"] },
    exclude: { path: ["^dist/", "^\\.venv/", "^examples/.*/node_modules/"] },
    // Type-only imports are dependencies too: `import type` must respect the layering.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.test.json" },
    moduleSystems: ["cjs", "es6"],
    enhancedResolveOptions: { exportsFields: ["exports"], conditionNames: ["require", "node", "default"] },
  },
};
