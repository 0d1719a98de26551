import { randomUUID } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { isLlamaCloudError } from "../../llamacloud";
import { type EmulatorHandle, startEmulator } from "../../llamacloud/emulator";
import { mintNamedKey } from "../../llamacloud/mint";
import { projectId, recordingClient } from "./fixtures";

// The one mint both the provider's create and the rotator's createSecret use: a create whose answer
// is lost (key made, socket reset before the response) leaves no live key behind, scripted in the
// real emulator (STYLE.md 8).

let emulator: EmulatorHandle;
beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(() => emulator.close());
// Faults a failed test left armed, and keys, go with the reset.
afterEach(() => emulator.reset());

const CREATE = "POST /api/v1/api-keys";
const lostAnswer = (times = 1) =>
  emulator.faults.add({ route: CREATE, kind: "reset", when: "mid-response", times });
const live = (name: string) =>
  emulator.state.allKeys().filter((k) => k.name === name && k.revokedAt === null);
const made = (name: string) => emulator.state.allKeys().filter((k) => k.name === name);

describe("mintNamedKey", () => {
  test.each([
    { lost: 0, attempts: 1, minted: true, made: 1 },
    { lost: 1, attempts: 1, minted: false, made: 1 },
    { lost: 1, attempts: 3, minted: true, made: 2 },
    { lost: 2, attempts: 3, minted: true, made: 3 },
    { lost: 3, attempts: 3, minted: false, made: 3 },
  ])(
    "$lost lost answer(s), $attempts attempt(s): minted $minted, exactly one live key if any",
    async (row) => {
      const { client } = recordingClient(emulator);
      const name = `mint/${randomUUID()}`;
      if (row.lost > 0) lostAnswer(row.lost);
      const input = { projectId: projectId(emulator), name };
      const result = await mintNamedKey(client, input, { attempts: row.attempts }).then(
        (key) => ({ key }),
        (error: unknown) => ({ error }),
      );
      expect(made(name)).toHaveLength(row.made);
      if (row.minted) {
        expect("key" in result && live(name).map((k) => k.id)).toEqual([
          "key" in result && result.key.key.id,
        ]);
      } else {
        // The last lost answer comes out as it was: ambiguous, nothing it made left alive.
        expect("error" in result && isLlamaCloudError(result.error) && result.error.ambiguous).toBe(true);
        expect(live(name)).toEqual([]);
      }
      await client.close();
    },
  );

  test("a key already named so before the mint (`known`) is never revoked by it", async () => {
    const { client } = recordingClient(emulator);
    const input = { projectId: projectId(emulator), name: `mint/${randomUUID()}` };
    const earlier = await client.createApiKey(input);
    lostAnswer();
    const minted = await mintNamedKey(client, input, { attempts: 2, known: [earlier.key.id] });
    expect(
      live(input.name)
        .map((k) => k.id)
        .sort(),
    ).toEqual([earlier.key.id, minted.key.id].sort());
    await client.close();
  });

  test("revocations go through `revoke` when given", async () => {
    const { client } = recordingClient(emulator);
    const input = { projectId: projectId(emulator), name: `mint/${randomUUID()}` };
    lostAnswer();
    const revoked: string[] = [];
    await mintNamedKey(client, input, {
      attempts: 2,
      revoke: async (key) => {
        revoked.push(key.id);
        await client.deleteApiKey(key.id);
      },
    });
    expect(revoked).toEqual(
      made(input.name)
        .filter((k) => k.revokedAt !== null)
        .map((k) => k.id),
    );
    expect(revoked).toHaveLength(1);
    await client.close();
  });

  test("a refused create is rethrown at once: no search, no second create", async () => {
    const { client } = recordingClient(emulator);
    emulator.faults.add({ route: CREATE, kind: "status", status: 422, detail: "bad name" });
    const input = { projectId: projectId(emulator), name: `mint/${randomUUID()}` };
    await expect(mintNamedKey(client, input, { attempts: 3 })).rejects.toMatchObject({
      code: "LLAMACLOUD_VALIDATION",
      ambiguous: false,
    });
    expect(emulator.requests(CREATE)).toHaveLength(1);
    expect(emulator.requests("GET /api/v1/api-keys")).toHaveLength(0);
    await client.close();
  });

  test("when the search after a lost answer fails, `searchFailed` says what is thrown", async () => {
    const { client } = recordingClient(emulator);
    lostAnswer();
    emulator.faults.add({ route: "GET /api/v1/api-keys", kind: "status", status: 403, times: "always" });
    const input = { projectId: projectId(emulator), name: `mint/${randomUUID()}` };
    const thrown = (await mintNamedKey(client, input, {
      searchFailed: (lost, searchError) => ({ lost, searchError }),
    }).catch((error: unknown) => error)) as { lost: unknown; searchError: unknown };
    expect(thrown.lost).toMatchObject({ ambiguous: true });
    expect(thrown.searchError).toMatchObject({ code: "LLAMACLOUD_PERMISSION" });
    // Unrevoked: the caller's error must say so (the provider's PROVIDER_KEY_LEAKED does).
    expect(live(input.name)).toHaveLength(1);
    await client.close();
  });
});
