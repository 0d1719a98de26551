import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { setTimeout as delay } from "node:timers/promises";
import { type ControlParts, controlApi } from "./control";
import { applyBefore, park, resetMidResponse } from "./fault-effects";
import { type Reply, readBody, send } from "./http";
import { apiRoutes, maskCreatedKey } from "./routes";

/**
 * The emulator's `node:http` server: `/_emulator/…` goes to the control API (`control.ts`), every
 * other path to the API routes (`routes.ts`), with the armed faults acted out around them
 * (`fault-effects.ts`). Everything it counts is per server, so emulators in one process are apart.
 */

export type EmulatorServerParts = ControlParts;

/** Creates the `node:http` server (not yet listening). */
export function createEmulatorServer(parts: EmulatorServerParts): Server {
  const { state, faults, requests } = parts;
  const routes = apiRoutes(state);
  // Per server: `x-request-id: emu-<n>` counts this emulator's requests only.
  let requestCounter = 0;

  async function handleApi(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    query: string,
  ): Promise<void> {
    const method = req.method ?? "GET";
    const requestId = `emu-${++requestCounter}`;
    const matched = routes.match(method, path);
    const logged = requests.add(method, path, query, "route" in matched ? matched.route : null);
    const body = (await readBody(req)) ?? "";
    if (method === "POST" || method === "PUT") logged.body = logBody(body);
    const reply = (r: Reply) => {
      if (!res.destroyed) logged.status = r.status;
      send(res, r, requestId);
    };
    if (!("route" in matched)) {
      reply({
        status: matched.status,
        body: { detail: matched.status === 404 ? "Not Found" : "Method Not Allowed" },
      });
      return;
    }

    if (faults.latencyMs > 0) await delay(faults.latencyMs);
    const fault = faults.take(method, path, matched.route);
    if (fault !== undefined) logged.fault = fault.kind;
    if (fault !== undefined && (await applyBefore(fault, faults, { logged, req, res, reply, requestId }))) {
      return;
    }

    const result = routes.handle(matched, req.headers.authorization, body, query);
    if (fault?.kind === "masked-key" && matched.route === "POST /api/v1/api-keys" && result.status === 200) {
      maskCreatedKey(result);
    }
    if (fault?.kind === "reset") {
      resetMidResponse(res, result, requestId);
      return;
    }
    if (fault?.kind === "hold" && fault.when === "before-response") {
      if (!(await park(faults, logged, res))) return;
    }
    reply(result);
  }

  const control = controlApi(parts);

  return createServer({ keepAliveTimeout: 5_000 }, (req, res) => {
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const path = q === -1 ? url : url.slice(0, q);
    const query = q === -1 ? "" : url.slice(q + 1);
    const work = path.startsWith("/_emulator/") ? control(req, res, path) : handleApi(req, res, path, query);
    work.catch((error: unknown) => {
      if (!res.headersSent && !res.destroyed) {
        send(res, { status: 500, body: { detail: `Emulator error: ${String(error)}` } }, "emu-error");
      }
    });
  });
}

function logBody(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}
