import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { recordChild } from "./artifacts";
import { freePort } from "./ports";
import { installedTools, MissingToolError, repoRoot } from "./tools";

/**
 * The local native-rotation engine for tests (tools/moto/native_engine.py): moto's server whose
 * Lambda backend runs functions for real, under the AWS Lambda Runtime Interface Emulator with the
 * Node runtime interface client. Started on a loopback port per suite; its output (including every
 * line the function runtime prints) is recorded as an artifact, so the suite's leak scan covers it.
 */
export interface NativeEngine {
  /** moto's endpoint: Secrets Manager, Lambda and IAM. */
  endpoint: string;
  /** The invocations so far, in order (phase start/end/error), read from the launcher's log. */
  invocations(): Invocation[];
  /** The step of the invocation running now, if any. */
  runningStep(): string | undefined;
  /** SIGKILLs every function runtime alive (the function dies mid-call); returns how many. */
  killRuntimes(): number;
  stop(): Promise<void>;
}

interface Invocation {
  phase: "start" | "end" | "error";
  step: string | null;
  secretId: string | null;
  token: string | null;
}

interface NativeTools {
  lambdaRie?: string;
  lambdaRic?: string;
}

function nativeTools(): { rie: string; ric: string; python: string } {
  const tools = installedTools();
  const extra = JSON.parse(readFileSync(join(repoRoot, ".tools.json"), "utf8")) as NativeTools;
  if (extra.lambdaRie === undefined || !existsSync(extra.lambdaRie)) {
    throw new MissingToolError("the AWS Lambda Runtime Interface Emulator (aws-lambda-rie)");
  }
  const ric = extra.lambdaRic ?? join(repoRoot, "node_modules", "aws-lambda-ric", "index.mjs");
  if (!existsSync(join(dirname(ric), "rapid-client.node"))) {
    throw new MissingToolError("aws-lambda-ric's native addon (rapid-client.node)");
  }
  return { rie: extra.lambdaRie, ric, python: join(dirname(tools.motoServer), "python") };
}

export async function startNativeEngine(): Promise<NativeEngine> {
  const { rie, ric, python } = nativeTools();
  const state = mkdtempSync(join(tmpdir(), "llamacloud-keys-native-"));
  const port = await freePort();
  const script = join(repoRoot, "tools", "moto", "native_engine.py");
  const args = [script, "-H", "127.0.0.1", "-p", String(port)];
  const child = spawn(python, args, {
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
    env: {
      ...process.env,
      MOTO_ALLOW_NONEXISTENT_REGION: "true",
      LLAMACLOUD_KEYS_RIE: rie,
      LLAMACLOUD_KEYS_LAMBDA_RIC: ric,
      LLAMACLOUD_KEYS_LAMBDA_NODE: process.execPath,
      LLAMACLOUD_KEYS_LAMBDA_STATE: state,
    },
  });
  recordChild(child, python, args);
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  child.stdout?.resume();
  const endpoint = `http://127.0.0.1:${port}`;
  const killOnExit = () => killGroup(child);
  process.once("exit", killOnExit);
  try {
    await waitUntilUp(endpoint, child, () => stderr);
  } catch (error) {
    killGroup(child);
    throw error;
  }

  const invocations = (): Invocation[] => {
    const file = join(state, "invocations.jsonl");
    if (!existsSync(file)) return [];
    return readFileSync(file, "utf8")
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => JSON.parse(line) as Invocation);
  };
  return {
    endpoint,
    invocations,
    runningStep() {
      const open = new Map<string, number>();
      for (const i of invocations()) {
        const key = `${i.step}`;
        open.set(key, (open.get(key) ?? 0) + (i.phase === "start" ? 1 : -1));
      }
      return [...open.entries()].find(([, n]) => n > 0)?.[0];
    },
    killRuntimes() {
      let killed = 0;
      for (const file of readdirSync(state).filter((f) => f.endsWith(".pid"))) {
        const pid = Number(file.slice(0, -4));
        try {
          process.kill(pid, "SIGKILL");
          killed += 1;
        } catch {
          // already gone
        }
        rmSync(join(state, file), { force: true });
      }
      return killed;
    },
    async stop() {
      process.removeListener("exit", killOnExit);
      const exited = new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) resolve();
        else child.once("exit", () => resolve());
      });
      // SIGTERM lets the launcher stop the emulators it started; the group kill is the backstop.
      child.kill("SIGTERM");
      const timer = setTimeout(() => killGroup(child), 5000);
      await exited;
      clearTimeout(timer);
      killGroup(child);
      rmSync(state, { recursive: true, force: true });
    },
  };
}

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, "SIGKILL");
  } catch {
    // gone
  }
}

