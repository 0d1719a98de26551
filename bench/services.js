// The servers the benchmarks need, on free loopback ports, stopped by the caller (and killed when
// the process exits): moto's Secrets Manager, the LlamaCloud emulator, a bare HTTP server as the
// emulator's baseline, and a counting proxy in front of moto. Plain JS: the test harness is
// TypeScript under test/ and is not compiled.

const { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } = require("node:fs");
const http = require("node:http");
const { tmpdir } = require("node:os");
const { join } = require("node:path");
const { createInterface } = require("node:readline");
const { setTimeout: sleep } = require("node:timers/promises");
const { killTree, spawnTracked, tail } = require("./measure");
const { repoRoot } = require("./report");

const motoCredentials = { accessKeyId: "test", secretAccessKey: "test" };

/** A region of this run's own: moto keeps regions apart, so benchmarks never see each other's secrets. */
function benchRegion(name) {
  return `bench-${name}-${process.pid}`;
}

function installedTools() {
  const file = join(repoRoot, ".tools.json");
  if (!existsSync(file)) throw new Error(`.tools.json is missing: run "npm run setup" in ${repoRoot} first`);
  const tools = JSON.parse(readFileSync(file, "utf8"));
  if (!existsSync(tools.motoServer)) {
    throw new Error(`moto's server (${tools.motoServer}) is not installed: run "npm run setup"`);
  }
  return tools;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = require("node:net").createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * moto's server. `bench/run.js` starts one and passes it down in `BENCH_MOTO_ENDPOINT`; a benchmark
 * run on its own starts its own.
 */
async function startMoto() {
  if (process.env.BENCH_MOTO_ENDPOINT) {
    return { endpoint: process.env.BENCH_MOTO_ENDPOINT, stop: async () => {} };
  }
  const { motoServer } = installedTools();
  let lastError;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const child = spawnTracked(motoServer, ["-H", "127.0.0.1", "-p", String(port)], {
      stdio: ["ignore", "ignore", "pipe"],
      env: { ...process.env, MOTO_ALLOW_NONEXISTENT_REGION: "true" },
    });
    let stderr = "";
    child.stderr.on("data", (chunk) => {
      stderr = (stderr + chunk).slice(-4000);
    });
    const endpoint = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && child.exitCode === null) {
      try {
        if ((await fetch(`${endpoint}/moto-api/data.json`)).ok) {
          return { endpoint, stop: () => stopChild(child) };
        }
      } catch {
        // not listening yet
      }
      await sleep(100);
    }
    lastError = new Error(`moto_server did not answer on ${endpoint}: ${tail(stderr, 5)}`);
    await stopChild(child);
  }
  throw lastError;
}

/**
 * The emulator in a process of its own (`llamacloud-keys emulator`), so the server's event loop is
 * not the load generator's. `seed` (an object shaped like the `--seed` file) replaces the default.
 * Resolves with the JSON line it prints plus `pid`, `control()` for the `/_emulator/` API, and
 * `stop()`.
 */
