import { beforeAll, expect, test } from "vitest";
import { fakeKey } from "../harness/fake-key";
import { type Registration, recordRegistrations, resolved } from "../harness/pulumi-mocks";
import { requireDist } from "./fixtures";

// `ProjectKeys` under Pulumi mocks: the program runs in-process and every resource registration is
// recorded, so the test sees names, inputs (tags, KMS key, recovery window), the wiring between each
// secret and its key, and the IAM documents. `@pulumi/aws` cannot be deployed offline, so this is
// the level at which its wiring is proven; the ApiKey it declares is the one the engine tests run.

// The compiled component and the SDK instance it registers with (vitest's own copy would differ).
type Module = typeof import("../../provider/project-keys");
type ProjectKeysArgs = import("../../provider/project-keys").ProjectKeysArgs;
const { ProjectKeys } = requireDist<Module>("provider/project-keys.js");

let registrations: Registration[] = [];

beforeAll(async () => {
  registrations = await recordRegistrations("project-keys-test", "test");
});

const kmsKeyArn = "arn:aws:kms:eu-west-1:123456789012:key/1111-2222";

function build() {
  return new ProjectKeys("llamacloud", {
    projects: [
      { name: "search", environments: ["staging", "prod"] },
      { id: "3f1a2b4c-5d6e-4f70-8a91-b2c3d4e5f601", environments: ["prod"] },
    ],
    kmsKeyArn,
    recoveryWindowInDays: 7,
    rotation: { every: "30d", grace: "120m" },
    tags: { team: "platform" },
  });
}

test("one secret and one ApiKey per project × environment, named by convention and wired together", async () => {
  expect.assertions(5);
  const keys = build();
  const arns = await resolved(keys.secretArns);
  // ApiKeys register once their provider is serialized: wait for their outputs, not just the secrets'.
  await Promise.all(Object.values(keys.keys).map((key) => resolved(key.keyId)));
  expect(Object.keys(arns)).toEqual([
    "search/staging",
    "search/prod",
    "3f1a2b4c-5d6e-4f70-8a91-b2c3d4e5f601/prod",
  ]);
  const secrets = registrations.filter((r) => r.type === "aws:secretsmanager/secret:Secret");
  expect(secrets.map((s) => [s.name, s.inputs["name"]])).toEqual([
    ["llamacloud-search-staging", "llamacloud/search/staging"],
    ["llamacloud-search-prod", "llamacloud/search/prod"],
    [
      "llamacloud-3f1a2b4c-5d6e-4f70-8a91-b2c3d4e5f601-prod",
      "llamacloud/3f1a2b4c-5d6e-4f70-8a91-b2c3d4e5f601/prod",
    ],
  ]);
  expect(secrets[2]!.inputs).toMatchObject({
    kmsKeyId: kmsKeyArn,
    recoveryWindowInDays: 7,
    tags: {
      team: "platform",
      "llamacloud-keys:managed": "true",
      "llamacloud-keys:environment": "prod",
      "llamacloud-keys:project-id": "3f1a2b4c-5d6e-4f70-8a91-b2c3d4e5f601",
      "llamacloud-keys:rotate-every": "30d",
      "llamacloud-keys:grace": "2h",
    },
  });

  const apiKeys = registrations.filter((r) => r.type === "pulumi-nodejs:dynamic/llamacloud:ApiKey");
  expect(
    apiKeys.map((k) => [k.name, k.inputs["secretId"], k.inputs["projectName"] ?? k.inputs["projectId"]]),
  ).toEqual([
    ["llamacloud-search-staging", arns["search/staging"], "search"],
    ["llamacloud-search-prod", arns["search/prod"], "search"],
    [
      "llamacloud-3f1a2b4c-5d6e-4f70-8a91-b2c3d4e5f601-prod",
      arns["3f1a2b4c-5d6e-4f70-8a91-b2c3d4e5f601/prod"],
      "3f1a2b4c-5d6e-4f70-8a91-b2c3d4e5f601",
    ],
  ]);
  // The real serialized provider rides along, as it would into state.
  expect(apiKeys.every((k) => String(k.inputs["__provider"]).includes("exports.handler"))).toBe(true);
});

test("reader policies: per environment, read-only on that environment's secrets, KMS decrypt via Secrets Manager", async () => {
  expect.assertions(3);
  const keys = build();
  const [arns, policies] = await Promise.all([resolved(keys.secretArns), resolved(keys.readerPolicies)]);
  expect(Object.keys(policies).sort()).toEqual(["prod", "staging"]);
  expect(JSON.parse(policies["prod"]!)).toEqual({
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "ReadLlamaCloudKeys",
        Effect: "Allow",
        Action: ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
        Resource: [arns["3f1a2b4c-5d6e-4f70-8a91-b2c3d4e5f601/prod"], arns["search/prod"]].sort(),
      },
      {
        Sid: "DecryptLlamaCloudKeys",
        Effect: "Allow",
        Action: ["kms:Decrypt"],
        Resource: kmsKeyArn,
        Condition: { StringLike: { "kms:ViaService": "secretsmanager.*.amazonaws.com" } },
      },
    ],
  });
  expect(JSON.parse(policies["staging"]!).Statement[0].Resource).toEqual([arns["search/staging"]]);
});

