/**
 * The key reader's defaults, apart from the reader itself: the rotator checks grace against the
 * default TTL without loading the reader (and through it the Secrets Manager client).
 */

/** Default cache TTL: 5 minutes, like the Parameters and Secrets Lambda Extension's maximum. */
export const DEFAULT_TTL_MS = 300_000;
/** Default limit on serving a value past its TTL while Secrets Manager fails: 15 minutes. */
export const DEFAULT_MAX_STALE_MS = 900_000;
/** Default TTL jitter: each cached value lives between 90% and 100% of the TTL. */
export const DEFAULT_JITTER = 0.1;
/** Default minimum time between two forced refreshes triggered by LlamaCloud 401/403s. */
export const DEFAULT_MIN_FORCED_REFRESH_MS = 5_000;
