import type { TestProject } from "vitest/node";
import { type MotoServer, startMoto } from "./moto";

declare module "vitest" {
  export interface ProvidedContext {
    /** moto's Secrets Manager endpoint, shared by every suite; suites keep apart by region. */
    motoEndpoint: string;
  }
}

let moto: MotoServer | undefined;

export async function setup(project: TestProject): Promise<void> {
  moto = await startMoto();
  project.provide("motoEndpoint", moto.endpoint);
}

export async function teardown(): Promise<void> {
  await moto?.stop();
}
