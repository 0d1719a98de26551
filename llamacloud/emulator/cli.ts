import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { z } from "zod";
import { type EmulatorHandle, type EmulatorSeed, startEmulator } from "./index";
import { resolveSeed } from "./seed";

/**
 * `llamacloud-keys emulator`: runs the emulator until SIGINT/SIGTERM. When ready it prints exactly
 * one JSON line on stdout (`{"url","adminKey","organizationId","projects"}`) so a parent process can
 * read it and go; everything else goes to stderr.
 */

const emulatorUsage = `Usage: llamacloud-keys emulator [--port N] [--host H] [--seed FILE] [--latency-ms N] [--revocation-delay-ms N] [--issued-keys-file FILE]

Runs a local LlamaCloud (key-management API) until SIGINT or SIGTERM. When it is ready, prints one
JSON line on stdout: {"url":…,"adminKey":…,"organizationId":…,"projects":[{"id":…,"name":…}]}.

  --port N                  port to listen on (default 0: any free port)
  --host H                  interface to bind (default 127.0.0.1; the control API is loopback-only)
  --seed FILE               JSON seed: organizations, projects, users, keys (see llamacloud/emulator/README.md)
  --latency-ms N            added to every API request (default 0)
  --revocation-delay-ms N   how long a revoked key keeps working (default 0; LlamaCloud: up to 60000)
  --issued-keys-file FILE   append every key issued (seeded or minted) to FILE, one per line, mode 0600,
                            for leak scans (default: LLAMACLOUD_KEYS_EMULATOR_ISSUED_DIR, if set)
  --help                    this text
`;

const integer = (flag: string, max: number) =>
  z
    .string()
    .regex(/^\d+$/, `--${flag} expects a whole number`)
    .transform(Number)
    .refine((n) => n <= max, `--${flag} must be at most ${max}`);

const flagsSchema = z.object({
  port: integer("port", 65_535).optional(),
  host: z.string().min(1, "--host must not be empty").optional(),
  seed: z.string().min(1, "--seed expects a file path").optional(),
  "latency-ms": integer("latency-ms", 600_000).optional(),
  "revocation-delay-ms": integer("revocation-delay-ms", 3_600_000).optional(),
  "issued-keys-file": z.string().min(1, "--issued-keys-file expects a file path").optional(),
  help: z.boolean().optional(),
});

interface Io {
  stdout: (line: string) => void;
  stderr: (line: string) => void;
}

const processIo: Io = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

async function loadSeed(path: string): Promise<EmulatorSeed> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new Error(`cannot read --seed ${path} (${code}): check the path`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`--seed ${path} is not valid JSON`);
  }
  resolveSeed(json); // Validate here, so a bad file is reported with its name before anything starts.
  return json as EmulatorSeed;
}

/**
 * Runs the command; resolves with the exit code: 0 after a clean shutdown on SIGINT/SIGTERM, 2 for
 * bad flags or a bad seed, 1 when the server could not start (e.g. the port is taken).
 */
export async function runEmulatorCommand(argv: string[], io: Io = processIo): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        port: { type: "string" },
        host: { type: "string" },
        seed: { type: "string" },
        "latency-ms": { type: "string" },
        "revocation-delay-ms": { type: "string" },
        "issued-keys-file": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    io.stderr(`llamacloud-keys emulator: ${(error as Error).message}\nRun with --help for usage.\n`);
    return 2;
  }
  const flags = flagsSchema.safeParse(values);
  if (!flags.success) {
    io.stderr(`llamacloud-keys emulator: ${flags.error.issues.map((issue) => issue.message).join("; ")}\n`);
    return 2;
  }
  if (flags.data.help) {
    io.stdout(emulatorUsage);
    return 0;
  }

  let seed: EmulatorSeed | undefined;
  try {
    seed = flags.data.seed === undefined ? undefined : await loadSeed(flags.data.seed);
  } catch (error) {
    io.stderr(`llamacloud-keys emulator: ${(error as Error).message}\n`);
    return 2;
  }

  let emulator: EmulatorHandle;
  try {
    emulator = await startEmulator({
      ...(flags.data.port === undefined ? {} : { port: flags.data.port }),
      ...(flags.data.host === undefined ? {} : { host: flags.data.host }),
      ...(flags.data["latency-ms"] === undefined ? {} : { latencyMs: flags.data["latency-ms"] }),
      ...(flags.data["revocation-delay-ms"] === undefined
        ? {}
        : { revocationDelayMs: flags.data["revocation-delay-ms"] }),
      ...(seed === undefined ? {} : { seed }),
      ...(flags.data["issued-keys-file"] === undefined
        ? {}
        : { issuedKeysFile: flags.data["issued-keys-file"] }),
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    io.stderr(
      `llamacloud-keys emulator: could not start: ${code === "EADDRINUSE" ? `port ${flags.data.port} is in use; pick another or pass --port 0` : (error as Error).message}\n`,
    );
    return 1;
  }

  const ready = {
    url: emulator.url,
    adminKey: emulator.adminKey,
    organizationId: emulator.organizationId,
    projects: emulator.projects,
  };
  io.stdout(`${JSON.stringify(ready)}\n`);

  // Handled signals, in one list; the first one starts a clean shutdown.
  const signals: NodeJS.Signals[] = ["SIGINT", "SIGTERM"];
  const listeners = new Map<NodeJS.Signals, () => void>();
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    for (const name of signals) {
      const listener = () => resolve(name);
      listeners.set(name, listener);
      process.on(name, listener);
    }
  });
  for (const [name, listener] of listeners) process.off(name, listener);
  io.stderr(`llamacloud-keys emulator: ${signal}, shutting down\n`);
  await emulator.close();
  return 0;
}
