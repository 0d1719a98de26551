#!/usr/bin/env node
// A small service that reads its LlamaCloud key from AWS Secrets Manager with llamacloud-keys'
// cached reader and calls LlamaCloud in a loop. Copy it: it is the whole integration.
//
// Configuration (environment):
//   SECRET_ID                         the secret's name or ARN (required)
//   AWS_REGION                        the secret's region (required unless your AWS profile sets one)
//   AWS_ENDPOINT_URL_SECRETS_MANAGER  optional: another Secrets Manager endpoint (moto, LocalStack)
//   KEY_TTL                           how long a key is used before re-reading: "5m" (default), "30s", or ms
//   CALL_INTERVAL_MS                  pause between two LlamaCloud calls (default 1000)
//   REPORT_INTERVAL_MS                how often the counter line is printed (default 1000)
// AWS credentials come from the SDK's usual chain (env, profile, instance or task role).
//
// Output: one JSON line per report interval on stdout, `{"ok":N,"failed":M,"keyId":"…"}`, and a
// last one with `"final":true` on SIGTERM/SIGINT, after which it exits 0. The demo and the tests
// read these lines. Failures are described on stderr, by status or error code, never with the key.

// Installed, this is `require("llamacloud-keys/secrets")` as written. In this repository it resolves
// to the repo's own dist/ through Node's package self-reference (package.json "exports"), so don't
// give examples/app a package.json of its own. The subpath loads the AWS SDK and zod only.
const { setTimeout: sleep } = require("node:timers/promises");
const { createKeyReader } = require("llamacloud-keys/secrets");

function config(env) {
  const problems = [];
  const secretId = env.SECRET_ID ?? "";
  if (secretId === "") problems.push("SECRET_ID: set it to the secret's name or ARN");
  const interval = (name, fallback) => {
    const raw = env[name];
    if (raw === undefined || raw === "") return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 0) {
      problems.push(`${name}: expected a whole number of milliseconds, e.g. 1000`);
      return fallback;
    }
    return value;
  };
  const callIntervalMs = interval("CALL_INTERVAL_MS", 1000);
  const reportIntervalMs = Math.max(1, interval("REPORT_INTERVAL_MS", 1000));
  // A bare number is milliseconds; anything else ("5m") goes to the reader, which validates it.
  const rawTtl = env.KEY_TTL ?? "";
  const ttl = rawTtl === "" ? "5m" : /^\d+$/.test(rawTtl) ? Number(rawTtl) : rawTtl;
  return { problems, secretId, ttl, callIntervalMs, reportIntervalMs };
}

/** What to say about a failed call: a status or an error code, never a header or a body. */
function describeFailure(error) {
  // llamacloud-keys' own errors (SECRET_*) name the secret and version, never the value.
  if (typeof error?.code === "string" && error.code.startsWith("SECRET_")) {
    return `${error.code}: ${error.message}`;
  }
  const cause = error?.cause?.code ?? error?.cause?.message;
  return `${error?.name ?? "Error"}${error?.code ? ` ${error.code}` : ""}${cause ? ` (${cause})` : ""}`;
}

async function main() {
  const settings = config(process.env);
  if (settings.problems.length > 0) {
    process.stderr.write(`app: bad configuration:\n  ${settings.problems.join("\n  ")}\n`);
    return 2;
  }

  let reader;
  try {
    reader = createKeyReader({ secretId: settings.secretId, ttl: settings.ttl });
  } catch (error) {
    process.stderr.write(`app: ${error.message}\n`);
    return 2;
  }

  const counters = { ok: 0, failed: 0, keyId: null };
  const report = (extra = {}) => process.stdout.write(`${JSON.stringify({ ...counters, ...extra })}\n`);
  const stop = new AbortController();
  for (const signal of ["SIGTERM", "SIGINT"]) process.once(signal, () => stop.abort());
  const reporter = setInterval(report, settings.reportIntervalMs);

  while (!stop.signal.aborted) {
    try {
      const { projectId } = await reader.get(); // cached: no Secrets Manager call until the TTL ends
      // withKey hands us the cached key; if LlamaCloud answers 401/403 (the key was rotated and
      // revoked before our cache expired), it re-reads the secret once and calls us again with the
      // new key, so a rotation costs a retry, not a failure.
      const response = await reader.withKey((apiKey, baseUrl) =>
        fetch(`${baseUrl}/api/v1/projects/${encodeURIComponent(projectId)}`, {
          headers: { Authorization: `Bearer ${apiKey}`, Accept: "application/json" },
          signal: AbortSignal.any([stop.signal, AbortSignal.timeout(10_000)]),
        }),
      );
      // Read the body to completion so the connection goes back to the pool.
      await response.arrayBuffer();
      if (response.ok) {
        counters.ok += 1;
        counters.keyId = (await reader.get()).keyId;
      } else {
        counters.failed += 1;
        process.stderr.write(`app: LlamaCloud answered HTTP ${response.status}\n`);
      }
    } catch (error) {
      if (stop.signal.aborted) break; // the call was cut short by shutdown: neither ok nor failed
      counters.failed += 1;
      process.stderr.write(`app: call failed: ${describeFailure(error)}\n`);
    }
    // Resolves early on shutdown; the listener it adds to the signal is removed either way.
    await sleep(settings.callIntervalMs, undefined, { signal: stop.signal }).catch(() => undefined);
  }

  clearInterval(reporter);
  report({ final: true });
  reader.close();
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    process.stderr.write(`app: ${describeFailure(error)}\n`);
    process.exitCode = 1;
  },
);
