import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RotateSecretCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { startEmulator } from "../../llamacloud/emulator";
import { redacted } from "../../redaction";
import { createSecretStore } from "../../secrets/store";
import { motoCredentials } from "../harness/moto";
import {
  type DeployedFunction,
  deployFunction,
  invokeFunction,
  type NativeEngine,
  startNativeEngine,
} from "../harness/native-engine";
import { runProcess } from "../harness/processes";
import { repoRoot } from "../harness/tools";
import { fastClient, type World } from "../rotator/fixtures";

/**
 * A world for native rotation: the native engine (moto + RIE + aws-lambda-ric) in place of the
 * shared moto, the LlamaCloud emulator in this process, the packaged zip, and the admin key in a
 * secret of its own, as the function expects it.
 */
export interface NativeWorld extends World {
  engine: NativeEngine;
  zip: Buffer;
  adminSecretArn: string;
  sm: SecretsManagerClient;
  /** Deploys the packaged function; `smEndpoint` is where it sends Secrets Manager calls. */
  deploy(name: string, env?: Record<string, string>, smEndpoint?: string): Promise<DeployedFunction>;
  /** RotateSecret with the function and a days schedule (moto enables rotation only with days). */
  rotate(secretId: string, fn: DeployedFunction, token?: string): Promise<void>;
  invoke(fn: DeployedFunction, event: unknown): Promise<{ ok: boolean; payload: unknown }>;
  /** The four steps invoked again with the same token: what AWS does when it retries a rotation. */
  retry(fn: DeployedFunction, secretId: string, token: string): Promise<void>;
}

let packaged: Buffer | undefined;

/** The zip `npm run package:lambda` builds, built once per test file into a temporary path. */
async function packagedZip(): Promise<Buffer> {
  if (packaged !== undefined) return packaged;
  const out = join(mkdtempSync(join(tmpdir(), "llamacloud-keys-zip-")), "rotator.zip");
  const run = await runProcess(
    process.execPath,
    [join(repoRoot, "tools", "package-lambda.js"), "--out", out],
    {
      cwd: repoRoot,
    },
  );
  if (run.code !== 0) throw new Error(`package:lambda failed:\n${run.output}`);
  packaged = readFileSync(out);
  return packaged;
}

export async function startNativeWorld(regionPrefix: string): Promise<NativeWorld> {
  const [engine, emulator, zip] = await Promise.all([startNativeEngine(), startEmulator(), packagedZip()]);
  const region = `${regionPrefix}-${randomUUID().slice(0, 8)}`;
  const client = fastClient(emulator.url, emulator.adminKey);
  const store = createSecretStore({
    endpoint: engine.endpoint,
    credentials: motoCredentials,
    region,
    maxAttempts: 1,
  });
  const sm = new SecretsManagerClient({ endpoint: engine.endpoint, region, credentials: motoCredentials });
  const admin = await store.createSecret({ name: `llamacloud-keys/admin-${randomUUID().slice(0, 8)}` });
  await store.writeVersion(admin.arn, {
    token: randomUUID(),
    stage: "AWSCURRENT",
    payload: {
      format: 1,
      apiKey: redacted(emulator.adminKey),
      keyId: randomUUID(),
      keyName: "llamacloud-keys-admin",
      projectId: emulator.projects[0]!.id,
      organizationId: emulator.organizationId,
      environment: "admin",
      baseUrl: emulator.url,
      createdAt: new Date().toISOString(),
    },
  });
  const clock = { offsetMs: 0, now: () => Date.now() + clock.offsetMs };
  const world: NativeWorld = {
    engine,
    zip,
    adminSecretArn: admin.arn,
    sm,
    emulator,
    client,
    store,
    region,
    motoEndpoint: engine.endpoint,
    clock,
    async deploy(name, env = {}, smEndpoint = engine.endpoint) {
      return deployFunction(engine, {
        region,
        name: `${name}-${randomUUID().slice(0, 6)}`,
        zip,
        env: {
          LLAMACLOUD_KEYS_ADMIN_SECRET_ARN: admin.arn,
          AWS_ENDPOINT_URL_SECRETS_MANAGER: smEndpoint,
          ...env,
        },
      });
    },
    async rotate(secretId, fn, token) {
      await sm.send(
        new RotateSecretCommand({
          SecretId: secretId,
          RotationLambdaARN: fn.arn,
          RotationRules: { AutomaticallyAfterDays: 30 },
          ...(token === undefined ? {} : { ClientRequestToken: token }),
        }),
      );
    },
    invoke(fn, event) {
      return invokeFunction(engine, region, fn, event);
    },
    async retry(fn, secretId, token) {
      for (const Step of ["createSecret", "setSecret", "testSecret", "finishSecret"]) {
        const result = await invokeFunction(engine, region, fn, {
          Step,
          SecretId: secretId,
          ClientRequestToken: token,
        });
        if (!result.ok) throw new Error(`retry of ${Step} failed: ${JSON.stringify(result.payload)}`);
      }
    },
    async close() {
      sm.destroy();
      await client.close();
      store.close();
      await emulator.close();
      await engine.stop();
    },
  };
  return world;
}

/** The scheduled EventBridge event that runs the revoke-only pass. */
export function scheduledEvent(): Record<string, unknown> {
  return {
    version: "0",
    id: randomUUID(),
    "detail-type": "Scheduled Event",
    source: "aws.events",
    account: "123456789012",
    time: new Date().toISOString(),
    region: "us-east-1",
    resources: ["arn:aws:events:us-east-1:123456789012:rule/llamacloud-keys-revoke-pass"],
    detail: {},
  };
}
