// Native rotation: Secrets Manager rotates each key on its own schedule by invoking the packaged
// llamacloud-keys rotation function; an EventBridge schedule runs its revoke-only pass.
// Build the function's zip first: `npm run package:lambda` in the llamacloud-keys package (or point
// `code` at a zip you built and stored yourself).
const aws = require("@pulumi/aws");
const pulumi = require("@pulumi/pulumi");
const { ProjectKeys } = require("llamacloud-keys/provider");

const config = new pulumi.Config();

// The LlamaCloud admin key the function mints and revokes keys with, in a secret of its own (the
// same JSON shape as a managed secret: apiKey, baseUrl, ...). Never the rotated secrets.
const admin = new aws.secretsmanager.Secret("llamacloud-admin", { name: "llamacloud/admin" });
new aws.secretsmanager.SecretVersion("llamacloud-admin", {
  secretId: admin.id,
  secretString: config.requireSecret("adminPayload"),
});

const keys = new ProjectKeys("llamacloud", {
  projects: [{ name: "search", environments: ["staging", "prod"] }],
  rotation: {
    every: "30d",
    grace: "2h",
    mode: "native",
    native: {
      adminSecretArn: admin.arn,
      code: config.get("functionZip"),
      window: "4h",
      revokeSchedule: "rate(15 minutes)",
    },
  },
});

exports.secretArns = keys.secretArns;
exports.rotationFunctionArn = keys.rotationFunctionArn;
