import { parseArgs } from "node:util";
import { scrub } from "../redaction/scrub";

/**
 * `llamacloud-keys rotate | rotator | status`: parses flags, validates the configuration, and calls
 * `runOnce`, `runDaemon` or `collectStatus`. Nothing else lives here. Heavy modules (the AWS SDK,
 * undici, the rotation code) are loaded only after the flags are valid, so `--help` and usage
 * errors answer at once.
 *
 * Exit codes: 0 everything succeeded; 1 a secret (or the pass) failed; 2 a usage or configuration
 * error (LlamaCloud refusing LLAMA_CLOUD_API_KEY included), reported before anything was changed.
 */

const common = `
Environment:
  LLAMA_CLOUD_API_KEY       key of a LlamaCloud user who is an admin of every managed project (required)
  LLAMA_CLOUD_BASE_URL      LlamaCloud host (default https://api.cloud.llamaindex.ai; EU: https://api.cloud.eu.llamaindex.ai)
  LLAMACLOUD_KEYS_LLAMACLOUD_TIMEOUT   as --llamacloud-timeout (the flag and the config file win)
  AWS_REGION, AWS_PROFILE, AWS_ACCESS_KEY_ID, …   the standard AWS SDK configuration
  AWS_ENDPOINT_URL_SECRETS_MANAGER / AWS_ENDPOINT_URL   a Secrets Manager endpoint override (e.g. a local emulator)
  LLAMACLOUD_KEYS_NOW_OFFSET_MS   test/ops knob: shifts the clock of due and grace decisions (never in production)

Shared flags:
  --config FILE             JSON config file (fields: secrets, schedule, concurrency, listen, prefix, baseUrl,
                            region, endpoint, passDeadline, startDelay, shutdownTimeout, logFormat,
                            llamacloudTimeout); flags win
  --llamacloud-timeout D    the longest one LlamaCloud call may take, retries included (default 60s; 1s-1h)
  --prefix P                key-name prefix for a secret whose current key's name has none of ours (a
                            hand-made first key); others keep their own (default llamacloud-keys)
  --log-format json|pretty  log format on stderr (default: pretty on a terminal, json otherwise)
  --help                    this text
`;

const usage: Record<"rotate" | "rotator" | "status", string> = {
  rotate: `Usage: llamacloud-keys rotate [--secret ID]… [--all] [--force] [--revoke-now] [--dry-run] [--json]

One pass: rotate the managed secrets that are due (or named), finish interrupted rotations, revoke
keys whose grace has passed, sweep orphaned keys. Exit 0 when everything succeeded, 1 when any
secret failed (the others are still processed), 2 on usage errors.

  --secret ID               a secret ARN or name; repeat for several (default: every managed secret)
  --all                     every secret tagged llamacloud-keys:managed=true (the default)
  --force                   rotate now even if not due (refused while the previous key is in grace)
  --revoke-now              revoke the displaced key right after promotion instead of after grace
                            (for a leaked key: readers still holding it will fail)
  --dry-run                 print what would happen; change nothing
  --json                    print the results as JSON on stdout
  --concurrency N           secrets processed at once (1-64, default 4)
  --pass-deadline D         stop starting new steps after D (default 10m)
${common}`,
  rotator: `Usage: llamacloud-keys rotator [--schedule CRON] [--concurrency N] [--listen HOST:PORT]

The rotation daemon: a pass at start, then one per schedule tick (UTC), never overlapping. SIGTERM,
SIGINT or SIGHUP stop it gracefully: the step in flight finishes, the pass stops at the next step
boundary, exit 0. A second signal exits at once (every step is resumable).

  --schedule CRON           node-cron expression in UTC, 5 fields or 6 with seconds (default "*/15 * * * *")
  --concurrency N           secrets processed at once (1-64, default 4)
  --listen HOST:PORT        serve GET /healthz and GET /metrics (Prometheus) there
  --pass-deadline D         stop starting new steps in a pass after D (default 10m)
  --start-delay D           random delay up to D before each pass, to spread a fleet (default 30s; 0 for none)
  --shutdown-timeout D      on SIGTERM, exit 1 naming the stuck step after D (default 25s)
${common}`,
  status: `Usage: llamacloud-keys status [--secret ID]… [--json]

Each managed secret: project, environment, current key (id and redacted form), age, next due time,
previous key and when it will be revoked, and any interrupted rotation. Changes nothing.

  --secret ID               only this secret (repeatable; default: every managed secret)
  --json                    JSON on stdout
  --concurrency N           secrets read at once (1-64, default 4)
${common}`,
};

