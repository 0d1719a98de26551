// Native rotation beside a daemon rotation, same run, same services: one rotation each of a managed
// secret. The daemon rotation is `rotate --force --secret X` (loadConfig + runOnce in this process);
// the native one is Secrets Manager's RotateSecret on the local engine (tools/moto/native_engine.py:
// moto invoking the packaged function under the AWS Lambda Runtime Interface Emulator with
// aws-lambda-ric), timed from the RotateSecret call until AWSCURRENT has moved (moto's RotateSecret
// returns after finishSecret). Calls are counted by proxies in front of Secrets Manager and
// LlamaCloud, whichever process makes them. The function's execution environment is warmed by one
// rotation of another secret first; the cold figure (INIT of the runtime) is reported too.

const { randomUUID } = require("node:crypto");
const { spawn } = require("node:child_process");
const { existsSync, mkdtempSync, readFileSync, rmSync } = require("node:fs");
const { tmpdir } = require("node:os");
const { dirname, join } = require("node:path");
const { benchmark, failed, notBuilt, repoRoot, row } = require("./report");
const { benchRegion, freePort, installedTools, motoCredentials, startCountingProxy } = require("./services");

benchmark("native", main);

async function main({ log }) {
  const why = notBuilt("rotator/lambda.js");
  if (why !== undefined) return [failed("native rotation", why)];
  const tools = installedTools();
  const extra = JSON.parse(readFileSync(join(repoRoot, ".tools.json"), "utf8"));
  if (!extra.lambdaRie || !existsSync(extra.lambdaRie)) {
    return [failed("native rotation", "aws-lambda-rie not built: run `npm run setup`")];
  }
  const state = mkdtempSync(join(tmpdir(), "bench-native-"));
  const port = await freePort();
  const engine = spawn(
    join(dirname(tools.motoServer), "python"),
    [join(repoRoot, "tools", "moto", "native_engine.py"), "-H", "127.0.0.1", "-p", String(port)],
    {
      stdio: ["ignore", "ignore", "ignore"],
      detached: true,
      env: {
        ...process.env,
        MOTO_ALLOW_NONEXISTENT_REGION: "true",
        LLAMACLOUD_KEYS_RIE: extra.lambdaRie,
        LLAMACLOUD_KEYS_LAMBDA_NODE: process.execPath,
        LLAMACLOUD_KEYS_LAMBDA_STATE: state,
      },
    },
  );
  const endpoint = `http://127.0.0.1:${port}`;
  const { startEmulator } = require("../dist/llamacloud/emulator");
  const emulator = await startEmulator();
  const sm = await startCountingProxy(endpoint);
  const lc = await startCountingProxy(emulator.url);
  const region = benchRegion("native");
  const { createSecretStore, redacted } = require("../dist/secrets");
  const { buildPayload } = require("../dist/secrets/payload");
  const { managementTags } = require("../dist/secrets/tags");
  const { createLlamaCloudClient } = require("../dist/llamacloud");
  const store = createSecretStore({ region, endpoint, credentials: motoCredentials });
  const { SecretsManagerClient, RotateSecretCommand } = require("@aws-sdk/client-secrets-manager");
  const client = new SecretsManagerClient({ region, endpoint, credentials: motoCredentials });
  try {
    await waitUp(endpoint, engine);
    const project = emulator.projects[0];
    const payload = (apiKey, keyId, keyName, environment) =>
      buildPayload({
        apiKey: redacted(apiKey),
        keyId,
        keyName,
        projectId: project.id,
        organizationId: emulator.organizationId,
        environment,
        // Through the counting proxy: the rotator refuses a secret naming another host than its own.
        baseUrl: lc.endpoint,
      });
    const admin = await store.createSecret({ name: `bench/admin-${randomUUID().slice(0, 6)}` });
    await store.writeVersion(admin.arn, {
      token: randomUUID(),
      stage: "AWSCURRENT",
      payload: payload(emulator.adminKey, randomUUID(), "admin", "admin"),
    });
    const llama = createLlamaCloudClient({ apiKey: emulator.adminKey, baseUrl: emulator.url, env: {} });
    const managed = async (environment) => {
      const secret = await store.createSecret({
        name: `bench/${environment}`,
        tags: managementTags({ projectId: project.id, environment, rotateEvery: "30d", grace: "2h" }),
      });
      const token = randomUUID();
      const name = `llamacloud-keys/${project.id}/${environment}/${token}`;
      const { key, secret: apiKey } = await llama.createApiKey({ projectId: project.id, name });
      await store.writeVersion(secret.arn, {
        token,
        stage: "AWSCURRENT",
        payload: payload(apiKey, key.id, name, environment),
      });
      return secret.arn;
    };

    // The function, as ProjectKeys deploys it, its Secrets Manager calls through the counting proxy.
    const zipFile = join(state, "rotator.zip");
    await new Promise((resolve, reject) => {
      const p = spawn(process.execPath, [join(repoRoot, "tools", "package-lambda.js"), "--out", zipFile], {
        stdio: "ignore",
      });
      p.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`package:lambda exited ${code}`))));
    });
    const fnArn = await deploy(endpoint, region, readFileSync(zipFile), {
      LLAMACLOUD_KEYS_ADMIN_SECRET_ARN: admin.arn,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: sm.endpoint,
    });
    const rotateNative = async (arn) => {
      const before = { sm: sm.calls.length, lc: lc.calls.length };
      const started = performance.now();
      const out = await client.send(
        new RotateSecretCommand({
          SecretId: arn,
          RotationLambdaARN: fnArn,
          RotationRules: { AutomaticallyAfterDays: 30 },
        }),
      );
      const ms = performance.now() - started;
      const current = (await store.describe(arn)).currentVersionId;
      if (current !== out.VersionId) throw new Error(`AWSCURRENT did not move to ${out.VersionId}`);
      return { ms, sm: sm.calls.length - before.sm, lc: lc.calls.length - before.lc };
    };
    const cold = await rotateNative(await managed("native-cold"));
    log(`native cold: ${cold.ms.toFixed(0)} ms`);
    const warm = await rotateNative(await managed("native-warm"));

    // The daemon's rotation: `rotate --force --secret X`, reaching the services through the proxies.
    const daemonArn = await managed("daemon");
    Object.assign(process.env, {
      LLAMA_CLOUD_API_KEY: emulator.adminKey,
      LLAMA_CLOUD_BASE_URL: lc.endpoint,
      AWS_REGION: region,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: sm.endpoint,
      AWS_ACCESS_KEY_ID: motoCredentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: motoCredentials.secretAccessKey,
    });
    const rotator = require("../dist/rotator");
    const config = rotator.loadConfig("rotate", { secret: [daemonArn], force: true, "log-format": "json" });
    const before = { sm: sm.calls.length, lc: lc.calls.length };
    const started = performance.now();
    const result = await rotator.runOnce(config);
    const daemonMs = performance.now() - started;
    if (!result.results[0]?.rotated)
      throw new Error(`the daemon pass did not rotate: ${JSON.stringify(result.results[0]?.error)}`);
    const daemon = { ms: daemonMs, sm: sm.calls.length - before.sm, lc: lc.calls.length - before.lc };
    await llama.close();

    const calls = (c, extraNote) => `${c.sm} Secrets Manager + ${c.lc} LlamaCloud calls${extraNote}`;
    return [
      row({
        name: "daemon rotation (rotate --force, 1 secret)",
        value: daemon.ms,
        unit: "ms",
        detail: calls(daemon, ""),
      }),
      row({
        name: "native rotation (RotateSecret → AWSCURRENT moved, warm)",
        value: warm.ms,
        unit: "ms",
        baseline: { name: "daemon rotation", value: daemon.ms },
        detail: calls(warm, " by the function, + RotateSecret and 4 invocations"),
      }),
      row({
        name: "native rotation, cold start (runtime INIT)",
        value: cold.ms,
        unit: "ms",
        baseline: { name: "daemon rotation", value: daemon.ms },
        detail: calls(cold, ""),
      }),
    ];
  } finally {
    client.destroy();
    store.close();
    await sm.stop();
    await lc.stop();
    await emulator.close();
    try {
      process.kill(-engine.pid, "SIGTERM");
    } catch {
      // gone
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    try {
      process.kill(-engine.pid, "SIGKILL");
    } catch {
      // gone
    }
    rmSync(state, { recursive: true, force: true });
  }
}

