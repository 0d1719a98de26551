import { randomUUID } from "node:crypto";
import { inspect } from "node:util";
import { PutSecretValueCommand, type SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { afterAll, beforeAll, expect, test } from "vitest";
import { isSecretsError } from "../../secrets/errors";
import { serializePayload } from "../../secrets/payload";
import type { SecretStore } from "../../secrets/store";
import { callLog, fakeApiKey, makePayload, motoStore, rawClient, uniqueName } from "./fixtures";

const region = "test-secrets-no-leak-1";
const log = callLog();
let store: SecretStore;
let raw: SecretsManagerClient;

beforeAll(() => {
  store = motoStore(region, { onCall: log.onCall });
  raw = rawClient(region);
});

afterAll(() => {
  store.close();
  raw.destroy();
});

/** Every rendering of an error a logger or a test report might produce. */
function renderings(error: unknown): string[] {
  const e = error as Error & { cause?: unknown };
  return [
    String(e),
    e.message,
    String(e.stack),
    JSON.stringify(e),
    JSON.stringify(e.cause) ?? "",
    inspect(e, { depth: Number.POSITIVE_INFINITY, showHidden: true }),
  ];
}

test("no error or onCall event the store produces contains the apiKey", async () => {
  const apiKey = fakeApiKey();
  // The middle of the key: catches partial echoes as well as the whole key.
  const fragments = [apiKey, apiKey.slice(4, 20), apiKey.slice(-20)];
  const payload = makePayload({ apiKey });
  const errors: unknown[] = [];
  async function provoke(label: string, action: () => Promise<unknown>): Promise<void> {
    try {
      await action();
    } catch (error) {
      expect(isSecretsError(error), `${label}: ${String(error)}`).toBe(true);
      errors.push(error);
      return;
    }
    throw new Error(`${label}: expected a failure`);
  }

  const name = uniqueName("leak");
  const { arn } = await store.createSecret({ name });
  const token = randomUUID();
  await store.writeVersion(arn, { token, payload, stage: "AWSCURRENT" });
  await store.readPayload(arn, { stage: "AWSCURRENT" });

  // The key under another token, then another key under the key's token.
  await provoke("token conflict", () =>
    store.writeVersion(arn, { token, payload: makePayload({ apiKey: `${apiKey}x` }), stage: "AWSCURRENT" }),
  );
  await provoke("short token", () => store.writeVersion(arn, { token: "t", payload, stage: "AWSPENDING" }));
  await provoke("invalid payload", () =>
    store.writeVersion(arn, {
      token: randomUUID(),
      payload: makePayload({ apiKey, baseUrl: apiKey }),
      stage: "AWSPENDING",
    }),
  );
  await provoke("unknown secret", () =>
    store.writeVersion(uniqueName("missing"), { token: randomUUID(), payload, stage: "AWSPENDING" }),
  );
  await provoke("no AWSPENDING", () => store.readPayload(arn, { stage: "AWSPENDING" }));
  await provoke("unknown version", () => store.readPayload(arn, { versionId: randomUUID() }));
  await provoke("promote unknown", () => store.promote(arn, randomUUID()));
  await provoke("exists", () => store.createSecret({ name }));
  await provoke("bad window", () => store.deleteSecret(arn, { recoveryWindowInDays: 1 }));

  // Foreign values that hold the key: plain text, another tool's JSON, a future format.
  for (const [label, value] of [
    ["plain key", apiKey],
    ["foreign JSON", JSON.stringify({ token: apiKey, user: "x" })],
    ["future format", JSON.stringify({ ...JSON.parse(serializePayload(payload)), format: 2 })],
    ["bad field", JSON.stringify({ ...JSON.parse(serializePayload(payload)), keyId: apiKey })],
  ] as const) {
    const foreign = uniqueName("leak-foreign");
    const created = await store.createSecret({ name: foreign });
    await raw.send(new PutSecretValueCommand({ SecretId: created.arn, SecretString: value }));
    await provoke(`read ${label}`, () => store.readPayload(foreign, { stage: "AWSCURRENT" }));
    await provoke(`write over ${label}`, () =>
      store.writeVersion(foreign, { token: randomUUID(), payload, stage: "AWSPENDING" }),
    );
  }

  // Pending deletion: reads, writes and creates all refuse.
  await store.deleteSecret(arn, { recoveryWindowInDays: 7 });
  await provoke("read deleted", () => store.readPayload(arn, { stage: "AWSCURRENT" }));
  await provoke("write deleted", () =>
    store.writeVersion(arn, { token: randomUUID(), payload, stage: "AWSPENDING" }),
  );
  await provoke("create deleted", () => store.createSecret({ name }));
  await store.deleteSecret(arn, { force: true });
  await provoke("read purged", () => store.readPayload(arn, { stage: "AWSCURRENT" }));

  expect(errors.length).toBe(21);
  expect(new Set(errors.map((error) => (error as { code: string }).code))).toEqual(
    new Set([
      "SECRET_TOKEN_CONFLICT",
      "SECRET_INVALID_REQUEST",
      "SECRET_MALFORMED_PAYLOAD",
      "SECRET_NOT_FOUND",
      "SECRET_EXISTS",
      "SECRET_SCHEDULED_FOR_DELETION",
    ]),
  );
  for (const error of errors) {
    for (const text of renderings(error)) {
      for (const fragment of fragments) expect(text).not.toContain(fragment);
    }
  }
  expect(log.events.length).toBeGreaterThan(30);
  const events = JSON.stringify(log.events);
  for (const fragment of fragments) expect(events).not.toContain(fragment);
});
