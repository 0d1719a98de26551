import { createRequire } from "node:module";
import { join } from "node:path";
import { beforeAll, expect, test } from "vitest";
import { pulumi, type Registration, recordRegistrations, resolved } from "../harness/pulumi-mocks";
import { distDir } from "./fixtures";

// The root program (index.ts → dist/index.js) with `llamacloud-keys:useProjectKeys: true`, under
// Pulumi mocks: the AWS provider plugin cannot run offline, so this is the level at which the README's
// Configuration reference is proven for that mode (engine.test.ts runs the default mode for real).

let registrations: Registration[] = [];

beforeAll(async () => {
  registrations = await recordRegistrations("llamacloud-keys", "mocks", {
    // An ApiKey writes into the secret it is given: its secretArn output is that secret.
    resource: (args) =>
      args.type === "aws:secretsmanager/secret:Secret"
        ? undefined
        : {
            id: `${args.name}-id`,
            state: { ...args.inputs, secretArn: args.inputs["secretId"], redactedKey: "llx-…abcd" },
          },
  });
});

test("useProjectKeys: ProjectKeys from stack config; outputs secretArns and redactedKeys per pair, and the IAM policies", async () => {
  pulumi.runtime.setAllConfig({
    "llamacloud-keys:projects": JSON.stringify([
      { name: "search", environments: ["staging", "prod"] },
      { id: "3f1a2b4c-5d6e-4f70-8a91-b2c3d4e5f601", environments: ["prod"] },
    ]),
    "llamacloud-keys:useProjectKeys": "true",
    "llamacloud-keys:secretPrefix": "apps/llamacloud",
    "llamacloud-keys:keyPrefix": "platform",
    "llamacloud-keys:recoveryWindowInDays": "7",
    "llamacloud-keys:rotation": JSON.stringify({ every: "30d", grace: "2h" }),
  });
  const program = createRequire(join(distDir, "index.js"))(join(distDir, "index.js")) as Record<
    string,
    unknown
  >;
  const pairs = ["search/staging", "search/prod", "3f1a2b4c-5d6e-4f70-8a91-b2c3d4e5f601/prod"];
  const secretArns = program["secretArns"] as Record<string, import("@pulumi/pulumi").Output<string>>;
  const redactedKeys = program["redactedKeys"] as Record<string, import("@pulumi/pulumi").Output<string>>;
  expect(Object.keys(secretArns).sort()).toEqual([...pairs].sort());
  expect(Object.keys(redactedKeys).sort()).toEqual([...pairs].sort());
  expect(await resolved(secretArns["search/prod"]!)).toMatch(/:secret:apps\/llamacloud\/search\/prod-/);
  const readers = await resolved(program["readerPolicies"] as import("@pulumi/pulumi").Output<object>);
  expect(Object.keys(readers).sort()).toEqual(["prod", "staging"]);
  expect(
    JSON.parse(await resolved(program["rotatorPolicy"] as import("@pulumi/pulumi").Output<string>)),
  ).toMatchObject({ Version: "2012-10-17" });

  // The config reached the resources: secret names and recovery window, key prefix and rotation.
  const secrets = registrations.filter((r) => r.type === "aws:secretsmanager/secret:Secret");
  expect(secrets.map((r) => r.inputs["name"]).sort()).toEqual(
    pairs.map((p) => `apps/llamacloud/${p}`).sort(),
  );
  expect(secrets.every((r) => r.inputs["recoveryWindowInDays"] === 7)).toBe(true);
  const keys = registrations.filter((r) => r.type === "pulumi-nodejs:dynamic/llamacloud:ApiKey");
  expect(keys).toHaveLength(3);
  for (const key of keys) {
    expect(key.inputs).toMatchObject({ name: "platform", rotation: { every: "30d", grace: "2h" } });
  }
});
