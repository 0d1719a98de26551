import * as pulumi from "@pulumi/pulumi";
import { apiKeyProvider } from "./api-key-provider";

/** Inputs of {@link ApiKey}. Give exactly one of `projectId` and `projectName`. */
export interface ApiKeyArgs {
  /**
   * The LlamaCloud project the key belongs to, by id. Changing it replaces the key.
   * @example
   * { projectId: "3f1a2b4c-5d6e-4f70-8a91-b2c3d4e5f601" }
   */
  projectId?: pulumi.Input<string>;
  /**
   * The LlamaCloud project, by exact name; resolved to its id at create. Changing it replaces the key.
   * @example
   * { projectName: "search" }
   */
  projectName?: pulumi.Input<string>;
  /**
   * The organization of the project: needed when a project name exists in several organizations,
   * checked against the project otherwise.
   * @example
   * { projectName: "search", organizationId: "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d" }
   */
  organizationId?: pulumi.Input<string>;
  /**
   * The environment the key serves: a letter, then up to 31 lowercase letters, digits or dashes.
   * Part of the key's name, the secret's default name and its tags. Changing it replaces the key.
   * @example
   * { environment: "prod" }
   */
  environment: pulumi.Input<string>;
  /**
   * Display prefix of the key's LlamaCloud name, `<name>/<projectId>/<environment>/<token>`, where
   * the token is also the secret version id (so a key minted by a crashed run can be found and
   * revoked). Default `llamacloud-keys`. Changing it renames the key in place.
   * @example
   * { name: "checkout-api" }
   */
  name?: pulumi.Input<string>;
  /**
   * An existing secret (ARN or name) to write the key into, instead of a secret the provider
   * creates. The provider never deletes it; on destroy it revokes the keys and removes the
   * management tags. Excludes `secretName`, `kmsKeyId`, `description` and `recoveryWindowInDays`.
   * @example
   * { secretId: secret.arn } // an aws.secretsmanager.Secret of your own
   */
  secretId?: pulumi.Input<string>;
  /**
   * Name of the secret the provider creates. Default `llamacloud/<project>/<environment>`, where
   * `<project>` is `projectName` when given, else `projectId`. A name left pending deletion by an
   * earlier destroy of this provider is restored and reused. Changing it replaces the key.
   * @example
   * { secretName: "apps/search/prod/llamacloud" }
   */
  secretName?: pulumi.Input<string>;
  /**
   * KMS key (id, alias or ARN) encrypting the secret the provider creates; default the account's
   * `aws/secretsmanager` key. Changing it replaces the secret.
   * @example
   * { kmsKeyId: "alias/llamacloud-keys" }
   */
  kmsKeyId?: pulumi.Input<string>;
  /**
   * Description of the secret the provider creates. Changing it replaces the secret.
   * @example
   * { description: "LlamaCloud key of the search service (prod)" }
   */
  description?: pulumi.Input<string>;
  /**
   * Extra tags for the secret. Keys starting with `llamacloud-keys:` or `aws:` are reserved.
   * Changing them retags in place.
   * @example
   * { tags: { team: "search", "cost-center": "42" } }
   */
  tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /**
   * Days Secrets Manager keeps a secret the provider created after destroy: 7 to 30, or 0 to delete
   * at once (AWS's default: 30). Changing it applies to the next destroy. While a destroyed secret
   * waits, its name is taken: a create of the same name (this stack or another) restores it, says
   * so, and outputs `secretRestored: true`. Use 0 for scratch and CI stacks.
   * @example
   * { recoveryWindowInDays: 0 } // scratch stacks
   */
  recoveryWindowInDays?: pulumi.Input<number>;
  /**
   * Rotation policy, written as the secret's management tags for the rotator (`llamacloud-keys
   * rotate`): rotate `every`, revoke the previous key `grace` after it stopped being current.
   * Durations: a whole number and `d`, `h`, `m` or `s`. `grace` must be at least 60s (LlamaCloud's
   * revocation delay) plus your readers' cache TTL; `every` must be longer than `grace`.
   *
   * With `lambdaArn`, Secrets Manager rotates the secret itself (native rotation), by invoking that
   * rotation function (`npm run package:lambda`) on its own schedule: once the secret holds its first
   * key, the provider calls RotateSecret with the function, RotationRules and `RotateImmediately:
   * false` (nothing is rotated then; Secrets Manager only tests the configuration). `schedule` is
   * the RotationRules schedule: a number of days (1-1000), `rate(N hours|days)` (4 hours to 999
   * days) or `cron(0 H D M W *)` (windows at least 4 hours apart); default: `every` (whole days as
   * days, whole hours as `rate(N hours)`). `window` is the rotation window (`Duration`), `1h`-`24h`,
   * within the interval and the UTC day. Changing them updates the rules in place; removing
   * `lambdaArn` turns native rotation off (the rotator rotates the secret again, by `every`); destroy
   * turns it off before revoking the keys. `grace` still applies: the function's scheduled revoke
   * pass revokes the previous key once it has passed.
   * @example
   * { rotation: { every: "30d", grace: "2h" } }
   * @example
   * { rotation: { every: "30d", grace: "2h", lambdaArn: rotationFunction.arn, schedule: "cron(0 4 1 * ? *)", window: "3h" } }
   */
  rotation?: pulumi.Input<{
    every: pulumi.Input<string>;
    grace: pulumi.Input<string>;
    lambdaArn?: pulumi.Input<string>;
    schedule?: pulumi.Input<number | string>;
    window?: pulumi.Input<string>;
  }>;
  /**
   * Public LlamaCloud deployment the key lives in, when the provider's `llamacloud:baseUrl` is not
   * it. Recorded in the secret as `baseUrl`. Changing it replaces the key.
   * @example
   * { region: "eu" }
   */
  region?: pulumi.Input<"us" | "eu">;
  /**
   * Any LlamaCloud host (self-hosted, the emulator) for this key, instead of `region` or the
   * provider's `llamacloud:baseUrl`. Recorded in the secret. Changing it replaces the key.
   * @example
   * { baseUrl: "https://llamacloud.internal.example.com" }
   */
  baseUrl?: pulumi.Input<string>;
  /**
   * Take over a secret that already holds a valid payload whose key is live in LlamaCloud, without
   * minting (`pulumi import` cannot work for dynamic resources). Without it, create refuses a secret
   * holding a live key. Only read at create.
   * @example
   * { secretName: "llamacloud/search/prod", adopt: true }
   */
  adopt?: pulumi.Input<boolean>;
}

