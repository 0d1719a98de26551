#!/usr/bin/env node
// `npm run demo`: the whole of llamacloud-keys on one machine, with nothing from outside. A local
// LlamaCloud (the emulator) and a local Secrets Manager (moto) stand in for the real services; the
// Pulumi CLI, the root program, the rotator CLI and the example app are the real ones, run the way a
// user runs them. Plain CommonJS on the compiled library (dist/), so it runs right after the build.

const { existsSync, readFileSync, writeFileSync } = require("node:fs");
const { mkdtemp, rm, symlink, writeFile, mkdir } = require("node:fs/promises");
const { connect } = require("node:net");
const { tmpdir } = require("node:os");
const { delimiter, join, resolve } = require("node:path");
const { setTimeout: sleep } = require("node:timers/promises");
const { parseArgs } = require("node:util");
const { freePort, run, start, startedPids, stopAll, waitFor } = require("./children");

const usage = `Usage: npm run demo [-- FLAGS]   (or: node examples/demo/demo.js [FLAGS], after npm run build)

Runs llamacloud-keys end to end against a local LlamaCloud emulator and moto (Secrets Manager):
pulumi up of keys for 2 projects x 2 environments, the example app reading its key, a rotation
while the app keeps calling, pulumi refresh and destroy. Needs \`npm run setup\` once. Under 3 minutes.

  --keep        leave the temporary Pulumi project and backend for inspection (its path is printed)
  --quiet       step headings and results only, not the output of pulumi, the rotator and the app
  --native      instead: one native rotation (Secrets Manager's RotateSecret invoking the packaged
                rotation function under the Lambda Runtime Interface Emulator), then status and rotate
  --wait-grace  wait for the rotator's real revocation time of the old key (about 6 minutes: the 60 s
                grace counts from the end of its 5-minute staging window) instead of running the
                revocation pass with the rotator's clock moved to that time
  --help        this text

Environment:
  LLAMACLOUD_KEYS_TOOLS_FILE   where \`npm run setup\` recorded its tools (default: <repo>/.tools.json)
  LLAMACLOUD_KEYS_DEMO_REPORT  write a JSON report to this file at the end (used by the demo's test;
                               it holds every key the emulator issued, so keep it private)

Ctrl-C stops everything the demo started and removes its temporary directory.
`;

const repoRoot = resolve(__dirname, "..", "..");
const dist = (relative) => join(repoRoot, "dist", relative);
const TOTAL = 7;
const PROJECTS = ["default", "search"];
const ENVIRONMENTS = ["dev", "prod"];
const APP_PAIR = "default/prod";
// The grace floor (LlamaCloud can take up to a minute to honour a revocation).
const GRACE_MS = 60_000;
// The app re-reads its secret this often, and the emulator honours a revoked key this long: both far
// below the grace, which is what makes revoking after grace safe for readers (DESIGN invariant 3).
const APP_TTL_MS = 2000;
const REVOCATION_DELAY_MS = 2000;
const LOCAL_AWS = {
  AWS_REGION: "us-east-1",
  AWS_ACCESS_KEY_ID: "test",
  AWS_SECRET_ACCESS_KEY: "test",
};

/** A failure the user can act on: `hint` says what to do. */
class DemoError extends Error {
  constructor(message, hint, tail) {
    super(message);
    this.hint = hint;
    this.tail = tail;
  }
}

// ---------------------------------------------------------------------------------------------
// Output

const startedAt = performance.now();
// For the Secrets Manager client the demo itself uses (see localEnv for the children's).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;
const elapsed = () => seconds(performance.now() - startedAt);
const say = (line = "") => process.stdout.write(`${line}\n`);
let quiet = false;
/** Output of the tools the demo runs, indented under the step. Hidden by --quiet. */
const detail = (line) => {
  if (!quiet) say(`    ${line}`);
};
const short = (id) => (typeof id === "string" ? `${id.slice(0, 8)}…` : "-");

