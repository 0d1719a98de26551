import type * as Aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { KEY_PREFIX_PATTERN } from "../llamacloud/key-name";
import { scrub } from "../redaction";
import { formatDuration, parseDuration } from "../secrets/duration";
import { environmentSchema } from "../secrets/environment";
import {
  checkRotationPolicy,
  ROTATION_POLICY_WORDING,
  rotationPolicyFields,
} from "../secrets/rotation-policy";
import { TAG_ENVIRONMENT, TAG_GRACE, TAG_MANAGED, TAG_PROJECT_ID, TAG_ROTATE_EVERY } from "../secrets/tags";
import { ApiKey } from "./api-key";
import { DEFAULT_SECRET_PREFIX } from "./args";
import { ProviderError } from "./errors";
import { declareNativeRotation } from "./native-rotation";
import type { NativeRotationArgs } from "./native-rotation-args";
import { requirePeer } from "./peers";

/** One LlamaCloud project and the environments that get a key in it. */
export interface ProjectKeysProject {
  /** The project's id; or give `name`. Ids keep the secret's tags fully known at preview. */
  id?: string;
  /** The project's exact name; or give `id`. */
  name?: string;
  /** Needed when the name exists in several organizations. */
  organizationId?: string;
  /** Environment labels, e.g. `["staging", "prod"]`. */
  environments: string[];
}

/**
 * Each pair's `aws.secretsmanager.Secret`, typed without naming `@pulumi/aws`: a program that uses
 * only `ApiKey` type-checks without it installed. With it, cast to `aws.secretsmanager.Secret`.
 */
export type ProjectKeysSecret = pulumi.CustomResource & {
  readonly arn: pulumi.Output<string>;
  readonly name: pulumi.Output<string>;
};

/** Inputs of {@link ProjectKeys}. The project × environment matrix is plain data: it shapes the resources. */
export interface ProjectKeysArgs {
  /**
   * Projects and their environments.
   * @example
   * { projects: [{ name: "search", environments: ["staging", "prod"] }] }
   */
  projects: ProjectKeysProject[];
  /**
   * First segment of secret names: `<secretPrefix>/<project>/<environment>`. Default `llamacloud`.
   * @example
   * { secretPrefix: "apps/llamacloud" }
   */
  secretPrefix?: string;
  /**
   * ARN of the KMS key that encrypts every secret; reader and rotator policies then allow
   * `kms:Decrypt` on it. Default: the account's `aws/secretsmanager` key (no KMS statement needed).
   * @example
   * { kmsKeyArn: key.arn }
   */
  kmsKeyArn?: pulumi.Input<string>;
  /**
   * Days a destroyed secret can be restored (7-30), or 0 to delete at once. Default 30 (AWS).
   * @example
   * { recoveryWindowInDays: 7 }
   */
  recoveryWindowInDays?: number;
  /**
   * Rotation policy for every key (see `ApiKeyArgs.rotation`). `mode` picks the driver: `"daemon"`
   * (default: the rotator daemon or `rotate` from cron) or `"native"` (Secrets Manager rotates each
   * secret by invoking the packaged rotation function; see {@link NativeRotationArgs}).
   * @example
   * { rotation: { every: "30d", grace: "2h" } }
   * @example
   * { rotation: { every: "30d", grace: "2h", mode: "native", native: { adminSecretArn: admin.arn } } }
   */
  rotation?: { every: string; grace: string; mode?: "daemon" | "native"; native?: NativeRotationArgs };
  /**
   * Extra tags for every secret.
   * @example
   * { tags: { team: "platform" } }
   */
  tags?: Record<string, string>;
  /**
   * Display prefix of key names (see `ApiKeyArgs.name`).
   * @example
   * { keyPrefix: "platform" }
   */
  keyPrefix?: string;
}

const environment = environmentSchema({ invalid: "must be a short lowercase label, e.g. prod" });