/**
 * A LlamaCloud API key for one project and environment, kept in AWS Secrets Manager. The plaintext
 * goes from LlamaCloud's create response straight into the secret; Pulumi state holds the key id,
 * a redacted form, the secret ARN and version id. The resource follows the key that is AWSCURRENT
 * in its secret, so rotations by `llamacloud-keys rotate` are not drift; `destroy` revokes the
 * current key and any previous one still alive.
 *
 * Credentials: `llamacloud:apiKey` (secret stack config) or `LLAMA_CLOUD_API_KEY`;
 * `llamacloud:baseUrl` or `LLAMA_CLOUD_BASE_URL`; AWS from the standard environment.
 *
 * @example
 * const { ApiKey } = require("llamacloud-keys/provider");
 *
 * const key = new ApiKey("search-prod", {
 *   projectName: "search",
 *   environment: "prod",
 *   rotation: { every: "30d", grace: "2h" },
 *   recoveryWindowInDays: 0,
 * });
 *
 * exports.secretArn = key.secretArn;
 * exports.redactedKey = key.redactedKey;
 */
export class ApiKey extends pulumi.dynamic.Resource {
  /** The LlamaCloud key id of the AWSCURRENT key (changes when the rotator rotates). */
  declare readonly keyId: pulumi.Output<string>;
  /** The key's LlamaCloud name, `<name>/<projectId>/<environment>/<token>`. */
  declare readonly keyName: pulumi.Output<string>;
  /** `llx-…` and the key's last 4 characters: enough to recognise it, never enough to use it. */
  declare readonly redactedKey: pulumi.Output<string>;
  /** The project's id (resolved from `projectName` when that was given). */
  declare readonly projectId: pulumi.Output<string>;
  /** The project's organization id. */
  declare readonly organizationId: pulumi.Output<string | null>;
  /** ARN of the secret holding the key: give it to readers (IAM) and apps (`LLAMACLOUD_SECRET_ID`). */
  declare readonly secretArn: pulumi.Output<string>;
  /** Name of the secret holding the key. */
  declare readonly secretName: pulumi.Output<string>;
  /** The secret version labelled AWSCURRENT, which holds the key. */
  declare readonly versionId: pulumi.Output<string>;
  /** When the current key was created (ISO-8601). */
  declare readonly createdAt: pulumi.Output<string>;
  /**
   * True when create found the secret pending deletion, left in its recovery window by an earlier
   * `destroy` (of this stack or another with the same secret name), and restored it rather than
   * creating one. The provider also prints a line saying so. See `recoveryWindowInDays`.
   */
  declare readonly secretRestored: pulumi.Output<boolean | undefined>;
  /**
   * With `rotation.lambdaArn`: the secret's native rotation as Secrets Manager reports it
   * (`enabled`, `lambdaArn`, and the RotationRules `automaticallyAfterDays`, `scheduleExpression`,
   * `duration`). Rotation turned off or changed by hand shows here after `pulumi refresh`.
   */
  declare readonly nativeRotation: pulumi.Output<
    | {
        enabled: boolean;
        lambdaArn: string | null;
        automaticallyAfterDays?: number;
        scheduleExpression?: string;
        duration?: string;
      }
    | undefined
  >;

