/**
 * The staging labels of Secrets Manager's rotation protocol. Kept apart from `store.ts` (which
 * re-exports them) so code that only names a label, such as the provider's check/diff path, does
 * not load the AWS SDK.
 */

export const AWSCURRENT = "AWSCURRENT";
export const AWSPENDING = "AWSPENDING";
export const AWSPREVIOUS = "AWSPREVIOUS";

/** The staging labels Secrets Manager's rotation protocol uses. */
export type StagingLabel = typeof AWSCURRENT | typeof AWSPENDING | typeof AWSPREVIOUS;
