import { describe, expect, test } from "vitest";
import { readPolicy } from "../../rotator/policy";
import { type InvalidManagementTagError, isSecretsError } from "../../secrets/errors";
import {
  managementTags,
  readManagementTags,
  TAG_ENVIRONMENT,
  TAG_GRACE,
  TAG_MANAGED,
  TAG_PROJECT_ID,
  TAG_ROTATE_EVERY,
} from "../../secrets/tags";
import { fakeKey } from "../harness/fake-key";

const projectId = "3f1a2b4c-5d6e-4f70-8a91-b2c3d4e5f601";

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

  // SECURITY.md: errors name the field and never quote a key, even one pasted into a tag.
  test("a key-shaped tag value is quoted scrubbed: llx-[redacted], never the key", () => {
    const key = fakeKey("pastedintoatag");
    for (const tag of [TAG_GRACE, TAG_PROJECT_ID, TAG_ROTATE_EVERY]) {
      const error = (() => {
        try {
          readManagementTags({ [tag]: key }, "app/prod");
        } catch (caught) {
          return caught as Error;
        }
        throw new Error("accepted a key as a tag value");
      })();
      expect(error.message).toContain(`Tag ${tag} on secret app/prod is "llx-[redacted]"`);
      expect(error.message).not.toContain(key.slice(4));
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

describe("the tag contract, read by one schema", () => {
  test.each([
    ["an upper-case project uuid", { [TAG_PROJECT_ID]: projectId.toUpperCase() }, undefined],
    ["a hand-tagged environment with a slash", { [TAG_ENVIRONMENT]: "eu/prod" }, undefined],
    [
      "several bad tags: the project id is named first",
      { [TAG_GRACE]: "x", [TAG_PROJECT_ID]: "p" },
      TAG_PROJECT_ID,
    ],
    [
      "a bad environment before a bad duration",
      { [TAG_ROTATE_EVERY]: "x", [TAG_ENVIRONMENT]: "" },
      TAG_ENVIRONMENT,
    ],
    ["rotate-every before grace", { [TAG_GRACE]: "1 hour", [TAG_ROTATE_EVERY]: "1 day" }, TAG_ROTATE_EVERY],
    ["tags that are not ours are ignored", { team: "", "aws:x": "y" }, undefined],
  ])("%s", (_what, tags, badTag) => {
    const read = () => readManagementTags({ [TAG_MANAGED]: "true", ...tags }, "s");
    if (badTag === undefined) expect(read().managed).toBe(true);
    else expect(read).toThrow(expect.objectContaining({ code: "SECRET_INVALID_TAG", tag: badTag }));
  });
});

// DESIGN.md's tag table: `llamacloud-keys:grace` defaults to 2h and is refused below 60s. The
// default and the floor are applied where the tags become a rotation policy (the rotator's guard).
describe("DESIGN.md's grace tag, as the rotator reads it", () => {
  const arn = "arn:aws:secretsmanager:eu-west-3:111122223333:secret:llamacloud/search/prod-AbCdEf";
  const policy = (tags: Record<string, string>) =>
    readPolicy({
      arn,
      name: "llamacloud/search/prod",
      tags: { [TAG_MANAGED]: "true", [TAG_PROJECT_ID]: projectId, [TAG_ENVIRONMENT]: "prod", ...tags },
    });

  test("without a grace tag, grace is 2h", () => {
    expect(policy({ [TAG_ROTATE_EVERY]: "30d" })).toMatchObject({
      graceMs: 7_200_000,
      rotateEveryMs: 2_592_000_000,
    });
  });

  test.each([
    ["60s", 60_000],
    ["1m", 60_000],
    ["90m", 5_400_000],
  ])("grace %s is accepted (%d ms)", (grace, ms) => {
    expect(policy({ [TAG_GRACE]: grace }).graceMs).toBe(ms);
  });

  test.each(["59s", "1s"])("grace %s, below 60s, is refused naming the tag", (grace) => {
    expect(() => policy({ [TAG_GRACE]: grace })).toThrow(
      expect.objectContaining({
        code: "ROTATOR_GRACE_TOO_SHORT",
        message: expect.stringContaining(
          `Tag ${TAG_GRACE} on secret ${arn} is "${grace}"; grace must be at least 60s`,
        ),
      }),
    );
  });
});