let currentStep;
async function step(n, title, fn) {
  currentStep = { n, title, started: performance.now() };
  say(`[${n}/${TOTAL}] ${title}… (at ${elapsed()})`);
  const result = await fn();
  say(`      ✓ step ${n} done in ${seconds(performance.now() - currentStep.started)}`);
  return result;
}

// ---------------------------------------------------------------------------------------------
// Everything the demo started, for cleanup

const ctx = {
  keep: false,
  waitGrace: false,
  tools: undefined,
  tempDir: undefined,
  emulator: undefined,
  moto: undefined, // { handle, endpoint, port }
  store: undefined,
  app: undefined, // { handle, latest, final }
  seededKeyIds: new Set(),
  rotations: 0,
};

let cleaning;
/** Stops what is running and removes the temp dir; safe to call twice (interrupt during step 7). */
function cleanup() {
  cleaning ??= (async () => {
    // Child groups first (app, then moto), then the in-process emulator, so nothing calls a dead server.
    await stopAll(3000);
    ctx.store?.close();
    await ctx.emulator?.close();
    if (ctx.tempDir !== undefined && !ctx.keep) await rm(ctx.tempDir, { recursive: true, force: true });
  })();
  return cleaning;
}

let interrupted = false;
for (const [signal, code] of [
  ["SIGINT", 130],
  ["SIGTERM", 143],
]) {
  process.on(signal, () => {
    if (interrupted) {
      // A second Ctrl-C: do not wait for graceful shutdowns. Nothing outlives the temp dir and the
      // in-process emulator, so a hard stop loses nothing.
      process.exit(code);
    }
    interrupted = true;
    say(`\n${signal}: stopping everything the demo started (Ctrl-C again to force)…`);
    cleanup().then(
      () => {
        try {
          writeReport();
        } catch {
          // The report is for tests; stopping is what matters.
        }
        say(ctx.keep && ctx.tempDir ? `Stopped. Kept ${ctx.tempDir}.` : "Stopped; temporary files removed.");
        process.exit(code);
      },
      () => process.exit(code),
    );
  });
}

// ---------------------------------------------------------------------------------------------
// Step 1: tools, emulator, moto

function loadTools() {
  const file = process.env.LLAMACLOUD_KEYS_TOOLS_FILE || join(repoRoot, ".tools.json");
  const setup = "run `npm run setup` first (it installs moto and the Pulumi CLI and writes .tools.json)";
  if (!existsSync(file)) throw new DemoError(`${file} is missing: the tools are not set up`, setup);
  let tools;
  try {
    tools = JSON.parse(readFileSync(file, "utf8"));
  } catch {
    throw new DemoError(`${file} is not valid JSON`, setup);
  }
  if (typeof tools.motoServer !== "string" || !existsSync(tools.motoServer)) {
    throw new DemoError(
      `moto's server is not installed (${tools.motoServer ?? "no motoServer in " + file})`,
      setup,
    );
  }
  if (typeof tools.pulumiBinDir !== "string" || !existsSync(join(tools.pulumiBinDir, "pulumi"))) {
    throw new DemoError(
      `the Pulumi CLI is not installed (${tools.pulumiBinDir ?? "no pulumiBinDir in " + file})`,
      setup,
    );
  }
  for (const file of ["index.js", "llamacloud/emulator/index.js", "secrets/index.js", "rotator/cli.js"]) {
    if (!existsSync(dist(file))) {
      throw new DemoError(
        `dist/${file} is missing: the library is not built`,
        "run `npm run demo` (it builds first) or `npm run build`",
      );
    }
  }
  return tools;
}

