import { randomUUID } from "node:crypto";
import { runtime } from "@pulumi/pulumi";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { EmulatorHandle } from "../../llamacloud/emulator";
import { startEmulator } from "../../llamacloud/emulator";
import { apiKeyInputsSchema, parseInputs } from "../../provider/args";
import { isProviderError } from "../../provider/errors";
import type { SecretStore } from "../../secrets/store";
import { loadProvider, type ProviderUnderTest, stackConfig, storeFor, useMoto } from "../provider/fixtures";
import { expectNoKey, issuedKey, RUNS, renderError, settle } from "./fixtures";
import { hostileString, NAME_LIMIT, pathLike } from "./hostile";

// Boundary: the `ApiKey` resource's inputs, as the engine hands them to the provider's `check` and
// `create` (the compiled provider, loaded as the engine loads it). `check` answers every input with
// either valid inputs or failures that each name a field, the value given and what it expects — it
// never throws and never prints a key. `create` with inputs that cannot work leaves nothing behind: no key
// minted in LlamaCloud (the emulator), no secret in Secrets Manager (moto).

const region = "test-security-provider-inputs";
// What the engine sends for an input not known yet (preview); the provider reads the same constant.
const UNKNOWN = runtime.unknownValue;
const key = issuedKey();
const fieldNames = Object.keys(apiKeyInputsSchema.shape);

let emulator: EmulatorHandle;
let provider: ProviderUnderTest;
let store: SecretStore;

beforeAll(async () => {
  useMoto(region);
  emulator = await startEmulator();
  provider = loadProvider();
  store = storeFor(region);
  await provider.configure(
    stackConfig({ "llamacloud:apiKey": emulator.adminKey, "llamacloud:baseUrl": emulator.url }),
  );
});
afterAll(async () => {
  store?.close();
  await emulator?.close();
});

const anyValue = fc.oneof(
  hostileString,
  fc.jsonValue(),
  fc.constant(key),
  fc.constant(UNKNOWN),
  fc.constantFrom(0, -1, 1.5, 7, 30, 31, true, false, null),
);
const uuidish = fc.oneof(fc.uuid(), hostileString, fc.constant(UNKNOWN));
const duration = fc.oneof(fc.constantFrom("30d", "2h", "59s", "60s", "1m", "0s", "x", ""), hostileString);

const inputs = fc.record(
  {
    projectId: fc.oneof(uuidish, anyValue),
    projectName: fc.oneof(
      fc.string(),
      fc.constant("p".repeat(NAME_LIMIT)),
      fc.constant("p".repeat(NAME_LIMIT + 1)),
      hostileString,
      anyValue,
    ),
    organizationId: uuidish,
    environment: fc.oneof(
      fc.constantFrom("prod", "dev-2"),
      hostileString,
      pathLike,
      fc.constant(key),
      anyValue,
    ),
    name: fc.oneof(fc.constantFrom("checkout-api", "a".repeat(101)), hostileString, fc.constant(key)),
    secretId: fc.oneof(fc.constant(""), fc.constant("s".repeat(2049)), hostileString, anyValue),
    secretName: fc.oneof(
      fc.constantFrom("llamacloud/search/prod", "s".repeat(512), "s".repeat(513)),
      hostileString,
      pathLike,
    ),
    kmsKeyId: fc.oneof(hostileString, anyValue),
    description: fc.oneof(fc.constant(`the key is ${key}`), fc.constant("d".repeat(2049)), anyValue),
    tags: fc.oneof(fc.dictionary(hostileString, fc.oneof(hostileString, fc.constant(key))), anyValue),
    recoveryWindowInDays: anyValue,
    rotation: fc.oneof(
      fc.record({ every: duration, grace: duration, extra: anyValue }, { requiredKeys: [] }),
      anyValue,
    ),
    region: fc.oneof(fc.constantFrom("us", "eu", "ap"), anyValue),
    baseUrl: fc.oneof(fc.constantFrom("https://x.example", "ftp://x", "http://u:p@h"), hostileString),
    adopt: anyValue,
    stray: anyValue,
  },
  { requiredKeys: [] },
);

/** The field a reason names first (`"rotation.grace" must be …`, `exactly one of "projectId" …`). */
function rootOf(reason: string): string {
  return (/"([^"]*)"/.exec(reason)?.[1] ?? "").split(".")[0]!;
}

