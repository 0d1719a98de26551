// The reader against what an app developer would use instead, in the same run: `createKeyReader`
// (secrets/reader.ts), `@aws-lambda-powertools/parameters`' SecretsProvider (maxAge 300 s, JSON
// transform: its documented way to cache a JSON secret) and the bare AWS SDK with a hand-rolled Map
// cache (what people write when they write their own). Cached get, cold get, 1,000 concurrent cold
// reads, and get() latency and failures while the secret rotates under load.

const { randomUUID } = require("node:crypto");
const { setTimeout: sleep } = require("node:timers/promises");
const { median, msSince, nsPerCall } = require("./measure");
const { benchmark, missing, row } = require("./report");
const { benchRegion, motoCredentials, startCountingProxy, startMoto } = require("./services");

const POWERTOOLS = "Powertools SecretsProvider";
const HAND_ROLLED = "bare SDK + Map cache";
const OURS = "createKeyReader";

/** Undefined when Powertools Parameters can be loaded, else why not. */
function powertoolsAbsent() {
  // The smoke test's stand-in for an install without it (a missing part must fail the run).
  if (process.env.BENCH_HIDE_POWERTOOLS === "1") return "Powertools hidden by BENCH_HIDE_POWERTOOLS=1";
  try {
    require.resolve("@aws-lambda-powertools/parameters/secrets");
    return undefined;
  } catch {
    return '@aws-lambda-powertools/parameters is not installed (a devDependency): run "npm ci"';
  }
}

/**
 * The three readers, each built fresh on `endpoint`. Every one returns the parsed payload's
 * `apiKey`, so callers compare like with like. `ttlMs` is each one's cache lifetime.
 */
function makeReaders(endpoint, region, secretId, ttlMs) {
  const { createKeyReader } = require("../dist/secrets");
  const { SecretsProvider } = require("@aws-lambda-powertools/parameters/secrets");
  const { GetSecretValueCommand, SecretsManagerClient } = require("@aws-sdk/client-secrets-manager");
  const clientConfig = { endpoint, region, credentials: motoCredentials };
  return {
    [OURS]: () => {
      // No jitter: the peers shorten no TTL either.
      const reader = createKeyReader({ secretId, ttl: ttlMs, jitter: 0, ...clientConfig });
      return { get: async () => (await reader.get()).apiKey, close: () => reader.close() };
    },
    [POWERTOOLS]: () => {
      const provider = new SecretsProvider({ clientConfig });
      const options = { maxAge: ttlMs / 1000, transform: "json" };
      return {
        get: async () => (await provider.get(secretId, options)).apiKey,
        close: () => provider.client.destroy(),
      };
    },
    [HAND_ROLLED]: () => {
      const client = new SecretsManagerClient(clientConfig);
      const cache = new Map();
      return {
        get: async () => {
          const hit = cache.get(secretId);
          if (hit !== undefined && hit.expires > Date.now()) return hit.value.apiKey;
          const out = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
          const value = JSON.parse(out.SecretString);
          cache.set(secretId, { value, expires: Date.now() + ttlMs });
          return value.apiKey;
        },
        close: () => client.destroy(),
      };
    },
  };
}

function payload(environment) {
  const { redacted } = require("../dist/secrets");
  const { buildPayload } = require("../dist/secrets/payload");
  return buildPayload({
    apiKey: redacted(`llx-${randomUUID().replaceAll("-", "")}${"c".repeat(16)}`),
    keyId: randomUUID(),
    keyName: "bench/reader-peers",
    projectId: "0b6a3f9e-6a53-4c55-9f39-6a0c1f8b7e21",
    environment,
    baseUrl: "https://api.cloud.llamaindex.ai",
  });
}

/** Percentile (0-100) of a list, nearest rank. */
function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** Runs each measure in a rotating order, `samples` times: a burst of noise hits every side. */
async function rotateOrder(samples, measures) {
  const names = Object.keys(measures);
  const out = Object.fromEntries(names.map((n) => [n, []]));
  for (let i = 0; i < samples; i++) {
    for (let j = 0; j < names.length; j++) {
      const name = names[(i + j) % names.length];
      out[name].push(await measures[name]());
    }
  }
  return out;
}

