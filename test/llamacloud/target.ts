import { randomUUID } from "node:crypto";
import { createLlamaCloudClient } from "../../llamacloud";
import { type EmulatorHandle, startEmulator } from "../../llamacloud/emulator";

/**
 * Where contract tests run (STYLE §7, moto's `@aws_verified`): the local emulator by default, live
 * LlamaCloud when `LLAMACLOUD_LIVE=1` and `LLAMA_CLOUD_API_KEY` are set (`LLAMA_CLOUD_BASE_URL`
 * optional; the project is the key's current project unless `LLAMACLOUD_LIVE_PROJECT_ID` names
 * one). Live runs create and delete their own scratch keys, named with `scratchName()`.
 */
export interface Target {
  kind: "emulator" | "live";
  baseUrl: string;
  apiKey: string;
  projectId: string;
  /** Present for the emulator only: tests that need faults or state skip on live. */
  emulator?: EmulatorHandle;
  close(): Promise<void>;
}

const liveKey = process.env["LLAMA_CLOUD_API_KEY"];

/** True when `target()` will be live LlamaCloud; for `it.skipIf` on emulator-only cases. */
export const isLive = process.env["LLAMACLOUD_LIVE"] === "1" && liveKey !== undefined && liveKey !== "";

export async function target(): Promise<Target> {
  if (isLive && liveKey !== undefined) {
    const baseUrl = process.env["LLAMA_CLOUD_BASE_URL"] || "https://api.cloud.llamaindex.ai";
    let projectId = process.env["LLAMACLOUD_LIVE_PROJECT_ID"];
    if (projectId === undefined || projectId === "") {
      const client = createLlamaCloudClient({ apiKey: liveKey, baseUrl });
      try {
        projectId = (await client.getCurrentProject()).id;
      } finally {
        await client.close();
      }
    }
    return { kind: "live", baseUrl, apiKey: liveKey, projectId, close: async () => {} };
  }
  const emulator = await startEmulator();
  return {
    kind: "emulator",
    baseUrl: emulator.url,
    apiKey: emulator.adminKey,
    projectId: emulator.projects[0]!.id,
    emulator,
    close: () => emulator.close(),
  };
}

/** A key name no real key has: scratch keys of live runs are recognisable and safe to delete. */
export function scratchName(label: string): string {
  return `llamacloud-keys-test/${label}/${randomUUID()}`;
}
