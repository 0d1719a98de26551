import { expect, test } from "vitest";
import { requireDist } from "./fixtures";

// The root program validates its stack config before declaring anything: each problem names the
// config key (with its path) and what is expected.

type Module = typeof import("../../provider/stack-config");
const { parseStackConfig } = requireDist<Module>("provider/stack-config.js");

const from = (values: Record<string, unknown>) => (key: string) => {
  const value = values[`llamacloud-keys:${key}`];
  if (value === undefined) return undefined;
  return typeof value === "string" ? value : JSON.stringify(value);
};

test("valid config gets its defaults", () => {
  expect(
    parseStackConfig(from({ "llamacloud-keys:projects": [{ name: "search", environments: ["prod"] }] })),
  ).toEqual({
    projects: [{ name: "search", environments: ["prod"] }],
    secretPrefix: "llamacloud",
    useProjectKeys: false,
  });
});

test("every problem names its config key and what is expected", () => {
  expect(() =>
    parseStackConfig(
      from({
        "llamacloud-keys:projects": [{ name: "search", id: "x", environments: ["prod", "Dev"] }],
        "llamacloud-keys:rotation": { every: "1h", grace: "30s" },
        "llamacloud-keys:useProjectKeys": "yes",
        "llamacloud-keys:recoveryWindowInDays": 3,
      }),
    ),
  ).toThrowErrorMatchingInlineSnapshot(`
    [ProviderError: Invalid stack config:
      llamacloud-keys:projects[0].id must be a LlamaCloud project id (a UUID)
      llamacloud-keys:projects[0].environments[1] must be a short lowercase label (a letter, then up to 31 letters, digits or dashes), e.g. prod
      llamacloud-keys:projects[0] must have exactly one of name and id
      llamacloud-keys:rotation.grace must be at least 60s: LlamaCloud revocation can take up to a minute
      llamacloud-keys:useProjectKeys must be true or false
      llamacloud-keys:recoveryWindowInDays must be 0 (no recovery) or 7 to 30]
  `);
});

test("missing projects says how to set them", () => {
  expect(() => parseStackConfig(from({}))).toThrow(
    /llamacloud-keys:projects is not set: .*pulumi config set --path/,
  );
});