async function startMoto(motoServer) {
  let lastError;
  // The port is free when picked but another process may take it first: retry with a new one.
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const handle = start(motoServer, ["-H", "127.0.0.1", "-p", String(port)], {
      env: { ...process.env, MOTO_ALLOW_NONEXISTENT_REGION: "true" },
    });
    const endpoint = `http://127.0.0.1:${port}`;
    let exited = false;
    handle.exited.then(
      () => {
        exited = true;
      },
      () => {
        exited = true;
      },
    );
    try {
      await waitFor(
        async () => {
          if (exited) throw new Error(`moto_server exited: ${handle.tail().slice(-3).join(" | ")}`);
          const response = await fetch(`${endpoint}/moto-api/data.json`).catch(() => undefined);
          return response?.ok;
        },
        {
          timeoutMs: 30_000,
          intervalMs: 150,
          message: () => `moto_server did not answer on ${endpoint} within 30 s`,
        },
      );
      return { handle, endpoint, port };
    } catch (error) {
      lastError = error;
      await handle.stop();
    }
  }
  throw new DemoError(
    `moto's server did not start: ${lastError.message}`,
    "check that `npm run setup` completed; rerun it if .venv was removed",
  );
}

// ---------------------------------------------------------------------------------------------
// Pulumi, in a temporary project whose program is the repository's root program

function pulumiEnv() {
  const home = join(ctx.tempDir, "home");
  return {
    ...localEnv(),
    PATH: `${ctx.tools.pulumiBinDir}${delimiter}${process.env.PATH ?? ""}`,
    PULUMI_HOME: home,
    PULUMI_BACKEND_URL: `file://${join(ctx.tempDir, "backend")}`,
    // A throwaway stack: a fixed passphrase is fine, and the backend is deleted at the end.
    PULUMI_CONFIG_PASSPHRASE: "llamacloud-keys-demo",
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    PULUMI_SKIP_CONFIRMATIONS: "true",
    NO_COLOR: "1",
  };
}

/**
 * The environment for the tools: our local AWS, never the user's. Inherited AWS_* variables (a
 * profile, a session token, an endpoint) are dropped so nothing can reach a real account.
 */
function localEnv() {
  const env = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (
      !name.startsWith("AWS_") &&
      !name.startsWith("LLAMA_CLOUD_") &&
      !name.startsWith("LLAMACLOUD_KEYS_")
    ) {
      env[name] = value;
    }
  }
  return {
    ...env,
    ...LOCAL_AWS,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: ctx.moto.endpoint,
    LLAMA_CLOUD_BASE_URL: ctx.emulator.url,
    // The SDK's notice about its future Node.js support says nothing about the demo.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
  };
}

/** Runs `pulumi <args>` in the temp project, streaming its output unless `stream` is false. */
async function pulumi(args, { input, stream = true, what, hint } = {}) {
  const lines = [];
  const result = await run(
    join(ctx.tools.pulumiBinDir, "pulumi"),
    [...args, "--non-interactive", "--color", "never"],
    {
      cwd: join(ctx.tempDir, "program"),
      env: pulumiEnv(),
      input,
      onLine: (line, stream_) => {
        if (stream_ === "stdout") lines.push(line);
        if (stream) detail(line);
      },
    },
  );
  if (interrupted) return new Promise(() => undefined); // the interrupt handler exits
  if (result.code !== 0) {
    throw new DemoError(
      `\`pulumi ${args.join(" ")}\` ${what ? `(${what}) ` : ""}exited with ${result.code ?? result.signal}`,
      hint ?? "read pulumi's output above; rerun with --keep to inspect the stack in the temp dir",
      stream && !quiet ? undefined : result.tail,
    );
  }
  return lines.join("\n");
}

