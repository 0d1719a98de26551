// How one rotator process's cost grows with the number of managed secrets, and what the rotator
// itself costs apart from its backends. For N = 100, 1,000 and 10,000 secrets (ProjectKeys-style
// tags: 4 environments per project, so N / 4 projects), two `runOnce` passes through the public API
// (`loadConfig` + `runOnce` from `llamacloud-keys/rotator`), each in a child process:
//   - an idle pass (nothing due): what every scheduled pass costs;
//   - a pass with 10 % due (their `rotate-every` tag shortened to 1 s just before it).
// Per pass: wall time, Secrets Manager and LlamaCloud calls (counted by proxies in front of moto
// and the emulator), the child's CPU time during the pass (process.cpuUsage, user + system: the
// rotator's own work, SDK and HTTP client included, whatever the backends' speed) and its peak RSS.
// The rotator's cost per rotation is the due pass minus the idle pass, divided by the rotations.

const { randomUUID } = require("node:crypto");
const { msSince, run, runConcurrently, tail } = require("./measure");
const { benchmark, failed, missing, notBuilt, row } = require("./report");
const {
  benchRegion,
  motoCredentials,
  startCountingProxy,
  startEmulatorProcess,
  startMoto,
} = require("./services");

const KEY_PREFIX = "llamacloud-keys";
const ENVIRONMENTS = 4;
const DUE_FRACTION = 0.1;
const CONCURRENCY = 16;
const PASS_LIMIT_MIN = 15;
const NAMES = {
  cpuRotation: "rotator CPU per rotation",
  cpuIdle: "rotator CPU per idle secret (a pass where nothing is due)",
  linear: "linearity: marginal cost per secret, largest step ÷ smallest step",
  rss: "peak RSS growth per managed secret",
  limit: `N at which one process's pass exceeds ${PASS_LIMIT_MIN} min`,
};

if (require.main !== module) {
  // Required (not run): the row arithmetic alone, to recompute rows from recorded passes.
  module.exports = { rowsFrom: (curve, quick) => rowsFrom(curve, NAMES, quick) };
} else if (process.argv[2] === "--worker") {
  worker(JSON.parse(process.argv[3]));
} else {
  benchmark("scale", main);
}

/** In the child: load the rotator through its public entry point, run one pass, report. */
async function worker({ force }) {
  try {
    const rotator = require("../dist/rotator");
    const config = rotator.loadConfig("rotate", {
      all: true,
      ...(force ? { force: true } : {}),
      concurrency: String(CONCURRENCY),
      // The default deadline (10 min) would cut the largest passes short on a loaded machine.
      "pass-deadline": "3h",
    });
    const loadedRssMB = process.memoryUsage().rss / 2 ** 20;
    // Heap still reachable before and after the pass (after a full GC): what a pass keeps, apart
    // from the garbage that peak RSS also counts.
    require("node:v8").setFlagsFromString("--expose-gc");
    const gc = require("node:vm").runInNewContext("gc");
    gc();
    const heapBeforeMB = process.memoryUsage().heapUsed / 2 ** 20;
    // Where the peak goes: the V8 heap's committed size at its largest during the pass (sampled;
    // RSS beyond it is the node binary's pages, malloc'd memory and buffers).
    let peakHeapTotal = 0;
    const sampleHeap = () => {
      peakHeapTotal = Math.max(peakHeapTotal, process.memoryUsage().heapTotal);
    };
    const sampler = setInterval(sampleHeap, 200);
    const cpu = process.cpuUsage();
    const start = process.hrtime.bigint();
    const result = await rotator.runOnce(config);
    const elapsedMs = msSince(start);
    const used = process.cpuUsage(cpu);
    clearInterval(sampler);
    sampleHeap();
    gc();
    const heapAfterMB = process.memoryUsage().heapUsed / 2 ** 20;
    const summary = {
      exitCode: result.exitCode,
      secrets: result.results.length,
      rotated: result.results.filter((r) => r.rotated).length,
      failed: result.results.filter((r) => !r.ok).map((r) => r.error?.code ?? "unknown"),
      error: result.error?.code,
      abandoned: result.abandoned,
    };
    process.stdout.write(
      `${JSON.stringify({
        elapsedMs,
        cpuMs: (used.user + used.system) / 1000,
        loadedRssMB,
        maxRssMB: process.resourceUsage().maxRSS / 1024,
        heapBeforeMB,
        heapAfterMB,
        peakHeapTotalMB: peakHeapTotal / 2 ** 20,
        summary,
      })}\n`,
    );
    process.exit(0);
  } catch (error) {
    process.stdout.write(`${JSON.stringify({ error: String(error?.stack ?? error) })}\n`);
    process.exit(1);
  }
}

