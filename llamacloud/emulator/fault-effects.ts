import type { IncomingMessage, ServerResponse } from "node:http";
import { setTimeout as delay } from "node:timers/promises";
import type { Fault, FaultInjector } from "./faults";
import { gone, type Reply, serialize } from "./http";
import type { LoggedRequest } from "./request-log";

/**
 * What each scripted fault ({@link FaultInjector}, `faults.ts`) does on the wire: before the request
 * is handled (latency, a status, a reset, a hang, a hold, a raw body) or after (a reset mid-response,
 * a hold before the response). The injector decides which fault hits; this module only acts it out.
 */

/** The request a fault acts on, and how to answer it normally. */
export interface FaultTarget {
  logged: LoggedRequest;
  req: IncomingMessage;
  res: ServerResponse;
  reply: (reply: Reply) => void;
  requestId: string;
}

/** Faults that act before the request is handled; true when the request is finished. */
export async function applyBefore(
  fault: Fault,
  faults: FaultInjector,
  target: FaultTarget,
): Promise<boolean> {
  const { logged, req, res, reply, requestId } = target;
  switch (fault.kind) {
    case "latency":
      await delay(fault.ms);
      return false;
    case "status": {
      const headers: Record<string, string> = {};
      if (fault.retryAfter !== undefined) headers["retry-after"] = fault.retryAfter;
      if (fault.retryAfterMs !== undefined) headers["retry-after-ms"] = String(fault.retryAfterMs);
      reply({ status: fault.status, body: { detail: fault.detail ?? statusText(fault.status) }, headers });
      return true;
    }
    case "reset":
      if (fault.when !== "before-handling") return false;
      req.socket.destroy();
      return true;
    case "hang":
      // Never answer: the client's timeout fires, or close() drops the connection.
      return true;
    case "hold":
      if (fault.when === "before-response") return false;
      return !(await park(faults, logged, res));
    case "body":
      if (res.destroyed) return true;
      logged.status = fault.status ?? 200;
      res.writeHead(fault.status ?? 200, {
        "content-type": fault.contentType ?? "application/json",
        "content-length": Buffer.byteLength(fault.body),
        "x-request-id": requestId,
      });
      res.end(fault.body);
      return true;
    case "masked-key":
      return false;
  }
}

/** Parks until released; false when the client went away meanwhile (nothing more to do). */
export async function park(
  faults: FaultInjector,
  logged: LoggedRequest,
  res: ServerResponse,
): Promise<boolean> {
  const { released, abandon } = faults.park(logged.method, logged.path, logged.route ?? "");
  res.once("close", abandon);
  await released;
  res.off("close", abandon);
  return !gone(res);
}

/** Writes headers and half the body, then destroys the socket: a reset mid-response. */
export function resetMidResponse(res: ServerResponse, reply: Reply, requestId: string): void {
  const payload = serialize(reply) ?? "";
  res.writeHead(reply.status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(payload) + 1,
    "x-request-id": requestId,
  });
  res.write(payload.slice(0, Math.floor(payload.length / 2)), () => res.socket?.destroy());
}

function statusText(status: number): string {
  const texts: Record<number, string> = {
    408: "Request Timeout",
    409: "Conflict",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
  };
  return texts[status] ?? "Error";
}
