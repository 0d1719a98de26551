import { beforeAll, expect, test } from "vitest";
import { pulumi, type Registration, recordRegistrations, resolved } from "../harness/pulumi-mocks";
import { requireDist } from "./fixtures";

// The hidden `__identity` input under Pulumi mocks: organization, project, stack and resource name,
// fixed by the program, so the `up` after a killed run passes the same one; and a key declared inside
// a component still registers (an identity that depended on the component's URN Output would make
// the SDK wait for the component's children, this key included, forever).

const { ApiKey } = requireDist<typeof import("../../provider/api-key")>("provider/api-key.js");
let registrations: Registration[] = [];
const registered = {
  get: (name: string) => registrations.find((r) => r.name === name)?.inputs,
};

beforeAll(async () => {
  registrations = await recordRegistrations("infra", "prod");
});

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
