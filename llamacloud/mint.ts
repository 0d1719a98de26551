import type { LlamaCloudClient } from "./client";
import { isLlamaCloudError, type LlamaCloudError } from "./errors";
import type { ApiKeyInfo, CreatedApiKey } from "./schemas";

/**
 * Minting a key by its unique name (`key-name.ts`), surviving a lost answer: the one way both the
 * Pulumi provider's create and the rotator's createSecret mint. LlamaCloud's create takes no
 * idempotency key, so after an ambiguous failure (a timeout or 5xx once the request was sent) the
 * key may exist without us ever seeing its plaintext. Such a key cannot be adopted: it is found by
 * its name and revoked, then the create is tried again, a bounded number of times.
 */
export interface MintOptions {
  /** Creates to try; 1 (the default) revokes what a lost create made and gives up. */
  attempts?: number;
  /** Ids of keys already named `name` before this mint (not made by it): never revoked here. */
  known?: Iterable<string>;
  /** Revokes a key a lost create made; `client.deleteApiKey` by default (the rotator logs it too). */
  revoke?: (key: ApiKeyInfo) => Promise<unknown>;
  /**
   * What to throw when looking for a lost create's key failed, so it may exist unrevoked; the
   * search's own error by default.
   */
  searchFailed?: (lost: LlamaCloudError, searchError: unknown) => unknown;
}

/**
 * Creates the key `name` in `projectId`. Rethrows anything but an ambiguous failure at once; after
 * `attempts` ambiguous failures, each followed by revoking the keys the lost creates made, rethrows
 * the last one (`error.ambiguous` is true: nothing minted is left behind).
 */
export async function mintNamedKey(
  client: Pick<LlamaCloudClient, "createApiKey" | "findApiKeysByName" | "deleteApiKey">,
  input: { projectId: string; name: string },
  options: MintOptions = {},
): Promise<CreatedApiKey> {
  const attempts = options.attempts ?? 1;
  const seen = new Set(options.known ?? []);
  const revoke = options.revoke ?? ((key: ApiKeyInfo) => client.deleteApiKey(key.id));
  for (let attempt = 1; ; attempt++) {
    try {
      return await client.createApiKey(input);
    } catch (error) {
      if (!isLlamaCloudError(error) || !error.ambiguous) throw error;
      let found: ApiKeyInfo[];
      try {
        found = await client.findApiKeysByName(input);
      } catch (searchError) {
        throw options.searchFailed === undefined ? searchError : options.searchFailed(error, searchError);
      }
      for (const key of found) {
        if (seen.has(key.id)) continue;
        seen.add(key.id);
        await revoke(key);
      }
      if (attempt >= attempts) throw error;
    }
  }
}
