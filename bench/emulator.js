// The LlamaCloud emulator's throughput (llamacloud/emulator/): tests, the demo and the rotation
// benchmark all go through it, so it must never be the bottleneck. Requests per second on loopback
// with keep-alive and N concurrent clients, for create, list and delete; baseline: a bare node:http
// server answering the same requests, in a process of its own like the emulator.

const { Pool } = require("undici");
const { median, runConcurrently } = require("./measure");
const { benchmark, row } = require("./report");
const { startBareServer, startEmulatorProcess } = require("./services");

benchmark("emulator", async ({ quick, log }) => {
  const concurrency = quick ? 16 : 32;
  const perRound = quick ? 400 : 3000;
  const rounds = quick ? 1 : 3;
  const listKeys = 10;

  const emulator = await startEmulatorProcess();
  const bare = await startBareServer();
  const pools = [];
  const pool = (url) => {
    const p = new Pool(url, { connections: concurrency, pipelining: 1, keepAliveTimeout: 60_000 });
    pools.push(p);
    return p;
  };
  try {
    const emu = pool(emulator.url);
    const floor = pool(bare.url);
    const auth = { authorization: `Bearer ${emulator.adminKey}`, "content-type": "application/json" };
    const [defaultProject, otherProject] = emulator.projects;
    let unexpected = 0;
    const call = async (client, method, path, body, expected) => {
      const res = await client.request({ method, path, headers: auth, ...(body ? { body } : {}) });
      const text = await res.body.text();
      if (res.statusCode !== expected) {
        unexpected += 1;
        if (unexpected === 1)
          log(`${method} ${path} → ${res.statusCode} (expected ${expected}): ${text.slice(0, 200)}`);
      }
      return text;
    };

    // A fixed, small population for list, so its cost does not grow with the create phase.
    for (let i = 0; i < listKeys; i++) {
      await call(
        emu,
        "POST",
        "/api/v1/api-keys",
        JSON.stringify({ name: `bench/list/${i}`, project_id: otherProject.id }),
        200,
      );
    }
    const listPath = `/api/v1/api-keys?project_id=${otherProject.id}`;
    // Warm-up: connections open, JIT warm on both servers.
    await runConcurrently(500, concurrency, () => call(emu, "GET", listPath, undefined, 200));
    await runConcurrently(500, concurrency, () => call(floor, "GET", listPath, undefined, 200));

    const rates = { create: { a: [], b: [] }, list: { a: [], b: [] }, delete: { a: [], b: [] } };
    const perSecond = (ms) => (perRound * 1000) / ms;
    for (let round = 0; round < rounds; round++) {
      log(`round ${round + 1}/${rounds}: ${perRound} requests per operation, ${concurrency} concurrent`);
      // List first, while only the fixed population is live.
      rates.list.a.push(
        perSecond(
          await runConcurrently(perRound, concurrency, () => call(emu, "GET", listPath, undefined, 200)),
        ),
      );
      rates.list.b.push(
        perSecond(
          await runConcurrently(perRound, concurrency, () => call(floor, "GET", listPath, undefined, 200)),
        ),
      );
      const ids = new Array(perRound);
      const createBody = (i) =>
        JSON.stringify({ name: `bench/${round}/${i}`, project_id: defaultProject.id });
      rates.create.a.push(
        perSecond(
          await runConcurrently(perRound, concurrency, async (i) => {
            ids[i] = JSON.parse(await call(emu, "POST", "/api/v1/api-keys", createBody(i), 200)).id;
          }),
        ),
      );
      rates.create.b.push(
        perSecond(
          await runConcurrently(perRound, concurrency, (i) =>
            call(floor, "POST", "/api/v1/api-keys", createBody(i), 200),
          ),
        ),
      );
      rates.delete.a.push(
        perSecond(
          await runConcurrently(perRound, concurrency, (i) =>
            call(emu, "DELETE", `/api/v1/api-keys/${ids[i]}`, undefined, 204),
          ),
        ),
      );
      rates.delete.b.push(
        perSecond(
          await runConcurrently(perRound, concurrency, (i) =>
            call(floor, "DELETE", `/api/v1/api-keys/${ids[i]}`, undefined, 204),
          ),
        ),
      );
    }
    if (unexpected > 0)
      throw new Error(`${unexpected} request(s) got an unexpected status; see the log above`);

    const label = {
      create: "POST /api/v1/api-keys",
      list: `GET /api/v1/api-keys (${listKeys} keys)`,
      delete: "DELETE /api/v1/api-keys/:id",
    };
    return Object.entries(rates).map(([op, { a, b }]) =>
      row({
        name: `${op}: ${label[op]} (median)`,
        value: Math.round(median(a)),
        unit: "req/s",
        baseline: { name: "bare node:http server", value: Math.round(median(b)), unit: "req/s" },
        target: { on: "value", op: ">=", limit: 2000, text: "≥ 2,000/s" },
        detail: `${rounds} round(s) × ${perRound} requests, ${concurrency} concurrent keep-alive connections`,
      }),
    );
  } finally {
    await Promise.all(pools.map((p) => p.destroy()));
    await Promise.all([emulator.stop(), bare.stop()]);
  }
});
