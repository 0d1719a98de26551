// Keys for two projects × two environments, each in an aws.secretsmanager.Secret encrypted with a
// KMS key of our own, plus IAM policies: one per environment for the apps, one for the rotator.
const aws = require("@pulumi/aws");
const { ProjectKeys } = require("llamacloud-keys/provider");

const kmsKey = new aws.kms.Key("llamacloud-keys", { description: "Encrypts LlamaCloud API keys" });

const keys = new ProjectKeys("llamacloud", {
  projects: [
    { name: "search", environments: ["staging", "prod"] },
    { name: "ingest", environments: ["staging", "prod"] },
  ],
  kmsKeyArn: kmsKey.arn,
  rotation: { every: "30d", grace: "2h" },
  recoveryWindowInDays: 7,
  tags: { team: "platform" },
});

// Attach the reader policy of an environment to the roles of the apps running there.
const prodReaders = new aws.iam.Policy("llamacloud-prod-readers", {
  policy: keys.readerPolicies.apply((byEnvironment) => byEnvironment["prod"]),
});
const rotator = new aws.iam.Policy("llamacloud-rotator", { policy: keys.rotatorPolicy });

exports.secretArns = keys.secretArns;
exports.prodReaderPolicyArn = prodReaders.arn;
exports.rotatorPolicyArn = rotator.arn;
