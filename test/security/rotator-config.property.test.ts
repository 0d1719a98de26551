import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, test } from "vitest";
import { main } from "../../rotator/cli";
import { type Command, type FlagValues, loadConfig } from "../../rotator/config";
import { isRotatorError } from "../../rotator/errors";
import { expectNoKey, issuedKey, RUNS, renderError, renderValue } from "./fixtures";
import { hostileString } from "./hostile";

// Boundary: the rotator's command line, config file and environment (`rotator/config.ts`,
// `rotator/cli.ts`). Whatever an operator types, the outcome is a configuration or one
// ROTATOR_CONFIG error (exit 2) naming the flag, file field or variable — before anything touches
// AWS or LlamaCloud — and the admin key (LLAMA_CLOUD_API_KEY) is never printed.

const key = issuedKey();
const dir = mkdtempSync(join(tmpdir(), "llamacloud-keys-rotator-config-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const commands: Command[] = ["rotate", "rotator", "status"];
const duration = fc.oneof(fc.constantFrom("30s", "10m", "0", "1h", "-1m", "5", "m", ""), hostileString);
const flagValue = {
  schedule: fc.oneof(
    fc.constantFrom("*/15 * * * *", "0 0 * * *", "* * * * * *", "61 * * * *", ""),
    hostileString,
  ),
  concurrency: fc.oneof(fc.integer({ min: -2, max: 70 }).map(String), fc.constantFrom("1.5", "1e1", "")),
  listen: fc.oneof(fc.constantFrom("127.0.0.1:9464", "[::1]:0", ":80", "h:70000", "h"), hostileString),
  prefix: fc.oneof(fc.constantFrom("llamacloud-keys", "-x", "a".repeat(65)), hostileString),
  "pass-deadline": duration,
  "start-delay": duration,
  "shutdown-timeout": duration,
  "log-format": fc.oneof(fc.constantFrom("json", "pretty", "xml"), hostileString),
};

const fileContent = fc.oneof(
  fc
    .record(
      {
        secrets: fc.oneof(fc.array(hostileString, { maxLength: 3 }), fc.jsonValue()),
        schedule: flagValue.schedule,
        concurrency: fc.oneof(fc.integer({ min: -1, max: 70 }), fc.jsonValue()),
        listen: flagValue.listen,
        prefix: flagValue.prefix,
        baseUrl: fc.oneof(
          fc.constantFrom("https://api.cloud.llamaindex.ai", "ftp://x", `https://${key}@h`),
          hostileString,
        ),
        region: fc.oneof(fc.constant(""), hostileString),
        endpoint: fc.oneof(fc.constant("http://127.0.0.1:1"), hostileString),
        passDeadline: duration,
        startDelay: duration,
        shutdownTimeout: duration,
        logFormat: flagValue["log-format"],
        apiKey: fc.constant(key), // not a field: the key is read from the environment only
      },
      { requiredKeys: [] },
    )
    .map((o) => JSON.stringify(o)),
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.string({ unit: "binary", maxLength: 100 }),
);

const flags: fc.Arbitrary<{ flags: FlagValues; file?: string }> = fc
  .record(
    {
      secret: fc.array(fc.oneof(hostileString, fc.constant(" ")), { maxLength: 3 }),
      all: fc.boolean(),
      force: fc.boolean(),
      "revoke-now": fc.boolean(),
      "dry-run": fc.boolean(),
      json: fc.boolean(),
      ...flagValue,
      config: fc.oneof(fileContent, fc.constant("(missing)")),
    },
    { requiredKeys: [] },
  )
  .map(({ config, ...rest }) => ({
    flags: rest as FlagValues,
    ...(config === undefined ? {} : { file: config }),
  }));

const env = fc.record(
  {
    LLAMA_CLOUD_API_KEY: fc.constantFrom(key, "", "   "),
    LLAMA_CLOUD_BASE_URL: fc.oneof(
      fc.constantFrom("https://api.cloud.eu.llamaindex.ai", "nope", ""),
      hostileString,
    ),
    AWS_REGION: fc.oneof(fc.constant("eu-west-3"), hostileString),
    AWS_ENDPOINT_URL_SECRETS_MANAGER: fc.oneof(fc.constant("http://127.0.0.1:5000"), hostileString),
    AWS_ENDPOINT_URL: hostileString,
    LLAMACLOUD_KEYS_NOW_OFFSET_MS: fc.oneof(fc.integer().map(String), hostileString),
  },
  { requiredKeys: [] },
);

let files = 0;
function materialize(input: { flags: FlagValues; file?: string }): FlagValues {
  if (input.file === undefined) return input.flags;
  if (input.file === "(missing)") return { ...input.flags, config: join(dir, "missing.json") };
  files += 1;
  const path = join(dir, `config-${files}.json`);
  writeFileSync(path, input.file);
  return { ...input.flags, config: path };
}

describe("loadConfig on any flags, config file and environment", () => {
  test("a configuration, or ROTATOR_CONFIG naming the flag, field or variable; the key never shown", () => {
    let rejected = 0;
    fc.assert(
      fc.property(fc.constantFrom(...commands), flags, env, (command, input, environment) => {
        const values = materialize(input);
        try {
          const config = loadConfig(command, values, environment);
          expect(config.llamaCloud.apiKey.reveal()).toBe(environment.LLAMA_CLOUD_API_KEY);
          expectNoKey(renderValue(config), key, "the loaded configuration");
        } catch (error) {
          if (!isRotatorError(error, "ROTATOR_CONFIG")) throw error;
          rejected += 1;
          const field = (error as { field?: string }).field ?? "";
          expect(field.length).toBeGreaterThan(0);
          expect(error.message).toContain(`  ${field}: `);
          expect(error.message).toContain("nothing was changed");
          // The key never, whether it was in the environment or misplaced in a config file.
          expectNoKey(renderError("rotator-config-property", error), key, "a configuration error");
        }
      }),
      { numRuns: RUNS.pure },
    );
    expect(rejected).toBeGreaterThan(RUNS.pure / 2);
  });
});

// Every flag any command takes, and junk.
const argvToken = fc.oneof(
  fc.constantFrom(
    "--secret",
    "--all",
    "--force",
    "--revoke-now",
    "--dry-run",
    "--json",
    "--schedule",
    "--concurrency",
    "--listen",
    "--config",
    "--prefix",
    "--log-format",
    "--pass-deadline",
    "--start-delay",
    "--shutdown-timeout",
    "--forse",
    "-x",
    "--",
    "--secret=",
  ),
  hostileString,
);

describe("the CLI on any argv", () => {
  test("without LLAMA_CLOUD_API_KEY: exit 2 naming the problem (0 for --help), before any I/O", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("rotate", "rotator", "status", "rotat", ""),
        fc.array(argvToken, { maxLength: 6 }),
        async (command, args) => {
          const out: string[] = [];
          const err: string[] = [];
          const code = await main([command, ...args], {
            stdout: (t) => out.push(t),
            stderr: (t) => err.push(t),
            env: {
              // Blank: the run must stop at configuration, before any I/O.
              LLAMA_CLOUD_API_KEY: " ",
              LLAMA_CLOUD_BASE_URL: "http://127.0.0.1:1",
              AWS_ENDPOINT_URL_SECRETS_MANAGER: "http://127.0.0.1:1",
            },
          });
          if (code === 0) {
            expect(args).toContain("--help");
            expect(out.join("")).toMatch(/^Usage: llamacloud-keys /);
          } else {
            expect(code).toBe(2);
            expect(err.join("")).toMatch(/^llamacloud-keys/);
          }
          // (Flag values it cannot use — a path, a cron expression, a stray argument — are quoted back
          // by design. The key is read from the environment only; loadConfig's property above shows
          // it is never quoted.)
        },
      ),
      { numRuns: RUNS.pure },
    );
  });
});
