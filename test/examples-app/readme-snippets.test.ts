import { createHash, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import { createLlamaCloudClient, type LlamaCloudClient } from "../../llamacloud";
import { type EmulatorHandle, startEmulator } from "../../llamacloud/emulator";
import { createSecretStore, type SecretStore } from "../../secrets";
import { motoCredentials } from "../harness/moto";
import { runProcess } from "../harness/processes";
import { repoRoot } from "../harness/tools";

// README, "For app developers: reading the key" (and examples/app/README.md's longer version of it):
// the two snippets an app developer pastes, run as written (inside an async function, as their
// comments say) in a directory outside the repository where `llamacloud-keys` resolves to this
// package, against the emulator and moto.

const region = "test-readme-snippets";
const secretName = "llamacloud/search/prod"; // the name the snippets use

let emulator: EmulatorHandle;
let admin: LlamaCloudClient;
let store: SecretStore;
let workdir: string;
let apiKey: string;
let projectId: string;

/** The ```js blocks of a document's section (from its heading to the next one of its level). */
function jsBlocks(document: string, heading: string): string[] {
  const text = readFileSync(join(repoRoot, document), "utf8");
  const start = text.indexOf(`${heading}\n`);
  if (start < 0) throw new Error(`${document} has no heading ${heading}`);
  const end = text.indexOf(`\n${heading.split(" ")[0]} `, start + 1);
  const section = text.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/```js\n([\s\S]*?)```/g)].map((match) => match[1]!);
}

const documents = [
  { document: "README.md", heading: "## For app developers: reading the key", module: "llamacloud-keys" },
  // Its draft of the same section, with the subpath import.
  {
    document: "examples/app/README.md",
    heading: "## Reading the key in your app",
    module: "llamacloud-keys/secrets",
  },
];
const snippets = () => jsBlocks("README.md", "## For app developers: reading the key");

beforeAll(async () => {
  emulator = await startEmulator();
  admin = createLlamaCloudClient({ apiKey: emulator.adminKey, baseUrl: emulator.url });
  store = createSecretStore({ endpoint: inject("motoEndpoint"), credentials: motoCredentials, region });
  projectId = emulator.projects[0]!.id;
  const { key, secret } = await admin.createApiKey({ projectId, name: `readme/${randomUUID()}` });
  apiKey = secret.reveal();
  const { arn } = await store.createSecret({ name: secretName });
  await store.writeVersion(arn, {
    token: randomUUID(),
    stage: "AWSCURRENT",
    payload: {
      format: 1,
      apiKey: secret,
      keyId: key.id,
      keyName: key.name ?? "readme",
      projectId,
      organizationId: emulator.organizationId,
      environment: "prod",
      baseUrl: emulator.url,
      createdAt: new Date().toISOString(),
    },
  });
  // `require("llamacloud-keys")` from outside the repository, as from a user's node_modules.
  workdir = await mkdtemp(join(tmpdir(), "llamacloud-keys-readme-"));
  await mkdir(join(workdir, "node_modules"));
  await symlink(repoRoot, join(workdir, "node_modules", "llamacloud-keys"), "dir");
});

afterAll(async () => {
  await admin?.close();
  store?.close();
  await emulator?.close();
  if (workdir !== undefined) await rm(workdir, { recursive: true, force: true });
});

/** Runs `body` inside an async function with `projectId` defined; `report` names what it prints. */
async function run(body: string, report: string): Promise<Record<string, unknown>> {
  const file = join(workdir, `snippet-${randomUUID()}.js`);
  await writeFile(
    file,
    `const projectId = ${JSON.stringify(projectId)};\n(async () => {\n${body}\nconsole.log(JSON.stringify(${report}));\n})().catch((error) => { console.error(error?.name, error?.code); process.exitCode = 1; });\n`,
  );
  const result = await runProcess(process.execPath, [file], {
    cwd: workdir,
    env: {
      PATH: process.env.PATH ?? "",
      // The AWS SDK itself comes from the repository's node_modules (a user installs it with us).
      NODE_PATH: [join(workdir, "node_modules"), join(repoRoot, "node_modules")].join(delimiter),
      AWS_REGION: region,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: inject("motoEndpoint"),
      AWS_ACCESS_KEY_ID: motoCredentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: motoCredentials.secretAccessKey,
    },
    timeoutMs: 60_000,
  });
  expect(result.code, result.output).toBe(0);
  expect(result.output).not.toContain(apiKey);
  return JSON.parse(result.stdout.trim().split("\n").at(-1)!) as Record<string, unknown>;
}

describe.each(documents)("$document, $heading", ({ document, heading, module }) => {
  const blocks = () => jsBlocks(document, heading);

  test("two snippets: the cached reader and the plain AWS SDK", () => {
    const [reader, plain, ...rest] = blocks();
    expect(reader).toContain(`require(${JSON.stringify(module)})`);
    expect(plain).toContain('require("@aws-sdk/client-secrets-manager")');
    expect(rest).toEqual([]);
  });

  test("the cached-reader snippet calls LlamaCloud with the key from the secret", async () => {
    const before = emulator.requests("GET /api/v1/projects/:id").length;
    const out = await run(blocks()[0]!, "{ status: response.status }");
    expect(out).toEqual({ status: 200 });
    expect(emulator.requests("GET /api/v1/projects/:id").length - before).toBe(1);
  });

  test("the plain-SDK snippet reads format 1, the key and the base URL", async () => {
    // The key itself is never printed: its digest is compared.
    const out = await run(
      blocks()[1]!,
      '{ format, baseUrl, key: require("node:crypto").createHash("sha256").update(apiKey).digest("hex") }',
    );
    expect(out).toEqual({
      format: 1,
      baseUrl: emulator.url,
      key: createHash("sha256").update(apiKey).digest("hex"),
    });
  });
});

test("README: the cached-reader snippet works with the documented alternative import, llamacloud-keys/secrets", async () => {
  const body = snippets()[0]!.replace('require("llamacloud-keys")', 'require("llamacloud-keys/secrets")');
  expect(body).toContain('require("llamacloud-keys/secrets")');
  expect(await run(body, "{ status: response.status }")).toEqual({ status: 200 });
});
