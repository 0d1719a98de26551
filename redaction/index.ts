/**
 * Keeping secrets out of text: the {@link Redacted} wrapper and the one {@link scrub}ber. A leaf:
 * it imports nothing of ours, so `llamacloud/` and `secrets/` may both use it.
 */
export { isRedacted, Redacted, redacted } from "./redacted";
export { scrub } from "./scrub";
