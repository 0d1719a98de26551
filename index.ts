import * as pulumi from "@pulumi/pulumi";
import { ApiKey } from "./provider/api-key";
import { parseStackConfig } from "./provider/stack-config";

/**
 * The ready-to-use program: one LlamaCloud key per project × environment listed in the stack config,
 * each in its own Secrets Manager secret. By default the `ApiKey` resources create the secrets
 * (runs anywhere, needs only Secrets Manager); with `llamacloud-keys:useProjectKeys: true` the
 * `ProjectKeys` component creates them as `aws.secretsmanager.Secret`s and exports IAM policies.
 * Sample config: `examples/Pulumi.dev.yaml`.
 */

const config = new pulumi.Config("llamacloud-keys");
const settings = parseStackConfig((key) => config.get(key));

const secretArns: Record<string, pulumi.Output<string>> = {};
const redactedKeys: Record<string, pulumi.Output<string>> = {};
/** The IAM policy documents `ProjectKeys` makes: stack outputs in that mode only (see the end). */
let policies:
  | { readerPolicies: pulumi.Output<Record<string, string>>; rotatorPolicy: pulumi.Output<string> }
  | undefined;

if (settings.useProjectKeys) {
  // Loaded only when asked for: @pulumi/aws is large, and the default mode does not need it.
  const { ProjectKeys } = require("./provider/project-keys") as typeof import("./provider/project-keys");
  const keys = new ProjectKeys("llamacloud", {
    projects: settings.projects,
    secretPrefix: settings.secretPrefix,
    ...(settings.rotation === undefined ? {} : { rotation: settings.rotation }),
    ...(settings.recoveryWindowInDays === undefined
      ? {}
      : { recoveryWindowInDays: settings.recoveryWindowInDays }),
    ...(settings.keyPrefix === undefined ? {} : { keyPrefix: settings.keyPrefix }),
  });
  for (const [pair, key] of Object.entries(keys.keys)) {
    secretArns[pair] = key.secretArn;
    redactedKeys[pair] = key.redactedKey;
  }
  policies = { readerPolicies: keys.readerPolicies, rotatorPolicy: keys.rotatorPolicy };
} else {
  for (const project of settings.projects) {
    const label = (project.name ?? project.id)!;
    for (const environment of project.environments) {
      const key = new ApiKey(`${label}-${environment}`, {
        ...(project.id === undefined ? { projectName: project.name! } : { projectId: project.id }),
        ...(project.organizationId === undefined ? {} : { organizationId: project.organizationId }),
        environment,
        secretName: `${settings.secretPrefix}/${label}/${environment}`,
        ...(settings.keyPrefix === undefined ? {} : { name: settings.keyPrefix }),
        ...(settings.rotation === undefined ? {} : { rotation: settings.rotation }),
        ...(settings.recoveryWindowInDays === undefined
          ? {}
          : { recoveryWindowInDays: settings.recoveryWindowInDays }),
      });
      secretArns[`${label}/${environment}`] = key.secretArn;
      redactedKeys[`${label}/${environment}`] = key.redactedKey;
    }
  }
}

// Stack outputs. Secret ARN per `<project>/<environment>`: what apps and their IAM policies need.
export { redactedKeys, secretArns };

// The policies only when there are some: exported as `undefined`, they would make every `pulumi up`
// and `preview` warn "Undefined value (readerPolicies) will not show as a stack output". An `export`
// cannot be conditional, so they are added to the CommonJS exports Pulumi reads the outputs from.
if (policies !== undefined) Object.assign(module.exports, policies);