async function waitUntilUp(endpoint: string, child: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`native engine exited with ${child.exitCode}: ${stderr()}`);
    try {
      const response = await fetch(`${endpoint}/moto-api/data.json`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`the native engine did not answer on ${endpoint} within 60 s: ${stderr()}`);
}

/** moto reads the region and service from the credential scope; it does not check signatures. */
function authorization(region: string, service: string): string {
  return `AWS4-HMAC-SHA256 Credential=test/20260101/${region}/${service}/aws4_request, SignedHeaders=host, Signature=0`;
}

export interface DeployedFunction {
  arn: string;
  name: string;
}

/**
 * Creates the rotation function in the engine as `ProjectKeys` would in AWS: an IAM role (moto needs
 * one to exist), then `CreateFunction` with the packaged zip, `index.handler` and the environment.
 */
export async function deployFunction(
  engine: NativeEngine,
  input: { region: string; name: string; zip: Buffer; env: Record<string, string>; timeoutSeconds?: number },
): Promise<DeployedFunction> {
  const roleName = `${input.name}-role`;
  const trust = JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      { Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" },
    ],
  });
  const role = await fetch(`${engine.endpoint}/`, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      authorization: authorization("us-east-1", "iam"),
    },
    body: new URLSearchParams({
      Action: "CreateRole",
      Version: "2010-05-08",
      RoleName: roleName,
      AssumeRolePolicyDocument: trust,
    }).toString(),
  });
  const roleText = await role.text();
  const roleArn = /<Arn>([^<]+)<\/Arn>/.exec(roleText)?.[1];
  if (!role.ok || roleArn === undefined) throw new Error(`CreateRole failed: ${role.status} ${roleText}`);
  const created = await fetch(`${engine.endpoint}/2015-03-31/functions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: authorization(input.region, "lambda") },
    body: JSON.stringify({
      FunctionName: input.name,
      Runtime: "nodejs22.x",
      Role: roleArn,
      Handler: "index.handler",
      Code: { ZipFile: input.zip.toString("base64") },
      Environment: { Variables: input.env },
      Timeout: input.timeoutSeconds ?? 60,
    }),
  });
  const body = (await created.json()) as { FunctionArn?: string };
  if (!created.ok || body.FunctionArn === undefined) {
    throw new Error(`CreateFunction failed: ${created.status} ${JSON.stringify(body)}`);
  }
  return { arn: body.FunctionArn, name: input.name };
}

/** Invokes the function through moto's Lambda API, as EventBridge or an AWS retry would. */
export async function invokeFunction(
  engine: NativeEngine,
  region: string,
  fn: DeployedFunction,
  event: unknown,
): Promise<{ ok: boolean; payload: unknown }> {
  const response = await fetch(`${engine.endpoint}/2015-03-31/functions/${fn.name}/invocations`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: authorization(region, "lambda") },
    body: JSON.stringify(event),
  });
  const text = await response.text();
  let payload: unknown = text;
  try {
    payload = JSON.parse(text);
  } catch {
    // not JSON
  }
  const functionError = response.headers.get("x-amz-function-error");
  return { ok: response.ok && functionError === null, payload };
}
