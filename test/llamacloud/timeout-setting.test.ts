import { createServer, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLlamaCloudClient, defaultTimeouts, isLlamaCloudError } from "../../llamacloud";
import { timeoutsWithin } from "../../llamacloud/client-options";
import { errorFromTransport } from "../../llamacloud/error-mapping";
import { fakeKey } from "../harness/fake-key";

// A timeout message names what the user can change (#19): a program sets the client's `timeouts`
// options; the CLI passes its own flag, config field and env var as `timeoutSetting`, and one
// overall limit scales every phase.

const setting =
  "--llamacloud-timeout (config file field llamacloudTimeout, env LLAMACLOUD_KEYS_LLAMACLOUD_TIMEOUT)";
const context = {
  endpoint: "GET /api/v1/organizations",
  subject: "the organization list",
  baseUrl: "https://api.cloud.llamaindex.ai",
  attempts: 1,
};

describe("timeoutsWithin", () => {
  it("scales every phase from one overall limit, in the defaults' proportions", () => {
    expect(timeoutsWithin(60_000)).toEqual(defaultTimeouts);
    expect(timeoutsWithin(120_000)).toEqual({
      connectMs: 20_000,
      headersMs: 60_000,
      bodyMs: 60_000,
      totalMs: 120_000,
    });
    expect(timeoutsWithin(1_000)).toEqual({ connectMs: 167, headersMs: 500, bodyMs: 500, totalMs: 1_000 });
  });
});

describe("timeout messages", () => {
  it("name the setting when one is given, for every phase, and the client's options otherwise", () => {
    const codes = ["UND_ERR_CONNECT_TIMEOUT", "UND_ERR_HEADERS_TIMEOUT", "UND_ERR_BODY_TIMEOUT"];
    for (const code of codes) {
      const named = errorFromTransport(
        context,
        { code, message: "timeout" },
        { ...defaultTimeouts, setting },
        false,
      );
      expect(named.code).toBe("LLAMACLOUD_TIMEOUT");
      expect(named.message).toContain(`aise ${setting}`);
      expect(named.message).not.toContain("timeouts.");
      const plain = errorFromTransport(context, { code, message: "timeout" }, defaultTimeouts, false);
      expect(plain.message).toMatch(/aise timeouts\.(connect|headers|body)Ms/);
    }
    const deadline = errorFromTransport(context, undefined, { ...defaultTimeouts, setting }, true);
    expect(deadline.message).toMatchInlineSnapshot(
      `"GET /api/v1/organizations: no complete response within the overall deadline of 60000 ms (the organization list, 1 attempt). Raise --llamacloud-timeout (config file field llamacloudTimeout, env LLAMACLOUD_KEYS_LLAMACLOUD_TIMEOUT) or check that https://api.cloud.llamaindex.ai is reachable."`,
    );
  });

  describe("against a loopback server that accepts and never answers", () => {
    let server: Server;
    let url: string;
    const sockets = new Set<Socket>();
    beforeAll(async () => {
      server = createServer((socket) => {
        sockets.add(socket);
        socket.on("error", () => undefined);
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    });
    afterAll(async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });

    it("a real call that times out names the setting", async () => {
      const client = createLlamaCloudClient({
        apiKey: fakeKey("timeoutsetting"),
        baseUrl: url,
        env: {},
        timeouts: timeoutsWithin(1_000),
        timeoutSetting: setting,
      });
      try {
        const error = await client.listOrganizations().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(isLlamaCloudError(error, "LLAMACLOUD_TIMEOUT"), String(error)).toBe(true);
        expect((error as Error).message).toContain(setting);
        expect((error as Error).message).not.toContain("timeouts.");
      } finally {
        await client.close();
      }
    });
  });

  it("the setting is checked like every option", () => {
    expect(() =>
      createLlamaCloudClient({ apiKey: fakeKey("timeoutsetting"), env: {}, timeoutSetting: "" }),
    ).toThrow(/timeoutSetting/);
  });
});
