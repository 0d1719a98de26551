// Rotation throughput (rotator/): N managed secrets, the emulator answering each LlamaCloud request
// after 20 ms, one `runOnce` pass that rotates them all (forced) at concurrency 1, 4, 16 and 32.
// Rotations per second are compared with the protocol's bound, not with the code's own call count:
// concurrency ÷ 4 sequential round trips (read state: DescribeSecret with AWSCURRENT's value; mint;
// write AWSPENDING with the test of the new key; promote), each at the uncontended latency of its
// calls measured in this run. Calls and sequential round trips per rotation are counted by proxies
// in front of moto and the emulator. Each pass runs in a child process, so its peak RSS is the
// rotator's own.

const { randomUUID } = require("node:crypto");
const { existsSync } = require("node:fs");
const { join } = require("node:path");
const { median, msSince, run, runConcurrently, tail } = require("./measure");
const { benchmark, failed, missing, notBuilt, repoRoot, row } = require("./report");
const {
  benchRegion,
  motoCredentials,
  startCountingProxy,
  startEmulatorProcess,
  startMoto,
} = require("./services");

const KEY_PREFIX = "llamacloud-keys";
const LATENCY_MS = 20;

/**
 * The one place that knows the rotator's programmatic API: `loadConfig("rotate", flags, env)` then
 * `runOnce(config)`, exactly what `llamacloud-keys rotate --all --force --concurrency N` does.
 * Services and credentials reach it through the standard environment, as in production.
 */
function rotateAll(rotator, { concurrency }) {
  const config = rotator.loadConfig("rotate", { all: true, force: true, concurrency: String(concurrency) });
  return rotator.runOnce(config);
}

/** The rotator's entry points: from its index once it exports them, else from their own modules. */
function loadRotator() {
  const fromIndex = existsSync(join(repoRoot, "dist", "rotator", "index.js"))
    ? require("../dist/rotator")
    : {};
  if (typeof fromIndex.runOnce === "function" && typeof fromIndex.loadConfig === "function") return fromIndex;
  return {
    runOnce: require("../dist/rotator/run-once").runOnce,
    loadConfig: require("../dist/rotator/config").loadConfig,
  };
}

if (process.argv[2] === "--worker") {
  worker(JSON.parse(process.argv[3]));
} else {
  benchmark("rotation", main);
}

/** In the child: load the rotator, run one pass, report wall time and peak RSS on stdout. */
async function worker({ concurrency, idle }) {
  try {
    const rotator = loadRotator();
    if (idle) {
      // Baseline for memory: the same process with the rotator loaded but nothing run.
      process.stdout.write(`${JSON.stringify({ maxRssMB: process.resourceUsage().maxRSS / 1024 })}\n`);
      process.exit(0);
    }
    const start = process.hrtime.bigint();
    const result = await rotateAll(rotator, { concurrency });
    const elapsedMs = msSince(start);
    const summary = {
      exitCode: result.exitCode,
      rotated: result.results.filter((r) => r.rotated).length,
      failed: result.results.filter((r) => !r.ok).map((r) => r.error?.code ?? "unknown"),
    };
    process.stdout.write(
      `${JSON.stringify({ elapsedMs, maxRssMB: process.resourceUsage().maxRSS / 1024, summary })}\n`,
    );
    process.exit(0);
  } catch (error) {
    process.stdout.write(`${JSON.stringify({ error: String(error?.stack ?? error) })}\n`);
    process.exit(1);
  }
}

