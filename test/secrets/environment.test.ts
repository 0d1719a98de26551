import { describe, expect, test } from "vitest";
import type { z } from "zod";
import { ENVIRONMENT_PATTERN, environmentSchema } from "../../secrets/environment";

// The environment names ApiKey, stack config and ProjectKeys accept: one pattern, worded per surface.

const issues = (result: z.ZodSafeParseResult<unknown>) =>
  result.success ? [] : result.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);

describe("the environment name", () => {
  const schema = environmentSchema({ invalid: "bad environment", notString: "not a string" });
  test.each([
    ["prod", true],
    ["eu-west-1", true],
    [`a${"b".repeat(31)}`, true],
    [`a${"b".repeat(32)}`, false],
    ["Prod", false],
    ["1prod", false],
    ["-prod", false],
    ["prod_1", false],
    ["eu/prod", false],
    ["", false],
  ])("%j valid: %s", (name, valid) => {
    expect(ENVIRONMENT_PATTERN.test(name)).toBe(valid);
    expect(issues(schema.safeParse(name))).toEqual(valid ? [] : [": bad environment"]);
  });

  test("a surface may word a non-string apart", () => {
    expect(issues(schema.safeParse(5))).toEqual([": not a string"]);
  });
});