async function createProject() {
  ctx.tempDir = await mkdtemp(join(tmpdir(), "llamacloud-keys-demo-"));
  const program = join(ctx.tempDir, "program");
  await mkdir(program);
  await mkdir(join(ctx.tempDir, "backend"));
  // The root program resolves @pulumi/pulumi and the library from the repository; the language host
  // looks for them next to Pulumi.yaml, hence the link.
  await symlink(join(repoRoot, "node_modules"), join(program, "node_modules"), "dir");
  // The repository's own Pulumi.yaml, with an absolute `main`, so the demo writes nothing into the repo.
  await writeFile(
    join(program, "Pulumi.yaml"),
    [
      "name: llamacloud-keys",
      "description: npm run demo (a copy of the repository's Pulumi.yaml pointing at its dist/index.js)",
      "runtime:",
      "  name: nodejs",
      "  options:",
      "    typescript: false",
      `main: ${dist("index.js")}`,
      "",
    ].join("\n"),
  );
  // Stack config as a user writes it (see examples/Pulumi.dev.yaml). The admin key is not here: it
  // is set below with `pulumi config set --secret`, encrypted in this file.
  await writeFile(
    join(program, "Pulumi.demo.yaml"),
    [
      "config:",
      `  llamacloud:baseUrl: ${ctx.emulator.url}`,
      "  llamacloud-keys:projects:",
      ...PROJECTS.flatMap((name) => [
        `    - name: ${name}`,
        `      environments: [${ENVIRONMENTS.join(", ")}]`,
      ]),
      "  llamacloud-keys:rotation:",
      "    every: 30d",
      `    grace: ${GRACE_MS / 1000}s`,
      "  # A scratch stack: destroy deletes the secrets at once instead of after a recovery window.",
      "  llamacloud-keys:recoveryWindowInDays: 0",
      "",
    ].join("\n"),
  );
  await pulumi(["stack", "init", "demo"], { stream: false, what: "creating the stack" });
  // On stdin, so the key is on no command line and in no output.
  await pulumi(["config", "set", "--secret", "llamacloud:apiKey"], {
    input: ctx.emulator.adminKey,
    stream: false,
    what: "storing the admin key as a secret",
  });
}

// ---------------------------------------------------------------------------------------------
// The app and the rotator CLI

function startApp(secretArn) {
  const app = { latest: { ok: 0, failed: 0, keyId: null }, final: undefined, show: true };
  app.handle = start(process.execPath, [join(repoRoot, "examples", "app", "app.js")], {
    env: {
      ...localEnv(),
      SECRET_ID: secretArn,
      KEY_TTL: String(APP_TTL_MS),
      CALL_INTERVAL_MS: "200",
      REPORT_INTERVAL_MS: "1000",
    },
    onLine: (line, stream) => {
      if (stream === "stderr") {
        detail(`app (stderr): ${line}`);
        return;
      }
      let counters;
      try {
        counters = JSON.parse(line);
      } catch {
        detail(`app: ${line}`);
        return;
      }
      app.latest = counters;
      if (counters.final) app.final = counters;
      if (app.show) detail(`app: ok=${counters.ok} failed=${counters.failed} key ${short(counters.keyId)}`);
    },
  });
  return app;
}

/**
 * `llamacloud-keys <args>`, as an operator runs it, with the admin key in its environment only.
 * With `capture`, stdout is returned instead of shown (for `--json`).
 */
async function cli(args, { env = {}, capture = false } = {}) {
  const stdout = [];
  const result = await run(process.execPath, [join(repoRoot, "bin", "llamacloud-keys.js"), ...args], {
    env: { ...localEnv(), LLAMA_CLOUD_API_KEY: ctx.emulator.adminKey, ...env },
    onLine: (line, stream) => {
      if (capture && stream === "stdout") stdout.push(line);
      else detail(line);
    },
  });
  if (interrupted) return new Promise(() => undefined);
  if (result.code !== 0) {
    throw new DemoError(
      `\`llamacloud-keys ${args.join(" ")}\` exited with ${result.code ?? result.signal}`,
      "read the rotator's output above (its log lines name the step and the secret)",
      quiet ? result.tail : undefined,
    );
  }
  return stdout.join("\n");
}

async function currentKeyId(arn) {
  return (await ctx.store.readPayload(arn, { stage: "AWSCURRENT" })).payload.keyId;
}

function emulatorKey(id) {
  return ctx.emulator.state.allKeys().find((k) => k.id === id);
}

// ---------------------------------------------------------------------------------------------
// The seven steps

