import type * as pulumi from "@pulumi/pulumi";

// Apart from native-rotation.ts, which names @pulumi/aws types: ProjectKeys' declarations import only
// this, so a program without @pulumi/aws still type-checks.

/** The native-mode part of `ProjectKeysArgs.rotation`. */
export interface NativeRotationArgs {
  /**
   * ARN of the secret holding the LlamaCloud admin key the function mints and revokes keys with (the
   * same JSON shape as a managed secret). Required.
   * @example
   * { adminSecretArn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:llamacloud/admin-AbCdEf" }
   */
  adminSecretArn: pulumi.Input<string>;
  /**
   * The function's zip. Default: the one `npm run package:lambda` wrote into this package's
   * `dist/lambda/llamacloud-keys-rotator.zip`.
   * @example
   * { code: "./build/llamacloud-keys-rotator.zip" }
   */
  code?: string;
  /**
   * When the revoke-only pass runs (EventBridge schedule expression). Default `rate(15 minutes)`.
   * @example
   * { revokeSchedule: "rate(1 hour)" }
   */
  revokeSchedule?: string;
  /**
   * The rotation window (`RotationRules.Duration`, e.g. `"3h"`), within the rotation interval.
   * @example
   * { window: "2h" }
   */
  window?: string;
  /**
   * The account allowed to have Secrets Manager invoke the function (`aws:SourceAccount`). Default:
   * the account of the deploying credentials.
   * @example
   * { sourceAccount: "123456789012" }
   */
  sourceAccount?: pulumi.Input<string>;
  /** Lambda runtime. Default `nodejs22.x`. */
  runtime?: "nodejs22.x" | "nodejs24.x";
}