test("the rotator policy covers every secret, ListSecrets (unscoped by AWS), and KMS encrypt/decrypt", async () => {
  expect.assertions(2);
  const keys = build();
  const [arns, policy] = await Promise.all([resolved(keys.secretArns), resolved(keys.rotatorPolicy)]);
  const statements = JSON.parse(policy).Statement;
  expect(statements[0].Resource).toEqual(Object.values(arns).sort());
  expect(statements.map((s: { Sid: string; Action: string[] }) => [s.Sid, s.Action])).toEqual([
    [
      "RotateLlamaCloudKeys",
      [
        "secretsmanager:DescribeSecret",
        "secretsmanager:GetSecretValue",
        "secretsmanager:ListSecretVersionIds",
        "secretsmanager:PutSecretValue",
        "secretsmanager:RotateSecret",
        "secretsmanager:UpdateSecretVersionStage",
      ],
    ],
    ["FindManagedSecrets", ["secretsmanager:ListSecrets"]],
    ["EncryptLlamaCloudKeys", ["kms:Decrypt", "kms:GenerateDataKey"]],
  ]);
});

test("without a KMS key the documents carry no KMS statement", async () => {
  expect.assertions(2);
  const keys = new ProjectKeys("plain", { projects: [{ name: "search", environments: ["dev"] }] });
  const [readers, rotator] = await Promise.all([resolved(keys.readerPolicies), resolved(keys.rotatorPolicy)]);
  expect(JSON.parse(readers["dev"]!).Statement).toHaveLength(1);
  expect(JSON.parse(rotator).Statement).toHaveLength(2);
});

test("bad args name the field and what is expected", () => {
  expect(
    () => new ProjectKeys("bad", { projects: [{ name: "search", id: "x", environments: ["Prod"] }] }),
  ).toThrowErrorMatchingInlineSnapshot(`
    [ProviderError: Invalid ProjectKeys "bad" args:
      "projects.0.id" must be a LlamaCloud project id (a UUID)
      "projects.0.environments.0" must be a short lowercase label, e.g. prod
      "projects.0" must have exactly one of id and name]
  `);
});

// Issue #16: ProjectKeys judges rotation, environments and the key prefix by the same rules as ApiKey
// (secrets/rotation-policy.ts, secrets/environment.ts), and reports them like ApiKey: one typed
// error, PROVIDER_INVALID_ARGS, a line per problem naming the field. A bad duration used to escape
// as an InvalidDurationError from the tag writing.
test.each([
  [
    { rotation: { every: "soon", grace: "2h" } },
    `"rotation.every" must be a whole number and one unit (d, h, m, s), e.g. 30d, 12h, 90m or 45s`,
  ],
  [
    { rotation: { every: "30d", grace: "30s" } },
    `"rotation.grace" must be at least 60s: LlamaCloud revocation can take up to a minute`,
  ],
  [
    { rotation: { every: "1h", grace: "2h" } },
    `"rotation.every" must be longer than grace: the previous key must be revoked before the next rotation`,
  ],
  [{ rotation: { every: "30d" } }, `"rotation.grace" must be a duration string, e.g. 30d or 2h`],
  [
    { keyPrefix: "a/b" },
    `"keyPrefix" must be 1-100 letters, digits, dots, underscores or dashes (no slashes), e.g. checkout-api`,
  ],
])("bad args %j: PROVIDER_INVALID_ARGS naming the field and the fix", (extra, line) => {
  let thrown: unknown;
  try {
    // Plain JavaScript callers can pass anything; the types would refuse some of these.
    const args = { projects: [{ name: "search", environments: ["prod"] }], ...extra } as ProjectKeysArgs;
    new ProjectKeys("bad-rule", args);
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toMatchObject({
    code: "PROVIDER_INVALID_ARGS",
    issues: [line],
    message: `Invalid ProjectKeys "bad-rule" args:\n  ${line}`,
  });
});

// README (provider): "Bad args are refused before anything is declared": not even the component.
test("bad args (a bad field, a pair listed twice, an unknown rotation mode) register nothing, not even the component", async () => {
  const bad: ProjectKeysArgs[] = [
    { projects: [{ name: "search", environments: ["Prod"] }] },
    { projects: [{ name: "search", environments: ["prod", "prod"] }] },
    {
      projects: [{ name: "search", environments: ["prod"] }],
      rotation: { every: "30d", grace: "2h", mode: "cron" as "daemon" },
    },
  ];
  for (const [i, args] of bad.entries()) {
    expect(() => new ProjectKeys(`refused-${i}`, args)).toThrow(
      expect.objectContaining({ code: "PROVIDER_INVALID_ARGS" }),
    );
  }
  // A good component registered afterwards: once its secrets resolve, the mocks have seen the
  // registrations sent before it, the component's own included.
  const good = new ProjectKeys("declared-after", { projects: [{ name: "search", environments: ["qa"] }] });
  await resolved(good.secretArns);
  const names = registrations.map((r) => r.name);
  expect(names).toContain("declared-after");
  expect(names.filter((name) => name.startsWith("refused-"))).toEqual([]);
});

// SECURITY.md: an error that quotes a refused value scrubs any key in it.
test("an unknown rotation mode is quoted in the refusal with a key pasted into it scrubbed", () => {
  const pasted = fakeKey("PastedAsRotationMode0123456789abcdefghijklmnopqrstuvw");
  let message = "";
  try {
    new ProjectKeys("pasted-mode", {
      projects: [{ name: "search", environments: ["prod"] }],
      rotation: { every: "30d", grace: "2h", mode: pasted as "daemon" },
    });
  } catch (error) {
    message = (error as Error).message;
  }
  expect(message).toContain('"rotation.mode" must be "daemon" or "native"; got "llx-');
  expect(message).not.toContain(pasted.slice(4, 16));
});
