// One LlamaCloud API key for project "search", environment "prod", kept in the Secrets Manager
// secret `llamacloud/search/prod`: examples/minimal, written as a `pulumi new typescript` program.
// Pulumi state holds the key id and a redacted form, never the key.
import { ApiKey } from "llamacloud-keys/provider";

const key = new ApiKey("search-prod", {
  projectName: "search",
  environment: "prod",
  // Tags for the rotator (`llamacloud-keys rotate`): a new key every 30 days, the old one revoked
  // 2 hours after it stopped being current.
  rotation: { every: "30d", grace: "2h" },
  // A scratch stack: delete the secret at once on destroy (default: AWS's 30-day recovery window).
  recoveryWindowInDays: 0,
});

export const secretArn = key.secretArn;
export const keyId = key.keyId;
export const redactedKey = key.redactedKey;
