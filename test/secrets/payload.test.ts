import { inspect } from "node:util";
import { describe, expect, test } from "vitest";
import { redacted } from "../../redaction";
import { isSecretsError, type MalformedPayloadError } from "../../secrets/errors";
import {
  buildPayload,
  parsePayload,
  redactKey,
  redactPayload,
  serializePayload,
} from "../../secrets/payload";
import { fakeKey } from "../harness/fake-key";
import { makePayload } from "./fixtures";

const key = fakeKey("AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdWXYZ");
const where = {
  secretId: "arn:aws:secretsmanager:eu-west-3:123456789012:secret:app-AbCdEf",
  versionId: "v-1",
};

function parseError(text: string): MalformedPayloadError {
  try {
    parsePayload(text, where);
  } catch (error) {
    if (isSecretsError(error, "SECRET_MALFORMED_PAYLOAD")) return error as MalformedPayloadError;
    throw error;
  }
  throw new Error("parsePayload accepted a malformed payload");
}

describe("payload", () => {
  test("serialize then parse round-trips every field and keeps the key wrapped", () => {
    const payload = makePayload({ apiKey: key });
    const parsed = parsePayload(serializePayload(payload), where);
    expect(parsed.apiKey.reveal()).toBe(key);
    expect({ ...parsed, apiKey: "x" }).toEqual({ ...payload, apiKey: "x" });
    expect(JSON.stringify(parsed)).not.toContain(key);
    expect(inspect(parsed)).not.toContain(key);
    expect(String(parsed.apiKey)).toBe("[redacted]");
  });

  test("serialization is byte-stable whatever the property order (idempotent writes compare bytes)", () => {
    const payload = makePayload({ apiKey: key });
    const reordered = Object.fromEntries(Object.entries(payload).reverse()) as typeof payload;
    expect(serializePayload(reordered)).toBe(serializePayload(payload));
    expect(Object.keys(JSON.parse(serializePayload(payload)))).toEqual([
      "format",
      "apiKey",
      "keyId",
      "keyName",
      "projectId",
      "organizationId",
      "environment",
      "baseUrl",
      "createdAt",
    ]);
  });

  test("serializePayload refuses a plain-string key: the key must travel wrapped", () => {
    const payload = { ...makePayload(), apiKey: key } as unknown as Parameters<typeof serializePayload>[0];
    expect(() => serializePayload(payload)).toThrow(/must be a Redacted<string>/);
  });

  test("organizationId may be null; unknown fields are dropped, not rejected", () => {
    const text = JSON.stringify({
      ...JSON.parse(serializePayload(makePayload())),
      organizationId: null,
      extra: 1,
    });
    const parsed = parsePayload(text, where);
    expect(parsed.organizationId).toBeNull();
    expect("extra" in parsed).toBe(false);
  });

  test("plain text is malformed, and the message never quotes it (JSON.parse's own message would)", () => {
    const error = parseError(key);
    expect(error.message).not.toContain(key);
    expect(error.message).not.toContain("llx-");
    expect(error.message).toMatchInlineSnapshot(`
      "Secret arn:aws:secretsmanager:eu-west-3:123456789012:secret:app-AbCdEf (version v-1) does not hold a llamacloud-keys payload (format 1):
        (value): expected JSON, found plain text
      It was written by another tool or edited by hand; llamacloud-keys will not overwrite it. Move AWSCURRENT back to a good version (aws secretsmanager update-secret-version-stage) or point llamacloud-keys at a secret of its own."
    `);
    expect(error.secretId).toBe(where.secretId);
    expect(error.versionId).toBe("v-1");
  });

  test("foreign JSON names every missing field, one line each", () => {
    const error = parseError(JSON.stringify({ username: "admin", password: key }));
    expect(error.issues).toMatchInlineSnapshot(`
      [
        "format: expected 1 (this version of llamacloud-keys reads format 1 only)",
        "apiKey: expected the LlamaCloud API key as a string",
        "keyId: expected the LlamaCloud key id as a UUID",
        "keyName: expected the key's name as a string",
        "projectId: expected the LlamaCloud project id as a UUID",
        "organizationId: expected the LlamaCloud organization id as a UUID",
        "environment: expected the environment name as a string, e.g. prod",
        "baseUrl: expected an http(s) URL, e.g. https://api.cloud.llamaindex.ai",
        "createdAt: expected an ISO-8601 date-time, e.g. 2025-01-31T12:00:00Z",
      ]
    `);
    expect(error.message).not.toContain(key);
  });

  test("a wrong format and bad field values are named by path, without the received values", () => {
    const good = JSON.parse(serializePayload(makePayload({ apiKey: key })));
    const error = parseError(
      JSON.stringify({ ...good, format: 2, keyId: "not-a-uuid", baseUrl: "ftp://x", createdAt: "yesterday" }),
    );
    expect(error.issues).toMatchInlineSnapshot(`
      [
        "format: expected 1 (this version of llamacloud-keys reads format 1 only)",
        "keyId: expected the LlamaCloud key id as a UUID",
        "baseUrl: expected an http(s) URL, e.g. https://api.cloud.llamaindex.ai",
        "createdAt: expected an ISO-8601 date-time, e.g. 2025-01-31T12:00:00Z",
      ]
    `);
    for (const received of ["not-a-uuid", "ftp://x", "yesterday", key])
      expect(error.message).not.toContain(received);
  });

  test.each([
    ["null", "(value): expected a JSON object, found null"],
    ["[1,2]", "(value): expected a JSON object, found an array"],
    ['"llx-quoted"', "(value): expected a JSON object, found a JSON string"],
    ["42", "(value): expected a JSON object, found a JSON number"],
  ])("JSON that is not an object (%s) is malformed", (text, issue) => {
    expect(parseError(text).issues).toEqual([issue]);
  });

  test("redactKey shows the llx- prefix and the last 4 characters only", () => {
    expect(redactKey(key)).toBe("llx-…WXYZ");
    expect(redactKey(redacted(key))).toBe("llx-…WXYZ");
    expect(redactKey("llx-short")).toBe("llx-…");
    expect(redactKey("sk-0123456789abcdef")).toBe("…cdef");
  });

  test("redactPayload is a plain, log-safe view", () => {
    const payload = makePayload({ apiKey: key });
    const view = redactPayload(payload);
    expect(view).toEqual({
      format: 1,
      keyId: payload.keyId,
      key: "llx-…WXYZ",
      keyName: payload.keyName,
      projectId: payload.projectId,
      organizationId: payload.organizationId,
      environment: "prod",
      baseUrl: payload.baseUrl,
      createdAt: payload.createdAt,
    });
    expect(JSON.stringify(view)).not.toContain(key.slice(4, -4));
  });
});

