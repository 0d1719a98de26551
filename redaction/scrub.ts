/**
 * The one scrubber: every message, log line and usage error that may quote text we did not write
 * (a server's `detail`, an SDK message, a flag someone pasted a key into) passes through it.
 * Masked forms (`llx-…abcd`) do not match, so they stay readable.
 */

// A LlamaCloud key, or anything shaped like one (`llx-` then 8+ key characters; SECURITY.md).
const keyPattern = /llx-[A-Za-z0-9_-]{8,}/g;
// A bearer credential, as an `Authorization` header or an error quoting one carries it.
const bearerPattern = /Bearer\s+\S+/gi;
// Shorter values would blank out ordinary words; nothing we protect is that short.
const MIN_SENSITIVE_LENGTH = 8;

/**
 * Removes the `sensitive` values given (a serialized payload, a key) and anything shaped like a key
 * or a bearer credential.
 */
export function scrub(text: string, sensitive: readonly string[] = []): string {
  let clean = text;
  for (const value of sensitive) {
    if (value.length >= MIN_SENSITIVE_LENGTH) clean = clean.split(value).join("[redacted]");
  }
  return clean.replace(keyPattern, "llx-[redacted]").replace(bearerPattern, "Bearer [redacted]");
}
