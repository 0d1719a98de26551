import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, expect, test } from "vitest";
import type { SecretStore } from "../../secrets/store";
import { managementTags, TAG_MANAGED } from "../../secrets/tags";
import { callLog, makePayload, motoStore } from "./fixtures";

// A region of its own: the assertions count every managed secret in it.
const region = "test-secrets-discovery-1";
const log = callLog();
let store: SecretStore;
const managed: string[] = [];
let deleted: string;

beforeAll(async () => {
  store = motoStore(region, { onCall: log.onCall });
  const run = randomUUID();
  for (let i = 0; i < 7; i++) {
    const { arn } = await store.createSecret({
      name: `discovery/${run}/managed-${i}`,
      tags: managementTags({ projectId: randomUUID(), environment: `env-${i}` }),
    });
    await store.writeVersion(arn, { token: randomUUID(), payload: makePayload(), stage: "AWSCURRENT" });
    managed.push(arn);
  }
  // Both ListSecrets filters match by prefix and independently, so each of these passes them.
  await store.createSecret({
    name: `discovery/${run}/false`,
    tags: { [TAG_MANAGED]: "false", other: "true" },
  });
  await store.createSecret({ name: `discovery/${run}/truthy`, tags: { [TAG_MANAGED]: "trueish" } });
  await store.createSecret({ name: `discovery/${run}/prefix`, tags: { [`${TAG_MANAGED}-not`]: "true" } });
  await store.createSecret({ name: `discovery/${run}/untagged` });
  ({ arn: deleted } = await store.createSecret({
    name: `discovery/${run}/deleted`,
    tags: managementTags({ projectId: randomUUID(), environment: "gone" }),
  }));
  await store.deleteSecret(deleted, { recoveryWindowInDays: 7 });
});

afterAll(() => store.close());

test("discovery lists exactly the secrets tagged managed=true, across more than one page", async () => {
  const start = log.events.length;
  const found = await store.listManagedSecrets({ pageSize: 2 });
  const pages = log.events.slice(start).filter((event) => event.operation === "ListSecrets").length;
  expect(pages).toBeGreaterThan(1);
  expect(found.map((secret) => secret.arn).sort()).toEqual([...managed].sort());
  for (const secret of found) {
    expect(secret.tags[TAG_MANAGED]).toBe("true");
    expect(Object.values(secret.versionIdsToStages)).toEqual([["AWSCURRENT"]]);
    expect(secret.deletedDate).toBeUndefined();
  }
});

test("discovery gives the same answer with one page", async () => {
  const start = log.events.length;
  const found = await store.listManagedSecrets();
  expect(log.events.slice(start).filter((event) => event.operation === "ListSecrets")).toHaveLength(1);
  expect(found.map((secret) => secret.arn).sort()).toEqual([...managed].sort());
});

test("secrets pending deletion are left out unless asked for, and then flagged", async () => {
  const found = await store.listManagedSecrets({ pageSize: 3, includeScheduledForDeletion: true });
  expect(found.map((secret) => secret.arn).sort()).toEqual([...managed, deleted].sort());
  const flagged = found.filter((secret) => secret.deletedDate !== undefined).map((secret) => secret.arn);
  expect(flagged).toEqual([deleted]);
});
