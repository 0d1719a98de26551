import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { createRequire } from "node:module";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import { type EmulatorHandle, startEmulator } from "../../llamacloud/emulator";
import type { SecretStore } from "../../secrets/store";
import { motoCredentials } from "../harness/moto";
import { killGroup, runProcess } from "../harness/processes";
import { repoRoot } from "../harness/tools";
import { distDir, keyById, leakedSecrets, projectIdOf, requireDist, storeFor } from "./fixtures";

// Fail loudly (naming `npm run build`) when the compiled provider is missing.
requireDist("provider/api-key-provider.js");

// The provider as the engine really runs it: serialized to text by the SDK under plain `node` (not
// vitest), then loaded from that text by the SDK's own provider server, driven over gRPC with the
// requests the engine sends.

const region = "test-provider-grpc";
const pulumiDir = join(repoRoot, "node_modules", "@pulumi", "pulumi");
// biome-ignore lint/suspicious/noExplicitAny: generated gRPC/protobuf classes are untyped JS.
type Any = any;
const nodeRequire = createRequire(join(repoRoot, "package.json"));
const provproto: Any = nodeRequire("@pulumi/pulumi/proto/provider_pb");
const provgrpc: Any = nodeRequire("@pulumi/pulumi/proto/provider_grpc_pb");

/** Serializes the compiled provider exactly as `dynamic.Resource` does, in a plain node child. */
async function serializeProvider(): Promise<string> {
  const script = `
    const pulumi = require(${JSON.stringify(pulumiDir)});
    const { apiKeyProvider } = require(${JSON.stringify(join(distDir, "provider", "api-key-provider.js"))});
    pulumi.runtime.serializeFunction(() => apiKeyProvider, { allowSecrets: true }).then((result) => {
      process.stdout.write(JSON.stringify({ text: result.text, containsSecrets: result.containsSecrets }));
    }, (error) => { console.error(error); process.exit(1); });
  `;
  const result = await runProcess(process.execPath, ["-e", script], { cwd: repoRoot, timeoutMs: 60_000 });
  if (result.code !== 0) throw new Error(`serializing the provider failed:\n${result.output}`);
  const parsed = JSON.parse(result.stdout) as { text: string; containsSecrets: boolean };
  expect(parsed.containsSecrets).toBe(false);
  return parsed.text;
}

let emulator: EmulatorHandle;
let store: SecretStore;
let providerText: string;
let server: ChildProcess;
let rpc: Any;

beforeAll(async () => {
  emulator = await startEmulator();
  store = storeFor(region);
  providerText = await serializeProvider();
  server = spawn(
    process.execPath,
    [join(pulumiDir, "cmd", "dynamic-provider", "index.js"), "engine-unused"],
    {
      cwd: repoRoot,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        ...process.env,
        PULUMI_PROJECT: "grpc-test",
        AWS_REGION: region,
        AWS_ENDPOINT_URL_SECRETS_MANAGER: inject("motoEndpoint"),
        AWS_ACCESS_KEY_ID: motoCredentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: motoCredentials.secretAccessKey,
        LLAMA_CLOUD_API_KEY: "",
        LLAMA_CLOUD_BASE_URL: "",
      },
    },
  );
  let stderr = "";
  server.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const port = await new Promise<string>((resolve, reject) => {
    server.stdout?.once("data", (chunk: Buffer) => resolve(chunk.toString().trim()));
    server.once("exit", (code) => reject(new Error(`the provider server exited with ${code}: ${stderr}`)));
  });
  rpc = new provgrpc.ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
});

afterAll(async () => {
  rpc?.close();
  if (server !== undefined) killGroup(server, "SIGKILL");
  store?.close();
  await emulator?.close();
});

function call<T>(method: string, request: unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    rpc[method](request, (error: Error | null, response: T) => (error ? reject(error) : resolve(response)));
  });
}

const urn = "urn:pulumi:test::grpc-test::pulumi-nodejs:dynamic/llamacloud:ApiKey::search-prod";
const struct = (value: Record<string, unknown>) => Struct.fromJavaScript(value as never);

describe("serialization", () => {
  test("the compiled provider serializes under plain node, capturing no credentials or SDK objects", () => {
    expect(providerText).toContain("exports.handler");
    expect(providerText).toContain(join(distDir, "provider", "operations.js"));
    expect(providerText).not.toMatch(/__vite_ssr|__importStar|SecretsManagerClient|undici/);
    expect(leakedSecrets(emulator, providerText)).toEqual([]);
  });
});