const argsSchema = z.object({
  projects: z
    .array(
      z
        .object({
          id: z.guid({ error: "must be a LlamaCloud project id (a UUID)" }).optional(),
          name: z.string().min(1, { error: "must be a non-empty project name" }).optional(),
          organizationId: z.guid({ error: "must be an organization id (a UUID)" }).optional(),
          environments: z.array(environment).min(1, { error: "must list at least one environment" }),
        })
        .refine((p) => (p.id === undefined) !== (p.name === undefined), {
          error: "must have exactly one of id and name",
        }),
    )
    .min(1, { error: "must list at least one project" }),
  secretPrefix: z
    .string()
    .regex(/^[A-Za-z0-9/_+=.@-]{1,200}$/, { error: "must be letters, digits and /_+=.@- (e.g. llamacloud)" })
    .optional(),
  recoveryWindowInDays: z
    .number()
    .int()
    .refine((d) => d === 0 || (d >= 7 && d <= 30), { error: "must be 0 or 7 to 30" })
    .optional(),
  // The same rules as ApiKey's `rotation` and the stack config's; `mode` and `native` are checked below.
  rotation: z
    .object(rotationPolicyFields(), { error: ROTATION_POLICY_WORDING.notObject })
    .superRefine(checkRotationPolicy())
    .optional(),
  keyPrefix: z
    .string()
    .regex(KEY_PREFIX_PATTERN, {
      error: "must be 1-100 letters, digits, dots, underscores or dashes (no slashes), e.g. checkout-api",
    })
    .optional(),
});

/**
 * One key per LlamaCloud project × environment, each in an `aws.secretsmanager.Secret` of its own
 * (named `<secretPrefix>/<project>/<environment>`), with least-privilege IAM policy documents for
 * the apps that read them and for the rotator.
 *
 * The secrets' tags are written at creation and then owned by the `ApiKey`s (which retag on
 * update); the aws resources ignore later tag changes, so a `pulumi refresh` never makes the next
 * `up` strip the management tags the rotator relies on.
 *
 * @example
 * const keys = new ProjectKeys("llamacloud", {
 *   projects: [{ name: "search", environments: ["staging", "prod"] }],
 *   rotation: { every: "30d", grace: "2h" },
 * });
 * new aws.iam.Policy("search-prod-reader", { policy: keys.readerPolicies.apply((p) => p["prod"]!) });
 */
export class ProjectKeys extends pulumi.ComponentResource {
  /** Secret ARN per pair, keyed `<project>/<environment>` (project name when given, else id). */
  readonly secretArns: pulumi.Output<Record<string, string>>;
  /** IAM policy document (JSON) per environment: read the keys of that environment. */
  readonly readerPolicies: pulumi.Output<Record<string, string>>;
  /** IAM policy document (JSON) for the rotator: rotate every secret of this component. */
  readonly rotatorPolicy: pulumi.Output<string>;
  /** The secrets, keyed like {@link secretArns}. */
  readonly secrets: Record<string, ProjectKeysSecret>;
  /** The keys, keyed like {@link secretArns}. */
  readonly keys: Record<string, ApiKey>;
  /** With `rotation.mode: "native"`: the rotation function's ARN; otherwise undefined. */
  readonly rotationFunctionArn: pulumi.Output<string | undefined>;

