#!/usr/bin/env node
// For trying app.js locally: mints a key in a LlamaCloud emulator and stores it, as llamacloud-keys
// would, in a new secret of a local Secrets Manager (moto). Prints the secret's ARN on stdout, nothing
// else. In real use `pulumi up` (the ApiKey resource) does this.
//
//   EMULATOR_URL=http://127.0.0.1:8010 ADMIN_KEY=llx-… AWS_REGION=us-east-1 \
//   AWS_ENDPOINT_URL_SECRETS_MANAGER=http://127.0.0.1:5000 node examples/app/local-secret.js
//
// It refuses to run without AWS_ENDPOINT_URL_SECRETS_MANAGER, so it cannot write into real AWS by
// mistake.

const { randomUUID } = require("node:crypto");
const { createSecretStore, redacted } = require("llamacloud-keys/secrets");

async function main() {
  const {
    EMULATOR_URL: baseUrl,
    ADMIN_KEY: adminKey,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoint,
  } = process.env;
  if (!baseUrl || !adminKey || !endpoint) {
    process.stderr.write("local-secret: set EMULATOR_URL, ADMIN_KEY and AWS_ENDPOINT_URL_SECRETS_MANAGER\n");
    return 2;
  }
  const headers = { Authorization: `Bearer ${adminKey}`, "Content-Type": "application/json" };
  const projects = await (await fetch(`${baseUrl}/api/v1/projects`, { headers })).json();
  const project = projects[0];
  const name = `example-app/${randomUUID()}`;
  const response = await fetch(`${baseUrl}/api/v1/api-keys`, {
    method: "POST",
    headers,
    body: JSON.stringify({ name, project_id: project.id }),
  });
  if (!response.ok) throw new Error(`creating a key: HTTP ${response.status}`);
  // LlamaCloud returns the new key, once, in a field misleadingly named `redacted_api_key`.
  const created = await response.json();

  const store = createSecretStore({ endpoint });
  try {
    const { arn } = await store.createSecret({ name: `llamacloud/${project.name}/example-${Date.now()}` });
    await store.writeVersion(arn, {
      token: randomUUID(),
      stage: "AWSCURRENT",
      payload: {
        format: 1,
        apiKey: redacted(created.redacted_api_key),
        keyId: created.id,
        keyName: name,
        projectId: project.id,
        organizationId: project.organization_id ?? null,
        environment: "dev",
        baseUrl,
        createdAt: new Date().toISOString(),
      },
    });
    process.stdout.write(`${arn}\n`);
  } finally {
    store.close();
  }
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    process.stderr.write(`local-secret: ${error.message}\n`);
    process.exitCode = 1;
  },
);
