import type { IncomingMessage, ServerResponse } from "node:http";

/**
 * Wire plumbing shared by the emulator's API routes, its fault effects and its control API: a reply
 * as data, reading a bounded body, and writing a reply unless the client is gone.
 */

export interface Reply {
  status: number;
  body?: unknown;
  /** Already-serialized JSON, used instead of `body` on hot paths. */
  raw?: string;
  headers?: Record<string, string>;
}

const maxBodyBytes = 1024 * 1024;

/** The body as text; undefined when it exceeds 1 MiB (the request is then destroyed). */
export function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBodyBytes) {
        resolve(undefined);
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

export function serialize(reply: Reply): string | undefined {
  return reply.raw ?? (reply.body === undefined ? undefined : JSON.stringify(reply.body));
}

export function send(res: ServerResponse, reply: Reply, requestId: string): void {
  if (gone(res) || res.headersSent) return;
  const payload = serialize(reply) ?? "";
  res.writeHead(reply.status, {
    ...(payload === "" ? {} : { "content-type": "application/json" }),
    "content-length": Buffer.byteLength(payload),
    "x-request-id": requestId,
    ...reply.headers,
  });
  res.end(payload);
}

/** The client went away (or close() dropped the connection): nothing more to send. */
export function gone(res: ServerResponse): boolean {
  return res.destroyed || res.socket === null || res.socket.destroyed;
}