  constructor(name: string, args: ApiKeyArgs, opts?: pulumi.CustomResourceOptions) {
    // Computed before the stack-trace limit below is lowered: it may throw a user-facing error.
    const identity = resourceIdentity(name);
    // The SDK captures `new Error().stack` for every property promise it makes (debug context for
    // its promise-leak report), and its source-map hook maps each frame: with this resource's ~14
    // properties that was most of what `pulumi preview` spent per ApiKey over a no-op resource
    // (issue #17). No frames are captured while the resource is registered; the SDK's own source
    // position of the resource is unaffected (it raises the limit itself), and error messages keep
    // their text.
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      super(
        apiKeyProvider,
        name,
        {
          ...args,
          // Hidden: lets a create recognise its own earlier attempt after a killed `pulumi up`.
          __identity: identity,
          // Outputs that are not inputs are seeded undefined so the SDK knows to resolve them.
          keyId: undefined,
          keyName: undefined,
          redactedKey: undefined,
          projectId: args.projectId,
          organizationId: args.organizationId,
          secretArn: undefined,
          secretName: args.secretName,
          versionId: undefined,
          createdAt: undefined,
          secretRestored: undefined,
          nativeRotation: undefined,
        },
        opts,
        "llamacloud",
        "ApiKey",
      );
    } finally {
      Error.stackTraceLimit = stackTraceLimit;
    }
  }
}

/**
 * The resource's identity (provider/identity.ts): organization (when the engine gives one), project,
 * stack and resource name, all fixed by the program. A plain string, not an Output: an input that
 * depended on the parent component would make the SDK wait for the component's children, this
 * resource included. Two resources of one stack may share a name under different parents, but not
 * a secret too (the owner digest hashes the secret in), and two writers of one secret conflict anyway.
 */
function resourceIdentity(name: string): string {
  let organization: string | undefined;
  try {
    organization = pulumi.getOrganization();
  } catch {
    // Older language hosts do not pass the organization; project, stack and name still name it.
  }
  const path = [pulumi.getProject(), pulumi.getStack(), name].join("/");
  return organization === undefined ? path : `${organization}/${path}`;
}