describe("the SDK's provider server, driven over gRPC like the engine", () => {
  test("Configure, Check, Create, Diff, Read, Update, Delete", async () => {
    const configure = new provproto.ConfigureRequest();
    configure.setArgs(
      struct({
        "llamacloud:apiKey": emulator.adminKey,
        "llamacloud:baseUrl": emulator.url,
        "aws:region": region,
      }),
    );
    const configured = await call<Any>("configure", configure);
    expect(configured.getAcceptsecrets()).toBe(false);

    const secretName = `test/grpc/${randomUUID()}`;
    const news = {
      projectName: "search",
      environment: "prod",
      secretName,
      recoveryWindowInDays: 0,
      __provider: providerText,
    };
    const bad = new provproto.CheckRequest();
    bad.setUrn(urn);
    bad.setOlds(struct({}));
    bad.setNews(struct({ ...news, environment: "PROD" }));
    const badResult = await call<Any>("check", bad);
    // No property: the engine would print its own `property … value … has a problem` beside the reason.
    expect(badResult.getFailuresList().map((f: Any) => [f.getProperty(), f.getReason()])).toEqual([
      [
        "",
        '"environment" must be a short lowercase label: a letter, then up to 31 letters, digits or dashes, e.g. prod; given "PROD"',
      ],
    ]);

    const check = new provproto.CheckRequest();
    check.setUrn(urn);
    check.setOlds(struct({}));
    check.setNews(struct(news));
    const checked = (await call<Any>("check", check)).getInputs().toJavaScript();
    expect(checked["__createToken"]).toMatch(/^[0-9a-f-]{36}$/);
    expect(checked["__provider"]).toBe(providerText);

    const create = new provproto.CreateRequest();
    create.setUrn(urn);
    create.setProperties(struct(checked));
    const created = await call<Any>("create", create);
    const id: string = created.getId();
    const outs = created.getProperties().toJavaScript();
    expect(id).toBe(outs["secretArn"]);
    expect(outs["__provider"]).toBe(providerText);
    expect(keyById(emulator, outs["keyId"]).live).toBe(true);
    expect(keyById(emulator, outs["keyId"]).projectId).toBe(projectIdOf(emulator, "search"));
    expect((await store.readPayload(id, { stage: "AWSCURRENT" })).payload.keyId).toBe(outs["keyId"]);
    expect(leakedSecrets(emulator, JSON.stringify(outs))).toEqual([]);

    const diff = new provproto.DiffRequest();
    diff.setId(id);
    diff.setUrn(urn);
    diff.setOlds(struct(outs));
    diff.setNews(struct({ ...checked, name: "search-api" }));
    const diffed = await call<Any>("diff", diff);
    expect(diffed.getChanges()).toBe(provproto.DiffResponse.DiffChanges.DIFF_SOME);
    expect(diffed.getReplacesList()).toEqual([]);
    const same = new provproto.DiffRequest();
    same.setId(id);
    same.setUrn(urn);
    same.setOlds(struct(outs));
    same.setNews(struct(checked));
    expect((await call<Any>("diff", same)).getChanges()).toBe(provproto.DiffResponse.DiffChanges.DIFF_NONE);

    const read = new provproto.ReadRequest();
    read.setId(id);
    read.setUrn(urn);
    read.setProperties(struct(outs));
    const readResult = await call<Any>("read", read);
    expect(readResult.getId()).toBe(id);
    expect(readResult.getProperties().toJavaScript()).toEqual(outs);

    const update = new provproto.UpdateRequest();
    update.setId(id);
    update.setUrn(urn);
    update.setOlds(struct(outs));
    update.setNews(struct({ ...checked, name: "search-api" }));
    const updated = (await call<Any>("update", update)).getProperties().toJavaScript();
    expect(updated["keyName"]).toMatch(/^search-api\//);
    expect(keyById(emulator, outs["keyId"]).name).toBe(updated["keyName"]);

    const del = new provproto.DeleteRequest();
    del.setId(id);
    del.setUrn(urn);
    del.setProperties(struct(updated));
    await call("delete", del);
    expect(keyById(emulator, outs["keyId"]).revokedAt).not.toBeNull();
    await expect(store.describe(id)).rejects.toMatchObject({ code: "SECRET_NOT_FOUND" });

    // A key revoked out of band reads as gone: an empty id.
    const again = new provproto.CreateRequest();
    again.setUrn(urn);
    again.setProperties(struct({ ...checked, __createToken: randomUUID() }));
    const second = (await call<Any>("create", again)).getProperties().toJavaScript();
    const { createLlamaCloudClient } = await import("../../llamacloud");
    const admin = createLlamaCloudClient({ apiKey: emulator.adminKey, baseUrl: emulator.url, env: {} });
    await admin.deleteApiKey(second["keyId"]);
    await admin.close();
    const gone = new provproto.ReadRequest();
    gone.setId(second["secretArn"]);
    gone.setUrn(urn);
    gone.setProperties(struct(second));
    expect((await call<Any>("read", gone)).getId()).toBe("");
    const cleanup = new provproto.DeleteRequest();
    cleanup.setId(second["secretArn"]);
    cleanup.setUrn(urn);
    cleanup.setProperties(struct(second));
    await call("delete", cleanup);
  }, 60_000);

  test("a failed create reaches the engine as an error without key material and without an id", async () => {
    const create = new provproto.CreateRequest();
    create.setUrn(urn);
    create.setProperties(
      struct({
        projectName: "search",
        environment: "prod",
        secretId: `missing/${randomUUID()}`,
        __createToken: randomUUID(),
        __provider: providerText,
      }),
    );
    const error = await call("create", create).then(
      () => undefined,
      (e: grpc.ServiceError) => e,
    );
    expect(error?.details).toContain('"secretId" missing/');
    expect(error?.metadata.get("grpc-status-details-bin")).toEqual([]);
  });
});
