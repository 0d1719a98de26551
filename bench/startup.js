// Start-up cost of the CLI (bin/llamacloud-keys.js): `--help` must not load Pulumi, the AWS SDK or
// undici (the dispatcher loads only the module of the command asked for), `status` is what an
// operator runs by hand, and the daemon's idle memory is what it costs to leave running.
// Baselines: `node -e 0` for wall time, an idle `node` process for memory.

const { readFileSync } = require("node:fs");
const { join } = require("node:path");
const { setTimeout: sleep } = require("node:timers/promises");
const { alternate, killTree, median, rssMB, run, spawnTracked, tail } = require("./measure");
const { benchmark, failed, missing, notBuilt, repoRoot, row } = require("./report");
const { benchRegion, motoCredentials, startEmulatorProcess, startMoto } = require("./services");

const bin = join(repoRoot, "bin", "llamacloud-keys.js");
const DAEMON_RSS_TARGET = { on: "value", op: "<=", limit: 60, text: "≤ 60 MB" };
const DAEMON_LIBRARIES = ["zod", "@aws-sdk/client-secrets-manager", "node-cron"];

/**
 * RSS split into the node binary's own pages (file-backed, shared by every node process) and the
 * process's anonymous memory; undefined where /proc/<pid>/smaps is not there.
 */
function memorySplit(pid) {
  try {
    let binaryKB = 0;
    let mapping = "";
    for (const line of readFileSync(`/proc/${pid}/smaps`, "utf8").split("\n")) {
      const header = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
      if (header) mapping = header[1];
      else if (line.startsWith("Rss:") && mapping === process.execPath)
        binaryKB += Number(line.split(/\s+/)[1]);
    }
    const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
    const anonymousKB = Number(/^Anonymous:\s+(\d+)/m.exec(rollup)?.[1] ?? Number.NaN);
    return { binaryMB: binaryKB / 1024, anonymousMB: anonymousKB / 1024 };
  } catch {
    return undefined;
  }
}
const node = process.execPath;

benchmark("startup", async ({ quick, log }) => {
  const samples = quick ? 5 : 21;
  const rows = [];
  const nodeOnly = async () => (await run(node, ["-e", "0"])).ms;
  const cli = (args, env) => async () => {
    const result = await run(node, [bin, ...args], { env });
    if (result.code !== 0) {
      throw new Error(
        `llamacloud-keys ${args.join(" ")} exited ${result.code ?? result.signal}: ${tail(result.stderr, 5)}`,
      );
    }
    return result.ms;
  };

  log(`--help vs node -e 0: ${samples} runs each`);
  const help = await alternate(samples, cli(["--help"]), nodeOnly);
  rows.push(
    row({
      name: "`llamacloud-keys --help` wall time (median)",
      value: median(help.a),
      unit: "ms",
      baseline: { name: "node -e 0", value: median(help.b), unit: "ms" },
      target: { on: "ratio", op: "<=", limit: 3, text: "≤ 3×" },
      detail: `${samples} runs each, alternating`,
    }),
  );

  const rotatorMissing = notBuilt("rotator/cli.js");
  if (rotatorMissing !== undefined) {
    rows.push(missing("`llamacloud-keys status` (empty state) wall time", rotatorMissing));
    rows.push(missing("daemon idle RSS after its first pass", rotatorMissing, DAEMON_RSS_TARGET));
    return rows;
  }

  const moto = await startMoto();
  const emulator = await startEmulatorProcess();
  // An empty region: no managed secrets, so `status` and the daemon's first pass find nothing.
  const env = {
    ...process.env,
    AWS_REGION: benchRegion("startup"),
    AWS_ENDPOINT_URL_SECRETS_MANAGER: moto.endpoint,
    AWS_ACCESS_KEY_ID: motoCredentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: motoCredentials.secretAccessKey,
    LLAMA_CLOUD_API_KEY: emulator.adminKey,
    LLAMA_CLOUD_BASE_URL: emulator.url,
    NO_COLOR: "1",
  };
  try {
    const statusSamples = quick ? 3 : 11;
    log(`status vs node -e 0: ${statusSamples} runs each`);
    try {
      const status = await alternate(statusSamples, cli(["status"], env), nodeOnly);
      rows.push(
        row({
          name: "`llamacloud-keys status` (empty state) wall time (median)",
          value: median(status.a),
          unit: "ms",
          baseline: { name: "node -e 0", value: median(status.b), unit: "ms" },
          target: { on: "ratio", op: "<=", limit: 2, text: "≤ 2×" },
          detail: `${statusSamples} runs each; includes its Secrets Manager calls to moto on loopback`,
        }),
      );
    } catch (error) {
      rows.push(failed("`llamacloud-keys status` (empty state) wall time", error.message));
    }
    // CPU time (user + system) of the same commands: the machine's load inflates wall time, not CPU.
    const cpuOf = async (args, runEnv) => {
      const result = await run(node, ["-r", join(__dirname, "cpu-at-exit.js"), ...args], { env: runEnv });
      const match = /BENCH_CPU_MS=([\d.]+)/.exec(result.stderr);
      if (result.code !== 0 || match === null) {
        throw new Error(
          `${args.join(" ")} exited ${result.code ?? result.signal}: ${tail(result.stderr, 5)}`,
        );
      }
      return Number(match[1]);
    };
    try {
      const cpu = await alternate(
        statusSamples,
        () => cpuOf([bin, "status"], env),
        () => cpuOf(["-e", "0"]),
      );
      rows.push(
        row({
          name: "`llamacloud-keys status` (empty state) CPU time (median)",
          value: median(cpu.a),
          unit: "ms",
          baseline: { name: "node -e 0", value: median(cpu.b), unit: "ms" },
          detail: `${statusSamples} runs each; user + system time of the process, from process.cpuUsage() at exit; Node's compile cache warm (every run after the first)`,
        }),
      );
    } catch (error) {
      rows.push(failed("`llamacloud-keys status` (empty state) CPU time", error.message));
    }
    // The bin enables Node's compile cache; a first run (or NODE_DISABLE_COMPILE_CACHE=1) compiles
    // every module it loads.
    try {
      const uncached = { ...env, NODE_DISABLE_COMPILE_CACHE: "1" };
      const cpu = await alternate(
        statusSamples,
        () => cpuOf([bin, "status"], uncached),
        () => cpuOf(["-e", "0"]),
      );
      rows.push(
        row({
          name: "`llamacloud-keys status` (empty state) CPU time, compile cache off (median)",
          value: median(cpu.a),
          unit: "ms",
          baseline: { name: "node -e 0", value: median(cpu.b), unit: "ms" },
          detail: `${statusSamples} runs each; NODE_DISABLE_COMPILE_CACHE=1: what a first run after an install or upgrade costs`,
        }),
      );
    } catch (error) {
      rows.push(failed("`llamacloud-keys status` (empty state) CPU time, compile cache off", error.message));
    }
    rows.push(...(await daemonIdleRss(env, quick, log)));
  } finally {
    await Promise.all([emulator.stop(), moto.stop()]);
  }
  return rows;
});