benchmark("reader-peers", async ({ quick, log }) => {
  const absent = powertoolsAbsent();
  const names = {
    cached: "cached get() per call (median)",
    cold: "cold get(): a fresh reader's first call (median)",
    flight: "1,000 concurrent cold get() → GetSecretValue calls",
    p50: "get() p50 latency while the secret rotates under load",
    p99: "get() p99 latency while the secret rotates under load",
    p999: "get() p99.9 latency while the secret rotates under load",
    failures: "get() failures while the secret rotates under load",
  };
  if (absent !== undefined) {
    return [
      missing(names.cached, absent, { on: "ratio", op: "<=", limit: 0.5, text: "≤ 0.5× Powertools" }),
      missing(names.flight, absent, { on: "value", op: "==", limit: 1, text: "= 1" }),
      missing(names.failures, absent, { on: "value", op: "==", limit: 0, text: "= 0" }),
    ];
  }
  const { createSecretStore } = require("../dist/secrets");
  const moto = await startMoto();
  const proxy = await startCountingProxy(moto.endpoint);
  const region = benchRegion("reader-peers");
  const store = createSecretStore({ endpoint: moto.endpoint, region, credentials: motoCredentials });
  const open = [];
  const build = (kind, endpoint, ttlMs) => {
    const reader = makeReaders(endpoint, region, arn, ttlMs)[kind]();
    open.push(reader);
    return reader;
  };
  let arn;
  try {
    ({ arn } = await store.createSecret({ name: `bench/reader-peers/${randomUUID()}` }));
    await store.writeVersion(arn, { token: randomUUID(), stage: "AWSCURRENT", payload: payload("bench") });
    const kinds = [OURS, POWERTOOLS, HAND_ROLLED];
    const rows = [];
    const peersOf = (figures, unit) => Object.fromEntries(kinds.map((k) => [k, { value: figures[k], unit }]));

    // --- cached get(): within the TTL (300 s for all three), sequential awaited calls.
    const batch = 50_000;
    const samples = quick ? 5 : 21;
    log(`cached get(): ${samples} rounds × 3 readers × ${batch} calls`);
    const warm = Object.fromEntries(kinds.map((k) => [k, build(k, moto.endpoint, 300_000)]));
    for (const k of kinds) {
      await warm[k].get();
      await nsPerCall(warm[k].get, batch); // let V8 optimize each path before measuring
    }
    const cached = await rotateOrder(
      samples,
      Object.fromEntries(kinds.map((k) => [k, () => nsPerCall(warm[k].get, batch)])),
    );
    const cachedUs = Object.fromEntries(kinds.map((k) => [k, median(cached[k]) / 1000]));
    rows.push(
      row({
        name: names.cached,
        value: cachedUs[OURS],
        unit: "µs",
        baseline: { name: POWERTOOLS, value: cachedUs[POWERTOOLS], unit: "µs" },
        target: { on: "ratio", op: "<=", limit: 0.5, text: "≤ 0.5× Powertools" },
        peers: peersOf(cachedUs, "µs"),
        detail: `${HAND_ROLLED}: ${cachedUs[HAND_ROLLED].toFixed(3)} µs; ${samples} rounds × ${batch} sequential awaited calls each, order rotated`,
      }),
    );

    // --- cold get(): a fresh reader (its own client) and its first call, to moto on loopback.
    const coldSamples = quick ? 4 : 30;
    log(`cold get(): ${coldSamples} rounds × 3 readers`);
    const cold = await rotateOrder(
      coldSamples,
      Object.fromEntries(
        kinds.map((k) => [
          k,
          async () => {
            const reader = makeReaders(moto.endpoint, region, arn, 300_000)[k]();
            const start = process.hrtime.bigint();
            await reader.get();
            const ms = msSince(start);
            reader.close();
            return ms;
          },
        ]),
      ),
    );
    const coldMs = Object.fromEntries(kinds.map((k) => [k, median(cold[k])]));
    rows.push(
      row({
        name: names.cold,
        value: coldMs[OURS],
        unit: "ms",
        baseline: { name: POWERTOOLS, value: coldMs[POWERTOOLS], unit: "ms" },
        peers: peersOf(coldMs, "ms"),
        detail: `${HAND_ROLLED}: ${coldMs[HAND_ROLLED].toFixed(2)} ms; includes building the client; ${coldSamples} rounds, order rotated`,
      }),
    );

    // --- 1,000 concurrent cold get() on one fresh reader: GetSecretValue calls, counted by a proxy
    // in front of moto (it sees every call whatever client makes it).
    const callers = 1000;
    const flight = {};
    for (const k of kinds) {
      const reader = build(k, proxy.endpoint, 300_000);
      const from = proxy.calls.length;
      await Promise.all(Array.from({ length: callers }, () => reader.get()));
      flight[k] = proxy.calls.slice(from).filter((c) => c.operation === "GetSecretValue").length;
    }
    rows.push(
      row({
        name: names.flight,
        value: flight[OURS],
        unit: "",
        target: { on: "value", op: "==", limit: 1, text: "= 1" },
        peers: peersOf(flight, ""),
        detail: `${POWERTOOLS}: ${flight[POWERTOOLS]}, ${HAND_ROLLED}: ${flight[HAND_ROLLED]}`,
      }),
    );

    // --- under load while the secret rotates: every reader kind in the same window, each with
    // `callers` loops calling get() every few ms; a short TTL so fetches happen during rotations.
    // The rotation is the store's own staged write: AWSPENDING, then AWSCURRENT moved onto it.
    const windowMs = quick ? 2_000 : 15_000;
    const rotateEveryMs = quick ? 250 : 500;
    const ttlMs = 1_000;
    const loadCallers = 16;
    const pauseMs = 5;
    log(`under load: ${windowMs / 1000} s, a rotation every ${rotateEveryMs} ms, TTL ${ttlMs} ms`);
    const loaded = Object.fromEntries(kinds.map((k) => [k, build(k, moto.endpoint, ttlMs)]));
    const written = new Set();
    const initial = await loaded[OURS].get();
    written.add(initial);
    const stats = Object.fromEntries(
      kinds.map((k) => [k, { latencies: [], failures: 0, errors: new Map() }]),
    );
    let stop = false;
    let rotations = 0;
    const rotator = (async () => {
      while (!stop) {
        const token = randomUUID();
        const p = payload("bench");
        written.add(p.apiKey.reveal());
        await store.writeVersion(arn, { token, stage: "AWSPENDING", payload: p });
        await store.promote(arn, token);
        await store.removeStage(arn, "AWSPENDING", token);
        rotations += 1;
        await sleep(rotateEveryMs);
      }
    })();
    const caller = async (k) => {
      const s = stats[k];
      while (!stop) {
        const start = process.hrtime.bigint();
        try {
          const key = await loaded[k].get();
          s.latencies.push(msSince(start));
          if (!written.has(key)) s.failures += 1;
        } catch (error) {
          s.failures += 1;
          const name = error?.code ?? error?.name ?? "Error";
          s.errors.set(name, (s.errors.get(name) ?? 0) + 1);
        }
        await sleep(pauseMs);
      }
    };
    const loops = kinds.flatMap((k) => Array.from({ length: loadCallers }, () => caller(k)));
    await sleep(windowMs);
    stop = true;
    await Promise.all([rotator, ...loops]);
    const p50 = Object.fromEntries(kinds.map((k) => [k, 1000 * percentile(stats[k].latencies, 50)]));
    const p99 = Object.fromEntries(kinds.map((k) => [k, percentile(stats[k].latencies, 99)]));
    // Refreshes are ~1 % of the gets at this TTL and rate, so the tail past p99 is where they show.
    const p999 = Object.fromEntries(kinds.map((k) => [k, percentile(stats[k].latencies, 99.9)]));
    const max = Object.fromEntries(kinds.map((k) => [k, Math.max(...stats[k].latencies)]));
    const fails = Object.fromEntries(kinds.map((k) => [k, stats[k].failures]));
    const load = `${rotations} rotations in ${windowMs / 1000} s; ${loadCallers} callers per reader, each calling get() every ${pauseMs} ms; TTL ${ttlMs} ms for all three; ${kinds.map((k) => `${k}: ${stats[k].latencies.length} gets`).join(", ")}`;
    rows.push(
      row({
        name: names.p50,
        value: p50[OURS],
        unit: "µs",
        baseline: { name: POWERTOOLS, value: p50[POWERTOOLS], unit: "µs" },
        peers: peersOf(p50, "µs"),
        detail: `${HAND_ROLLED}: ${p50[HAND_ROLLED].toFixed(2)} µs; ${load}`,
      }),
      row({
        name: names.p99,
        value: p99[OURS],
        unit: "ms",
        baseline: { name: POWERTOOLS, value: p99[POWERTOOLS], unit: "ms" },
        peers: peersOf(p99, "ms"),
        detail: `${HAND_ROLLED}: ${p99[HAND_ROLLED].toFixed(3)} ms`,
      }),
      row({
        name: names.p999,
        value: p999[OURS],
        unit: "ms",
        baseline: { name: POWERTOOLS, value: p999[POWERTOOLS], unit: "ms" },
        peers: peersOf(p999, "ms"),
        detail: `${HAND_ROLLED}: ${p999[HAND_ROLLED].toFixed(3)} ms; max: ${kinds.map((k) => `${k} ${max[k].toFixed(1)} ms`).join(", ")}`,
      }),
      row({
        name: names.failures,
        value: fails[OURS],
        unit: "",
        target: { on: "value", op: "==", limit: 0, text: "= 0" },
        peers: peersOf(fails, ""),
        detail:
          kinds
            .map(
              (k) =>
                `${k}: ${fails[k]}${stats[k].errors.size > 0 ? ` (${[...stats[k].errors].map(([e, n]) => `${e} ×${n}`).join(", ")})` : ""}`,
            )
            .join(", ") + "; a failure is a throw or a key that was never written",
      }),
    );
    return rows;
  } finally {
    for (const reader of open) reader.close();
    store.close();
    await proxy.stop();
    await moto.stop();
  }
});
