import { createRequire } from "node:module";
import { join } from "node:path";
import type { Output } from "@pulumi/pulumi";
import type { MockCallArgs, MockResourceArgs, MockResourceResult } from "@pulumi/pulumi/runtime";
import { repoRoot } from "./tools";

/**
 * Programs under Pulumi mocks, in-process: every resource registration is recorded, so a test sees
 * names, inputs and the wiring between resources. The SDK is the instance the compiled package
 * registers with (the repository's `@pulumi/pulumi`; vitest's own copy would be another).
 */
export const pulumi = createRequire(join(repoRoot, "package.json"))(
  "@pulumi/pulumi",
) as typeof import("@pulumi/pulumi");

export interface Registration {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
}

export interface MockAnswers {
  /** A resource's id and state, where the default does not fit; `undefined` falls back to it. */
  resource?: (args: MockResourceArgs) => MockResourceResult | undefined;
  /** A function call's result, where echoing its inputs does not fit; `undefined` falls back to it. */
  call?: (args: MockCallArgs) => Record<string, unknown> | undefined;
}

/**
 * Installs the mocks for `project`/`stack` and returns the list every registration is appended to.
 * By default an aws Secret gets an ARN built from its name (in eu-west-1, account 123456789012) and
 * any other resource its inputs plus `keyId: "<name>-key"`; calls return their inputs.
 */
export async function recordRegistrations(
  project: string,
  stack: string,
  answers: MockAnswers = {},
): Promise<Registration[]> {
  const registrations: Registration[] = [];
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        registrations.push({ type: args.type, name: args.name, inputs: args.inputs });
        const answered = answers.resource?.(args);
        if (answered !== undefined) return answered;
        if (args.type === "aws:secretsmanager/secret:Secret") {
          const arn = `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${args.inputs["name"]}-AbCdEf`;
          return { id: arn, state: { ...args.inputs, arn } };
        }
        return { id: `${args.name}-id`, state: { ...args.inputs, keyId: `${args.name}-key` } };
      },
      call: (args) => answers.call?.(args) ?? args.inputs,
    },
    project,
    stack,
    false,
  );
  return registrations;
}

/** An Output's value; the apply resolves only once the mocks have answered. */
export function resolved<T>(output: Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply(resolve));
}
