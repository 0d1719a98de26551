import { GRACE_FLOOR_MS } from "../secrets/rotation-policy";
import type { SecretDescription } from "../secrets/store";
import { readManagementTags, TAG_ENVIRONMENT, TAG_GRACE, TAG_MANAGED, TAG_PROJECT_ID } from "../secrets/tags";
import { RotatorError } from "./errors";
import { DEFAULT_GRACE_MS } from "./services";

/**
 * A secret's rotation policy: its management tags, validated. Pure: takes what DescribeSecret (or
 * a ListSecrets entry) says, reads nothing.
 */

/** A managed secret's management tags, validated. */
export interface SecretPolicy {
  arn: string;
  name: string;
  projectId: string;
  environment: string;
  /** Absent: the secret rotates only when forced. */
  rotateEveryMs?: number;
  graceMs: number;
}

/**
 * Reads and validates the management tags. Throws ROTATOR_UNMANAGED (not managed, or no project or
 * environment tag), SECRET_INVALID_TAG (an unparsable tag) or ROTATOR_GRACE_TOO_SHORT.
 */
export function readPolicy(description: Pick<SecretDescription, "arn" | "name" | "tags">): SecretPolicy {
  const arn = description.arn;
  const tags = readManagementTags(description.tags, arn);
  if (!tags.managed) {
    throw new RotatorError(
      "ROTATOR_UNMANAGED",
      `Secret ${arn} is not managed by llamacloud-keys (tag ${TAG_MANAGED} is not "true"); the rotator leaves it alone. ` +
        `To manage it, tag it: aws secretsmanager tag-resource --secret-id ${arn} --tags Key=${TAG_MANAGED},Value=true`,
      { secretId: arn, step: "guard" },
    );
  }
  for (const [tag, value] of [
    [TAG_PROJECT_ID, tags.projectId],
    [TAG_ENVIRONMENT, tags.environment],
  ] as const) {
    if (value === undefined) {
      throw new RotatorError(
        "ROTATOR_UNMANAGED",
        `Secret ${arn} is tagged ${TAG_MANAGED}=true but has no ${tag} tag, so the rotator cannot tell which ` +
          `LlamaCloud keys are its own. Add it: aws secretsmanager tag-resource --secret-id ${arn} --tags Key=${tag},Value=<value>`,
        { secretId: arn, step: "guard" },
      );
    }
  }
  const graceMs = tags.graceMs ?? DEFAULT_GRACE_MS;
  if (graceMs < GRACE_FLOOR_MS) {
    throw new RotatorError(
      "ROTATOR_GRACE_TOO_SHORT",
      `Tag ${TAG_GRACE} on secret ${arn} is ${JSON.stringify(description.tags[TAG_GRACE])}; grace must be at least 60s: ` +
        "LlamaCloud revocation can take up to a minute, and readers cache the key. Nothing was changed. " +
        `Fix it: aws secretsmanager tag-resource --secret-id ${arn} --tags Key=${TAG_GRACE},Value=2h`,
      { secretId: arn, step: "guard" },
    );
  }
  return {
    arn,
    name: description.name,
    projectId: tags.projectId as string,
    environment: tags.environment as string,
    ...(tags.rotateEveryMs === undefined ? {} : { rotateEveryMs: tags.rotateEveryMs }),
    graceMs,
  };
}