async function main() {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        keep: { type: "boolean" },
        quiet: { type: "boolean" },
        "wait-grace": { type: "boolean" },
        native: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (error) {
    // parseArgs names the flag: "Unknown option '--kep'".
    process.stderr.write(`demo: ${error.message}\n\n${usage}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(usage);
    return 0;
  }
  quiet = values.quiet === true;
  if (values.native === true) {
    return require("./native").runNativeDemo({
      quiet,
      ...(process.env.LLAMACLOUD_KEYS_TOOLS_FILE
        ? { toolsFile: process.env.LLAMACLOUD_KEYS_TOOLS_FILE }
        : {}),
    });
  }
  ctx.keep = values.keep === true;
  ctx.waitGrace = values["wait-grace"] === true;
  const pairs = PROJECTS.flatMap((p) => ENVIRONMENTS.map((e) => `${p}/${e}`));

  await step(
    1,
    "starting the LlamaCloud emulator and moto (Secrets Manager) on free loopback ports",
    async () => {
      ctx.tools = loadTools();
      const { startEmulator } = require(dist("llamacloud/emulator/index.js"));
      ctx.emulator = await startEmulator({ revocationDelayMs: REVOCATION_DELAY_MS });
      for (const key of ctx.emulator.state.allKeys()) ctx.seededKeyIds.add(key.id);
      const names = ctx.emulator.projects.map((p) => p.name);
      for (const name of PROJECTS) {
        if (!names.includes(name))
          throw new DemoError(
            `the emulator has no project "${name}" (it has ${names.join(", ")})`,
            "rebuild (`npm run build`): the emulator's default seed changed",
          );
      }
      say(
        `      LlamaCloud emulator ${ctx.emulator.url} (projects ${names.join(", ")}; revoked keys honoured ${seconds(REVOCATION_DELAY_MS)})`,
      );
      ctx.moto = await startMoto(ctx.tools.motoServer);
      say(`      moto (Secrets Manager) ${ctx.moto.endpoint}`);
      const { createSecretStore } = require(dist("secrets/index.js"));
      ctx.store = createSecretStore({
        region: LOCAL_AWS.AWS_REGION,
        endpoint: ctx.moto.endpoint,
        credentials: {
          accessKeyId: LOCAL_AWS.AWS_ACCESS_KEY_ID,
          secretAccessKey: LOCAL_AWS.AWS_SECRET_ACCESS_KEY,
        },
      });
    },
  );

  await step(
    2,
    `pulumi up: declaring keys for ${PROJECTS.length} projects × ${ENVIRONMENTS.length} environments`,
    async () => {
      await createProject();
      say(
        `      project ${join(ctx.tempDir, "program")} (program: ${dist("index.js")}, stack "demo", local backend)`,
      );
      await pulumi(["up", "--yes", "--skip-preview", "--stack", "demo"], {
        hint: "read pulumi's output above; rerun with --keep to inspect the stack",
      });
    },
  );

  const arns = await step(
    3,
    "the secrets and the key each one holds (redacted; the plaintext stays in Secrets Manager)",
    async () => {
      const outputs = JSON.parse(
        await pulumi(["stack", "output", "--json", "--stack", "demo"], { stream: false }),
      );
      const { redactKey } = require(dist("secrets/index.js"));
      for (const pair of pairs) {
        const arn = outputs.secretArns?.[pair];
        if (arn === undefined)
          throw new DemoError(
            `the stack has no secretArns["${pair}"] output`,
            "check the root program (index.ts) exports secretArns keyed <project>/<env>",
          );
        // Read back from Secrets Manager: the secret really holds the key state says it does.
        const { payload } = await ctx.store.readPayload(arn, { stage: "AWSCURRENT" });
        const shown = redactKey(payload.apiKey);
        if (shown !== outputs.redactedKeys?.[pair]) {
          throw new DemoError(
            `${pair}: the secret holds ${shown} but state says ${outputs.redactedKeys?.[pair]}`,
            "run `pulumi refresh` on the stack (--keep) and report a bug",
          );
        }
        if (emulatorKey(payload.keyId)?.live !== true)
          throw new DemoError(
            `${pair}: key ${payload.keyId} is not live in LlamaCloud`,
            "report a bug: pulumi up wrote a dead key",
          );
        say(`      ${pair.padEnd(14)} ${shown.padEnd(10)} key ${short(payload.keyId)}  ${arn}`);
      }
      return outputs.secretArns;
    },
  );

  await step(4, `starting the example app (examples/app/app.js) against ${APP_PAIR}`, async () => {
    say(
      `      it reads its key with the cached reader (TTL ${seconds(APP_TTL_MS)}) and calls GET /api/v1/projects/{id} every 0.2 s`,
    );
    ctx.app = startApp(arns[APP_PAIR]);
    await waitFor(
      () => {
        if (ctx.app.final || ctx.app.handle.child.exitCode !== null) {
          throw new DemoError("the app exited early", "read its stderr above", ctx.app.handle.tail());
        }
        return ctx.app.latest.ok >= 1;
      },
      {
        timeoutMs: 20_000,
        message: () =>
          `the app made no successful call in 20 s (ok=${ctx.app.latest.ok} failed=${ctx.app.latest.failed})`,
      },
    );
    say(
      `      the emulator accepted the app's call: ok=${ctx.app.latest.ok} failed=${ctx.app.latest.failed}`,
    );
  });

  const rotatedKeyId = await step(
    5,
    `llamacloud-keys rotate --force on ${APP_PAIR} while the app keeps calling`,
    async () => {
      const arn = arns[APP_PAIR];
      const oldKeyId = await currentKeyId(arn);
      const before = ctx.app.latest.ok;
      await cli(["rotate", "--secret", arn, "--force", "--log-format", "pretty"]);
      const newKeyId = await currentKeyId(arn);
      if (newKeyId === oldKeyId)
        throw new DemoError(
          "rotate exited 0 but AWSCURRENT still holds the old key",
          "report a bug in the rotator",
        );
      ctx.rotations += 1;
      say(
        `      AWSCURRENT now holds key ${short(newKeyId)}; the old key ${short(oldKeyId)} (AWSPREVIOUS) keeps working through the grace`,
      );
      await waitFor(() => ctx.app.latest.keyId === newKeyId && ctx.app.latest.ok > before, {
        timeoutMs: APP_TTL_MS * 5 + 5000,
        message: () => `the app still uses key ${short(ctx.app.latest.keyId)} after the rotation`,
      });
      say(
        `      the app moved to the new key at its next re-read: ok=${ctx.app.latest.ok} failed=${ctx.app.latest.failed}`,
      );

      // The old key may be revoked once every reader has moved on: that is what the grace guarantees.
      // The rotator counts the grace from the latest moment the old key can have stopped being
      // AWSCURRENT (the new version's write time + its staging window, rotator/state.ts), so ask it when.
      const [status] = JSON.parse(await cli(["status", "--secret", arn, "--json"], { capture: true }));
      const revokeAt = Date.parse(status?.previous?.revokeAt ?? "");
      if (Number.isNaN(revokeAt)) {
        throw new DemoError(
          "`llamacloud-keys status --json` names no revocation time for the previous key",
          "read `llamacloud-keys status` for the secret",
        );
      }
      say(
        `      the rotator will revoke the old key at ${new Date(revokeAt).toISOString()} (in ${seconds(revokeAt - Date.now())})`,
      );
      const env = {};
      if (ctx.waitGrace) {
        for (let left = revokeAt + 1000 - Date.now(); left > 0; left = revokeAt + 1000 - Date.now()) {
          say(
            `      waiting: ${Math.ceil(left / 1000)} s left (app ok=${ctx.app.latest.ok} failed=${ctx.app.latest.failed})`,
          );
          await sleep(Math.min(left, 15_000));
        }
      } else {
        // A shortcut, said out loud: the rotator decides "grace has passed" from Secrets Manager
        // timestamps and its clock, which LLAMACLOUD_KEYS_NOW_OFFSET_MS (rotator/config.ts) moves. It is
        // safe here because the app demonstrably holds the new key already (checked above), with a 2 s
        // TTL and a 2 s revocation delay: waiting for the real time would only be idling. --wait-grace waits.
        env.LLAMACLOUD_KEYS_NOW_OFFSET_MS = String(revokeAt + 1000 - Date.now());
        say(
          "      the app already holds the new key, so rather than idle until then, the next pass runs with the",
        );
        say(
          "      rotator's clock moved to that time (LLAMACLOUD_KEYS_NOW_OFFSET_MS; --wait-grace waits for real)",
        );
      }
      await cli(["rotate", "--secret", arn, "--log-format", "pretty"], { env });
      if (emulatorKey(oldKeyId)?.revokedAt == null) {
        throw new DemoError(
          `the revocation pass left the old key ${oldKeyId} unrevoked`,
          "read the rotator's output above; `llamacloud-keys status` says when it will revoke",
        );
      }
      // Keep watching until LlamaCloud (the emulator) actually refuses the old key, and a bit more.
      await waitFor(() => emulatorKey(oldKeyId)?.live === false, {
        timeoutMs: REVOCATION_DELAY_MS + 5000,
        message: () => `the emulator still accepts the old key ${oldKeyId}`,
      });
      const okAtRevocation = ctx.app.latest.ok;
      await waitFor(() => ctx.app.latest.ok >= okAtRevocation + 5, {
        timeoutMs: 10_000,
        message: () => "the app stopped making successful calls after the revocation",
      });
      say(
        `      old key ${short(oldKeyId)} revoked; the app carries on: ok=${ctx.app.latest.ok} failed=${ctx.app.latest.failed}`,
      );
      if (!quiet) say("      llamacloud-keys status:");
      await cli(["status", "--secret", arn, "--log-format", "pretty"]);

      // Stop the app now: destroy (step 6) revokes its key, on purpose.
      ctx.app.show = false;
      await ctx.app.handle.stop(5000);
      const final = ctx.app.final ?? ctx.app.latest;
      if (final.failed !== 0)
        throw new DemoError(
          `the app saw ${final.failed} failed call(s) during the rotation`,
          "read the app's stderr above",
        );
      say(`      app stopped: ok=${final.ok} failed=${final.failed}`);
      return newKeyId;
    },
  );

  const revoked = await step(
    6,
    "pulumi refresh (no drift after the rotation), then pulumi destroy (revokes every key)",
    async () => {
      await pulumi(["refresh", "--yes", "--skip-preview", "--stack", "demo"]);
      // Refresh makes the resource follow whatever key is AWSCURRENT: check state records the rotated one.
      const exported = JSON.parse(await pulumi(["stack", "export", "--stack", "demo"], { stream: false }));
      const resource = (exported.deployment?.resources ?? []).find(
        (r) => r.outputs?.secretArn === arns[APP_PAIR],
      );
      if (resource?.outputs?.keyId !== rotatedKeyId) {
        throw new DemoError(
          `after refresh, state records key ${resource?.outputs?.keyId} for ${APP_PAIR}, not the rotated key ${rotatedKeyId}`,
          "report a bug in the provider's read (it should follow AWSCURRENT)",
        );
      }
      say(`      state now records key ${short(rotatedKeyId)} for ${APP_PAIR}: the rotated one`);
      // A rotation changes the key id the state records, not the declared inputs: nothing to update.
      await pulumi(["preview", "--expect-no-changes", "--stack", "demo"], {
        what: "drift check",
        hint: "the rotation shows up as drift: read the diff above (state should follow AWSCURRENT)",
      });
      say(
        "      no drift: nothing to change after the rotation (only the redactedKeys output moves to the new key)",
      );
      await pulumi(["destroy", "--yes", "--skip-preview", "--stack", "demo"]);
      const minted = ctx.emulator.state.allKeys().filter((k) => !ctx.seededKeyIds.has(k.id));
      const alive = minted.filter((k) => k.revokedAt === null);
      if (alive.length > 0) {
        throw new DemoError(
          `destroy left ${alive.length} key(s) unrevoked: ${alive.map((k) => k.id).join(", ")}`,
          "report a bug in the provider's delete",
        );
      }
      // Revoked keys stop working after the emulator's revocation delay; then only the seed's admin key is live.
      await waitFor(() => ctx.emulator.state.allKeys().every((k) => !k.live || ctx.seededKeyIds.has(k.id)), {
        timeoutMs: REVOCATION_DELAY_MS + 5000,
        message: () => "revoked keys still authenticate in the emulator",
      });
      const left = await ctx.store.listManagedSecrets();
      say(
        `      LlamaCloud: all ${minted.length} keys minted by the demo are revoked; live keys left: the admin key only`,
      );
      say(`      Secrets Manager: ${left.length} managed secret(s) left`);
      return { minted: minted.length, revoked: minted.length };
    },
  );

  let summary;
  await step(7, "stopping everything the demo started", async () => {
    const ports = [new URL(ctx.emulator.url).port, ctx.moto.port].map(Number);
    await cleanup();
    writeReport();
    for (const port of ports) {
      if (await isOpen(port))
        throw new DemoError(
          `port ${port} is still open after stopping`,
          "find the process with `ss -ltnp` and stop it",
        );
    }
    say(
      `      emulator and moto stopped (ports ${ports.join(", ")} closed); ${ctx.keep ? `kept ${ctx.tempDir}` : "temporary files removed"}`,
    );
    if (ctx.keep) {
      say(
        `      inspect it: cd ${join(ctx.tempDir, "program")} && PULUMI_BACKEND_URL=file://${join(ctx.tempDir, "backend")} ` +
          `PULUMI_CONFIG_PASSPHRASE=llamacloud-keys-demo ${join(ctx.tools.pulumiBinDir, "pulumi")} stack history -s demo`,
      );
    }
    const app = ctx.app.final ?? ctx.app.latest;
    summary =
      `Summary: ${revoked.minted} keys created (${pairs.length} by pulumi up, ${ctx.rotations} by rotation), ` +
      `${ctx.rotations} rotation${ctx.rotations === 1 ? "" : "s"}, ${revoked.revoked} keys revoked; app ok=${app.ok} failed=${app.failed}; ${elapsed()}`;
  });
  say(summary);
  return 0;
}

