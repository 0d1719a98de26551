import { join } from "node:path";
import { expect, test } from "vitest";
import { runProcess } from "../harness/processes";
import { repoRoot } from "../harness/tools";
import { distDir, requireDist } from "./fixtures";

// What a Pulumi program pays for `llamacloud-keys/provider` (issue #17): a program of ApiKeys only
// must not load `@pulumi/aws` or zod, and registering an ApiKey must not capture stack traces for
// its properties. Each check runs in a plain `node` child, whose module cache is the real one.

requireDist("provider/index.js");
const provider = join(distDir, "provider");

async function node(script: string): Promise<Record<string, unknown>> {
  const result = await runProcess(process.execPath, ["-e", script], { cwd: repoRoot, timeoutMs: 60_000 });
  expect(result.code, result.output).toBe(0);
  return JSON.parse(result.stdout.trim().split("\n").pop() ?? "{}") as Record<string, unknown>;
}

const loaded = `(pattern) => Object.keys(require.cache).filter((f) => pattern.test(f)).length`;

test("a program that uses only ApiKey loads neither @pulumi/aws nor zod", async () => {
  const out = await node(`
    const loaded = ${loaded};
    const { ApiKey, apiKeyProvider } = require(${JSON.stringify(provider)});
    process.stdout.write(JSON.stringify({
      apiKey: typeof ApiKey, provider: typeof apiKeyProvider.create,
      aws: loaded(/node_modules[\\\\/]@pulumi[\\\\/]aws[\\\\/]/), zod: loaded(/node_modules[\\\\/]zod[\\\\/]/),
    }));
  `);
  expect(out).toEqual({ apiKey: "function", provider: "function", aws: 0, zod: 0 });
});

test("the exports loaded on first use are the defining modules' own values", async () => {
  const out = await node(`
    const index = require(${JSON.stringify(provider)});
    const same = (name, file) => index[name] !== undefined && index[name] === require(${JSON.stringify(provider)} + "/" + file)[name];
    process.stdout.write(JSON.stringify({
      ProjectKeys: same("ProjectKeys", "project-keys"),
      readerPolicy: same("readerPolicy", "project-keys"),
      rotatorPolicy: same("rotatorPolicy", "project-keys"),
      parseStackConfig: same("parseStackConfig", "stack-config"),
      apiKeyInputsSchema: same("apiKeyInputsSchema", "args"),
      DEFAULT_SECRET_PREFIX: same("DEFAULT_SECRET_PREFIX", "args"),
      MIN_GRACE_MS: same("MIN_GRACE_MS", "args"),
      enumerable: ["ProjectKeys", "parseStackConfig", "MIN_GRACE_MS"].every((k) => Object.keys(index).includes(k)),
    }));
  `);
  expect(Object.entries(out).filter(([, ok]) => ok !== true)).toEqual([]);
});

test("registering an ApiKey captures no stack trace per property, keeps its inputs and restores Error.stackTraceLimit", async () => {
  const out = await node(`
    const pulumi = require("@pulumi/pulumi");
    const registered = [];
    pulumi.runtime.setMocks({
      newResource(args) { registered.push(args.inputs); return { id: args.name + "-id", state: args.inputs }; },
      call: (args) => args.inputs,
    }, "lean-program-test", "test", false).then(async () => {
      const { ApiKey } = require(${JSON.stringify(provider)});
      Error.stackTraceLimit = 17;
      // Count the stack traces made while the resource registers (each one is a formatted stack).
      let traces = 0;
      const prepare = Error.prepareStackTrace;
      Error.prepareStackTrace = (error, frames) => { if (frames.length > 0) traces += 1; return prepare ? prepare(error, frames) : String(error); };
      const key = new ApiKey("k", { projectId: "p", environment: "prod", secretName: "s" });
      const tracesDuringRegistration = traces;
      // The same registration through a plain dynamic resource, for comparison.
      traces = 0;
      const { apiKeyProvider } = require(${JSON.stringify(provider)});
      new pulumi.dynamic.Resource(apiKeyProvider, "plain", { projectId: "p", environment: "prod", secretName: "s",
        keyId: undefined, keyName: undefined, redactedKey: undefined, organizationId: undefined, secretArn: undefined,
        versionId: undefined, createdAt: undefined }, undefined, "llamacloud", "Plain");
      const tracesPlain = traces;
      Error.prepareStackTrace = prepare;
      const afterConstructor = Error.stackTraceLimit;
      let threw = false;
      try { new ApiKey(undefined, { environment: "prod" }); } catch { threw = true; }
      const afterThrow = Error.stackTraceLimit;
      await new Promise((resolve) => key.urn.apply(resolve));
      process.stdout.write(JSON.stringify({ tracesDuringRegistration, fewer: tracesPlain > tracesDuringRegistration, afterConstructor, threw, afterThrow, environment: registered[0]?.environment }));
    });
  `);
  expect(out).toEqual({
    // One: the SDK's own source position of the resource, which it captures with its own limit.
    tracesDuringRegistration: 1,
    fewer: true,
    afterConstructor: 17,
    threw: true,
    afterThrow: 17,
    environment: "prod",
  });
});
