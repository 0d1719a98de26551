import * as path from "node:path";
import type * as Aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { parseDuration } from "../secrets/duration";
import {
  MIN_ROTATION_INTERVAL_MS,
  type RotationRules,
  rotationRulesIssues,
  rulesForInterval,
} from "../secrets/rotation-rules";
import { ProviderError } from "./errors";
import type { NativeRotationArgs } from "./native-rotation-args";

export type { NativeRotationArgs } from "./native-rotation-args";

/**
 * `ProjectKeys` with `rotation.mode: "native"`: Secrets Manager rotates each secret itself by
 * invoking the packaged rotation function (`npm run package:lambda`), and an EventBridge schedule
 * invokes the same function for the revoke-only pass (previous keys past grace, orphans).
 */

const DEFAULT_REVOKE_SCHEDULE = "rate(15 minutes)";

const nativeSchema = z.object({
  code: z.string().min(1).optional(),
  revokeSchedule: z
    .string()
    .regex(/^(rate\(\d+ (minute|minutes|hour|hours|day|days)\)|cron\(.+\))$/, {
      error: "must be an EventBridge schedule expression, e.g. rate(15 minutes) or cron(0/15 * * * ? *)",
    })
    .optional(),
  // Its format and fit are RotationRules rules (secrets/rotation-rules.ts), checked with the schedule.
  window: z.string().optional(),
  runtime: z.enum(["nodejs22.x", "nodejs24.x"]).optional(),
});

/**
 * `RotationRules` from the rotation interval (`rotation.every`): whole days become
 * `AutomaticallyAfterDays`, whole hours a `rate(N hours)` expression; validated as Secrets Manager
 * does (`secrets/rotation-rules.ts`: at least 4 hours apart, at most 1000 days, the window within
 * the interval).
 * @public test/native/project-keys-native.test.ts loads it from dist, where the dead-code check cannot see.
 */
export function nativeRotationRules(every: string, window?: string): RotationRules {
  const ms = parseDuration(every, "rotation.every");
  const fields = { schedule: "rotation.every", window: "rotation.native.window" };
  // Below 4 hours, minutes cannot become RotationRules: say what the rule is, not the unit.
  if (ms < MIN_ROTATION_INTERVAL_MS) {
    throw invalid(
      `"rotation.every" is ${every}: Secrets Manager rotates at most every 4 hours; use 4h or more`,
    );
  }
  const rules = rulesForInterval(ms, window);
  if (rules === undefined) {
    throw invalid(`"rotation.every" is ${every}: native rotation needs whole hours or days, e.g. 12h or 30d`);
  }
  const issues = rotationRulesIssues(rules, fields);
  if (issues.length > 0) throw invalid(issues.map((issue) => issue.message).join("; "));
  return rules;
}

function invalid(message: string): ProviderError {
  return new ProviderError("PROVIDER_INVALID_ARGS", `Invalid ProjectKeys native rotation: ${message}`);
}

/** The default zip: `dist/lambda/` beside this compiled module's `dist/provider/`. */
function defaultFunctionZip(): string {
  return path.join(__dirname, "..", "lambda", "llamacloud-keys-rotator.zip");
}

/**
 * The rotation function's execution role policy: the four actions the steps use, on the managed
 * secrets only; the admin key's secret read-only; KMS through Secrets Manager when a key is given;
 * its own log group. No ListSecrets: the revoke pass covers the secrets named in its environment.
 */
function nativeFunctionPolicy(input: {
  secretArns: string[];
  adminSecretArn: string;
  kmsKeyArn?: string;
  logGroupArn: string;
}): string {
  const statements: object[] = [
    {
      Sid: "RotateManagedSecrets",
      Effect: "Allow",
      Action: [
        "secretsmanager:DescribeSecret",
        "secretsmanager:GetSecretValue",
        "secretsmanager:PutSecretValue",
        "secretsmanager:UpdateSecretVersionStage",
      ],
      Resource: [...input.secretArns].sort(),
    },
    {
      Sid: "ReadAdminKey",
      Effect: "Allow",
      Action: ["secretsmanager:GetSecretValue"],
      Resource: input.adminSecretArn,
    },
    {
      Sid: "WriteOwnLogs",
      Effect: "Allow",
      Action: ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
      Resource: [input.logGroupArn, `${input.logGroupArn}:*`],
    },
  ];
  if (input.kmsKeyArn !== undefined) {
    statements.push({
      Sid: "UseSecretsKmsKey",
      Effect: "Allow",
      Action: ["kms:Decrypt", "kms:GenerateDataKey"],
      Resource: input.kmsKeyArn,
      Condition: { StringLike: { "kms:ViaService": "secretsmanager.*.amazonaws.com" } },
    });
  }
  return JSON.stringify({ Version: "2012-10-17", Statement: statements });
}

export interface NativeRotationResources {
  function: Aws.lambda.Function;
  role: Aws.iam.Role;
  rotations: Record<string, Aws.secretsmanager.SecretRotation>;
  revokeRule: Aws.cloudwatch.EventRule;
}