async function main({ quick, log }) {
  const levels = quick ? [1, 4] : [1, 4, 16, 32];
  const secretsPerLevel = quick ? 8 : 200;
  // Secrets spread as a real estate would be: projects × environments. The rotator lists a
  // project's keys to find orphans, so piling every secret into one project would measure list
  // size, not rotation. Each level has projects of its own so no level inherits another's keys.
  const environmentsPerProject = 4;
  const throughputTarget = (c) =>
    c === 1 ? { on: "ratio", op: ">=", limit: 0.7, text: "≥ 0.7 of bound" } : undefined;
  const rssTarget = { on: "value", op: "<=", limit: 150, text: "≤ 150 MB" };
  const rowName = (c) =>
    `rotations/s at concurrency ${c} (${secretsPerLevel} secrets, ${LATENCY_MS} ms latency)`;

  const absent = notBuilt("rotator/run-once.js") ?? notBuilt("rotator/config.js");
  if (absent !== undefined) {
    return [
      ...levels.map((c) => missing(rowName(c), absent, throughputTarget(c))),
      missing("rotator peak RSS", absent, rssTarget),
    ];
  }

  const { createSecretStore, managementTags } = require("../dist/secrets");
  const { buildPayload } = require("../dist/secrets/payload");
  const { createLlamaCloudClient } = require("../dist/llamacloud");
  const projectsPerLevel = Math.ceil(secretsPerLevel / environmentsPerProject);
  const projectName = (c, j) => `c${c}-p${j}`;
  const moto = await startMoto();
  const emulator = await startEmulatorProcess({
    seed: {
      organizations: [{ name: "Bench Organization" }],
      projects: levels.flatMap((c) =>
        Array.from({ length: projectsPerLevel }, (_, j) => ({ name: projectName(c, j) })),
      ),
      users: [{ name: "admin", admin: "*", keys: [{ name: "bench-admin", project: null }] }],
    },
  });
  const projectIds = new Map(emulator.projects.map((p) => [p.name, p.id]));
  // The rotator reaches both services through counting proxies: calls per rotation, by operation,
  // and each call's upstream latency, whatever the rotator's code looks like.
  const smProxy = await startCountingProxy(moto.endpoint);
  const llamaProxy = await startCountingProxy(emulator.url);
  const admin = createLlamaCloudClient({ apiKey: emulator.adminKey, baseUrl: emulator.url });
  const probeClient = createLlamaCloudClient({ apiKey: emulator.adminKey, baseUrl: llamaProxy.endpoint });
  const stores = [];
  const storeFor = (region, endpoint = moto.endpoint) => {
    const store = createSecretStore({ region, endpoint, credentials: motoCredentials });
    stores.push(store);
    return store;
  };
  try {
    // Set-up at zero latency: N secrets per level, each with a live key written the way the
    // provider writes it (key named after the version that holds it, management tags).
    log(`setting up ${levels.length} × ${secretsPerLevel} managed secrets`);
    const setups = {};
    for (const c of levels) {
      const region = `${benchRegion("rotation")}-c${c}`;
      const store = storeFor(region);
      const secrets = new Array(secretsPerLevel);
      await runConcurrently(secretsPerLevel, 16, async (i) => {
        const projectId = projectIds.get(projectName(c, Math.floor(i / environmentsPerProject)));
        const environment = `env${i % environmentsPerProject}`;
        const token = randomUUID();
        const { key, secret } = await admin.createApiKey({
          projectId,
          name: `${KEY_PREFIX}/${projectId}/${environment}/${token}`,
        });
        const { arn } = await store.createSecret({
          name: `bench/rotation/${i}`,
          tags: managementTags({ projectId, environment, rotateEvery: "30d", grace: "2h" }),
        });
        await store.writeVersion(arn, {
          token,
          stage: "AWSCURRENT",
          payload: buildPayload({
            apiKey: secret,
            keyId: key.id,
            keyName: key.name,
            projectId,
            organizationId: emulator.organizationId,
            environment,
            // The rotator refuses a secret whose key is for another host than the one it talks to.
            baseUrl: llamaProxy.endpoint,
          }),
        });
        secrets[i] = { arn, token };
      });
      setups[c] = { region, store, secrets };
    }

    await emulator.control("PUT", "config", { latencyMs: LATENCY_MS });
    // The client's own share of a call (SDK signing, undici, parsing): end-to-end time minus the
    // upstream time the proxy saw, for sequential probe calls from this process.
    const probes = quick ? 10 : 30;
    const clientShare = async (proxy, call) => {
      const from = proxy.calls.length;
      const endToEnd = [];
      for (let i = 0; i < probes; i++) {
        const start = process.hrtime.bigint();
        await call();
        endToEnd.push(msSince(start));
      }
      return Math.max(0, median(endToEnd) - median(proxy.calls.slice(from).map((x) => x.ms)));
    };
    const firstSecret = setups[levels[0]].secrets[0].arn;
    const probeStore = storeFor(setups[levels[0]].region, smProxy.endpoint);
    const share = {
      sm: await clientShare(smProxy, () => probeStore.describe(firstSecret)),
      llama: await clientShare(llamaProxy, () =>
        probeClient.getProject(projectIds.get(projectName(levels[0], 0))),
      ),
    };
    log(
      `client share per call: Secrets Manager ${share.sm.toFixed(1)} ms, LlamaCloud ${share.llama.toFixed(1)} ms`,
    );

    const env = (region) => ({
      ...process.env,
      AWS_REGION: region,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: smProxy.endpoint,
      AWS_ACCESS_KEY_ID: motoCredentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: motoCredentials.secretAccessKey,
      LLAMA_CLOUD_API_KEY: emulator.adminKey,
      LLAMA_CLOUD_BASE_URL: llamaProxy.endpoint,
    });
    const rows = [];
    let peakRss = 0;
    let uncontended; // Map "service op" → median upstream ms, from the first (concurrency 1) pass
    let first; // { c, rate, perRotation, roundTrips, medians } of the first pass
    let boundMs; // the protocol's 4 round trips at uncontended latency, from the first pass
    for (const c of levels) {
      const { region, store, secrets } = setups[c];
      const from = { sm: smProxy.calls.length, llama: llamaProxy.calls.length };
      log(`concurrency ${c}: one forced pass over ${secretsPerLevel} secrets`);
      const pass = await run(process.execPath, [__filename, "--worker", JSON.stringify({ concurrency: c })], {
        env: env(region),
        timeoutMs: Math.max(60_000, secretsPerLevel * 2_000),
      });
      const report = lastJsonLine(pass.stdout);
      if (pass.code !== 0 || report === undefined || report.error !== undefined) {
        rows.push(failed(rowName(c), report?.error ?? `worker exited ${pass.code}: ${tail(pass.stderr, 5)}`));
        continue;
      }
      // Count from Secrets Manager, not from the rotator's own report: a rotation happened when
      // AWSCURRENT moved off the version set up above.
      let rotated = 0;
      await runConcurrently(secrets.length, 16, async (i) => {
        const description = await store.describe(secrets[i].arn);
        if (description.currentVersionId !== secrets[i].token) rotated += 1;
      });
      if (rotated === 0) {
        const why =
          report.summary.failed.length > 0
            ? `${report.summary.failed.length} failed: ${report.summary.failed.join(", ")}`
            : `the rotator reported ${report.summary.rotated} rotated; ${tail(pass.stderr, 3) || "no log"}`;
        rows.push(failed(rowName(c), `the pass rotated none of ${secretsPerLevel} secrets: ${why}`));
        continue;
      }
      const calls = [
        ...smProxy.calls.slice(from.sm).map((x) => ({ ...x, service: "sm" })),
        ...llamaProxy.calls.slice(from.llama).map((x) => ({ ...x, service: "llama" })),
      ];
      const byOp = new Map();
      for (const x of calls) {
        const key = `${x.service} ${x.operation}`;
        byOp.set(key, [...(byOp.get(key) ?? []), x.ms]);
      }
      uncontended ??= new Map([...byOp].map(([key, times]) => [key, median(times)]));
      boundMs ??= protocolBoundMs(uncontended, share);
      const bound = (c * 1000) / boundMs.total;
      const rate = rotated / (report.elapsedMs / 1000);
      const count = (service) => calls.filter((x) => x.service === service);
      const perRotation = { llama: count("llama").length / rotated, sm: count("sm").length / rotated };
      const medians = {
        llama: median(count("llama").map((x) => x.ms)),
        sm: median(count("sm").map((x) => x.ms)),
      };
      // At concurrency 1 the secrets are rotated one after the other, so the pass's longest chain of
      // calls that waited for one another, over the rotations, is the round trips one rotation takes.
      const roundTrips = sequentialRoundTrips(calls) / rotated;
      first ??= { c, rate, perRotation, roundTrips, medians };
      peakRss = Math.max(peakRss, report.maxRssMB);
      const scaling =
        c === first.c
          ? ""
          : `; ${(rate / ((first.rate * c) / first.c)).toFixed(2)} of linear scaling from concurrency ${first.c}`;
      const failures =
        report.summary.failed.length === 0 ? "" : `; failed: ${report.summary.failed.join(", ")}`;
      rows.push(
        row({
          name: rowName(c),
          value: rate,
          unit: "rot/s",
          baseline: {
            name: `protocol bound: ${c} ÷ 4 round trips of ${boundMs.total.toFixed(0)} ms`,
            value: bound,
            unit: "rot/s",
          },
          target: throughputTarget(c),
          detail:
            `${rotated}/${secretsPerLevel} rotated in ${(report.elapsedMs / 1000).toFixed(1)} s${scaling}; ` +
            `median upstream latency: LlamaCloud ${medians.llama.toFixed(1)} ms (at concurrency ${first.c}: ${first.medians.llama.toFixed(1)}), ` +
            `Secrets Manager ${medians.sm.toFixed(1)} ms (${first.medians.sm.toFixed(1)})${failures}`,
        }),
      );
    }
    if (first !== undefined) {
      rows.push(
        row({
          name: "calls per rotation (LlamaCloud + Secrets Manager)",
          value: Number((first.perRotation.llama + first.perRotation.sm).toFixed(1)),
          unit: "",
          target: { on: "value", op: "<=", limit: 7.5, text: "≤ 7 (+ shared lists)" },
          detail:
            `${first.perRotation.llama.toFixed(2)} LlamaCloud + ${first.perRotation.sm.toFixed(2)} Secrets Manager, ` +
            `at concurrency ${first.c}; includes the pass's listing and one key list per project (${environmentsPerProject} secrets each)`,
        }),
        row({
          name: "sequential round trips per rotation",
          value: Number(first.roundTrips.toFixed(2)),
          unit: "",
          target: { on: "value", op: "<=", limit: 5.5, text: "≤ 5 (+ shared listing)" },
          detail:
            `the pass's longest chain of calls that each waited for the one before, ÷ rotations, at concurrency ${first.c}; ` +
            `protocol bound 4: ${boundMs.parts}`,
        }),
      );
    }
    if (peakRss > 0) {
      const idle = lastJsonLine(
        (
          await run(process.execPath, [__filename, "--worker", JSON.stringify({ idle: true })], {
            env: env("none"),
          })
        ).stdout,
      );
      rows.push(
        row({
          name: "rotator peak RSS (largest over the passes)",
          value: peakRss,
          unit: "MB",
          baseline: {
            name: "same process, rotator loaded, idle",
            value: idle?.maxRssMB ?? Number.NaN,
            unit: "MB",
          },
          target: rssTarget,
        }),
      );
    } else {
      rows.push(failed("rotator peak RSS", "no pass completed", rssTarget));
    }
    return rows;
  } finally {
    await admin.close();
    await probeClient.close();
    for (const store of stores) store.close();
    await Promise.all([smProxy.stop(), llamaProxy.stop()]);
    await emulator.stop();
    await moto.stop();
  }
}