  constructor(name: string, args: ProjectKeysArgs, opts?: pulumi.ComponentResourceOptions) {
    // Before registering anything: without @pulumi/aws (an optional peer), one clear error.
    const aws = requirePeer<typeof Aws>("@pulumi/aws", "ProjectKeys (llamacloud-keys/provider)");
    // Every arg is judged before the component registers: bad args declare nothing (README).
    const parsed = argsSchema.safeParse(args);
    if (!parsed.success) {
      const lines = parsed.error.issues.map((issue) => `"${issue.path.join(".")}" ${issue.message}`);
      throw new ProviderError(
        "PROVIDER_INVALID_ARGS",
        `Invalid ProjectKeys "${name}" args:\n  ${lines.join("\n  ")}`,
        {
          issues: lines,
        },
      );
    }
    const mode = args.rotation?.mode ?? "daemon";
    if (mode !== "daemon" && mode !== "native") {
      throw new ProviderError(
        "PROVIDER_INVALID_ARGS",
        `ProjectKeys "${name}": "rotation.mode" must be "daemon" or "native"; got ${scrub(JSON.stringify(mode) ?? String(mode))}`,
      );
    }
    if (mode === "native" && (args.rotation === undefined || args.rotation.native === undefined)) {
      throw new ProviderError(
        "PROVIDER_INVALID_ARGS",
        `ProjectKeys "${name}": "rotation.native" is required with mode "native" (at least adminSecretArn)`,
      );
    }
    const listed = new Set<string>();
    for (const project of args.projects) {
      for (const env of project.environments) {
        const pair = `${(project.name ?? project.id)!}/${env}`;
        if (listed.has(pair)) {
          throw new ProviderError("PROVIDER_INVALID_ARGS", `ProjectKeys "${name}": ${pair} is listed twice`);
        }
        listed.add(pair);
      }
    }
    super("llamacloud-keys:index:ProjectKeys", name, {}, opts);
    const prefix = args.secretPrefix ?? DEFAULT_SECRET_PREFIX;
    this.secrets = {};
    this.keys = {};
    const byEnvironment = new Map<string, pulumi.Output<string>[]>();
    const declared: Parameters<typeof declareNativeRotation>[3]["secrets"] = {};

    for (const project of args.projects) {
      const label = (project.name ?? project.id)!;
      for (const env of project.environments) {
        const pair = `${label}/${env}`;
        const tags: Record<string, string> = {
          ...args.tags,
          [TAG_MANAGED]: "true",
          [TAG_ENVIRONMENT]: env,
          ...(project.id === undefined ? {} : { [TAG_PROJECT_ID]: project.id }),
          ...(args.rotation === undefined
            ? {}
            : {
                // Written as the ApiKey will write them, so the first retag changes nothing.
                [TAG_ROTATE_EVERY]: formatDuration(parseDuration(args.rotation.every, "rotation.every")),
                [TAG_GRACE]: formatDuration(parseDuration(args.rotation.grace, "rotation.grace")),
              }),
        };
        const resourceName = `${name}-${label}-${env}`;
        const secret = new aws.secretsmanager.Secret(
          resourceName,
          {
            name: `${prefix}/${label}/${env}`,
            description: `LlamaCloud API key of project ${label}, environment ${env} (llamacloud-keys)`,
            tags,
            ...(args.kmsKeyArn === undefined ? {} : { kmsKeyId: args.kmsKeyArn }),
            ...(args.recoveryWindowInDays === undefined
              ? {}
              : { recoveryWindowInDays: args.recoveryWindowInDays }),
          },
          { parent: this, ignoreChanges: ["tags", "tagsAll"] },
        );
        const key = new ApiKey(
          resourceName,
          {
            ...(project.id === undefined ? { projectName: project.name! } : { projectId: project.id }),
            ...(project.organizationId === undefined ? {} : { organizationId: project.organizationId }),
            environment: env,
            secretId: secret.arn,
            ...(args.keyPrefix === undefined ? {} : { name: args.keyPrefix }),
            ...(args.rotation === undefined
              ? {}
              : { rotation: { every: args.rotation.every, grace: args.rotation.grace } }),
            ...(args.tags === undefined ? {} : { tags: args.tags }),
          },
          { parent: this },
        );
        this.secrets[pair] = secret;
        this.keys[pair] = key;
        declared[pair] = { resourceName, secret, key };
        byEnvironment.set(env, [...(byEnvironment.get(env) ?? []), secret.arn]);
      }
    }

    const pairs = Object.keys(this.secrets);
    this.secretArns = pulumi
      .all(pairs.map((pair) => this.secrets[pair]!.arn))
      .apply((arns) => Object.fromEntries(pairs.map((pair, i) => [pair, arns[i]!])));
    const kmsKeyArn = args.kmsKeyArn === undefined ? pulumi.output(undefined) : pulumi.output(args.kmsKeyArn);
    const environments = [...byEnvironment.keys()];
    this.readerPolicies = pulumi
      .all([kmsKeyArn, ...environments.map((env) => pulumi.all(byEnvironment.get(env)!))])
      .apply(([kms, ...arnLists]) =>
        Object.fromEntries(
          environments.map((env, i) => [
            env,
            readerPolicy(arnLists[i] as string[], kms as string | undefined),
          ]),
        ),
      );
    this.rotationFunctionArn =
      mode === "native"
        ? declareNativeRotation(aws, this, name, {
            native: args.rotation!.native!,
            every: args.rotation!.every,
            secrets: declared,
            ...(args.kmsKeyArn === undefined ? {} : { kmsKeyArn: args.kmsKeyArn }),
          }).function.arn
        : pulumi.output(undefined);
    this.rotatorPolicy = pulumi
      .all([kmsKeyArn, pulumi.all(pairs.map((pair) => this.secrets[pair]!.arn)), this.rotationFunctionArn])
      .apply(([kms, arns, fn]) =>
        rotatorPolicy(arns as string[], kms as string | undefined, fn as string | undefined),
      );

    this.registerOutputs({
      rotationFunctionArn: this.rotationFunctionArn,
      secretArns: this.secretArns,
      readerPolicies: this.readerPolicies,
      rotatorPolicy: this.rotatorPolicy,
    });
  }
}