async function waitUp(endpoint, engine) {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (engine.exitCode !== null) throw new Error(`the native engine exited with ${engine.exitCode}`);
    const ok = await fetch(`${endpoint}/moto-api/data.json`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the native engine did not answer on ${endpoint}`);
}

/** IAM role + Lambda CreateFunction on moto (which reads region and service from the credential scope). */
async function deploy(endpoint, region, zip, env) {
  const auth = (r, service) =>
    `AWS4-HMAC-SHA256 Credential=test/20260101/${r}/${service}/aws4_request, SignedHeaders=host, Signature=0`;
  const role = await fetch(`${endpoint}/`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", authorization: auth("us-east-1", "iam") },
    body: new URLSearchParams({
      Action: "CreateRole",
      Version: "2010-05-08",
      RoleName: `bench-native-${process.pid}`,
      AssumeRolePolicyDocument: "{}",
    }).toString(),
  }).then((r) => r.text());
  const roleArn = /<Arn>([^<]+)<\/Arn>/.exec(role)?.[1];
  const created = await fetch(`${endpoint}/2015-03-31/functions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: auth(region, "lambda") },
    body: JSON.stringify({
      FunctionName: `bench-native-${process.pid}`,
      Runtime: "nodejs22.x",
      Role: roleArn,
      Handler: "index.handler",
      Code: { ZipFile: zip.toString("base64") },
      Environment: { Variables: env },
      Timeout: 60,
    }),
  }).then((r) => r.json());
  if (created.FunctionArn === undefined) throw new Error(`CreateFunction failed: ${JSON.stringify(created)}`);
  return created.FunctionArn;
}
