import { randomUUID } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_KEY_PREFIX, keyName } from "../../llamacloud/key-name";
import { LLAMACLOUD_TIMEOUT_SETTING, loadConfig } from "../../rotator/config";
import { isRotatorError } from "../../rotator/errors";
import { managementTags } from "../../secrets/tags";
import { fakeKey } from "../harness/fake-key";
import {
  childEnv,
  createManagedSecret,
  requireBuilt,
  runCli,
  spawnCli,
  startWorld,
  type World,
} from "./fixtures";

// What an operator can act on (#19): a wrong LLAMA_CLOUD_API_KEY is one message and exit 2 before
// any secret is touched; a refused connection fails in seconds; a LlamaCloud timeout names the
// setting that raises it; `status` never shows a name it could not resolve as an ARN.

/** A loopback port nothing listens on: bound, then closed, so connecting to it is refused. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A loopback server that accepts connections and never answers (a hung LlamaCloud). */
async function silentServer(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Versions and their labels (moto reports a listed version's createdDate as the time of listing). */
async function versions(world: World, arn: string): Promise<{ versionId: string; stages: string[] }[]> {
  return (await world.store.listVersions(arn)).map(({ versionId, stages }) => ({ versionId, stages }));
}

/** A managed secret whose key (minted in the emulator) says it lives on `host`. */
async function secretOnHost(world: World, host: string): Promise<string> {
  const project = world.emulator.projects[0]!;
  const environment = `env-${randomUUID().slice(0, 8)}`;
  const { arn } = await world.store.createSecret({
    name: `llamacloud-keys/test/${environment}`,
    tags: managementTags({ projectId: project.id, environment, rotateEvery: "30d" }),
  });
  const versionId = randomUUID();
  const name = keyName(DEFAULT_KEY_PREFIX, project.id, environment, versionId);
  const { key, secret } = await world.client.createApiKey({ projectId: project.id, name });
  await world.store.writeVersion(arn, {
    token: versionId,
    stage: "AWSCURRENT",
    payload: {
      format: 1,
      apiKey: secret,
      keyId: key.id,
      keyName: name,
      projectId: project.id,
      organizationId: world.emulator.organizationId,
      environment,
      baseUrl: host,
      createdAt: new Date().toISOString(),
    },
  });
  return arn;
}

/** Non-empty stderr lines (the preflight's refusal is exactly one). */
function lines(text: string): string[] {
  return text.split("\n").filter((line) => line.trim() !== "");
}

describe("the LlamaCloud timeout setting", () => {
  const env = { LLAMA_CLOUD_API_KEY: "llx-test" };

  it("is a flag, a config file field and an environment variable, in that order of precedence", () => {
    const dir = mkdtempSync(join(tmpdir(), "rotator-timeout-"));
    const file = join(dir, "rotator.json");
    writeFileSync(file, JSON.stringify({ llamacloudTimeout: "2m" }));
    const withEnv = { ...env, LLAMACLOUD_KEYS_LLAMACLOUD_TIMEOUT: "90s" };
    expect(loadConfig("rotate", {}, env).llamaCloud.timeoutMs).toBe(60_000);
    expect(loadConfig("rotate", {}, withEnv).llamaCloud.timeoutMs).toBe(90_000);
    expect(loadConfig("rotate", { config: file }, withEnv).llamaCloud.timeoutMs).toBe(120_000);
    expect(
      loadConfig("status", { config: file, "llamacloud-timeout": "5m" }, withEnv).llamaCloud.timeoutMs,
    ).toBe(300_000);
  });

  it("bad values are named by flag, field and variable, with the expected form", () => {
    const dir = mkdtempSync(join(tmpdir(), "rotator-timeout-"));
    const file = join(dir, "rotator.json");
    writeFileSync(file, JSON.stringify({ llamacloudTimeout: "2 minutes" }));
    let message = "";
    try {
      loadConfig(
        "rotator",
        { config: file, "llamacloud-timeout": "2h" },
        {
          ...env,
          LLAMACLOUD_KEYS_LLAMACLOUD_TIMEOUT: "0s",
        },
      );
    } catch (error) {
      expect(isRotatorError(error, "ROTATOR_CONFIG")).toBe(true);
      message = (error as Error).message.replaceAll(file, "<file>");
    }
    expect(message).toMatchInlineSnapshot(`
      "Invalid configuration for \`llamacloud-keys rotator\` (nothing was changed):
        <file>: llamacloudTimeout: expected a whole number and one unit, e.g. 30d, 12h, 90m or 45s
        --llamacloud-timeout: expected a duration from 1s to 1h, e.g. 2m (default 60s)
        LLAMACLOUD_KEYS_LLAMACLOUD_TIMEOUT: expected a whole number and one unit, e.g. 30d, 12h, 90m or 45s
      Run \`llamacloud-keys rotator --help\` for the flags."
    `);
  });

  it("a timed-out call names the setting that raises it, not the client's timeouts.totalMs", async () => {
    requireBuilt();
    const server = await silentServer();
    try {
      const run = await runCli(["status", "--llamacloud-timeout", "2s"], {
        PATH: process.env.PATH,
        LLAMA_CLOUD_API_KEY: fakeKey("timeouttest"),
        LLAMA_CLOUD_BASE_URL: server.url,
        AWS_REGION: "test-rotator-cli-advice-unused",
      });
      expect(run.code).toBe(1);
      expect(run.stdout).toBe("");
      expect(lines(run.stderr)).toHaveLength(1);
      expect(run.stderr).toContain(`Raise ${LLAMACLOUD_TIMEOUT_SETTING}`);
      // The 2 s deadline, or the 1 s it gives each attempt to answer: either way, the setting.
      expect(run.stderr).toMatch(/within (the overall deadline of 2000|1000) ms/);
      expect(run.stderr).not.toContain("timeouts.");
    } finally {
      await server.close();
    }
  }, 30_000);
});

describe("the credential preflight, against the emulator and moto", () => {
  let world: World;
  beforeAll(async () => {
    requireBuilt();
    world = await startWorld("test-rotator-cli-advice");
  });
  afterAll(async () => {
    await world?.close();
  });

  it("a wrong LLAMA_CLOUD_API_KEY: exit 2, one message, 0 secrets touched, in under 5 s", async () => {
    const secret = await createManagedSecret(world, { rotateEvery: "30d" });
    const keysBefore = world.emulator.state.allKeys().length;
    const versionsBefore = await versions(world, secret.arn);
    const tagsBefore = await world.store.readTags(secret.arn);
    const env = childEnv(world, { LLAMA_CLOUD_API_KEY: fakeKey("wrongkey") });

    for (const args of [
      ["rotate", "--all", "--force"],
      ["rotate", "--secret", secret.arn, "--force", "--json"],
      ["status"],
    ]) {
      const started = performance.now();
      const run = await runCli(args, env);
      const elapsedMs = performance.now() - started;
      expect(run.code, run.stderr).toBe(2);
      expect(run.stdout).toBe("");
      expect(lines(run.stderr), run.stderr).toHaveLength(1);
      expect(run.stderr).toMatch(
        new RegExp(
          `^llamacloud-keys: LlamaCloud at ${world.emulator.url} refused LLAMA_CLOUD_API_KEY \\(GET /api/v1/organizations → 401, request id emu-\\d+\\)\\. `,
        ),
      );
      expect(run.stderr).toContain(`\`llamacloud-keys ${args[0]}\` read and changed nothing.`);
      expect(run.stderr).not.toContain(fakeKey("wrongkey"));
      // The bound the issue asks for, checked generously: one round trip, no retry, no pass.
      expect(elapsedMs).toBeLessThan(5_000);
    }
    expect(world.emulator.state.allKeys()).toHaveLength(keysBefore);
    expect(await versions(world, secret.arn)).toEqual(versionsBefore);
    expect(await world.store.readTags(secret.arn)).toEqual(tagsBefore);
  }, 60_000);

  it("the daemon refuses to start with a wrong key: exit 2 before its first pass", async () => {
    const run = await runCli(
      ["rotator", "--start-delay", "0", "--log-format", "json"],
      childEnv(world, { LLAMA_CLOUD_API_KEY: fakeKey("wrongkey") }),
    );
    expect(run.code).toBe(2);
    expect(lines(run.stderr)).toHaveLength(1);
    expect(run.lines.filter((line) => line["event"] === "pass:started")).toEqual([]);
  }, 60_000);

  it("a refused connection to LlamaCloud fails in seconds, once for the whole pass, with nothing touched", async () => {
    const port = await closedPort();
    const host = `http://127.0.0.1:${port}`;
    // Secrets whose keys live on that host (their payload names it), so a pass would call it for
    // each: before the preflight, each failed on its own after the client's retries.
    const arns = await Promise.all(Array.from({ length: 8 }, () => secretOnHost(world, host)));
    const before = await Promise.all(arns.map((arn) => versions(world, arn)));
    const env = childEnv(world, { LLAMA_CLOUD_BASE_URL: host });
    for (const command of ["rotate", "status"]) {
      const started = performance.now();
      const run = await runCli([command, ...arns.flatMap((arn) => ["--secret", arn])], env);
      const elapsedMs = performance.now() - started;
      expect(run.code).toBe(1);
      expect(run.stdout).toBe("");
      expect(lines(run.stderr), run.stderr).toHaveLength(1);
      expect(run.stderr).toContain(`the connection to 127.0.0.1:${port} failed (ECONNREFUSED)`);
      expect(run.stderr).toContain(`\`llamacloud-keys ${command}\` read and changed nothing.`);
      // The issue asks for seconds; checked generously (one call and its retries, ~3 s of backoff).
      expect(elapsedMs).toBeLessThan(15_000);
      console.info(
        `${command} of 8 secrets against a refused port: exit 1 after ${Math.round(elapsedMs)} ms`,
      );
    }
    expect(await Promise.all(arns.map((arn) => versions(world, arn)))).toEqual(before);
  }, 90_000);

  it("the daemon outlives an unreachable LlamaCloud at start: one warning, then its schedule", async () => {
    const port = await closedPort();
    const daemon = spawnCli(
      ["rotator", "--start-delay", "0", "--log-format", "json"],
      childEnv(world, { LLAMA_CLOUD_BASE_URL: `http://127.0.0.1:${port}` }),
    );
    try {
      const warning = await daemon.waitForLine((line) => line["event"] === "warning");
      expect(String(warning["msg"] ?? warning["message"])).toContain(
        "LlamaCloud could not be asked whether LLAMA_CLOUD_API_KEY works",
      );
      await daemon.waitForLine((line) => line["event"] === "pass:finished");
      daemon.kill("SIGTERM");
      expect((await daemon.exited).code).toBe(0);
    } finally {
      daemon.kill("SIGKILL");
    }
  }, 60_000);

  it("status with a name Secrets Manager does not know shows it as given, never under an arn label", async () => {
    const env = childEnv(world);
    const name = "llamacloud/no-such-project/prod";
    const text = await runCli(["status", "--secret", name], env);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(new RegExp(`^${name}\\n  ERROR        \\[SECRET_NOT_FOUND\\]`));
    expect(text.stdout).not.toMatch(/^\s+arn\s/m);
    const json = await runCli(["status", "--secret", name, "--json"], env);
    const [status] = JSON.parse(json.stdout) as Record<string, unknown>[];
    expect(status).toMatchObject({ secretId: name, error: { code: "SECRET_NOT_FOUND" } });
    expect(status).not.toHaveProperty("arn");

    // A known secret still shows its ARN.
    const secret = await createManagedSecret(world, { rotateEvery: "30d" });
    const known = await runCli(["status", "--secret", secret.arn, "--json"], env);
    expect(JSON.parse(known.stdout)[0]).toMatchObject({ arn: secret.arn });
  }, 60_000);

  // rotator/README.md, "the credential check": "a 403 passes: the key authenticated; what it may do
  // is checked per project".
  it("a 403 on the credential check passes: the key authenticated, and the pass runs", async () => {
    const secret = await createManagedSecret(world, { rotateEvery: "30d" });
    world.emulator.faults.add({ route: "GET /api/v1/organizations", kind: "status", status: 403, times: 1 });
    try {
      const run = await runCli(["status", "--secret", secret.arn, "--json"], childEnv(world));
      expect(run.code, run.stderr).toBe(0);
      expect(JSON.parse(run.stdout)[0]).toMatchObject({
        arn: secret.arn,
        current: { keyId: secret.initialKeyId },
      });
      expect(world.emulator.faults.list()).toEqual([]);
    } finally {
      world.emulator.faults.clear();
    }
  }, 60_000);
});