/**
 * Starts the daemon, waits for its first pass to end (its log falls quiet after a line about the
 * pass), samples its RSS, and compares it with an idle `node` that loaded nothing.
 */
async function daemonIdleRss(env, quick, log) {
  const name = "daemon idle RSS after its first pass";
  const target = DAEMON_RSS_TARGET;
  log("daemon: starting `llamacloud-keys rotator --start-delay 0`");
  // --start-delay 0: the daemon otherwise waits a random time (up to 30 s) before its first pass.
  const daemon = spawnTracked(node, [bin, "rotator", "--start-delay", "0"], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  let lastOutputAt = Date.now();
  let sawPass = false;
  const onData = (chunk) => {
    output += chunk;
    lastOutputAt = Date.now();
    // The daemon logs one event per line (JSON when not on a terminal): "pass:finished" ends a pass.
    if (/pass:finished|pass \S+ finished/.test(String(chunk))) sawPass = true;
  };
  daemon.stdout.on("data", onData);
  daemon.stderr.on("data", onData);
  const idle = spawnTracked(node, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
  // The floor under the daemon: an idle node that has loaded the libraries every pass needs (zod,
  // the Secrets Manager client, node-cron) and run nothing. Resolved from the package's own
  // dependencies, as the daemon loads them.
  const libraries = spawnTracked(
    node,
    [
      "-e",
      `for (const m of ${JSON.stringify(DAEMON_LIBRARIES)}) require(require.resolve(m, { paths: [${JSON.stringify(repoRoot)}] })); setInterval(() => {}, 1000);`,
    ],
    { stdio: "ignore" },
  );
  try {
    const deadline = Date.now() + (quick ? 8_000 : 20_000);
    // Idle = a pass was logged and nothing has been printed for a second (or the deadline passed).
    while (Date.now() < deadline && daemon.exitCode === null) {
      if (sawPass && Date.now() - lastOutputAt > 1_000) break;
      await sleep(100);
    }
    if (daemon.exitCode !== null) {
      return [
        failed(name, `the daemon exited (${daemon.exitCode}) before it was idle: ${tail(output, 5)}`, target),
      ];
    }
    const rss = rssMB(daemon.pid);
    const baseline = rssMB(idle.pid);
    const floor = rssMB(libraries.pid);
    const split = memorySplit(daemon.pid);
    const idleSplit = memorySplit(idle.pid);
    killTree(daemon, "SIGTERM");
    const exit = await Promise.race([daemon.exited, sleep(10_000).then(() => ({ code: "timeout" }))]);
    const rows = [
      row({
        name,
        value: rss,
        unit: "MB",
        baseline: { name: "idle node process", value: baseline, unit: "MB" },
        target,
        detail:
          `${sawPass ? "after its first pass was logged" : "first pass not seen in its log; sampled at the deadline"}; exit on SIGTERM: ${exit.code ?? exit.signal}` +
          (split === undefined
            ? ""
            : `; of it, ${split.binaryMB.toFixed(1)} MB are pages of the node binary itself (idle node: ${idleSplit?.binaryMB.toFixed(1)} MB), clean and shared between node processes`),
      }),
      row({
        name: "idle node with the daemon's libraries loaded (zod, the Secrets Manager client, node-cron), nothing run",
        value: floor,
        unit: "MB",
        baseline: { name: "idle node process", value: baseline, unit: "MB" },
        detail: `the floor under the daemon's RSS while it uses these libraries; the daemon is ${(rss - floor).toFixed(1)} MB above it`,
      }),
    ];
    if (split !== undefined && idleSplit !== undefined) {
      // What the daemon adds that no other node process shares: its heap and other private pages.
      rows.push(
        row({
          name: "daemon idle private anonymous memory (heap and the like)",
          value: split.anonymousMB,
          unit: "MB",
          baseline: { name: "idle node process", value: idleSplit.anonymousMB, unit: "MB" },
          detail: "Anonymous in /proc/<pid>/smaps_rollup: the part of RSS that is the process's own",
        }),
      );
    }
    return rows;
  } finally {
    killTree(daemon, "SIGKILL");
    killTree(idle, "SIGKILL");
    killTree(libraries, "SIGKILL");
  }
}
