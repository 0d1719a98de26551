import { expect, test } from "vitest";
import { LLAMACLOUD_REGIONS, regionBaseUrls, resolveClientOptions } from "../../llamacloud/client-options";

// The region shorthands have one home (llamacloud/client-options.ts): the client's options and
// ApiKey's `region` input (provider/args.ts) take the same list and map it to the same hosts.

test.each([
  ["us", "https://api.cloud.llamaindex.ai"],
  ["eu", "https://api.cloud.eu.llamaindex.ai"],
] as const)("region %s is %s", (region, host) => {
  expect(regionBaseUrls[region]).toBe(host);
  expect(resolveClientOptions({ env: {}, apiKey: "k", region }).baseUrl).toBe(host);
});

test("the shorthands are exactly the table's keys", () => {
  expect(LLAMACLOUD_REGIONS).toEqual(Object.keys(regionBaseUrls));
  expect(LLAMACLOUD_REGIONS).toEqual(["us", "eu"]);
});