async function main({ quick, log }) {
  // BENCH_SCALE_SIZES narrows a run while investigating (e.g. "100,1000").
  const sizes =
    process.env.BENCH_SCALE_SIZES?.split(",").map(Number) ?? (quick ? [8, 24] : [100, 1_000, 10_000]);
  const absent = notBuilt("rotator/index.js");
  const names = NAMES;
  if (absent !== undefined) {
    return [
      missing(names.cpuRotation, absent),
      missing(names.cpuIdle, absent),
      missing(names.rss, absent, { on: "value", op: "<=", limit: 2, text: "≤ 2 KB" }),
    ];
  }
  const { createLlamaCloudClient } = require("../dist/llamacloud");
  const { managementTags, serializePayload, TAG_ROTATE_EVERY } = require("../dist/secrets");
  const { buildPayload } = require("../dist/secrets/payload");
  const {
    CreateSecretCommand,
    DescribeSecretCommand,
    SecretsManagerClient,
    TagResourceCommand,
  } = require("@aws-sdk/client-secrets-manager");
  const { NodeHttpHandler } = require("@smithy/node-http-handler");

  const projectsFor = (n) => Math.ceil(n / ENVIRONMENTS);
  const projectName = (n, j) => `n${n}-p${j}`;
  const moto = await startMoto();
  const emulator = await startEmulatorProcess({
    seed: {
      organizations: [{ name: "Bench Organization" }],
      projects: sizes.flatMap((n) =>
        Array.from({ length: projectsFor(n) }, (_, j) => ({ name: projectName(n, j) })),
      ),
      users: [{ name: "admin", admin: "*", keys: [{ name: "bench-admin", project: null }] }],
    },
  });
  const projectIds = new Map(emulator.projects.map((p) => [p.name, p.id]));
  const smProxy = await startCountingProxy(moto.endpoint);
  const llamaProxy = await startCountingProxy(emulator.url);
  const admin = createLlamaCloudClient({ apiKey: emulator.adminKey, baseUrl: emulator.url });
  const clients = [];
  const clientFor = (region) => {
    const client = new SecretsManagerClient({
      region,
      endpoint: moto.endpoint,
      credentials: motoCredentials,
      requestHandler: new NodeHttpHandler({ httpAgent: { keepAlive: true, maxSockets: 32 } }),
    });
    clients.push(client);
    return client;
  };
  const env = (region) => ({
    ...process.env,
    AWS_REGION: region,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: smProxy.endpoint,
    AWS_ACCESS_KEY_ID: motoCredentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: motoCredentials.secretAccessKey,
    LLAMA_CLOUD_API_KEY: emulator.adminKey,
    LLAMA_CLOUD_BASE_URL: llamaProxy.endpoint,
  });

  /** One pass in a child; returns its report plus the calls the proxies counted during it. */
  const pass = async (region, n, force) => {
    const from = { sm: smProxy.calls.length, llama: llamaProxy.calls.length };
    const result = await run(process.execPath, [__filename, "--worker", JSON.stringify({ force })], {
      env: env(region),
      timeoutMs: 3 * 3600_000,
    });
    let report;
    try {
      report = JSON.parse(result.stdout.trim().split("\n").pop());
    } catch {
      report = undefined;
    }
    if (result.code !== 0 || report === undefined || report.error !== undefined) {
      throw new Error(
        report?.error ?? `worker exited ${result.code ?? result.signal}: ${tail(result.stderr, 5)}`,
      );
    }
    if (report.summary.secrets !== n || report.summary.error !== undefined || report.summary.abandoned) {
      throw new Error(
        `the pass saw ${report.summary.secrets} of ${n} secrets: ${JSON.stringify(report.summary)}`,
      );
    }
    return {
      ...report,
      sm: smProxy.calls.length - from.sm,
      llama: llamaProxy.calls.length - from.llama,
    };
  };

  const curve = [];
  const failures = [];
  try {
    for (const n of sizes) {
      try {
        const region = `${benchRegion("scale")}-n${n}`;
        const client = clientFor(region);
        // Seeding: one LlamaCloud create and one CreateSecret (value, version token and tags in one
        // call) per secret, 32 at a time; the version id is the token the key is named after, as the
        // provider writes them.
        log(`N=${n}: seeding ${n} managed secrets in ${projectsFor(n)} projects`);
        const seedStart = process.hrtime.bigint();
        const arns = new Array(n);
        // CreateSecret one at a time: moto's secret lookup iterates its dict of secrets, and a create
        // in another of its threads makes that iteration fail ("dictionary changed size during
        // iteration", HTTP 500), the more often the more secrets there are.
        let creating = Promise.resolve();
        const oneAtATime = (fn) => {
          const next = creating.then(fn, fn);
          creating = next.catch(() => {});
          return next;
        };
        await runConcurrently(n, 32, async (i) => {
          const projectId = projectIds.get(projectName(n, Math.floor(i / ENVIRONMENTS)));
          const environment = `env${i % ENVIRONMENTS}`;
          const token = randomUUID();
          const { key, secret } = await withRetries(() =>
            admin.createApiKey({
              projectId,
              name: `${KEY_PREFIX}/${projectId}/${environment}/${token}`,
            }),
          );
          const tags = managementTags({ projectId, environment, rotateEvery: "30d", grace: "2h" });
          const out = await withRetries(
            () =>
              oneAtATime(() =>
                client.send(
                  new CreateSecretCommand({
                    Name: `bench/scale/${n}/${i}`,
                    ClientRequestToken: token,
                    SecretString: serializePayload(
                      buildPayload({
                        apiKey: secret,
                        keyId: key.id,
                        keyName: key.name,
                        projectId,
                        organizationId: emulator.organizationId,
                        environment,
                        // The rotator refuses a key for another host than the one it talks to.
                        baseUrl: llamaProxy.endpoint,
                      }),
                    ),
                    Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
                  }),
                ),
              ),
            // A retry after a lost answer finds the secret made: same name, same token.
            async (error) =>
              error?.name === "ResourceExistsException"
                ? {
                    ARN: (await client.send(new DescribeSecretCommand({ SecretId: `bench/scale/${n}/${i}` })))
                      .ARN,
                  }
                : undefined,
          );
          arns[i] = out.ARN;
        });
        const seedMs = msSince(seedStart);
        log(
          `N=${n}: seeded in ${(seedMs / 1000).toFixed(1)} s (${((2 * n) / (seedMs / 1000)).toFixed(0)} calls/s)`,
        );

        log(`N=${n}: idle pass`);
        const idle = await pass(region, n, false);
        // 10 % due: their rotate-every shortened to 1 s; the pass starts over a second later.
        const due = Math.max(1, Math.round(n * DUE_FRACTION));
        await runConcurrently(due, 32, (i) =>
          withRetries(() =>
            client.send(
              new TagResourceCommand({
                SecretId: arns[Math.floor((i * n) / due)],
                Tags: [{ Key: TAG_ROTATE_EVERY, Value: "1s" }],
              }),
            ),
          ),
        );
        await new Promise((resolve) => setTimeout(resolve, 1_100));
        log(`N=${n}: pass with ${due} due`);
        const duePass = await pass(region, n, false);
        if (duePass.summary.rotated !== due || duePass.summary.failed.length > 0) {
          throw new Error(
            `N=${n}: the due pass rotated ${duePass.summary.rotated} of ${due} (failed: ${duePass.summary.failed.join(", ") || "none"})`,
          );
        }
        curve.push({ n, seedMs, due, idle, duePass });
        // Each size's figures as they come: a later size failing leaves these on record.
        log(`N=${n}: ${JSON.stringify({ seedMs, due, idle, duePass })}`);
      } catch (error) {
        // Sizes already measured still make their rows; the failure is a row of its own.
        failures.push(failed(`N = ${n.toLocaleString("en-US")}: passes`, error.message));
        break;
      }
    }
    return [...(curve.length > 0 ? rowsFrom(curve, names, quick) : []), ...failures];
  } finally {
    await admin.close();
    for (const client of clients) client.destroy();
    await Promise.all([smProxy.stop(), llamaProxy.stop()]);
    await emulator.stop();
    await moto.stop();
  }
}

