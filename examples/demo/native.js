// `npm run demo -- --native`: one native rotation, end to end on this machine. Secrets Manager (moto,
// through tools/moto/native_engine.py) runs RotateSecret and invokes the packaged rotation function
// (npm run package:lambda) under the AWS Lambda Runtime Interface Emulator with aws-lambda-ric, one
// invocation per step; LlamaCloud is the emulator. Then `status` shows the secret as native and
// `rotate` leaves its rotation to Secrets Manager.

const { randomUUID } = require("node:crypto");
const { existsSync, readFileSync } = require("node:fs");
const { mkdtemp, rm } = require("node:fs/promises");
const { tmpdir } = require("node:os");
const { dirname, join, resolve } = require("node:path");
const { freePort, run, start, stopAll, waitFor } = require("./children");

const repoRoot = resolve(__dirname, "..", "..");
const dist = (relative) => join(repoRoot, "dist", relative);
const TOTAL = 5;
const REGION = "eu-west-1";
const CREDENTIALS = { accessKeyId: "test", secretAccessKey: "test" };

async function runNativeDemo({ quiet = false, toolsFile } = {}) {
  const started = performance.now();
  const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;
  const say = (line = "") => process.stdout.write(`${line}\n`);
  const detail = (line) => {
    if (!quiet) say(`    ${line}`);
  };
  const short = (id) => (typeof id === "string" ? `${id.slice(0, 8)}…` : "-");
  const step = async (n, title, fn) => {
    const at = performance.now();
    say(`[${n}/${TOTAL}] ${title}… (at ${seconds(at - started)})`);
    const result = await fn();
    say(`      ✓ step ${n} done in ${seconds(performance.now() - at)}`);
    return result;
  };

  const file = toolsFile ?? join(repoRoot, ".tools.json");
  if (!existsSync(file)) throw new Error(`${file} is missing: run \`npm run setup\` first`);
  const tools = JSON.parse(readFileSync(file, "utf8"));
  if (!tools.lambdaRie || !existsSync(tools.lambdaRie)) {
    throw new Error("the AWS Lambda Runtime Interface Emulator is not built: run `npm run setup`");
  }
  const temp = await mkdtemp(join(tmpdir(), "llamacloud-keys-native-demo-"));
  let emulator;
  let store;
  try {
    const { startEmulator } = require(dist("llamacloud/emulator/index.js"));
    const { createSecretStore, redacted } = require(dist("secrets/index.js"));
    const { createLlamaCloudClient } = require(dist("llamacloud/index.js"));

    const engine = await step(
      1,
      "starting LlamaCloud (emulator) and the native engine (moto + RIE + aws-lambda-ric)",
      async () => {
        emulator = await startEmulator();
        const port = await freePort();
        const handle = start(
          join(dirname(tools.motoServer), "python"),
          [join(repoRoot, "tools", "moto", "native_engine.py"), "-H", "127.0.0.1", "-p", String(port)],
          {
            env: {
              ...process.env,
              MOTO_ALLOW_NONEXISTENT_REGION: "true",
              LLAMACLOUD_KEYS_RIE: tools.lambdaRie,
              LLAMACLOUD_KEYS_LAMBDA_NODE: process.execPath,
              LLAMACLOUD_KEYS_LAMBDA_STATE: temp,
            },
            onLine: (line) => {
              // The function's own log lines (JSON), as CloudWatch would show them.
              const json = line.indexOf("{");
              if (line.startsWith("[lambda") && json !== -1 && line.includes('"rotation:step"')) {
                try {
                  const entry = JSON.parse(line.slice(json));
                  if (entry.phase === "end") detail(`lambda: ${entry.msg}`);
                } catch {
                  // not a log line of ours
                }
              }
            },
          },
        );
        const endpoint = `http://127.0.0.1:${port}`;
        await waitFor(
          async () => (await fetch(`${endpoint}/moto-api/data.json`).catch(() => undefined))?.ok,
          {
            timeoutMs: 60_000,
            message: () =>
              `the native engine did not answer on ${endpoint}: ${handle.tail().slice(-3).join(" | ")}`,
          },
        );
        say(`      LlamaCloud emulator ${emulator.url}; moto with Lambda via RIE ${endpoint}`);
        return { endpoint, handle };
      },
    );

    const { secretArn, fnArn, before } = await step(
      2,
      "packaging the function (npm run package:lambda) and deploying it; a managed secret with its first key",
      async () => {
        const zipFile = join(temp, "rotator.zip");
        const packaged = await run(
          process.execPath,
          [join(repoRoot, "tools", "package-lambda.js"), "--out", zipFile],
          {
            onLine: (line) => detail(line),
          },
        );
        if (packaged.code !== 0) throw new Error(`package:lambda failed: ${packaged.tail.join(" | ")}`);
        store = createSecretStore({ region: REGION, endpoint: engine.endpoint, credentials: CREDENTIALS });
        const project = emulator.projects[0];
        const { buildPayload } = require(dist("secrets/payload.js"));
        const payload = (apiKey, keyId, keyName, environment) =>
          buildPayload({
            apiKey: redacted(apiKey),
            keyId,
            keyName,
            projectId: project.id,
            organizationId: emulator.organizationId,
            environment,
            baseUrl: emulator.url,
          });
        const admin = await store.createSecret({ name: "llamacloud/admin" });
        await store.writeVersion(admin.arn, {
          token: randomUUID(),
          stage: "AWSCURRENT",
          payload: payload(emulator.adminKey, randomUUID(), "admin", "admin"),
        });
        const { managementTags } = require(dist("secrets/tags.js"));
        const secret = await store.createSecret({
          name: "llamacloud/default/prod",
          tags: managementTags({
            projectId: project.id,
            environment: "prod",
            rotateEvery: "30d",
            grace: "2h",
          }),
        });
        const token = randomUUID();
        const name = `llamacloud-keys/${project.id}/prod/${token}`;
        const client = createLlamaCloudClient({ apiKey: emulator.adminKey, baseUrl: emulator.url, env: {} });
        const { key, secret: apiKey } = await client.createApiKey({ projectId: project.id, name });
        await client.close();
        await store.writeVersion(secret.arn, {
          token,
          stage: "AWSCURRENT",
          payload: payload(apiKey, key.id, name, "prod"),
        });
        const auth = (service) =>
          `AWS4-HMAC-SHA256 Credential=test/20260101/${service === "iam" ? "us-east-1" : REGION}/${service}/aws4_request, SignedHeaders=host, Signature=0`;
        const role = await fetch(`${engine.endpoint}/`, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded", authorization: auth("iam") },
          body: new URLSearchParams({
            Action: "CreateRole",
            Version: "2010-05-08",
            RoleName: "llamacloud-keys-rotation",
            AssumeRolePolicyDocument: "{}",
          }).toString(),
        }).then((r) => r.text());
        const roleArn = /<Arn>([^<]+)<\/Arn>/.exec(role)?.[1];
        const created = await fetch(`${engine.endpoint}/2015-03-31/functions`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: auth("lambda") },
          body: JSON.stringify({
            FunctionName: "llamacloud-keys-rotation",
            Runtime: "nodejs22.x",
            Role: roleArn,
            Handler: "index.handler",
            Code: { ZipFile: readFileSync(zipFile).toString("base64") },
            Environment: {
              Variables: {
                LLAMACLOUD_KEYS_ADMIN_SECRET_ARN: admin.arn,
                AWS_ENDPOINT_URL_SECRETS_MANAGER: engine.endpoint,
              },
            },
            Timeout: 60,
          }),
        }).then((r) => r.json());
        if (created.FunctionArn === undefined)
          throw new Error(`CreateFunction failed: ${JSON.stringify(created)}`);
        say(`      function ${created.FunctionArn} (${created.CodeSize} bytes)`);
        say(`      secret ${secret.arn}: AWSCURRENT key ${short(key.id)}`);
        return { secretArn: secret.arn, fnArn: created.FunctionArn, before: key.id };
      },
    );

    const rotated = await step(
      3,
      "RotateSecret: Secrets Manager invokes the function for each of the four steps",
      async () => {
        const {
          SecretsManagerClient,
          RotateSecretCommand,
          DescribeSecretCommand,
        } = require("@aws-sdk/client-secrets-manager");
        const sm = new SecretsManagerClient({
          region: REGION,
          endpoint: engine.endpoint,
          credentials: CREDENTIALS,
        });
        try {
          const at = performance.now();
          const out = await sm.send(
            new RotateSecretCommand({
              SecretId: secretArn,
              RotationLambdaARN: fnArn,
              RotationRules: { AutomaticallyAfterDays: 30 },
            }),
          );
          const wall = performance.now() - at;
          const described = await sm.send(new DescribeSecretCommand({ SecretId: secretArn }));
          const current = await store.readPayload(secretArn, { stage: "AWSCURRENT" });
          const previous = await store.readPayload(secretArn, { stage: "AWSPREVIOUS" });
          const works = createLlamaCloudClient({
            apiKey: current.payload.apiKey.reveal(),
            baseUrl: emulator.url,
            env: {},
          });
          await works.getProject(current.payload.projectId);
          await works.close();
          say(
            `      version ${short(out.VersionId)} is AWSCURRENT (key ${short(current.payload.keyId)}, tested against LlamaCloud); ` +
              `AWSPREVIOUS keeps key ${short(previous.payload.keyId)} through its 2h grace`,
          );
          say(
            `      RotateSecret took ${seconds(wall)}; LastRotatedDate ${described.LastRotatedDate?.toISOString()}`,
          );
          if (previous.payload.keyId !== before)
            throw new Error("AWSPREVIOUS does not hold the original key");
          return current.payload.keyId;
        } finally {
          sm.destroy();
        }
      },
    );

    await step(
      4,
      "llamacloud-keys status and rotate: the secret is native, the rotator leaves its rotation alone",
      async () => {
        const env = {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          LLAMA_CLOUD_API_KEY: emulator.adminKey,
          LLAMA_CLOUD_BASE_URL: emulator.url,
          AWS_REGION: REGION,
          AWS_ENDPOINT_URL_SECRETS_MANAGER: engine.endpoint,
          AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
          AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
        };
        const bin = join(repoRoot, "bin", "llamacloud-keys.js");
        const status = await run(process.execPath, [bin, "status", "--secret", secretArn], {
          env,
          onLine: (line, stream) => stream === "stdout" && say(`      ${line}`),
        });
        const pass = await run(
          process.execPath,
          [bin, "rotate", "--secret", secretArn, "--force", "--dry-run"],
          {
            env,
            onLine: (line, stream) => stream === "stdout" && say(`      ${line}`),
          },
        );
        if (status.code !== 0 || pass.code !== 0) throw new Error("status or rotate failed");
      },
    );

    await step(5, "stopping everything", async () => {
      await stopAll(3000);
      store.close();
      await emulator.close();
      emulator = undefined;
    });
    say(
      `Summary: one native rotation (key ${short(rotated)} is current); ${seconds(performance.now() - started)}`,
    );
    return 0;
  } finally {
    await stopAll(3000);
    store?.close();
    await emulator?.close();
    await rm(temp, { recursive: true, force: true });
  }
}

module.exports = { runNativeDemo };
