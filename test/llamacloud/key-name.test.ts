import { describe, expect, it } from "vitest";
import { DEFAULT_KEY_PREFIX, KEY_PREFIX_PATTERN, keyName, parseKeyName } from "../../llamacloud/key-name";

// One naming scheme for the provider and the rotator: `<prefix>/<projectId>/<environment>/<token>`.
// The prefix never holds `/`; the environment may (a hand-tagged secret), so parsing takes the first
// segment as the prefix, the second as the project, the last as the token, the rest as environment.

const project = "0f9c1a52-7d3e-4b8a-9c21-5e6f7a8b9c0d";
const token = "7f3e2b1a-4c5d-4e6f-8a9b-0c1d2e3f4a5b";

describe("key names", () => {
  it("the default prefix is llamacloud-keys", () => {
    expect(DEFAULT_KEY_PREFIX).toBe("llamacloud-keys");
    expect(KEY_PREFIX_PATTERN.test(DEFAULT_KEY_PREFIX)).toBe(true);
  });

  it.each([
    ["the default prefix", DEFAULT_KEY_PREFIX, "prod"],
    ["a custom prefix with dots and underscores", "checkout_api.v2", "staging"],
    ["a one-character prefix", "x", "dev"],
    ["a 100-character prefix", `a${"b".repeat(99)}`, "prod"],
    ["an environment with dashes", DEFAULT_KEY_PREFIX, "eu-prod-2"],
    ["a hand-tagged environment holding slashes", "checkout-api", "eu/prod"],
    ["a hand-tagged environment holding spaces and colons", "checkout-api", "team a:prod"],
  ])("build then parse gives the parts back: %s", (_, prefix, environment) => {
    const name = keyName(prefix, project, environment, token);
    expect(name).toBe(`${prefix}/${project}/${environment}/${token}`);
    expect(parseKeyName(name)).toEqual({ prefix, projectId: project, environment, token });
  });

  it.each([
    ["a slash", "team/checkout"],
    ["an empty string", ""],
    ["a leading dot", ".hidden"],
    ["a space", "checkout api"],
    ["101 characters", `a${"b".repeat(100)}`],
  ])("refuses a prefix with %s (the name could not be parsed back)", (_, prefix) => {
    expect(() => keyName(prefix, project, "prod", token)).toThrow(
      expect.objectContaining({
        code: "LLAMACLOUD_CONFIG",
        message: expect.stringContaining("(no slashes), e.g. checkout-api"),
      }),
    );
  });

  it.each([
    ["null (a key with no name)", null],
    ["undefined", undefined],
    ["a hand-made name", "someone-elses-key"],
    ["three segments", `${DEFAULT_KEY_PREFIX}/${project}/${token}`],
    ["a token that is not a uuid", `${DEFAULT_KEY_PREFIX}/${project}/prod/not-a-uuid`],
    ["an upper-case token", `${DEFAULT_KEY_PREFIX}/${project}/prod/${token.toUpperCase()}`],
    ["a project id that is not a uuid", `${DEFAULT_KEY_PREFIX}/search/prod/${token}`],
    ["an empty environment", `${DEFAULT_KEY_PREFIX}/${project}//${token}`],
    ["an invalid prefix", `-x/${project}/prod/${token}`],
    ["a prefix split by a slash", `team/checkout/${project}/prod/${token}`],
    ["trailing text after the token", `${DEFAULT_KEY_PREFIX}/${project}/prod/${token}x`],
  ])("does not parse %s: such keys are never ours", (_, name) => {
    expect(parseKeyName(name)).toBeUndefined();
  });
});
