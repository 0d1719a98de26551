import { createRequire } from "node:module";
import { join } from "node:path";
import { beforeAll, expect, test } from "vitest";
import { repoRoot } from "../harness/tools";
import { requireDist } from "./fixtures";

// The hidden `__identity` input under Pulumi mocks: organization, project, stack and resource name,
// fixed by the program, so the `up` after a killed run passes the same one; and a key declared inside
// a component still registers (an identity that depended on the component's URN Output would make
// the SDK wait for the component's children, this key included, forever).

const nodeRequire = createRequire(join(repoRoot, "package.json"));
type Pulumi = typeof import("@pulumi/pulumi");
const pulumi = nodeRequire("@pulumi/pulumi") as Pulumi;
const { ApiKey } = requireDist<typeof import("../../provider/api-key")>("provider/api-key.js");

const registered = new Map<string, Record<string, unknown>>();

beforeAll(async () => {
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        registered.set(args.name, args.inputs);
        return { id: `${args.name}-id`, state: { ...args.inputs, keyId: `${args.name}-key` } };
      },
      call: (args) => args.inputs,
    },
    "infra",
    "prod",
    false,
  );
});

function resolved<T>(output: import("@pulumi/pulumi").Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply(resolve));
}

test("an ApiKey's identity is its organization, project, stack and name; it registers inside a component", async () => {
  class Keys extends pulumi.ComponentResource {
    readonly key: InstanceType<typeof ApiKey>;
    constructor(name: string) {
      super("acme:index:Keys", name, {}, {});
      this.key = new ApiKey(
        `${name}-search-prod`,
        { projectName: "search", environment: "prod" },
        { parent: this },
      );
      this.registerOutputs({});
    }
  }
  const top = new ApiKey("search-dev", { projectName: "search", environment: "dev" });
  const nested = new Keys("team");
  await Promise.all([resolved(top.keyId), resolved(nested.key.keyId)]);

  // The organization, when the engine reports one, comes first; mocks may report none.
  expect(registered.get("search-dev")?.["__identity"]).toMatch(/^([^/]+\/)?infra\/prod\/search-dev$/);
  expect(registered.get("team-search-prod")?.["__identity"]).toMatch(
    /^([^/]+\/)?infra\/prod\/team-search-prod$/,
  );
  // Declaring the same program again (the `up` after a kill) gives the same identity.
  const again = new ApiKey("search-dev-again", { projectName: "search", environment: "dev" });
  await resolved(again.keyId);
  expect(String(registered.get("search-dev-again")?.["__identity"]).replace(/-again$/, "")).toBe(
    registered.get("search-dev")?.["__identity"],
  );
});
