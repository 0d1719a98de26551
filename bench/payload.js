// The secret payload (secrets/payload.ts): parse + validate on every cache miss and every rotation
// step that reads a version; serialize on every write. Baselines: plain JSON.parse / JSON.stringify
// of the same text and object, so the ratio is what validation and redaction add.

const { randomUUID } = require("node:crypto");
const { alternate, median, nsPerSyncCall } = require("./measure");
const { benchmark, row } = require("./report");

benchmark("payload", async ({ quick, log }) => {
  const { parsePayload, redacted, serializePayload } = require("../dist/secrets");
  const { buildPayload } = require("../dist/secrets/payload");
  const payload = buildPayload({
    apiKey: redacted(`llx-${"p".repeat(48)}`),
    keyId: randomUUID(),
    keyName: `llamacloud-keys/search/prod/${randomUUID()}`,
    projectId: randomUUID(),
    organizationId: randomUUID(),
    environment: "prod",
    baseUrl: "https://api.cloud.llamaindex.ai",
  });
  // The baseline's object: the same fields in the same order, the key in plain text.
  const plain = { ...payload, apiKey: payload.apiKey.reveal() };
  const text = serializePayload(payload);
  const where = { secretId: "bench/payload", versionId: randomUUID() };

  const batch = 20_000;
  const samples = quick ? 5 : 21;
  const rows = [];
  const cases = [
    {
      name: "parsePayload() per call (median)",
      a: () => parsePayload(text, where),
      b: () => JSON.parse(text),
      baseline: "JSON.parse of the same text",
    },
    {
      name: "serializePayload() per call (median)",
      a: () => serializePayload(payload),
      b: () => JSON.stringify(plain),
      baseline: "JSON.stringify of the same fields",
    },
  ];
  for (const c of cases) {
    log(`${c.name}: ${samples} samples of ${batch} calls`);
    nsPerSyncCall(c.a, batch); // warm-up
    nsPerSyncCall(c.b, batch);
    const { a, b } = await alternate(
      samples,
      async () => nsPerSyncCall(c.a, batch),
      async () => nsPerSyncCall(c.b, batch),
    );
    rows.push(
      row({
        name: c.name,
        value: median(a) / 1000,
        unit: "µs",
        baseline: { name: c.baseline, value: median(b) / 1000, unit: "µs" },
        detail: `${samples} samples × ${batch} calls, ${text.length}-byte payload`,
      }),
    );
  }
  return rows;
});
