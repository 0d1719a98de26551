import { createLlamaCloudClient, type LlamaCloudClient, type LlamaCloudRequestEvent } from "../../llamacloud";
import type { LlamaCloudClientOptions } from "../../llamacloud/client-options";
import type { EmulatorHandle } from "../../llamacloud/emulator";

/** A client on the emulator whose retry waits are recorded instead of slept. */
export interface RecordingClient {
  client: LlamaCloudClient;
  /** Every backoff the client asked for, in order (ms). */
  sleeps: number[];
  /** Every HTTP attempt the client reported. */
  events: LlamaCloudRequestEvent[];
}

export function recordingClient(
  emulator: EmulatorHandle,
  options: Partial<LlamaCloudClientOptions> = {},
): RecordingClient {
  const sleeps: number[] = [];
  const events: LlamaCloudRequestEvent[] = [];
  const client = createLlamaCloudClient({
    apiKey: emulator.adminKey,
    baseUrl: emulator.url,
    env: {},
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0.5,
    onRequest: (event) => events.push(event),
    timeouts: { connectMs: 2_000, headersMs: 2_000, bodyMs: 2_000, totalMs: 10_000 },
    ...options,
  });
  return { client, sleeps, events };
}

/** The emulator's project id for `name` (default seed: `default`, `search`). */
export function projectId(emulator: EmulatorHandle, name = "default"): string {
  const project = emulator.projects.find((p) => p.name === name);
  if (project === undefined) throw new Error(`the emulator has no project named ${name}`);
  return project.id;
}
