import { createServer } from "node:net";

/** A loopback port that was free a moment ago; callers that race for it retry on EADDRINUSE. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      if (address === null || typeof address === "string") {
        server.close();
        reject(new Error("freePort: the loopback listener has no port"));
        return;
      }
      server.close(() => resolve(address.port));
    });
  });
}
