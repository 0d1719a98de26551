// Pulumi overhead per key (provider/): `pulumi preview` and `pulumi up` of a program with N
// `ApiKey` resources against the same program with N no-op dynamic resources, with the real CLI on
// a local file backend. Runs alternate A/B; medians. Also counts how many times the SDK serializes
// a provider per program run: `ApiKey` shares one module-level provider, so it must be once, not N.

const {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} = require("node:fs");
const { tmpdir } = require("node:os");
const { delimiter, join } = require("node:path");
const { median, run, tail } = require("./measure");
const { benchmark, failed, missing, notBuilt, repoRoot, row } = require("./report");
const {
  benchRegion,
  installedTools,
  motoCredentials,
  startCountingProxy,
  startEmulatorProcess,
  startMoto,
} = require("./services");

// Counts calls of the SDK's closure serializer (what `dynamic.Resource` uses for `__provider`) and
// appends the count to a file when the program's process exits.
const countSerializations = `
const closure = require("@pulumi/pulumi/runtime/closure/serializeClosure");
const serializeFunction = closure.serializeFunction;
let serializations = 0;
closure.serializeFunction = function (...args) {
  serializations += 1;
  return serializeFunction.apply(this, args);
};
process.on("exit", () => {
  require("node:fs").appendFileSync(process.env.BENCH_SERIALIZATIONS_FILE, serializations + "\\n");
});
`;

/** `pulumi up --parallel`: explicit, so the bound of `up` divides by a known number. */
const PARALLEL = 16;

const programs = {
  apikey: `${countSerializations}
const { ApiKey } = require(${JSON.stringify(join(repoRoot, "dist", "provider"))});
const n = Number(process.env.BENCH_N);
for (let i = 0; i < n; i++) {
  new ApiKey("key-" + i, {
    projectId: process.env.BENCH_PROJECT_ID,
    environment: "e" + i,
    secretName: "bench/" + process.env.BENCH_RUN_ID + "/key-" + i,
    recoveryWindowInDays: 0,
  });
}
`,
  noop: `${countSerializations}
const pulumi = require("@pulumi/pulumi");
// One module-level provider object, as ApiKey has, so the SDK may serialize it once per run.
const provider = {
  async create(inputs) {
    return { id: "noop-" + inputs.index, outs: { index: inputs.index } };
  },
};
const n = Number(process.env.BENCH_N);
for (let i = 0; i < n; i++) {
  new pulumi.dynamic.Resource(provider, "noop-" + i, { index: i }, undefined, "bench", "Noop");
}
`,
};

/** Undefined when the Pulumi CLI that setup records is there, else why not. */
function pulumiCliAbsent() {
  try {
    const { pulumiBinDir } = installedTools();
    if (pulumiBinDir && existsSync(join(pulumiBinDir, "pulumi"))) return undefined;
    return `the Pulumi CLI is not installed (no ${pulumiBinDir}/pulumi); run "npm run setup"`;
  } catch (error) {
    return error.message;
  }
}

