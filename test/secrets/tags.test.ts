import { describe, expect, test } from "vitest";
import { type InvalidManagementTagError, isSecretsError } from "../../secrets/errors";
import {
  formatDuration,
  managementTags,
  parseDuration,
  readManagementTags,
  TAG_ENVIRONMENT,
  TAG_GRACE,
  TAG_MANAGED,
  TAG_PROJECT_ID,
  TAG_ROTATE_EVERY,
  toMilliseconds,
} from "../../secrets/tags";

const projectId = "3f1a2b4c-5d6e-4f70-8a91-b2c3d4e5f601";

describe("durations", () => {
  test.each([
    ["30d", 2_592_000_000, "30d"],
    ["12h", 43_200_000, "12h"],
    ["90m", 5_400_000, "90m"],
    ["45s", 45_000, "45s"],
    ["1s", 1_000, "1s"],
    ["24h", 86_400_000, "1d"],
    ["120s", 120_000, "2m"],
    ["60m", 3_600_000, "1h"],
  ])("%s parses to %d ms and formats back as %s", (text, ms, formatted) => {
    expect(parseDuration(text)).toBe(ms);
    expect(formatDuration(ms)).toBe(formatted);
    expect(parseDuration(formatDuration(ms))).toBe(ms);
  });

  test.each(["", "30", "d", "0s", "-5m", "1.5h", "30 d", "30D", "1w", "5ms", "1h30m", "0030d"])(
    "%j is refused with a message naming the field",
    (text) => {
      expect(() => parseDuration(text, "rotateEvery")).toThrow(
        `"rotateEvery" must be a whole number and one unit, e.g. 30d, 12h, 90m or 45s; got ${JSON.stringify(text)}`,
      );
    },
  );

  test("the error carries a stable code and the field", () => {
    try {
      parseDuration("soon", "grace");
      expect.unreachable();
    } catch (error) {
      expect(error).toMatchObject({ name: "InvalidDurationError", code: "INVALID_DURATION", field: "grace" });
    }
  });

  test.each([0, -1000, 1500, 0.5, Number.NaN])("formatDuration(%d) throws: not expressible", (ms) => {
    expect(() => formatDuration(ms)).toThrow(RangeError);
  });

  test("toMilliseconds takes numbers as milliseconds and strings as durations", () => {
    expect(toMilliseconds(1234, "ttl")).toBe(1234);
    expect(toMilliseconds("5m", "ttl")).toBe(300_000);
    expect(() => toMilliseconds(-1, "ttl")).toThrow(/"ttl" must be/);
    expect(() => toMilliseconds("5 minutes", "ttl")).toThrow(/"ttl" must be/);
  });
});

describe("management tags", () => {
  test("managementTags writes the DESIGN.md tag keys with normalized durations", () => {
    expect(managementTags({ projectId, environment: "prod", rotateEvery: "720h", grace: 3_600_000 })).toEqual(
      {
        "llamacloud-keys:managed": "true",
        "llamacloud-keys:project-id": projectId,
        "llamacloud-keys:environment": "prod",
        "llamacloud-keys:rotate-every": "30d",
        "llamacloud-keys:grace": "1h",
      },
    );
    expect(managementTags({ projectId, environment: "dev" })).toEqual({
      [TAG_MANAGED]: "true",
      [TAG_PROJECT_ID]: projectId,
      [TAG_ENVIRONMENT]: "dev",
    });
  });

  test("readManagementTags inverts managementTags", () => {
    const tags = {
      ...managementTags({ projectId, environment: "prod", rotateEvery: "30d", grace: "2h" }),
      other: "x",
    };
    expect(readManagementTags(tags, "s")).toEqual({
      managed: true,
      projectId,
      environment: "prod",
      rotateEveryMs: 2_592_000_000,
      graceMs: 7_200_000,
    });
  });

  test("only the exact value true marks a secret managed", () => {
    for (const value of ["True", "yes", "1", "false", ""]) {
      expect(readManagementTags({ [TAG_MANAGED]: value }, "s").managed).toBe(false);
    }
    expect(readManagementTags({}, "s")).toEqual({ managed: false });
  });

  test.each([
    [TAG_ROTATE_EVERY, "monthly"],
    [TAG_GRACE, "0s"],
    [TAG_PROJECT_ID, "my-project"],
    [TAG_ENVIRONMENT, " "],
  ])("a malformed %s tag is a typed error naming the tag and the fix", (tag, value) => {
    try {
      readManagementTags({ [TAG_MANAGED]: "true", [tag]: value }, "arn:aws:secretsmanager:r:1:secret:app");
      expect.unreachable();
    } catch (error) {
      expect(isSecretsError(error, "SECRET_INVALID_TAG")).toBe(true);
      const typed = error as InvalidManagementTagError;
      expect(typed.tag).toBe(tag);
      expect(typed.secretId).toBe("arn:aws:secretsmanager:r:1:secret:app");
      expect(typed.message).toContain(
        `Tag ${tag} on secret arn:aws:secretsmanager:r:1:secret:app is ${JSON.stringify(value)}`,
      );
      expect(typed.message).toContain(
        `aws secretsmanager tag-resource --secret-id arn:aws:secretsmanager:r:1:secret:app --tags Key=${tag},Value=<value>`,
      );
    }
  });

  test("message for a bad grace tag", () => {
    expect(() =>
      readManagementTags({ [TAG_GRACE]: "1 hour" }, "app/prod"),
    ).toThrowErrorMatchingInlineSnapshot(
      `[InvalidManagementTagError: Tag llamacloud-keys:grace on secret app/prod is "1 hour"; expected a whole number and one unit, e.g. 30d, 12h, 90m or 45s. Fix it with \`aws secretsmanager tag-resource --secret-id app/prod --tags Key=llamacloud-keys:grace,Value=<value>\`.]`,
    );
  });
});
