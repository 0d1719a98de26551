import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { isProviderError } from "../../provider/errors";
import { parseStackConfig } from "../../provider/stack-config";
import { expectNoKey, issuedKey, RUNS, renderError } from "./fixtures";
import { hostileString } from "./hostile";

// Boundary: the root program's stack config (`Pulumi.<stack>.yaml`, namespace llamacloud-keys), as
// `pulumi.Config#get` hands it over: raw text, JSON for structured values. Whatever it holds, the
// outcome is a config or one PROVIDER_INVALID_CONFIG error whose every line names the config key;
// never another error, and never a planted key.

const key = issuedKey();
const keys = [
  "projects",
  "rotation",
  "secretPrefix",
  "useProjectKeys",
  "recoveryWindowInDays",
  "keyPrefix",
] as const;

const environment = fc.oneof(
  fc.constantFrom("prod", "dev", "staging-2"),
  hostileString,
  fc.constantFrom(key, "../prod", "prod/..", "PROD", "p".repeat(33), "pr\u0000od", "prød"),
);
const project = fc.record(
  {
    name: fc.oneof(fc.string(), fc.constant("x".repeat(3000)), fc.constant("x".repeat(3001)), hostileString),
    id: fc.oneof(fc.uuid(), hostileString),
    organizationId: fc.oneof(fc.uuid(), hostileString),
    environments: fc.oneof(fc.array(environment, { maxLength: 4 }), fc.jsonValue()),
    stray: fc.jsonValue(),
  },
  { requiredKeys: [] },
);
const duration = fc.oneof(
  fc.constantFrom("30d", "2h", "90m", "45s", "59s", "0s", "1.5h", "-1d", "30", "d", "", "30 d", "1e3s"),
  hostileString,
);

const rawValue: Record<(typeof keys)[number], fc.Arbitrary<string | undefined>> = {
  projects: fc.oneof(
    fc.array(project, { maxLength: 3 }).map((p) => JSON.stringify(p)),
    fc.jsonValue().map((v) => JSON.stringify(v)),
    hostileString,
  ),
  rotation: fc.oneof(
    fc.record({ every: duration, grace: duration }, { requiredKeys: [] }).map((r) => JSON.stringify(r)),
    fc.jsonValue().map((v) => JSON.stringify(v)),
    hostileString,
  ),
  secretPrefix: fc.oneof(fc.constantFrom("llamacloud", "a/b", "a".repeat(201)), hostileString),
  useProjectKeys: fc.oneof(fc.constantFrom("true", "false", "yes", "1"), hostileString),
  recoveryWindowInDays: fc.oneof(fc.integer({ min: -5, max: 40 }).map(String), fc.constantFrom("7.5", "7d")),
  keyPrefix: fc.oneof(fc.constantFrom("checkout", "-x", "a".repeat(101)), hostileString),
};

const config = fc.record(
  Object.fromEntries(keys.map((k) => [k, fc.option(rawValue[k], { nil: undefined })])) as {
    [K in (typeof keys)[number]]: fc.Arbitrary<string | undefined>;
  },
);

describe("parseStackConfig on any stack config", () => {
  test("a config, or PROVIDER_INVALID_CONFIG with one line per problem naming its config key", () => {
    let rejected = 0;
    fc.assert(
      fc.property(config, (values) => {
        try {
          const parsed = parseStackConfig((k) => values[k as (typeof keys)[number]]);
          expect(parsed.projects.length).toBeGreaterThan(0);
          return;
        } catch (error) {
          if (!isProviderError(error, "PROVIDER_INVALID_CONFIG")) throw error;
          rejected += 1;
          expect(error.issues.length).toBeGreaterThan(0);
          for (const line of error.issues) {
            expect(
              keys.some((k) => line.startsWith(`llamacloud-keys:${k}`)),
              line,
            ).toBe(true);
          }
          expectNoKey(renderError("stack-config-property", error), key, "a stack config error");
        }
      }),
      { numRuns: RUNS.pure },
    );
    expect(rejected).toBeGreaterThan(0);
  });
});
