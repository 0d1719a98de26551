import { randomBytes, randomUUID } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import type * as ProjectKeys from "../../provider/project-keys";
import { redacted } from "../../redaction";
import { buildPayload } from "../../secrets/payload";
import { createKeyReader } from "../../secrets/reader";
import { createSecretStore, type SecretStore, type StoreCallEvent } from "../../secrets/store";
import { motoCredentials } from "../harness/moto";
import { repoRoot } from "../harness/tools";
import { requireDist } from "../provider/fixtures";

// SECURITY.md's policy documents are what users paste into IAM: they must be exactly what the code
// generates (`readerPolicy`, `rotatorPolicy`), and each principal's policy must allow exactly the
// Secrets Manager commands the store sends on its behalf — read from the source, so a new call in
// the store, the provider, the rotator or the reader fails here until the policy and the page follow.

interface Statement {
  Sid?: string;
  Effect: string;
  Action: string[] | string;
  Resource: string[] | string;
  Condition?: unknown;
}
interface PolicyDocument {
  Version: string;
  Statement: Statement[];
}

// The compiled module, as users load it (its resource classes cannot load from source under vitest).
const { readerPolicy, rotatorPolicy } = requireDist<typeof ProjectKeys>("provider/project-keys.js");
const security = readFileSync(join(repoRoot, "SECURITY.md"), "utf8");

/** The JSON block after each `<!-- policy: name -->` marker. */
function blocks(): Map<string, unknown> {
  const found = new Map<string, unknown>();
  for (const match of security.matchAll(/<!-- policy: ([\w-]+) -->\s*```json\n([\s\S]*?)\n```/g)) {
    found.set(match[1]!, JSON.parse(match[2]!));
  }
  return found;
}

function actions(policy: PolicyDocument, sid?: string): Set<string> {
  const out = new Set<string>();
  for (const statement of policy.Statement) {
    if (sid !== undefined && statement.Sid !== sid) continue;
    for (const action of [statement.Action].flat()) if (action.startsWith("secretsmanager:")) out.add(action);
  }
  return out;
}

const documented = blocks();

describe("SECURITY.md's policies are the code's", () => {
  test("it documents the reader, rotator and deployer policies and the KMS statements", () => {
    expect([...documented.keys()].sort()).toEqual([
      "deployer",
      "reader",
      "reader-kms",
      "rotator",
      "rotator-kms",
    ]);
  });

  test("reader: readerPolicy() for the documented ARNs, with and without a KMS key", () => {
    const doc = documented.get("reader") as PolicyDocument;
    const arns = [doc.Statement[0]!.Resource].flat();
    expect(doc).toEqual(JSON.parse(readerPolicy(arns)));
    const kms = documented.get("reader-kms") as Statement;
    expect(JSON.parse(readerPolicy(arns, kms.Resource as string))).toEqual({
      ...doc,
      Statement: [...doc.Statement, kms],
    });
  });

  test("rotator: rotatorPolicy() for the documented ARNs, with and without a KMS key", () => {
    const doc = documented.get("rotator") as PolicyDocument;
    const arns = [doc.Statement[0]!.Resource].flat();
    expect(doc).toEqual(JSON.parse(rotatorPolicy(arns)));
    const kms = documented.get("rotator-kms") as Statement;
    expect(JSON.parse(rotatorPolicy(arns, kms.Resource as string))).toEqual({
      ...doc,
      Statement: [...doc.Statement, kms],
    });
  });
});

// --- what the code sends ------------------------------------------------------------------------

const storeSource = readFileSync(join(repoRoot, "secrets", "store.ts"), "utf8");

/**
 * Each inner function of createSecretStore: the commands it sends itself (directly or through an
 * SDK paginator) and the functions it calls.
 */