// KMS use only through Secrets Manager: the grant cannot be used to decrypt anything else directly.
function kmsStatement(sid: string, actions: string[], kmsKeyArn: string) {
  return {
    Sid: sid,
    Effect: "Allow",
    Action: actions,
    Resource: kmsKeyArn,
    Condition: { StringLike: { "kms:ViaService": "secretsmanager.*.amazonaws.com" } },
  };
}

/** Read access to these secrets, and nothing else: what an app needs to fetch its key. */
export function readerPolicy(secretArns: string[], kmsKeyArn?: string): string {
  const statements: object[] = [
    {
      Sid: "ReadLlamaCloudKeys",
      Effect: "Allow",
      Action: ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
      Resource: [...secretArns].sort(),
    },
  ];
  if (kmsKeyArn !== undefined)
    statements.push(kmsStatement("DecryptLlamaCloudKeys", ["kms:Decrypt"], kmsKeyArn));
  return JSON.stringify({ Version: "2012-10-17", Statement: statements });
}

/**
 * What the rotator does to these secrets: read, write versions, move staging labels, list versions,
 * and find managed secrets (ListSecrets supports no resource scoping, hence `*`).
 */
export function rotatorPolicy(
  secretArns: string[],
  kmsKeyArn?: string,
  rotationFunctionArn?: string,
): string {
  const statements: object[] = [
    {
      Sid: "RotateLlamaCloudKeys",
      Effect: "Allow",
      Action: [
        "secretsmanager:DescribeSecret",
        "secretsmanager:GetSecretValue",
        "secretsmanager:ListSecretVersionIds",
        "secretsmanager:PutSecretValue",
        "secretsmanager:RotateSecret",
        "secretsmanager:UpdateSecretVersionStage",
      ],
      Resource: [...secretArns].sort(),
    },
    { Sid: "FindManagedSecrets", Effect: "Allow", Action: ["secretsmanager:ListSecrets"], Resource: "*" },
  ];
  // `rotate --force` on a natively rotated secret calls RotateSecret, whose caller must also be
  // allowed to invoke the rotation function.
  if (rotationFunctionArn !== undefined) {
    statements.push({
      Sid: "InvokeRotationFunction",
      Effect: "Allow",
      Action: ["lambda:InvokeFunction"],
      Resource: rotationFunctionArn,
    });
  }
  if (kmsKeyArn !== undefined) {
    statements.push(kmsStatement("EncryptLlamaCloudKeys", ["kms:Decrypt", "kms:GenerateDataKey"], kmsKeyArn));
  }
  return JSON.stringify({ Version: "2012-10-17", Statement: statements });
}