async function startEmulatorProcess({ latencyMs = 0, revocationDelayMs = 0, seed } = {}) {
  const cli = join(repoRoot, "dist", "llamacloud", "emulator", "cli.js");
  if (!existsSync(cli))
    throw new Error('the emulator is not built (dist/llamacloud/emulator); run "npm run build"');
  const args = [
    join(repoRoot, "bin", "llamacloud-keys.js"),
    "emulator",
    "--port",
    "0",
    "--latency-ms",
    String(latencyMs),
    "--revocation-delay-ms",
    String(revocationDelayMs),
  ];
  let seedDir;
  if (seed !== undefined) {
    seedDir = mkdtempSync(join(tmpdir(), "llamacloud-keys-bench-seed-"));
    writeFileSync(join(seedDir, "seed.json"), JSON.stringify(seed));
    args.push("--seed", join(seedDir, "seed.json"));
  }
  const child = spawnTracked(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
  if (seedDir !== undefined) child.exited.then(() => rmSync(seedDir, { recursive: true, force: true }));
  return describeServer(child, "the emulator", (info) => ({
    ...info,
    async control(method, path, body) {
      const response = await fetch(`${info.url}/_emulator/${path}`, {
        method,
        ...(body === undefined
          ? {}
          : { body: JSON.stringify(body), headers: { "content-type": "application/json" } }),
      });
      if (!response.ok) throw new Error(`emulator control ${method} ${path}: HTTP ${response.status}`);
      const text = await response.text();
      return text === "" ? undefined : JSON.parse(text);
    },
  }));
}

// The same node:http, keep-alive and JSON framing as the emulator, with no routing, auth or state:
// the floor any Node HTTP server on this machine would hit.
const bareServerSource = `
const http = require("node:http");
const server = http.createServer((req, res) => {
  let body = "";
  req.on("data", (chunk) => { body += chunk; });
  req.on("end", () => {
    if (req.method === "DELETE") { res.writeHead(204); res.end(); return; }
    const text = JSON.stringify({ ok: true, received: body.length });
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
    res.end(text);
  });
});
server.keepAliveTimeout = 60000;
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(JSON.stringify({ url: "http://127.0.0.1:" + server.address().port }) + "\\n");
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
`;

/** A bare HTTP server in its own process: the emulator benchmark's baseline. */
function startBareServer() {
  const child = spawnTracked(process.execPath, ["-e", bareServerSource], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  return describeServer(child, "the bare HTTP server", (info) => info);
}

/** Waits for a child's first stdout line (JSON) and wraps it with `pid` and `stop()`. */
function describeServer(child, what, extend) {
  return new Promise((resolve, reject) => {
    let stderr = "";
    child.stderr.on("data", (chunk) => {
      stderr = (stderr + chunk).slice(-4000);
    });
    const timer = setTimeout(() => {
      killTree(child, "SIGKILL");
      reject(new Error(`${what} did not start within 15 s: ${tail(stderr, 5)}`));
    }, 15_000);
    const lines = createInterface({ input: child.stdout });
    lines.once("line", (line) => {
      clearTimeout(timer);
      const info = JSON.parse(line);
      resolve(extend({ ...info, pid: child.pid, stop: () => stopChild(child) }));
    });
    child.exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited (${code ?? signal}) before it was ready: ${tail(stderr, 5)}`));
    });
  });
}

const uuidPattern = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

/**
 * A loopback proxy that counts and times (upstream) every call it forwards, by operation: the
 * `X-Amz-Target` operation for Secrets Manager, else the method and path with ids as `:id`. It sees
 * every call whatever client makes it, so it counts the rotator's calls with no hook in the rotator.
 */
/** One clock for every counting proxy of the process, so calls to different services compare. */
const origin = process.hrtime.bigint();

async function startCountingProxy(upstream) {
  const target = new URL(upstream);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const calls = [];
  const server = http.createServer((req, res) => {
    const amzTarget = String(req.headers["x-amz-target"] ?? "");
    const operation =
      amzTarget !== ""
        ? amzTarget.split(".").pop()
        : `${req.method} ${String(req.url).split("?")[0].replace(uuidPattern, ":id")}`;
    const started = process.hrtime.bigint();
    const forward = http.request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
        agent,
      },
      (upstreamRes) => {
        // Hop-by-hop headers stay on their hop: moto answers every call with "connection: close",
        // which, passed on, would make the measured client open a new connection per call where
        // AWS (and the emulator) keep it alive.
        const { connection: _connection, "keep-alive": _keepAlive, ...headers } = upstreamRes.headers;
        res.writeHead(upstreamRes.statusCode ?? 502, headers);
        upstreamRes.pipe(res);
        upstreamRes.on("end", () => {
          const ended = process.hrtime.bigint();
          calls.push({
            operation,
            ms: Number(ended - started) / 1e6,
            status: upstreamRes.statusCode,
            // On the shared clock, so overlapping calls (to either service) can be told apart.
            startMs: Number(started - origin) / 1e6,
            endMs: Number(ended - origin) / 1e6,
          });
        });
      },
    );
    forward.on("error", () => {
      res.writeHead(502);
      res.end();
    });
    req.pipe(forward);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    endpoint: `http://127.0.0.1:${server.address().port}`,
    /** Calls so far, in the order they ended: `{ operation, ms, status, startMs, endMs }`. */
    calls,
    stop: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        agent.destroy();
      }),
  };
}

async function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  killTree(child, "SIGTERM");
  const timer = setTimeout(() => killTree(child, "SIGKILL"), 3000);
  await child.exited;
  clearTimeout(timer);
}

module.exports = {
  benchRegion,
  freePort,
  installedTools,
  motoCredentials,
  startBareServer,
  startCountingProxy,
  startEmulatorProcess,
  startMoto,
};