function storeFunctions(): Map<string, { commands: Set<string>; calls: Set<string> }> {
  const declarations = [...storeSource.matchAll(/^ {2}(?:async )?function (\w+)\s*[<(]/gm)];
  const names = declarations.map((m) => m[1]!);
  const functions = new Map<string, { commands: Set<string>; calls: Set<string> }>();
  declarations.forEach((match, i) => {
    const end = declarations[i + 1]?.index ?? storeSource.indexOf("\n  return {", match.index);
    const body = storeSource.slice(match.index! + match[0].length, end);
    functions.set(match[1]!, {
      // A command sent as such, or page by page through the SDK's paginator for it.
      commands: new Set(
        [...body.matchAll(/\b(?:new (\w+)Command|paginate(\w+))\(/g)].map((m) => (m[1] ?? m[2])!),
      ),
      calls: new Set(names.filter((name) => name !== match[1] && new RegExp(`\\b${name}\\(`).test(body))),
    });
  });
  return functions;
}

const functions = storeFunctions();

/** Secrets Manager actions a store method can cause, following internal calls. */
function actionsOf(method: string, seen = new Set<string>()): Set<string> {
  const out = new Set<string>();
  const fn = functions.get(method);
  if (fn === undefined || seen.has(method)) return out;
  seen.add(method);
  for (const command of fn.commands) out.add(`secretsmanager:${command}`);
  for (const callee of fn.calls) for (const action of actionsOf(callee, seen)) out.add(action);
  return out;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(join(repoRoot, dir))
    .filter((file) => file.endsWith(".ts"))
    .map((file) => join(repoRoot, dir, file));
}

/** Store methods called (`store.x(` / `.store.x(`) in these files, and the actions they cause. */
function actionsUsedBy(files: string[]): { methods: string[]; actions: Set<string> } {
  const methods = new Set<string>();
  for (const file of files) {
    for (const match of readFileSync(file, "utf8").matchAll(/\bstore\.(\w+)\(/g)) methods.add(match[1]!);
  }
  methods.delete("close");
  const out = new Set<string>();
  for (const method of methods) {
    expect(functions.has(method), `store.${method} is not a store method`).toBe(true);
    for (const action of actionsOf(method)) out.add(action);
  }
  return { methods: [...methods].sort(), actions: out };
}

const sorted = (set: Set<string>) => [...set].sort();

describe("each principal's policy allows exactly what the store sends for it", () => {
  test("the store's own command classes are all accounted for", () => {
    const imported = new Set(
      [...storeSource.matchAll(/new (\w+)Command\(/g)].map((m) => `secretsmanager:${m[1]}`),
    );
    const granted = new Set([
      ...actions(documented.get("deployer") as PolicyDocument),
      ...actions(JSON.parse(rotatorPolicy(["arn"]))),
      ...actions(JSON.parse(readerPolicy(["arn"]))),
    ]);
    expect(sorted(imported).filter((action) => !granted.has(action))).toEqual([]);
    // ListSecretVersionIds and ListSecrets are the rotator's alone.
    expect(imported.size).toBeGreaterThanOrEqual(10);
  });

  test("reader (secrets/reader.ts): readerPolicy()", () => {
    const used = actionsUsedBy([join(repoRoot, "secrets", "reader.ts")]);
    expect(used.methods).toEqual(["readPayload"]);
    expect(sorted(used.actions)).toEqual(sorted(actions(JSON.parse(readerPolicy(["arn"])))));
  });

  test("rotator (rotator/*.ts): rotatorPolicy()", () => {
    const used = actionsUsedBy(sourceFiles("rotator"));
    expect(used.methods.length).toBeGreaterThan(3);
    expect(sorted(used.actions)).toEqual(sorted(actions(JSON.parse(rotatorPolicy(["arn"])))));
  });

  test("deployer (provider/*.ts, the ApiKey provider): SECURITY.md's deployer policy", () => {
    const used = actionsUsedBy(sourceFiles("provider"));
    const doc = documented.get("deployer") as PolicyDocument;
    expect(sorted(used.actions)).toEqual(sorted(actions(doc, "ManageLlamaCloudKeySecrets")));
  });
});

describe("the policy options SECURITY.md names", () => {
  test("rotatorPolicy(arns, kmsKeyArn, rotationFunctionArn) adds InvokeRotationFunction: lambda:InvokeFunction on that function", () => {
    const fn = "arn:aws:lambda:eu-west-3:111122223333:function:llamacloud-keys-rotation";
    const kms = documented.get("rotator-kms") as Statement;
    const doc = documented.get("rotator") as PolicyDocument;
    const arns = [doc.Statement[0]!.Resource].flat();
    const invoke = {
      Sid: "InvokeRotationFunction",
      Effect: "Allow",
      Action: ["lambda:InvokeFunction"],
      Resource: fn,
    };
    expect(JSON.parse(rotatorPolicy(arns, undefined, fn))).toEqual({
      ...doc,
      Statement: [...doc.Statement, invoke],
    });
    const withKms = JSON.parse(rotatorPolicy(arns, kms.Resource as string, fn)) as PolicyDocument;
    expect(withKms.Statement).toEqual(expect.arrayContaining([...doc.Statement, invoke, kms]));
    expect(withKms.Statement).toHaveLength(4);
    // Without a function, no Lambda permission at all.
    expect(JSON.stringify(JSON.parse(rotatorPolicy(arns, kms.Resource as string)))).not.toContain("lambda:");
  });
});

describe("what the reader sends, observed on moto", () => {
  const region = "test-security-iam-reader";
  let store: SecretStore;
  beforeAll(() => {
    store = createSecretStore({ endpoint: inject("motoEndpoint"), credentials: motoCredentials, region });
  });
  afterAll(() => store?.close());

  test("get(), refresh() and a secret with no AWSCURRENT send only what readerPolicy() allows", async () => {
    const allowed = actions(JSON.parse(readerPolicy(["arn"])));
    const sent = new Set<string>();
    const onCall = (event: StoreCallEvent) => sent.add(`secretsmanager:${event.operation}`);
    const options = { endpoint: inject("motoEndpoint"), credentials: motoCredentials, region, onCall };

    const { arn } = await store.createSecret({ name: `iam-reader/${randomUUID()}` });
    const apiKey = `llx-${randomBytes(36).toString("base64url")}`;
    await store.writeVersion(arn, {
      token: randomUUID(),
      stage: "AWSCURRENT",
      payload: buildPayload({
        apiKey: redacted(apiKey),
        keyId: randomUUID(),
        keyName: "llamacloud-keys/iam-reader",
        projectId: randomUUID(),
        environment: "prod",
        baseUrl: "https://api.cloud.llamaindex.ai",
      }),
    });
    const reader = createKeyReader({ secretId: arn, ...options });
    expect((await reader.get()).apiKey).toBe(apiKey);
    await reader.refresh();
    reader.close();

    // No AWSCURRENT: the store describes the secret to say so (hence DescribeSecret in the policy).
    const { arn: empty } = await store.createSecret({ name: `iam-reader/${randomUUID()}` });
    const bare = createKeyReader({ secretId: empty, ...options });
    const error = await bare.get().catch((e: unknown) => e);
    bare.close();
    expect((error as Error).message).toContain("has the staging label AWSCURRENT");

    expect(sorted(sent)).toEqual(["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"]);
    expect(sorted(sent).filter((action) => !allowed.has(action))).toEqual([]);
  });
});
