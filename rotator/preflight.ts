import type { LlamaCloudClient } from "../llamacloud/client";
import { isLlamaCloudError } from "../llamacloud/errors";
import { llamaCloudClientOptions, type RotatorConfig } from "./config";
import { errorMessage } from "./errors";

/**
 * The credential check a command makes before it reads or changes any secret: one cheap
 * authenticated call (`GET /api/v1/organizations`, a short list every user has). A wrong
 * `LLAMA_CLOUD_API_KEY` would otherwise fail once per secret, after the pass had started; an
 * unreachable host would fail every secret in turn.
 *
 * Only a refused credential (or unusable client options) is a configuration error (exit 2). A 403
 * means the key authenticated (what it may do is judged per project, later). Anything else (a
 * refused connection, a timeout, a 5xx) means LlamaCloud could not answer now: `rotate` and
 * `status` fail as a whole (exit 1), still before touching anything, and the next run tries again;
 * the daemon logs a warning and keeps its schedule.
 */

export type PreflightResult =
  | { ok: true }
  | {
      ok: false;
      /** 2: the key was refused (a configuration error); 1: LlamaCloud could not be asked. */
      exitCode: 1 | 2;
      /** LLAMACLOUD_AUTHENTICATION, LLAMACLOUD_NETWORK, LLAMACLOUD_TIMEOUT, … */
      code: string;
      /** One paragraph naming the host, what failed and the fix. Never key material. */
      message: string;
    };

export async function checkLlamaCloudCredential(
  config: Pick<RotatorConfig, "command" | "llamaCloud">,
  client?: LlamaCloudClient,
): Promise<PreflightResult> {
  const { createLlamaCloudClient } = await import("../llamacloud/client");
  let own: LlamaCloudClient | undefined;
  try {
    own = client === undefined ? createLlamaCloudClient(llamaCloudClientOptions(config)) : undefined;
    await (client ?? own)!.listOrganizations();
    return { ok: true };
  } catch (error) {
    if (isLlamaCloudError(error, "LLAMACLOUD_PERMISSION")) return { ok: true };
    const host = (client ?? own)?.baseUrl ?? config.llamaCloud.baseUrl ?? "LlamaCloud";
    const code = isLlamaCloudError(error) ? error.code : "UNKNOWN";
    const nothing = `\`llamacloud-keys ${config.command}\` read and changed nothing.`;
    if (isLlamaCloudError(error, "LLAMACLOUD_AUTHENTICATION")) {
      const call = `${error.endpoint ?? "GET /api/v1/organizations"} → ${error.status ?? 401}`;
      return {
        ok: false,
        exitCode: 2,
        code,
        message:
          `LlamaCloud at ${host} refused LLAMA_CLOUD_API_KEY (${call}` +
          `${error.requestId === undefined ? "" : `, request id ${error.requestId}`}). Export a live key of a ` +
          "LlamaCloud user who is an admin of every managed project, made on this host (US and EU keys " +
          `differ; a revoked key stops working within a minute). ${nothing}`,
      };
    }
    if (isLlamaCloudError(error, "LLAMACLOUD_CONFIG")) {
      return { ok: false, exitCode: 2, code, message: `${error.message} ${nothing}` };
    }
    return {
      ok: false,
      exitCode: 1,
      code,
      message: `LlamaCloud could not be asked whether LLAMA_CLOUD_API_KEY works: ${errorMessage(error)} ${nothing}`,
    };
  } finally {
    await own?.close();
  }
}