/**
 * Declares the function, its role and policy, the permissions for Secrets Manager (scoped with the
 * source account) and EventBridge (scoped with the rule), one `SecretRotation` per secret (after its
 * ApiKey wrote the first key; `rotateImmediately: false`, so enabling rotation only tests the
 * configuration) and the revoke-pass schedule.
 */
export function declareNativeRotation(
  aws: typeof Aws,
  parent: pulumi.Resource,
  name: string,
  input: {
    native: NativeRotationArgs;
    every: string;
    /** Per pair: the name its Secret and ApiKey were declared with, and both resources. */
    secrets: Record<
      string,
      { resourceName: string; secret: Aws.secretsmanager.Secret; key: pulumi.Resource }
    >;
    kmsKeyArn?: pulumi.Input<string>;
  },
): NativeRotationResources {
  const parsed = nativeSchema.safeParse({
    code: input.native.code,
    revokeSchedule: input.native.revokeSchedule,
    window: input.native.window,
    runtime: input.native.runtime,
  });
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `"rotation.native.${i.path.join(".")}" ${i.message}`);
    throw invalid(lines.join("; "));
  }
  if (input.native.adminSecretArn === undefined || input.native.adminSecretArn === "") {
    throw invalid(
      '"rotation.native.adminSecretArn" is required: the secret holding the LlamaCloud admin key',
    );
  }
  const rules = nativeRotationRules(input.every, input.native.window);
  const opts = { parent };
  const pairs = Object.keys(input.secrets);
  const secretArns = pulumi.all(pairs.map((pair) => input.secrets[pair]!.secret.arn));
  const functionName = `${name}-rotation`;
  const partition = aws.getPartitionOutput({}, opts).partition;
  const identity = aws.getCallerIdentityOutput({}, opts);
  const region = aws.getRegionOutput({}, opts).region;
  const logGroupArn = pulumi.interpolate`arn:${partition}:logs:${region}:${identity.accountId}:log-group:/aws/lambda/${functionName}`;

  const role = new aws.iam.Role(
    functionName,
    {
      assumeRolePolicy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          { Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" },
        ],
      }),
      description: "llamacloud-keys rotation function (native rotation)",
    },
    opts,
  );
  const kms = input.kmsKeyArn === undefined ? pulumi.output(undefined) : pulumi.output(input.kmsKeyArn);
  const policy = new aws.iam.RolePolicy(
    functionName,
    {
      role: role.id,
      policy: pulumi
        .all([secretArns, pulumi.output(input.native.adminSecretArn), kms, logGroupArn])
        .apply(([arns, admin, key, logs]) =>
          nativeFunctionPolicy({
            secretArns: arns,
            adminSecretArn: admin,
            ...(key === undefined ? {} : { kmsKeyArn: key }),
            logGroupArn: logs,
          }),
        ),
    },
    opts,
  );
  const fn = new aws.lambda.Function(
    functionName,
    {
      name: functionName,
      runtime: parsed.data.runtime ?? "nodejs22.x",
      handler: "index.handler",
      code: new pulumi.asset.FileArchive(parsed.data.code ?? defaultFunctionZip()),
      role: role.arn,
      timeout: 60,
      memorySize: 256,
      environment: {
        variables: {
          LLAMACLOUD_KEYS_ADMIN_SECRET_ARN: input.native.adminSecretArn,
          LLAMACLOUD_KEYS_SECRET_IDS: secretArns.apply((arns) => [...arns].sort().join(",")),
        },
      },
    },
    { parent, dependsOn: [policy] },
  );
  const sourceAccount = input.native.sourceAccount ?? identity.accountId;
  const fromSecretsManager = new aws.lambda.Permission(
    `${functionName}-secretsmanager`,
    {
      action: "lambda:InvokeFunction",
      function: fn.name,
      principal: "secretsmanager.amazonaws.com",
      sourceAccount,
    },
    opts,
  );
  const rotations: Record<string, Aws.secretsmanager.SecretRotation> = {};
  for (const pair of pairs) {
    const { resourceName, secret, key } = input.secrets[pair]!;
    rotations[pair] = new aws.secretsmanager.SecretRotation(
      resourceName,
      {
        secretId: secret.id,
        rotationLambdaArn: fn.arn,
        rotationRules: rules,
        rotateImmediately: false,
      },
      // The first key must be in the secret before Secrets Manager tests the configuration.
      { parent, dependsOn: [fromSecretsManager, key] },
    );
  }
  const revokeRule = new aws.cloudwatch.EventRule(
    `${name}-revoke-pass`,
    {
      description: "llamacloud-keys: revoke previous keys past grace, and orphans (native rotation)",
      scheduleExpression: parsed.data.revokeSchedule ?? DEFAULT_REVOKE_SCHEDULE,
    },
    opts,
  );
  const fromEvents = new aws.lambda.Permission(
    `${functionName}-events`,
    {
      action: "lambda:InvokeFunction",
      function: fn.name,
      principal: "events.amazonaws.com",
      sourceArn: revokeRule.arn,
    },
    opts,
  );
  new aws.cloudwatch.EventTarget(
    `${name}-revoke-pass`,
    { rule: revokeRule.name, arn: fn.arn },
    { parent, dependsOn: [fromEvents] },
  );
  return { function: fn, role, rotations, revokeRule };
}
