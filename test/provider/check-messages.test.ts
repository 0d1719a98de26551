import { mkdir, mkdtemp, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { fakeKey } from "../harness/fake-key";
import { createPulumiWorkspace, type PulumiWorkspace } from "../harness/pulumi";
import { repoRoot } from "../harness/tools";
import { loadProvider } from "./fixtures";

// Invariant 7 for resource args, as a user sees it: every check failure is printed once, as one
// line naming the field, the value given (never a key) and the expected form. Pulumi prints a
// failure that carries a `property` as `property <p> value <v> has a problem: <reason>`, with a
// nested field's value as `{<nil>}` and a top-level one unscrubbed, so failures carry none.

const timeout = 240_000;
// Pasted into the wrong field: must never be printed back.
const pastedKey = fakeKey("pastedintothewrongfield");

// The case (a bad grace) and one resource with a failure of every kind.
const cases: Record<string, Record<string, unknown>> = {
  "bad-grace": { projectName: "search", environment: "prod", rotation: { every: "30d", grace: "30s" } },
  "bad-many": {
    projectId: "not-a-uuid",
    environment: pastedKey,
    recoveryWindowInDays: 3,
    rotation: { every: "30 days", grace: "2h", grase: "1h" },
    tags: { "llamacloud-keys:managed": "false" },
    regon: "eu",
  },
};

// One resource per preview (CASE names it): the engine stops at the first resource that fails.
const program = `
const { ApiKey } = require("llamacloud-keys/provider");
const cases = ${JSON.stringify(cases)};
new ApiKey(process.env.CASE, cases[process.env.CASE]);
`;

/** Every reason the provider gives for `news`, as the engine receives them. */
async function reasons(news: Record<string, unknown>): Promise<string[]> {
  const result = await loadProvider().check({}, news);
  for (const failure of result.failures ?? []) expect(failure.property).toBe("");
  return (result.failures ?? []).map((failure) => failure.reason);
}

describe("check failures, from the provider", () => {
  test("native rotation's rules are checked as Secrets Manager checks them, even before the function exists", async () => {
    const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
    const key = { projectName: "search", environment: "prod" };
    const arn = "arn:aws:lambda:eu-west-1:123456789012:function:llamacloud-keys-rotation";
    const rotation = (extra: Record<string, unknown>) => ({
      ...key,
      rotation: { every: "30d", grace: "2h", ...extra },
    });
    // Valid, with the function known or still unknown (declared in the same program).
    expect(await reasons(rotation({ lambdaArn: arn }))).toEqual([]);
    expect(await reasons(rotation({ lambdaArn: arn, schedule: 7, window: "4h" }))).toEqual([]);
    expect(
      await reasons(rotation({ lambdaArn: UNKNOWN, schedule: "cron(0 4 1 * ? *)", window: "3h" })),
    ).toEqual([]);
    expect(await reasons(rotation({ lambdaArn: UNKNOWN, schedule: "rate(2 hours)" }))).toMatchInlineSnapshot(`
      [
        ""rotation.schedule" must be at most every 4 hours: Secrets Manager rotates no more often; use rate(4 hours) or more; given "rate(2 hours)"",
      ]
    `);
    expect(
      await reasons({
        ...key,
        rotation: { every: "90m", grace: "2m", lambdaArn: "function:x", window: "1h" },
      }),
    ).toMatchInlineSnapshot(`
      [
        ""rotation.lambdaArn" must be a Lambda function ARN, e.g. arn:aws:lambda:eu-west-1:123456789012:function:llamacloud-keys-rotation; given "function:x"",
        ""rotation.schedule" must be set when "rotation.every" (90m) is not whole hours or days: Secrets Manager schedules in hours or days, e.g. "rate(12 hours)"; not set",
      ]
    `);
    expect(await reasons(rotation({ schedule: "rate(30 days)" }))).toMatchInlineSnapshot(`
      [
        ""rotation.lambdaArn" must be set when "rotation.schedule" or "rotation.window" is: they configure native rotation by that function; set it, or drop them to keep rotation with the llamacloud-keys rotator; not set",
      ]
    `);
    expect(
      await reasons({
        ...key,
        rotation: { every: "30d", grace: "2d", lambdaArn: arn, schedule: "rate(1 day)" },
      }),
    ).toMatchInlineSnapshot(`
      [
        ""rotation.schedule" must rotate less often than "rotation.grace" (2d) lasts: the previous key must be revoked before the next rotation; given "rate(1 day)"",
      ]
    `);
    expect(await reasons(rotation({ lambdaArn: arn, schedule: 0, window: "30m" }))).toMatchInlineSnapshot(`
      [
        ""rotation.schedule" must be a whole number of days from 1 to 1000 (AutomaticallyAfterDays): Secrets Manager allows at least 1 and at most 1000 days, e.g. 30; given 0",
        ""rotation.window" must be whole hours from 1h to 24h, e.g. "3h" (the rotation window, RotationRules.Duration); given "30m"",
      ]
    `);
    expect(
      await reasons(rotation({ lambdaArn: arn, schedule: "cron(0 22 * * MON *)", window: "3h" })),
    ).toMatchInlineSnapshot(`
      [
        ""rotation.schedule" must have ? in exactly one of the day-of-month and day-of-week fields: cron(Minutes Hours Day-of-month Month Day-of-week Year), e.g. "cron(0 4 1 * ? *)"; given "cron(0 22 * * MON *)"",
      ]
    `);
  });

  test("each names the field, the value given and the expected form", async () => {
    expect(await reasons(cases["bad-grace"]!)).toMatchInlineSnapshot(`
      [
        ""rotation.grace" must be a duration of at least 60s, e.g. 2h: LlamaCloud revocation can take up to a minute; given "30s"",
      ]
    `);
    expect(await reasons(cases["bad-many"]!)).toMatchInlineSnapshot(`
      [
        ""projectId" must be the LlamaCloud project id (a UUID); given "not-a-uuid"",
        ""environment" must be a short lowercase label: a letter, then up to 31 letters, digits or dashes, e.g. prod; given "llx-[redacted]"",
        ""tags" must not use the reserved prefixes llamacloud-keys: (set "rotation" instead) or aws:; given the key "llamacloud-keys:managed"",
        ""recoveryWindowInDays" must be 0 (delete without recovery) or 7 to 30; given 3",
        ""rotation.every" must be a whole number and one unit (d, h, m, s), e.g. 30d, 12h, 90m or 45s; given "30 days"",
        ""rotation": unknown property "grase": check the spelling against ApiKeyArgs; given "1h"",
        "unknown property "regon": check the spelling against ApiKeyArgs; given "eu"",
      ]
    `);
  });

  test("cross-field failures say what was given for each field", async () => {
    expect(await reasons({ environment: "prod" })).toMatchInlineSnapshot(`
      [
        "exactly one of "projectId" and "projectName" must be set; neither is set",
      ]
    `);
    expect(
      await reasons({
        projectId: "5f0c5a3e-1b2c-4d5e-8f90-123456789abc",
        projectName: "search",
        environment: "prod",
      }),
    ).toMatchInlineSnapshot(`
      [
        "exactly one of "projectId" and "projectName" must be set; both are set: "5f0c5a3e-1b2c-4d5e-8f90-123456789abc" and "search"",
      ]
    `);
    expect(
      await reasons({
        projectName: "search",
        environment: "prod",
        region: "eu",
        baseUrl: "https://x.example",
      }),
    ).toMatchInlineSnapshot(`
      [
        "set "region" or "baseUrl", not both; both are set: "eu" and "https://x.example"",
      ]
    `);
    expect(
      await reasons({ projectName: "search", environment: "prod", rotation: { every: "1h", grace: "2h" } }),
    ).toMatchInlineSnapshot(`
      [
        ""rotation.every" must be longer than "rotation.grace" (2h), e.g. 30d: the previous key must be revoked before the next rotation; given "1h"",
      ]
    `);
  });

  test("a quoted value is scrubbed of keys, stripped of invisible characters and shortened", async () => {
    const [long] = await reasons({ projectName: "search", environment: `prod-${"x".repeat(200)}` });
    expect(long).toMatch(/; given "prod-x+…$/);
    const [hidden] = await reasons({ projectName: "search", environment: "pro\u202ed" });
    expect(hidden).toContain('given "pro\\u202ed"');
    const [key] = await reasons({ projectName: "search", environment: "prod", name: `a/${pastedKey}` });
    expect(key).not.toContain(pastedKey);
    expect(key).toContain("llx-[redacted]");
  });
});

describe("check failures, through the real CLI", () => {
  let workspace: PulumiWorkspace;
  let nodePath: string;

  beforeAll(async () => {
    nodePath = await mkdtemp(join(tmpdir(), "llamacloud-keys-node-path-"));
    await mkdir(nodePath, { recursive: true });
    await symlink(repoRoot, join(nodePath, "llamacloud-keys"), "dir");
    workspace = await createPulumiWorkspace({
      files: {
        "Pulumi.yaml": "name: check-messages\nruntime: nodejs\n",
        "package.json": JSON.stringify({ name: "check-messages", private: true }),
        "index.js": program,
      },
      // check runs before any call out: no LlamaCloud or AWS is needed, and none is given.
      env: { NODE_PATH: nodePath, LLAMA_CLOUD_API_KEY: "", LLAMA_CLOUD_BASE_URL: "" },
    });
  }, timeout);

  afterAll(async () => {
    await workspace?.cleanup();
    if (nodePath !== undefined) await rm(nodePath, { recursive: true, force: true });
  });

  test.each(Object.keys(cases))(
    "pulumi preview of %s: each failure once in its diagnostics, no `property … value … has a problem`",
    async (name) => {
      const preview = await workspace.run(["preview"], { env: { CASE: name } });
      expect(preview.code).not.toBe(0);
      const output = preview.output;
      expect(output).not.toContain(pastedKey);
      expect(output).not.toMatch(/property \S+ value/);
      expect(output).not.toContain("<nil>");
      // The CLI shows a failure in its progress rows and again under "Diagnostics:"; each of those
      // must hold it exactly once, as its own line.
      const [progress, diagnostics] = output.split("\nDiagnostics:\n") as [string, string];
      expect(diagnostics, output).toBeDefined();
      const expected = await reasons(cases[name]!);
      expect(expected.length).toBeGreaterThan(0);
      const lines = diagnostics.split("\n").filter((line) => line.includes("has a problem"));
      expect(lines).toHaveLength(expected.length);
      for (const reason of expected) {
        for (const part of [progress, diagnostics]) {
          expect(part.split(reason).length - 1, `${reason}\n---\n${output}`).toBe(1);
        }
        expect(diagnostics).toContain(
          `error: pulumi-nodejs:dynamic/llamacloud:ApiKey resource '${name}' has a problem: ${reason}\n`,
        );
      }
    },
    timeout,
  );
});