/** For the demo's test (LLAMACLOUD_KEYS_DEMO_REPORT): every plaintext key issued, to scan the output for. */
function writeReport() {
  const file = process.env.LLAMACLOUD_KEYS_DEMO_REPORT;
  if (!file || ctx.emulator === undefined) return;
  const report = {
    issuedSecrets: ctx.emulator.state.issuedSecrets(),
    ports: { emulator: Number(new URL(ctx.emulator.url).port), moto: ctx.moto?.port },
    tempDir: ctx.tempDir,
    pids: startedPids,
    app: ctx.app?.final ?? ctx.app?.latest,
  };
  writeFileSync(file, JSON.stringify(report), { mode: 0o600 });
}

function isOpen(port) {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

main().then(
  (code) => process.exit(code),
  async (error) => {
    if (interrupted) return; // the signal handler reports and exits
    const where = currentStep ? `step ${currentStep.n}/${TOTAL} (${currentStep.title})` : "the demo";
    const after = currentStep ? ` after ${seconds(performance.now() - currentStep.started)}` : "";
    process.stderr.write(`\n✗ ${where} failed${after}:\n  ${error?.message ?? String(error)}\n`);
    if (error?.tail?.length)
      process.stderr.write(`  last output:\n${error.tail.map((l) => `    ${l}`).join("\n")}\n`);
    process.stderr.write(
      `  what to do: ${error?.hint ?? "read the output above; rerun with --keep to inspect the temp dir"}\n`,
    );
    try {
      writeReport();
    } catch {
      // The report is for tests; the failure above is what matters.
    }
    await cleanup().catch(() => undefined);
    if (ctx.keep && ctx.tempDir) process.stderr.write(`  kept ${ctx.tempDir} for inspection\n`);
    process.exit(1);
  },
);
