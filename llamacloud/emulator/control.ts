import type { IncomingMessage, ServerResponse } from "node:http";
import { z } from "zod";
import { type FaultInjector, faultSpecSchema } from "./faults";
import { readBody, send } from "./http";
import type { LoggedRequest, RequestLog } from "./request-log";
import type { EmulatorState } from "./state";

/**
 * The control API (`/_emulator/…`): a test tool, loopback only, no auth. It reads and resets the
 * state, arms faults, releases held requests and changes the emulator's config at runtime.
 */

/** What the control API reaches. */
export interface ControlParts {
  state: EmulatorState;
  faults: FaultInjector;
  requests: RequestLog;
}

function isLoopback(address: string | undefined): boolean {
  return address === "127.0.0.1" || address === "::1" || address === "::ffff:127.0.0.1";
}

const configSchema = z
  .object({
    latencyMs: z.number().int().min(0).max(600_000),
    revocationDelayMs: z.number().int().min(0).max(3_600_000),
  })
  .partial()
  .strict();

const releaseSchema = z.object({ id: z.number().int().optional() }).strict();

export function controlApi(
  parts: ControlParts,
): (req: IncomingMessage, res: ServerResponse, path: string) => Promise<void> {
  const { state, faults, requests } = parts;
  const json = (res: ServerResponse, status: number, body?: unknown) =>
    send(res, { status, body }, "emu-control");
  const badRequest = (res: ServerResponse, error: z.ZodError) =>
    json(res, 400, {
      error: error.issues.map((issue) => `${issue.path.join(".") || "(body)"}: ${issue.message}`).join("; "),
    });

  return async (req: IncomingMessage, res: ServerResponse, path: string): Promise<void> => {
    // The control API hands out every secret: never serve it beyond this machine.
    if (!isLoopback(req.socket.remoteAddress))
      return json(res, 403, { error: "the control API is loopback-only" });
    const raw = (await readBody(req)) ?? "";
    let body: unknown = {};
    if (raw.trim() !== "") {
      try {
        body = JSON.parse(raw);
      } catch {
        return json(res, 400, { error: "the body is not JSON" });
      }
    }
    const route = `${req.method} ${path}`;
    switch (route) {
      case "GET /_emulator/state":
        return json(res, 200, {
          ...state.describe(),
          keys: state.allKeys(),
          config: { latencyMs: faults.latencyMs, revocationDelayMs: state.revocationDelayMs },
        });
      case "GET /_emulator/issued":
        return json(res, 200, { secrets: state.issuedSecrets() });
      case "GET /_emulator/requests":
        return json(res, 200, { requests: requests.list() satisfies LoggedRequest[] });
      case "GET /_emulator/faults":
        return json(res, 200, { faults: faults.list(), log: faults.log() });
      case "POST /_emulator/faults": {
        // One schema or the other, chosen by the body's shape: a union of both would report a bad
        // spec as "(body): Invalid input" instead of naming the field that is wrong.
        const parsed = Array.isArray(body)
          ? z.array(faultSpecSchema).safeParse(body)
          : faultSpecSchema.safeParse(body);
        if (!parsed.success) return badRequest(res, parsed.error);
        const specs = Array.isArray(parsed.data) ? parsed.data : [parsed.data];
        return json(res, 200, { ids: specs.map((spec) => faults.add(spec)) });
      }
      case "DELETE /_emulator/faults":
        faults.clear();
        return json(res, 204);
      case "GET /_emulator/held":
        return json(res, 200, { held: faults.held() });
      case "POST /_emulator/release": {
        const parsed = releaseSchema.safeParse(body);
        if (!parsed.success) return badRequest(res, parsed.error);
        return json(res, 200, { released: faults.release(parsed.data.id) });
      }
      case "POST /_emulator/reset":
        faults.reset();
        state.reset();
        requests.clear();
        return json(res, 204);
      case "PUT /_emulator/config": {
        const parsed = configSchema.safeParse(body);
        if (!parsed.success) return badRequest(res, parsed.error);
        if (parsed.data.latencyMs !== undefined) faults.latencyMs = parsed.data.latencyMs;
        if (parsed.data.revocationDelayMs !== undefined)
          state.revocationDelayMs = parsed.data.revocationDelayMs;
        return json(res, 200, { latencyMs: faults.latencyMs, revocationDelayMs: state.revocationDelayMs });
      }
      default:
        return json(res, 404, { error: `no control route ${route}` });
    }
  };
}
