import { randomUUID } from "node:crypto";
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from "@aws-sdk/client-secrets-manager";
import { expect, inject, test } from "vitest";
import { motoCredentials } from "../harness/moto";

// Proves the harness, not the product: the real AWS SDK v3 reaches moto's server and moto models
// the staging-label semantics the rotator depends on.
test("moto stages AWSPENDING under a ClientRequestToken and promotes it to AWSCURRENT", async () => {
  const client = new SecretsManagerClient({
    endpoint: inject("motoEndpoint"),
    region: "us-east-1",
    credentials: motoCredentials,
  });
  const name = `smoke/${randomUUID()}`;
  const created = await client.send(new CreateSecretCommand({ Name: name, SecretString: "v1" }));
  const token = randomUUID();
  await client.send(
    new PutSecretValueCommand({
      SecretId: created.ARN,
      SecretString: "v2",
      ClientRequestToken: token,
      VersionStages: ["AWSPENDING"],
    }),
  );
  const pending = await client.send(
    new GetSecretValueCommand({ SecretId: name, VersionStage: "AWSPENDING" }),
  );
  expect(pending.VersionId).toBe(token);

  await client.send(
    new UpdateSecretVersionStageCommand({
      SecretId: name,
      VersionStage: "AWSCURRENT",
      MoveToVersionId: token,
      RemoveFromVersionId: created.VersionId,
    }),
  );
  const current = await client.send(
    new GetSecretValueCommand({ SecretId: name, VersionStage: "AWSCURRENT" }),
  );
  expect(current.SecretString).toBe("v2");
  const described = await client.send(new DescribeSecretCommand({ SecretId: name }));
  expect(described.VersionIdsToStages?.[created.VersionId!]).toEqual(["AWSPREVIOUS"]);
  client.destroy();
});
