import { describe, expect, test } from "vitest";
import { z } from "zod";
import {
  checkRotationPolicy,
  GRACE_FLOOR_MS,
  ROTATION_POLICY_WORDING,
  rotationPolicyFields,
  rotationPolicySchema,
  rotationPolicyViolation,
} from "../../secrets/rotation-policy";

// The rotation policy's two rules (grace at least 60 s; every longer than grace), written once and
// used by ApiKey, stack config, ProjectKeys and the rotator; the surfaces differ only in wording.

const issues = (result: z.ZodSafeParseResult<unknown>) =>
  result.success ? [] : result.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);

describe("the rotation policy", () => {
  test("the grace floor is LlamaCloud's revocation delay, one minute", () => {
    expect(GRACE_FLOOR_MS).toBe(60_000);
  });

  test.each([
    [{ every: "30d", grace: "2h" }, [], { every: 2_592_000_000, grace: 7_200_000 }],
    [{ every: "2m", grace: "60s" }, [], { every: 120_000, grace: 60_000 }],
    [{ every: "30d", grace: "59s" }, [`grace: ${ROTATION_POLICY_WORDING.graceBelowFloor}`]],
    [{ every: "1h", grace: "1h" }, [`every: ${ROTATION_POLICY_WORDING.everyNotAboveGrace(3_600_000)}`]],
    [{ every: "1h", grace: "2h" }, [`every: ${ROTATION_POLICY_WORDING.everyNotAboveGrace(7_200_000)}`]],
    // Grace is judged first; every only against a grace that is itself valid.
    [{ every: "10s", grace: "30s" }, [`grace: ${ROTATION_POLICY_WORDING.graceBelowFloor}`]],
    // A field that is not a duration is named, and the rules still judge the valid one.
    [
      { every: "soon", grace: "30s" },
      [
        `every: ${ROTATION_POLICY_WORDING.notDuration("every")}`,
        `grace: ${ROTATION_POLICY_WORDING.graceBelowFloor}`,
      ],
    ],
    [{ every: "30d" }, [`grace: ${ROTATION_POLICY_WORDING.notString("grace")}`]],
    // Refused, not ignored: a misspelt grace must not pass silently (zod words it with notObject).
    [{ every: "30d", grace: "2h", grase: "1h" }, [`: ${ROTATION_POLICY_WORDING.notObject}`]],
    ["30d", [`: ${ROTATION_POLICY_WORDING.notObject}`]],
  ])("%j → %j", (policy, expected, parsed?) => {
    const result = rotationPolicySchema().safeParse(policy);
    expect(issues(result)).toEqual(expected);
    if (parsed !== undefined) expect(result.data).toEqual(parsed);
  });

  test.each([
    [{ everyMs: 86_400_000, graceMs: 3_600_000 }, undefined],
    [{ everyMs: 86_400_000, graceMs: 59_999 }, "grace-below-floor"],
    [{ everyMs: 3_600_000, graceMs: 3_600_000 }, "every-not-above-grace"],
  ] as const)("rotationPolicyViolation(%j) is %s", (policy, violation) => {
    expect(rotationPolicyViolation(policy)).toBe(violation);
  });

  test("the rules apply to an object that carries more than the policy (ProjectKeys' mode)", () => {
    const schema = z
      .object({ ...rotationPolicyFields(), mode: z.string().optional() })
      .superRefine(checkRotationPolicy());
    expect(issues(schema.safeParse({ every: "30d", grace: "2h", mode: "native" }))).toEqual([]);
    expect(issues(schema.safeParse({ every: "30d", grace: "1s", mode: "native" }))).toEqual([
      `grace: ${ROTATION_POLICY_WORDING.graceBelowFloor}`,
    ]);
  });
});