describe("buildPayload: the one place a payload is put together", () => {
  const fields = {
    apiKey: redacted(key),
    keyId: "0b6a3f9e-6a53-4c55-9f39-6a0c1f8b7e21",
    keyName: "llamacloud-keys/p/prod/t",
    projectId: "3f1a2b4c-5d6e-4f70-8a91-b2c3d4e5f601",
    environment: "prod",
    baseUrl: "https://api.cloud.llamaindex.ai",
  };

  test.each([
    ["a string date is kept", { createdAt: "2025-01-31T12:00:00.000Z" }, "2025-01-31T12:00:00.000Z", null],
    [
      "a Date becomes ISO-8601",
      { createdAt: new Date(Date.UTC(2025, 0, 31)) },
      "2025-01-31T00:00:00.000Z",
      null,
    ],
    [
      "an organization is kept",
      { createdAt: "2025-01-31T12:00:00Z", organizationId: "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d" },
      "2025-01-31T12:00:00Z",
      "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d",
    ],
  ])("%s; the result is a valid payload of the current format", (_what, extra, createdAt, organizationId) => {
    const payload = buildPayload({ ...fields, ...extra });
    expect(payload).toMatchObject({ format: 1, createdAt, organizationId, keyId: fields.keyId });
    expect(parsePayload(serializePayload(payload), where).apiKey.reveal()).toBe(key);
  });

  test("without createdAt the key is dated now", () => {
    const before = Date.now();
    const created = Date.parse(buildPayload(fields).createdAt);
    expect(created).toBeGreaterThanOrEqual(before);
    expect(created).toBeLessThanOrEqual(Date.now());
  });

  test("fields are in the order serializePayload writes them: the builder adds nothing, drops nothing", () => {
    const payload = buildPayload(fields);
    expect(Object.keys(payload)).toEqual(Object.keys(JSON.parse(serializePayload(payload))));
  });
});