/**
 * The protocol's rotation: 4 round trips, each as long as its slowest call at the uncontended
 * (concurrency 1) median latency plus the client's share: read state (DescribeSecret with
 * AWSCURRENT's value), mint (POST api-keys), write AWSPENDING with the test of the new key
 * (PutSecretValue with GET project), promote (UpdateSecretVersionStage).
 */
function protocolBoundMs(uncontended, share) {
  const at = (service, op) => {
    const ms = uncontended.get(`${service} ${op}`);
    return ms === undefined ? undefined : ms + share[service];
  };
  const slowest = (...values) => Math.max(...values.filter((v) => v !== undefined));
  const steps = [
    ["read state", slowest(at("sm", "DescribeSecret"), at("sm", "GetSecretValue"))],
    ["mint", slowest(at("llama", "POST /api/v1/api-keys"))],
    ["write+test", slowest(at("sm", "PutSecretValue"), at("llama", "GET /api/v1/projects/:id"))],
    ["promote", slowest(at("sm", "UpdateSecretVersionStage"))],
  ];
  const total = steps.reduce((sum, [, ms]) => sum + ms, 0);
  return { total, parts: steps.map(([name, ms]) => `${name} ${ms.toFixed(1)} ms`).join(", ") };
}

/**
 * The longest chain of calls in which each started after the one before it ended: how many round
 * trips had to follow one another. Calls made together (overlapping) count once.
 */
function sequentialRoundTrips(calls) {
  const timed = [...calls].sort((a, b) => a.startMs - b.startMs);
  // depth[i]: the longest chain ending with call i. Calls sorted by start; a call can only follow
  // calls that ended before it started, which all started before it.
  const depth = [];
  let best = 0;
  for (let j = 0; j < timed.length; j++) {
    let before = 0;
    for (let i = j - 1; i >= 0; i--) {
      if (timed[i].endMs <= timed[j].startMs && depth[i] > before) before = depth[i];
    }
    depth.push(before + 1);
    if (before + 1 > best) best = before + 1;
  }
  return best;
}

function lastJsonLine(text) {
  const line = text.trim().split("\n").pop();
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}
