import { describe, expect, it } from "vitest";
import { createLlamaCloudClient, isLlamaCloudError } from "../../llamacloud";
import { defaultTimeouts, resolveClientOptions } from "../../llamacloud/client-options";
import { apiKeySchema, createdApiKeySchema, looksLikeFullKey } from "../../llamacloud/schemas";
import { redacted } from "../../redaction";
import { fakeKey } from "../harness/fake-key";

function configError(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (isLlamaCloudError(error, "LLAMACLOUD_CONFIG")) return error.message;
    throw error;
  }
  throw new Error("expected a LLAMACLOUD_CONFIG error");
}

describe("client configuration", () => {
  it("falls back to LLAMA_CLOUD_API_KEY and LLAMA_CLOUD_BASE_URL, and wraps the key", () => {
    const resolved = resolveClientOptions({
      env: { LLAMA_CLOUD_API_KEY: "llx-fromenv", LLAMA_CLOUD_BASE_URL: "https://llama.example.com/" },
    });
    expect(resolved.apiKey.reveal()).toBe("llx-fromenv");
    expect(String(resolved.apiKey)).toBe("[redacted]");
    expect(resolved.baseUrl).toBe("https://llama.example.com");
    expect(resolved.timeouts).toEqual(defaultTimeouts);
  });

  it("options win over env; region picks the public deployment; the default is US", () => {
    const env = { LLAMA_CLOUD_API_KEY: "llx-env", LLAMA_CLOUD_BASE_URL: "https://env.example.com" };
    expect(resolveClientOptions({ env, apiKey: redacted("llx-opt") }).apiKey.reveal()).toBe("llx-opt");
    expect(resolveClientOptions({ env, region: "eu" }).baseUrl).toBe("https://api.cloud.eu.llamaindex.ai");
    expect(resolveClientOptions({ env: { LLAMA_CLOUD_API_KEY: "k" } }).baseUrl).toBe(
      "https://api.cloud.llamaindex.ai",
    );
    expect(resolveClientOptions({ env, baseUrl: "http://127.0.0.1:9/prefix/" }).baseUrl).toBe(
      "http://127.0.0.1:9/prefix",
    );
  });

  it("partial timeouts and retry overrides merge with the defaults", () => {
    const resolved = resolveClientOptions({
      apiKey: "k",
      env: {},
      timeouts: { totalMs: 5_000 },
      retry: { maxRetries: 0 },
    });
    expect(resolved.timeouts).toEqual({ ...defaultTimeouts, totalMs: 5_000 });
    expect(resolved.retry.maxRetries).toBe(0);
    expect(resolved.retry.methods).toEqual(["GET", "PUT", "DELETE"]);
  });

  it("rejects bad options naming the option, never echoing the value", () => {
    expect(configError(() => createLlamaCloudClient({ apiKey: "", env: {} }))).toMatch(
      /apiKey option is empty/,
    );
    expect(configError(() => createLlamaCloudClient({ apiKey: "k", env: {}, baseUrl: "ftp://x" }))).toMatch(
      /The baseUrl option must be an http\(s\) URL/,
    );
    expect(
      configError(() => createLlamaCloudClient({ apiKey: "k", env: {}, baseUrl: "https://x/?q=1" })),
    ).toMatch(/must not have a query string/);
    expect(
      configError(() =>
        createLlamaCloudClient({ apiKey: "k", env: {}, retry: { methods: ["POST" as "GET"] } }),
      ),
    ).toMatch(/retry\.methods\.0: Invalid option/);
    expect(
      configError(() => createLlamaCloudClient({ apiKey: "k", env: {}, userAgent: "bad\nagent" })),
    ).toMatch(/userAgent: expected 1-200 printable ASCII characters/);
    expect(configError(() => createLlamaCloudClient({ apiKey: "k", env: {}, extra: 1 } as never))).toMatch(
      /Unrecognized key: "extra"/,
    );
    const withKey = createLlamaCloudClient({ apiKey: "k", env: {} });
    expect(configError(() => withKey.withApiKey("two words"))).toMatch(
      /from withApiKey\(\) contains whitespace/,
    );
  });
});

describe("schemas at the boundary", () => {
  const wire = {
    id: "0d000000-0000-4000-8000-000000000001",
    user_id: "u",
    name: "n",
    project_id: null,
    created_at: "2030-01-01T00:00:00Z",
    updated_at: null,
    redacted_api_key: fakeKey("AAAAbbbbCCCCddddEEEEffffGGGGhhhhIIIIjjjjKKKKllll"),
  };

  it("the create response's redacted_api_key becomes a Redacted secret and a masked key", () => {
    const created = createdApiKeySchema.parse(wire);
    expect(created.secret.reveal()).toBe(wire.redacted_api_key);
    expect(created.key.maskedKey).toBe("llx-…llll");
    expect(JSON.stringify(created)).not.toContain(wire.redacted_api_key);
  });

  it("a list entry that carries a full key is masked anyway (defence in depth)", () => {
    expect(apiKeySchema.parse(wire).maskedKey).toBe("llx-…llll");
    expect(apiKeySchema.parse({ ...wire, redacted_api_key: "llx-…abcd" }).maskedKey).toBe("llx-…abcd");
  });

  it("unknown fields are ignored, missing optional fields default to null", () => {
    const { name: _, project_id: __, created_at: ___, updated_at: ____, ...minimal } = wire;
    expect(apiKeySchema.parse({ ...minimal, key_type: "user" })).toEqual({
      id: wire.id,
      name: null,
      projectId: null,
      userId: "u",
      maskedKey: "llx-…llll",
      createdAt: null,
      updatedAt: null,
    });
  });

  it("looksLikeFullKey tells keys from masked forms without pinning the length", () => {
    const table: [string, boolean][] = [
      [wire.redacted_api_key, true],
      [`llx-${"a".repeat(20)}`, true],
      [`llx-${"a".repeat(64)}`, true],
      ["llx-…abcd", false],
      ["llx-****************************abcd", false],
      ["llx-abc...wxyz0000000000000000", false],
      ["sk-AAAAbbbbCCCCddddEEEEffffGGGG", false],
      ["llx-short", false],
    ];
    for (const [value, expected] of table) expect(looksLikeFullKey(value), value).toBe(expected);
  });
});