benchmark("pulumi", async ({ quick, log }) => {
  // BENCH_PULUMI_SIZES, BENCH_PULUMI_RUNS and BENCH_PULUMI_OPS narrow a run while profiling
  // (e.g. "50", "1" and "preview").
  const sizes = process.env.BENCH_PULUMI_SIZES?.split(",").map(Number) ?? (quick ? [2] : [1, 10, 50]);
  const runs = Number(process.env.BENCH_PULUMI_RUNS ?? (quick ? 1 : 3));
  const operations = process.env.BENCH_PULUMI_OPS?.split(",") ?? (quick ? ["preview"] : ["preview", "up"]);
  const ratioTarget = (n, op) =>
    op === "preview" && n === 50 ? { on: "ratio", op: "<=", limit: 1.1, text: "≤ 1.1" } : undefined;
  const rowName = (n, op) => `pulumi ${op}: ${n} ApiKey vs ${n} no-op (median)`;
  const serializationRow = `provider serializations per program run (${sizes.at(-1)} ApiKey)`;
  const serializationTarget = { on: "value", op: "==", limit: 1, text: "= 1 (not N)" };

  const absent = notBuilt("provider/index.js") ?? pulumiCliAbsent();
  if (absent !== undefined) {
    return [
      ...sizes.flatMap((n) => operations.map((op) => missing(rowName(n, op), absent, ratioTarget(n, op)))),
      missing(serializationRow, absent, serializationTarget),
    ];
  }
  const pulumiBinDir = installedTools().pulumiBinDir;

  const moto = await startMoto();
  const emulator = await startEmulatorProcess();
  // The provider reaches both services through counting proxies: the calls each create makes, and
  // each call's upstream time, for the bound of `up`.
  const smProxy = await startCountingProxy(moto.endpoint);
  const llamaProxy = await startCountingProxy(emulator.url);
  const base = mkdtempSync(join(tmpdir(), "llamacloud-keys-bench-pulumi-"));
  try {
    const backend = join(base, "backend");
    mkdirSync(backend, { recursive: true });
    const counts = join(base, "serializations.txt");
    const env = {
      ...process.env,
      PATH: `${pulumiBinDir}${delimiter}${process.env.PATH ?? ""}`,
      PULUMI_HOME: join(base, "home"),
      PULUMI_BACKEND_URL: `file://${backend}`,
      PULUMI_CONFIG_PASSPHRASE: "llamacloud-keys-bench",
      PULUMI_SKIP_UPDATE_CHECK: "true",
      PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
      PULUMI_SKIP_CONFIRMATIONS: "true",
      NO_COLOR: "1",
      AWS_REGION: benchRegion("pulumi"),
      AWS_ENDPOINT_URL_SECRETS_MANAGER: smProxy.endpoint,
      AWS_ACCESS_KEY_ID: motoCredentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: motoCredentials.secretAccessKey,
      LLAMA_CLOUD_API_KEY: emulator.adminKey,
      LLAMA_CLOUD_BASE_URL: llamaProxy.endpoint,
      BENCH_PROJECT_ID: emulator.projects[0].id,
      BENCH_SERIALIZATIONS_FILE: counts,
    };
    for (const [variant, source] of Object.entries(programs)) {
      const dir = join(base, variant);
      mkdirSync(dir, { recursive: true });
      symlinkSync(join(repoRoot, "node_modules"), join(dir, "node_modules"), "dir");
      writeFileSync(
        join(dir, "Pulumi.yaml"),
        `name: bench-${variant}\nruntime:\n  name: nodejs\n  options:\n    typescript: false\nmain: index.js\n`,
      );
      writeFileSync(
        join(dir, "package.json"),
        JSON.stringify({ name: `bench-${variant}`, main: "index.js" }),
      );
      writeFileSync(join(dir, "index.js"), source);
    }
    const pulumi = async (variant, args, extraEnv) => {
      const result = await run(join(pulumiBinDir, "pulumi"), [...args, "--non-interactive"], {
        cwd: join(base, variant),
        env: { ...env, ...extraEnv },
        timeoutMs: 300_000,
      });
      if (result.code !== 0) {
        throw new Error(
          `pulumi ${args.join(" ")} (${variant}) exited ${result.code ?? result.signal}: ${tail(result.stdout + result.stderr, 8)}`,
        );
      }
      return result;
    };

    // times[variant][n][op] = wall times (ms); serializations[variant] = counts at the largest N
    const times = { apikey: {}, noop: {} };
    const serializations = { apikey: [], noop: [] };
    // Calls made by each ApiKey `up` at the largest N: { count, upstreamMs } per run.
    const upCalls = [];
    let stackSeq = 0;
    for (const n of sizes) {
      for (const variant of ["apikey", "noop"]) times[variant][n] = { preview: [], up: [] };
      for (let k = 0; k < runs; k++) {
        // Swap the order every other run so neither side always goes first.
        const order = k % 2 === 0 ? ["apikey", "noop"] : ["noop", "apikey"];
        for (const variant of order) {
          const stack = `s${++stackSeq}`;
          const runEnv = { BENCH_N: String(n), BENCH_RUN_ID: `${process.pid}-${stack}` };
          log(`N=${n} run ${k + 1}/${runs}: ${variant}`);
          // A fresh stack per measurement: every preview plans N creates, every up performs them.
          await pulumi(variant, ["stack", "init", stack], runEnv);
          for (const op of operations) {
            writeFileSync(counts, "");
            const args =
              op === "preview"
                ? ["preview", "--stack", stack]
                : ["up", "--yes", "--skip-preview", "--parallel", String(PARALLEL), "--stack", stack];
            const from = { sm: smProxy.calls.length, llama: llamaProxy.calls.length };
            times[variant][n][op].push((await pulumi(variant, args, runEnv)).ms);
            if (op === "up" && variant === "apikey" && n === sizes.at(-1)) {
              const calls = [...smProxy.calls.slice(from.sm), ...llamaProxy.calls.slice(from.llama)];
              upCalls.push({
                sm: smProxy.calls.length - from.sm,
                llama: llamaProxy.calls.length - from.llama,
                upstreamMs: calls.reduce((sum, c) => sum + c.ms, 0),
              });
            }
            if (n === sizes.at(-1)) {
              const lines = readFileSync(counts, "utf8").trim().split("\n").filter(Boolean);
              serializations[variant].push(...lines.map(Number));
            }
          }
        }
      }
    }

    const rows = [];
    for (const n of sizes) {
      for (const op of operations) {
        const a = median(times.apikey[n][op]);
        const b = median(times.noop[n][op]);
        rows.push(
          row({
            name: rowName(n, op),
            value: a,
            unit: "ms",
            baseline: { name: `${n} no-op dynamic resources`, value: b, unit: "ms" },
            target: ratioTarget(n, op),
            detail: `${((a - b) / n).toFixed(1)} ms per ApiKey over a no-op resource; ${runs} run(s) each, alternating`,
          }),
        );
      }
    }
    // `up`: the ApiKey program cannot beat the no-op program plus the calls its creates must make,
    // each create's one after the other, min(N, PARALLEL) creates at a time, at the latency each
    // call had in this run.
    if (upCalls.length > 0) {
      const n = sizes.at(-1);
      const noopUp = median(times.noop[n].up);
      const upstream = median(upCalls.map((c) => c.upstreamMs));
      const perCreate = (upCalls[0].sm + upCalls[0].llama) / n;
      // A create's calls are sequential; creates run min(N, PARALLEL) at a time.
      const lanes = Math.min(n, PARALLEL);
      rows.push(
        row({
          name: `pulumi up: ${n} ApiKey vs no-op + the bound of its API calls`,
          value: median(times.apikey[n].up),
          unit: "ms",
          baseline: {
            name: `${Math.round(noopUp).toLocaleString("en-US")} ms no-op up + ${Math.round(upstream).toLocaleString("en-US")} ms of calls ÷ ${lanes}`,
            value: noopUp + upstream / lanes,
            unit: "ms",
          },
          detail:
            `${perCreate.toFixed(1)} calls per create (${(upCalls[0].llama / n).toFixed(1)} LlamaCloud + ${(upCalls[0].sm / n).toFixed(1)} Secrets Manager), ` +
            `${(upstream / (upCalls[0].sm + upCalls[0].llama)).toFixed(1)} ms each upstream (median over runs of their sum); --parallel ${PARALLEL} for both programs`,
        }),
      );
    }
    if (serializations.apikey.length === 0) {
      rows.push(failed(serializationRow, "the program never reported its count", serializationTarget));
    } else {
      rows.push(
        row({
          name: serializationRow,
          value: Math.max(...serializations.apikey),
          unit: "",
          target: serializationTarget,
          detail: `no-op program: ${Math.max(...serializations.noop)}; max over ${serializations.apikey.length} program run(s)`,
        }),
      );
    }
    return rows;
  } finally {
    rmSync(base, { recursive: true, force: true });
    await Promise.all([smProxy.stop(), llamaProxy.stop()]);
    await Promise.all([emulator.stop(), moto.stop()]);
  }
});