describe("check, on any inputs", () => {
  test("answers valid inputs or failures naming a field and what it expects; never throws or prints a key", async () => {
    let failed = 0;
    await fc.assert(
      fc.asyncProperty(inputs, async (news) => {
        const outcome = await settle(provider.check({}, news), 5_000, "check");
        if (!outcome.ok) throw outcome.error;
        const { inputs: checked, failures } = outcome.value;
        expect(checked["__createToken"]).toMatch(/^[0-9a-f-]{36}$/);
        if (failures === undefined) {
          // No failure: valid, or only unknown values left to judge at `up`.
          if (!JSON.stringify(news).includes(UNKNOWN)) expect(() => parseInputs(checked)).not.toThrow();
          return;
        }
        failed += 1;
        expect(failures.length).toBeGreaterThan(0);
        for (const failure of failures) {
          // The engine prints a failure's property beside its reason; the reason names it instead.
          expect(failure.property).toBe("");
          // A schema field the reason quotes first, or an unknown property it calls unknown.
          if (!/unknown property "/.test(failure.reason)) {
            expect(fieldNames, failure.reason).toContain(rootOf(failure.reason));
          }
          expect(failure.reason, failure.reason).toMatch(/; (given |not set|neither is set|both are set)/);
          expectNoKey(failure.reason, key, `the failure ${failure.reason.slice(0, 40)}`);
        }
      }),
      { numRuns: RUNS.pure },
    );
    expect(failed).toBeGreaterThan(RUNS.pure / 2);
  });
});

/** What exists now: every key the emulator knows (revoked or not), every secret in this region. */
async function footprint(): Promise<{ keys: number; secrets: string[] }> {
  const secrets = await store.listManagedSecrets({ includeScheduledForDeletion: true });
  // listManagedSecrets sees only managed secrets; a half-written one may lack the tag, so also
  // look for every name a create could have used.
  return { keys: emulator.state.allKeys().length, secrets: secrets.map((s) => s.arn).sort() };
}

async function secretExists(name: string): Promise<boolean> {
  try {
    await store.describe(name);
    return true;
  } catch (error) {
    if ((error as { code?: string }).code === "SECRET_NOT_FOUND") return false;
    throw error;
  }
}

describe("create, with inputs that cannot work", () => {
  test("rejected inputs: PROVIDER_INVALID_ARGS naming the fields, nothing minted or written", async () => {
    await fc.assert(
      fc.asyncProperty(inputs, async (news) => {
        const { inputs: checked, failures } = await provider.check({}, news);
        fc.pre(failures !== undefined);
        const before = await footprint();
        const outcome = await settle(provider.create(checked), 10_000, "create");
        expect(outcome.ok).toBe(false);
        const error = (outcome as { error: unknown }).error;
        expect(isProviderError(error, "PROVIDER_INVALID_ARGS"), String(error)).toBe(true);
        expectNoKey(renderError("provider-create-invalid", error), key, "the create error");
        expect(await footprint()).toEqual(before);
      }),
      { numRuns: RUNS.remote },
    );
  });

  test("valid inputs naming what does not exist: a typed error, and no key or secret left behind", async () => {
    const [defaultProject] = emulator.projects;
    const unreachable = fc.oneof(
      // A project that is not there, by id or by a hostile (valid) name.
      fc.uuid().map((id) => ({ projectId: id })),
      fc
        .oneof(fc.string({ minLength: 1 }), fc.constant("p".repeat(NAME_LIMIT)), hostileString)
        .filter(
          (name) => name.length > 0 && name.length <= NAME_LIMIT && name !== "default" && name !== "search",
        )
        .map((projectName) => ({ projectName })),
      // The right project, but a secret that is not there.
      fc
        .constantFrom("does/not/exist", `arn:aws:secretsmanager:${region}:123456789012:secret:gone-AbCdEf`)
        .map((secretId) => ({ projectId: defaultProject!.id, secretId })),
      // The right project, but in an organization that is not its own.
      fc.uuid().map((organizationId) => ({ projectId: defaultProject!.id, organizationId })),
    );
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(unreachable, fc.constantFrom("prod", "dev"), async (target, environment) => {
        const secretName = `test/security/${randomUUID()}`;
        const news = { ...target, environment, ...("secretId" in target ? {} : { secretName }) };
        const { inputs: checked, failures } = await provider.check({}, news);
        expect(failures).toBeUndefined();
        const before = await footprint();
        const outcome = await settle(provider.create(checked), 20_000, "create");
        expect(outcome.ok).toBe(false);
        const error = (outcome as { error: unknown }).error;
        const code = (error as { code?: string }).code ?? "";
        expect(code, String(error)).toMatch(/^(LLAMACLOUD_|PROVIDER_)/);
        expectNoKey(renderError("provider-create-unreachable", error), key, "the create error");
        expect(await footprint()).toEqual(before);
        expect(await secretExists(secretName)).toBe(false);
        runs += 1;
      }),
      { numRuns: RUNS.remote },
    );
    expect(runs).toBe(RUNS.remote);
  });
});