/**
 * Calls `fn` up to 4 times: moto (one Python process) sometimes answers a burst with an HTML error
 * page. `recover(error)` may turn an error of a retry into a result (undefined: keep retrying).
 */
async function withRetries(fn, recover = async () => undefined) {
  let lastError;
  for (let attempt = 0; attempt < 4; attempt++) {
    try {
      return await fn();
    } catch (error) {
      lastError = error;
      if (attempt > 0) {
        const recovered = await recover(error);
        if (recovered !== undefined) return recovered;
      }
      await new Promise((resolve) => setTimeout(resolve, 200 * 2 ** attempt));
    }
  }
  // Name what answered: an SDK deserialization error hides the HTTP status and body.
  const response = lastError?.$response;
  if (response !== undefined) {
    const body = typeof response.body === "string" ? response.body : "";
    lastError.message = `${lastError.message} (HTTP ${response.statusCode}${body === "" ? "" : `: ${body.slice(0, 200)}`})`;
  }
  throw lastError;
}

function rowsFrom(curve, names, quick) {
  const rows = [];
  const largest = curve.at(-1);
  const smallest = curve[0];
  // Per rotation: what the due pass cost beyond the idle pass over the same secrets.
  const perRotation = (c) => ({
    cpuMs: (c.duePass.cpuMs - c.idle.cpuMs) / c.due,
    sm: (c.duePass.sm - c.idle.sm) / c.due,
    llama: (c.duePass.llama - c.idle.llama) / c.due,
  });
  // Per idle secret: the idle pass's marginal cost between the smallest and the largest N, so the
  // process's fixed costs (clients built, code first run) are not spread over the secrets.
  const perIdle = (c) => {
    const base =
      c === smallest || curve.length < 2 ? { n: 0, idle: { cpuMs: 0, sm: 0, llama: 0 } } : smallest;
    const dn = c.n - base.n;
    return {
      cpuMs: (c.idle.cpuMs - base.idle.cpuMs) / dn,
      sm: (c.idle.sm - base.idle.sm) / dn,
      llama: (c.idle.llama - base.idle.llama) / dn,
      range: `N = ${base.n} → ${c.n}`,
    };
  };
  const rot = perRotation(largest);
  const idle = perIdle(largest);
  rows.push(
    row({
      name: `${names.cpuRotation} (N = ${largest.n.toLocaleString("en-US")}, ${largest.due} rotated)`,
      value: rot.cpuMs,
      unit: "ms",
      // Against inspecting an idle secret (both CPU): wall-time differences between two passes
      // swing with the machine's load, CPU does far less.
      baseline: { name: "rotator CPU per idle secret", value: perIdle(largest).cpuMs, unit: "ms" },
      detail:
        `${(1000 / rot.cpuMs).toFixed(0)} rotations/s per core of rotator CPU, whatever the backends' speed; ` +
        `${(rot.sm + rot.llama).toFixed(1)} calls per rotation beside it (${rot.llama.toFixed(1)} LlamaCloud + ${rot.sm.toFixed(1)} Secrets Manager), ` +
        "counted as the due pass minus the idle pass over the same secrets; " +
        `wall time: ${((largest.duePass.elapsedMs - largest.idle.elapsedMs) / largest.due).toFixed(1)} ms per rotation the same way (load-dependent)`,
    }),
    row({
      name: `${names.cpuIdle} (${idle.range})`,
      value: idle.cpuMs,
      unit: "ms",
      baseline: {
        name: "wall time per idle secret, same passes",
        value:
          (largest.idle.elapsedMs - (curve.length < 2 ? 0 : smallest.idle.elapsedMs)) /
          (largest.n - (curve.length < 2 ? 0 : smallest.n)),
        unit: "ms",
      },
      detail:
        `marginal cost between the two sizes (fixed start-up costs cancel); ${(1000 / idle.cpuMs).toFixed(0)} idle secrets/s per core; ${(idle.sm + idle.llama).toFixed(2)} calls per idle secret ` +
        `(${idle.llama.toFixed(2)} LlamaCloud + ${idle.sm.toFixed(2)} Secrets Manager)`,
    }),
  );
  for (const c of curve) {
    for (const [kind, p] of [
      ["idle pass", c.idle],
      [`pass with ${c.due} due`, c.duePass],
    ]) {
      const smRate = p.sm / (p.elapsedMs / 1000);
      rows.push(
        row({
          name: `N = ${c.n.toLocaleString("en-US")}: ${kind}, wall time`,
          value: p.elapsedMs / 1000,
          unit: "s",
          baseline: { name: "the rotator's CPU time in it", value: p.cpuMs / 1000, unit: "s" },
          curve: {
            n: c.n,
            pass: kind.startsWith("idle") ? "idle" : "due",
            wallS: p.elapsedMs / 1000,
            cpuS: p.cpuMs / 1000,
            sm: p.sm,
            llama: p.llama,
            peakRssMB: p.maxRssMB,
            loadedRssMB: p.loadedRssMB,
            smPerS: smRate,
          },
          detail:
            `${p.sm} Secrets Manager + ${p.llama} LlamaCloud calls (${smRate.toFixed(0)} SM calls/s); ` +
            `peak RSS ${p.maxRssMB.toFixed(1)} MB (${p.loadedRssMB.toFixed(1)} MB with the rotator loaded` +
            (p.heapAfterMB === undefined
              ? "); "
              : `; heap held after the pass: ${(p.heapAfterMB - p.heapBeforeMB).toFixed(1)} MB); `) +
            `rotator CPU busy ${((100 * p.cpuMs) / p.elapsedMs).toFixed(0)} % of the wall time` +
            (kind.startsWith("idle") ? `; seeding took ${(c.seedMs / 1000).toFixed(1)} s` : ""),
        }),
      );
    }
  }
  // Linear growth: the marginal cost per secret between consecutive sizes stays the same. The
  // ratio compares the largest step's with the smallest step's (1 = exactly linear).
  if (curve.length >= 2) {
    const steps = curve.slice(1).map((c, i) => {
      const prev = curve[i];
      const dn = c.n - prev.n;
      return {
        range: `${prev.n}→${c.n}`,
        calls: (c.idle.sm + c.idle.llama - prev.idle.sm - prev.idle.llama) / dn,
        cpuMs: (c.idle.cpuMs - prev.idle.cpuMs) / dn,
        dueCalls: (c.duePass.sm + c.duePass.llama - prev.duePass.sm - prev.duePass.llama) / dn,
        dueCpuMs: (c.duePass.cpuMs - prev.duePass.cpuMs) / dn,
      };
    });
    const first = steps[0];
    const last = steps.at(-1);
    // With one step (quick), compare the step's marginal cost with the average at the smallest N.
    const reference =
      steps.length >= 2
        ? first
        : {
            range: `0→${smallest.n}`,
            calls: (smallest.idle.sm + smallest.idle.llama) / smallest.n,
            cpuMs: smallest.idle.cpuMs / smallest.n,
            dueCalls: (smallest.duePass.sm + smallest.duePass.llama) / smallest.n,
            dueCpuMs: smallest.duePass.cpuMs / smallest.n,
          };
    const linearTarget = { on: "ratio", op: "<=", limit: 1.25, text: "≤ 1.25 (linear)" };
    rows.push(
      row({
        name: `${names.linear}: calls (idle pass)`,
        value: last.calls,
        unit: "calls/secret",
        baseline: { name: `step ${reference.range}`, value: reference.calls, unit: "calls/secret" },
        target: linearTarget,
        detail: `step ${last.range}; due pass: ${last.dueCalls.toFixed(2)} vs ${reference.dueCalls.toFixed(2)} calls/secret`,
      }),
      row({
        name: `${names.linear}: CPU (idle pass)`,
        value: last.cpuMs,
        unit: "ms/secret",
        baseline: { name: `step ${reference.range}`, value: reference.cpuMs, unit: "ms/secret" },
        target: linearTarget,
        detail: `step ${last.range}; due pass: ${last.dueCpuMs.toFixed(3)} vs ${reference.dueCpuMs.toFixed(3)} ms/secret`,
      }),
      row({
        name: `${names.linear}: CPU (pass with 10 % due)`,
        value: last.dueCpuMs,
        unit: "ms/secret",
        baseline: { name: `step ${reference.range}`, value: reference.dueCpuMs, unit: "ms/secret" },
        target: linearTarget,
      }),
    );
    const peak = (c) => Math.max(c.idle.maxRssMB, c.duePass.maxRssMB);
    const kbPerSecret = ((peak(largest) - peak(smallest)) * 1024) / (largest.n - smallest.n);
    // Each N runs in fresh processes that load the same code, so start-up and first-pass costs
    // (lazy loads, compiled code) cancel in the difference. Per step, and the V8 heap's share.
    const perStep = curve
      .slice(1)
      .map(
        (c, i) =>
          `${curve[i].n}→${c.n}: ${(((peak(c) - peak(curve[i])) * 1024) / (c.n - curve[i].n)).toFixed(1)} KB`,
      )
      .join(", ");
    const heapPeak = (c) =>
      Math.max(c.idle.peakHeapTotalMB ?? Number.NaN, c.duePass.peakHeapTotalMB ?? Number.NaN);
    const heapShare = Number.isNaN(heapPeak(largest) - heapPeak(smallest))
      ? ""
      : `; the V8 heap's committed size at its peak grew ${(((heapPeak(largest) - heapPeak(smallest)) * 1024) / (largest.n - smallest.n)).toFixed(1)} KB per secret (${heapPeak(smallest).toFixed(1)} → ${heapPeak(largest).toFixed(1)} MB)`;
    rows.push(
      row({
        name: `${names.rss} (N = ${smallest.n} → ${largest.n})`,
        value: kbPerSecret,
        unit: "KB",
        baseline: { name: `peak RSS at N = ${smallest.n}`, value: peak(smallest), unit: "MB" },
        ratio: peak(largest) / peak(smallest),
        target: { on: "value", op: "<=", limit: 2, text: "≤ 2 KB" },
        detail:
          `peak RSS ${peak(smallest).toFixed(1)} MB at N = ${smallest.n}, ${peak(largest).toFixed(1)} MB at N = ${largest.n} (the larger of the two passes, each in a fresh process); ` +
          `the ratio is largest ÷ smallest; per step: ${perStep}${heapShare}`,
      }),
    );
    if (largest.idle.heapAfterMB !== undefined && smallest.idle.heapAfterMB !== undefined) {
      const retained = (c) => c.idle.heapAfterMB - c.idle.heapBeforeMB;
      rows.push(
        row({
          name: `heap a pass still holds at its end, per managed secret (N = ${smallest.n} → ${largest.n})`,
          value: ((retained(largest) - retained(smallest)) * 1024) / (largest.n - smallest.n),
          unit: "KB",
          detail:
            `after a full GC, idle pass: ${retained(smallest).toFixed(1)} MB at N = ${smallest.n}, ${retained(largest).toFixed(1)} MB at N = ${largest.n} ` +
            "(the pass's result included); peak RSS minus this is garbage the heap grew to hold before collecting it",
        }),
      );
    }
    // Where a pass crosses 15 minutes: wall time per secret of the largest pass, as measured (moto
    // one Python process, so its ceiling), and from the rotator's CPU alone (an unlimited backend,
    // one core, calls overlapping at concurrency 16).
    const limitS = PASS_LIMIT_MIN * 60;
    const measuredPerSecret = largest.duePass.elapsedMs / 1000 / largest.n;
    const cpuPerSecret = largest.duePass.cpuMs / 1000 / largest.n;
    rows.push(
      row({
        name: `${names.limit} (10 % due, measured against moto)`,
        value: Math.floor(limitS / measuredPerSecret),
        unit: "secrets",
        baseline: {
          name: "from the rotator's CPU alone (unlimited backend, 1 core)",
          value: Math.floor(limitS / cpuPerSecret),
          unit: "secrets",
        },
        detail:
          `${(measuredPerSecret * 1000).toFixed(2)} ms wall per secret at N = ${largest.n} (moto answering ${(largest.duePass.sm / (largest.duePass.elapsedMs / 1000)).toFixed(0)} SM calls/s), ` +
          `${(cpuPerSecret * 1000).toFixed(3)} ms rotator CPU per secret; idle pass: ${Math.floor(limitS / (largest.idle.elapsedMs / 1000 / largest.n))} measured, ${Math.floor(limitS / (largest.idle.cpuMs / 1000 / largest.n))} from CPU` +
          (quick ? "; quick run: tiny N, extrapolation only shows the arithmetic" : ""),
      }),
    );
  }
  return rows;
}