const shared = {
  config: { type: "string" },
  prefix: { type: "string" },
  "log-format": { type: "string" },
  "llamacloud-timeout": { type: "string" },
  help: { type: "boolean", short: "h" },
  concurrency: { type: "string" },
} as const;

const options = {
  rotate: {
    ...shared,
    secret: { type: "string", multiple: true },
    all: { type: "boolean" },
    force: { type: "boolean" },
    "revoke-now": { type: "boolean" },
    "dry-run": { type: "boolean" },
    json: { type: "boolean" },
    "pass-deadline": { type: "string" },
  },
  rotator: {
    ...shared,
    schedule: { type: "string" },
    listen: { type: "string" },
    "pass-deadline": { type: "string" },
    "start-delay": { type: "string" },
    "shutdown-timeout": { type: "string" },
  },
  status: {
    ...shared,
    secret: { type: "string", multiple: true },
    json: { type: "boolean" },
  },
} as const;

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: Record<string, string | undefined>;
}

const processIo: CliIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
};

/**
 * Runs a command. `argv[0]` is the subcommand (`rotate`, `rotator`, `status`), the rest its flags.
 * Resolves with the exit code; for `rotator`, once the daemon has stopped.
 */
export async function main(argv: string[], io: CliIo = processIo): Promise<number> {
  const [command, ...rest] = argv;
  // Usage errors echo what was typed, and someone may have pasted a key into a flag: each is scrubbed.
  if (command !== "rotate" && command !== "rotator" && command !== "status") {
    io.stderr(
      scrub(
        `llamacloud-keys: unknown command ${JSON.stringify(command ?? "")}; expected rotate, rotator or status\n`,
      ),
    );
    return 2;
  }
  let values: Record<string, unknown>;
  try {
    const parsed = parseArgs({
      args: rest,
      options: options[command],
      strict: true,
      allowPositionals: false,
    });
    values = parsed.values;
  } catch (error) {
    // parseArgs names the flag: "Unknown option '--forse'".
    io.stderr(scrub(`llamacloud-keys ${command}: ${(error as Error).message}\n\n${usage[command]}`));
    return 2;
  }
  if (values.help === true) {
    io.stdout(usage[command]);
    return 0;
  }

  const { loadConfig } = await import("./config");
  const { isRotatorError } = await import("./errors");
  let config: import("./config").RotatorConfig;
  try {
    config = loadConfig(command, values, io.env);
  } catch (error) {
    if (!isRotatorError(error, "ROTATOR_CONFIG")) throw error;
    io.stderr(scrub(`llamacloud-keys: ${error.message}\n`));
    return 2;
  }

  // One cheap call proves the LlamaCloud key before any secret is read: a wrong key is one message
  // and exit 2, not one failure per secret; an unreachable host fails here, in seconds.
  const { checkLlamaCloudCredential } = await import("./preflight");
  const preflight = await checkLlamaCloudCredential(config);
  // The daemon outlives a LlamaCloud outage (each pass retries); a refused key it cannot outlive.
  const outage = !preflight.ok && preflight.exitCode === 1 && command === "rotator";
  if (!preflight.ok && !outage) {
    io.stderr(`llamacloud-keys: ${preflight.message}\n`);
    return preflight.exitCode;
  }

  const { RotatorEmitter } = await import("./events");
  const { attachLogger } = await import("./log");
  const events = new RotatorEmitter();
  const detach = attachLogger(events, {
    write: io.stderr,
    ...(config.logFormat === undefined ? {} : { format: config.logFormat }),
  });
  if (outage && !preflight.ok) events.emit("warning", { message: preflight.message });
  try {
    if (command === "rotate") {
      const { runOnce } = await import("./run-once");
      const { formatResults } = await import("./report");
      const result = await runOnce(config, { events });
      io.stdout(config.json ? `${JSON.stringify(result, null, 2)}\n` : formatResults(result, config.dryRun));
      return result.exitCode;
    }
    if (command === "status") {
      const { collectStatus, formatStatus } = await import("./status");
      const statuses = await collectStatus(config, { events });
      io.stdout(config.json ? `${JSON.stringify(statuses, null, 2)}\n` : formatStatus(statuses, Date.now()));
      return statuses.some((s) => s.error !== undefined) ? 1 : 0;
    }
    const { runDaemon } = await import("./daemon");
    const daemon = await runDaemon(config, { events });
    await daemon.promise;
    return 0;
  } finally {
    detach();
  }
}
