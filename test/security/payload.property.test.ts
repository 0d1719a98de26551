import { randomUUID } from "node:crypto";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { isSecretsError, type MalformedPayloadError } from "../../secrets/errors";
import { parsePayload } from "../../secrets/payload";
import { expectNoKey, issuedKey, RUNS, renderError } from "./fixtures";

// Boundary: a secret's value, as `parsePayload` (and so the reader, the rotator and the provider)
// reads it. Whatever Secrets Manager hands back — another tool's JSON, plain text, another format,
// a payload with a field missing or of the wrong type — the outcome is a payload or a
// MalformedPayloadError naming each bad field; never another error, and never any received value.

const key = issuedKey();
const where = {
  secretId: "arn:aws:secretsmanager:us-east-1:111122223333:secret:app-AbCdEf",
  versionId: "v1",
};
const fields = [
  "format",
  "apiKey",
  "keyId",
  "keyName",
  "projectId",
  "organizationId",
  "environment",
  "baseUrl",
  "createdAt",
] as const;

function valid(): Record<string, unknown> {
  return {
    format: 1,
    apiKey: key,
    keyId: randomUUID(),
    keyName: "llamacloud-keys/p/prod/t",
    projectId: randomUUID(),
    organizationId: null,
    environment: "prod",
    baseUrl: "https://api.cloud.llamaindex.ai",
    createdAt: "2025-01-31T12:00:00Z",
  };
}

/** A value that marks itself: if an error quotes it, the test sees it. */
const marker = fc.constantFrom(`${key}`, `VALUE-${randomUUID()}-VALUE`, `${key}\n${key}`, `"${key}"`);

const wrongValue = fc.oneof(
  fc.jsonValue(),
  marker,
  fc.constantFrom(2, 0, -1, "1", "2", true, null, [], {}, "", " ", "not-a-uuid", "ftp://x", "yesterday"),
);

type Mutation =
  | { kind: "delete"; field: (typeof fields)[number] }
  | { kind: "set"; field: (typeof fields)[number]; value: unknown };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("delete" as const), field: fc.constantFrom(...fields) }),
  fc.record({ kind: fc.constant("set" as const), field: fc.constantFrom(...fields), value: wrongValue }),
);

const text: fc.Arbitrary<{ text: string; mutated: Mutation[] }> = fc.oneof(
  // Someone else's secret: plain text, a bare key, arbitrary JSON.
  fc.string({ unit: "binary" }).map((t) => ({ text: t, mutated: [] })),
  fc.constantFrom(key, `${key}\n`, `apiKey=${key}`, "", "null", "[]", "1", '"x"').map((t) => ({
    text: t,
    mutated: [],
  })),
  fc.json().map((t) => ({ text: t, mutated: [] })),
  fc
    .dictionary(fc.string(), fc.jsonValue())
    .map((extra) => ({ text: JSON.stringify({ ...extra, apiKey: key }), mutated: [] })),
  // Ours, broken in one to three places.
  fc.array(mutation, { minLength: 1, maxLength: 3 }).map((mutations) => {
    const payload = valid();
    const last = new Map<string, Mutation>();
    for (const m of mutations) {
      if (m.kind === "delete") delete payload[m.field];
      else payload[m.field] = m.value;
      last.set(m.field, m);
    }
    return { text: JSON.stringify(payload), mutated: [...last.values()] };
  }),
  // Ours, truncated.
  fc.nat({ max: 300 }).map((n) => ({ text: JSON.stringify(valid()).slice(0, n), mutated: [] })),
);

describe("parsePayload on anything a secret can hold", () => {
  test("a payload or a MalformedPayloadError naming each bad field, never a received value", () => {
    let rejected = 0;
    fc.assert(
      fc.property(text, ({ text, mutated }) => {
        let error: MalformedPayloadError | undefined;
        try {
          const payload = parsePayload(text, where);
          // Accepted: it must really be ours, with the key wrapped.
          expect(payload.format).toBe(1);
          expect(String(payload.apiKey)).toBe("[redacted]");
          return;
        } catch (thrown) {
          if (!isSecretsError(thrown, "SECRET_MALFORMED_PAYLOAD")) throw thrown;
          error = thrown as MalformedPayloadError;
        }
        rejected += 1;
        expect(error.secretId).toBe(where.secretId);
        expect(error.message).toContain(where.secretId);
        expect(error.issues.length).toBeGreaterThan(0);
        for (const issue of error.issues) expect(issue).toMatch(/^(\(value\)|[A-Za-z][\w.[\]]*): \S/);
        // Each field we broke and zod refused is named by path.
        for (const m of mutated) {
          const named = error.issues.some((issue) => issue.startsWith(`${m.field}:`));
          const stillValid = m.kind === "set" && acceptable(m.field, m.value);
          if (!stillValid) expect(named, `${m.field} in ${error.issues.join(" | ")}`).toBe(true);
        }
        const rendered = renderError("payload-property", error);
        expectNoKey(rendered, key, "a MalformedPayloadError");
        for (const m of mutated) {
          if (m.kind === "set" && typeof m.value === "string" && m.value.startsWith("VALUE-")) {
            expect(rendered).not.toContain(m.value);
          }
        }
      }),
      { numRuns: RUNS.pure },
    );
    expect(rejected).toBeGreaterThan(RUNS.pure / 2);
  });
});

/** Whether a mutated value could still be valid for its field (then no issue is owed). */
function acceptable(field: string, value: unknown): boolean {
  switch (field) {
    case "format":
      return value === 1;
    case "apiKey":
    case "keyName":
    case "environment":
      return typeof value === "string" && value.length > 0;
    case "organizationId":
      return value === null;
    default:
      return false;
  }
}
