import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { runProcess } from "../harness/processes";
import { repoRoot } from "../harness/tools";

// examples/project-keys/README.md, checked on the program itself (examples/project-keys/index.js),
// run as written under Pulumi mocks: `@pulumi/aws` resources cannot be deployed offline, so this is
// the level at which its claims (secret names, KMS key, tags, recovery window, the policies it
// outputs) are proven. `llamacloud-keys` resolves to this package from outside the repository.

interface Registration {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
}
interface Statement {
  Sid: string;
  Action: string[];
  Resource: string[] | string;
  Condition?: unknown;
}

const runner = `
const pulumi = require("@pulumi/pulumi");
const registrations = [];
pulumi.runtime
  .setMocks(
    {
      newResource(args) {
        registrations.push({ type: args.type, name: args.name, inputs: args.inputs });
        let arn = "arn:aws:iam::111122223333:policy/" + args.name;
        if (args.type === "aws:secretsmanager/secret:Secret")
          arn = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:" + args.inputs.name + "-AbCdEf";
        if (args.type === "aws:kms/key:Key") arn = "arn:aws:kms:eu-west-1:111122223333:key/" + args.name;
        return { id: args.name + "-id", state: { ...args.inputs, arn, keyId: args.name + "-key" } };
      },
      call: (args) => args.inputs,
    },
    "llamacloud-keys-project-keys",
    "prod",
    false,
  )
  .then(async () => {
    const program = require(process.argv[2]);
    const exported = {};
    for (const [name, output] of Object.entries(program)) {
      exported[name] = await new Promise((resolve) => pulumi.output(output).apply(resolve));
    }
    // The ApiKeys register once their dynamic provider is serialized: wait for all four.
    for (let i = 0; i < 200 && registrations.filter((r) => r.type.includes(":ApiKey")).length < 4; i++) {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    console.log(JSON.stringify({ exported, registrations }));
  });
`;

let workdir: string;
let exported: Record<string, unknown>;
let registrations: Registration[];

beforeAll(async () => {
  workdir = await mkdtemp(join(tmpdir(), "llamacloud-keys-project-keys-example-"));
  await mkdir(join(workdir, "node_modules"));
  await symlink(repoRoot, join(workdir, "node_modules", "llamacloud-keys"), "dir");
  await writeFile(join(workdir, "run.js"), runner);
  const result = await runProcess(
    process.execPath,
    [join(workdir, "run.js"), join(repoRoot, "examples", "project-keys", "index.js")],
    {
      cwd: workdir,
      env: {
        PATH: process.env.PATH ?? "",
        // @pulumi/pulumi and @pulumi/aws from the repository's node_modules: one copy of each.
        NODE_PATH: [join(workdir, "node_modules"), join(repoRoot, "node_modules")].join(delimiter),
      },
      timeoutMs: 120_000,
    },
  );
  if (result.code !== 0) throw new Error(`the example exited with ${result.code}:\n${result.output}`);
  ({ exported, registrations } = JSON.parse(result.stdout.trim().split("\n").at(-1)!) as {
    exported: Record<string, unknown>;
    registrations: Registration[];
  });
}, 180_000);

afterAll(async () => {
  if (workdir !== undefined) await rm(workdir, { recursive: true, force: true });
});

const kmsArn = "arn:aws:kms:eu-west-1:111122223333:key/llamacloud-keys";
const arnOf = (name: string) => `arn:aws:secretsmanager:eu-west-1:111122223333:secret:${name}-AbCdEf`;
const matrix = ["search/staging", "search/prod", "ingest/staging", "ingest/prod"];
const policyOf = (name: string) =>
  JSON.parse(registrations.find((r) => r.name === name)!.inputs["policy"] as string) as {
    Statement: Statement[];
  };

test("an aws.secretsmanager.Secret per project × environment, named llamacloud/<project>/<environment>, encrypted with the KMS key, tagged, with a recovery window", () => {
  const secrets = registrations.filter((r) => r.type === "aws:secretsmanager/secret:Secret");
  expect(secrets.map((s) => s.inputs["name"])).toEqual(matrix.map((pair) => `llamacloud/${pair}`));
  for (const secret of secrets) {
    expect(secret.inputs).toMatchObject({
      kmsKeyId: kmsArn,
      recoveryWindowInDays: 7,
      tags: { team: "platform", "llamacloud-keys:managed": "true" },
    });
  }
});

test("an ApiKey writes its key into each of them", () => {
  const keys = registrations.filter((r) => r.type.endsWith(":ApiKey"));
  expect(keys).toHaveLength(4);
});

test("it outputs the secret ARNs and the ARNs of the two policies", () => {
  expect(exported["secretArns"]).toEqual(
    Object.fromEntries(matrix.map((pair) => [pair, arnOf(`llamacloud/${pair}`)])),
  );
  expect(exported).toMatchObject({
    prodReaderPolicyArn: "arn:aws:iam::111122223333:policy/llamacloud-prod-readers",
    rotatorPolicyArn: "arn:aws:iam::111122223333:policy/llamacloud-rotator",
  });
});

test("readerPolicies[prod]: GetSecretValue and DescribeSecret on the prod secrets, kms:Decrypt through Secrets Manager only", () => {
  const [read, kms, ...rest] = policyOf("llamacloud-prod-readers").Statement;
  expect([...read!.Action].sort()).toEqual([
    "secretsmanager:DescribeSecret",
    "secretsmanager:GetSecretValue",
  ]);
  expect(read!.Resource).toEqual([arnOf("llamacloud/ingest/prod"), arnOf("llamacloud/search/prod")]);
  expect(kms).toMatchObject({
    Action: ["kms:Decrypt"],
    Resource: kmsArn,
    Condition: { StringLike: { "kms:ViaService": "secretsmanager.*.amazonaws.com" } },
  });
  expect(rest).toEqual([]);
});

test("rotatorPolicy: the README's actions on every secret, ListSecrets on *, kms:Decrypt and kms:GenerateDataKey", () => {
  const [rotate, list, kms, ...rest] = policyOf("llamacloud-rotator").Statement;
  expect([...rotate!.Action].sort()).toEqual([
    "secretsmanager:DescribeSecret",
    "secretsmanager:GetSecretValue",
    "secretsmanager:ListSecretVersionIds",
    "secretsmanager:PutSecretValue",
    "secretsmanager:RotateSecret",
    "secretsmanager:UpdateSecretVersionStage",
  ]);
  expect([...(rotate!.Resource as string[])].sort()).toEqual(
    matrix.map((pair) => arnOf(`llamacloud/${pair}`)).sort(),
  );
  expect(list).toMatchObject({ Action: ["secretsmanager:ListSecrets"], Resource: "*" });
  expect(kms).toMatchObject({ Action: ["kms:Decrypt", "kms:GenerateDataKey"], Resource: kmsArn });
  expect(rest).toEqual([]);
});
