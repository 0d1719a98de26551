/**
 * Typed errors of the Pulumi side. Callers match on {@link ProviderError.code} through
 * {@link isProviderError}, never with `instanceof`: the engine runs the provider from a serialized
 * closure that may load another copy of this module than the program did.
 *
 * Messages name the field, the object (secret ARN, key id, project id) and the fix. They never hold
 * key material: the only plaintext the provider ever handles is a freshly minted key, and it goes
 * from the create response straight into `serializePayload`.
 */

/** Every code a {@link ProviderError} can carry. Stable: tests and callers match on these strings. */
export const PROVIDER_ERROR_CODES = [
  /** Resource inputs failed validation (outside `check`, e.g. a direct `create` call). */
  "PROVIDER_INVALID_ARGS",
  /** No LlamaCloud API key in provider config or environment. */
  "PROVIDER_MISSING_CREDENTIALS",
  /** The target secret exists, is pending deletion, or holds a live key, and we may not take it over. */
  "PROVIDER_SECRET_CONFLICT",
  /** `adopt: true` was given but the secret's payload cannot be adopted (other project/environment). */
  "PROVIDER_ADOPT_MISMATCH",
  /** A step after minting failed; the minted key was revoked (and a secret created by us removed). */
  "PROVIDER_CREATE_ROLLED_BACK",
  /** A step after minting failed and revoking the minted key failed too: it must be revoked by hand. */
  "PROVIDER_KEY_LEAKED",
  /** The key the resource follows is gone (revoked out of band) and an update cannot proceed. */
  "PROVIDER_KEY_GONE",
  /** Stack config of the root program is missing or invalid. */
  "PROVIDER_INVALID_CONFIG",
] as const;

export type ProviderErrorCode = (typeof PROVIDER_ERROR_CODES)[number];

const knownCodes: ReadonlySet<string> = new Set(PROVIDER_ERROR_CODES);

export interface ProviderErrorOptions {
  /** The secret concerned (ARN when known, else the name). */
  secretId?: string;
  /** The LlamaCloud key concerned. */
  keyId?: string;
  /** One line per problem, for validation errors: `"<field>" must be …`. */
  issues?: readonly string[];
  /** The error that made this one, when it is itself safe to keep (our typed errors are). */
  cause?: unknown;
}

/** Base of every error the provider, the components and the root program throw. */
export class ProviderError extends Error {
  override name = "ProviderError";
  readonly code: ProviderErrorCode;
  readonly secretId?: string;
  readonly keyId?: string;
  readonly issues: readonly string[];

  constructor(code: ProviderErrorCode, message: string, options: ProviderErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    if (options.secretId !== undefined) this.secretId = options.secretId;
    if (options.keyId !== undefined) this.keyId = options.keyId;
    this.issues = options.issues ?? [];
  }

  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      secretId: this.secretId,
      keyId: this.keyId,
      issues: this.issues,
    };
  }
}

/**
 * True when `error` is a {@link ProviderError} (from any copy of this module), and, when `code` is
 * given, carries that code.
 */
export function isProviderError(error: unknown, code?: ProviderErrorCode): error is ProviderError {
  if (typeof error !== "object" || error === null) return false;
  const actual = (error as { code?: unknown }).code;
  if (typeof actual !== "string" || !knownCodes.has(actual)) return false;
  return code === undefined || actual === code;
}

/** The message of any thrown value, for wrapping. Our errors never hold key material. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
