import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as ts from "typescript";
import { expect, test } from "vitest";
import { repoRoot } from "../harness/tools";

// The public surface, as a visible diff: every name (value or type) each entry point of the
// package.json `exports` map offers, read by the TypeScript checker from the entry's source. A name
// added or dropped changes the snapshot below, so a change to the surface is reviewed like code and
// the READMEs that document it are updated with it.

const manifest = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as {
  exports: Record<string, string>;
};

/** `./dist/secrets/index.js` → `secrets/index.ts`; undefined for entries that are not our modules. */
function sourceOf(target: string): string | undefined {
  const match = /^\.\/dist\/(.+)\.js$/.exec(target);
  return match === null ? undefined : join(repoRoot, `${match[1]}.ts`);
}

function exportNames(): Record<string, string[]> {
  const entries = Object.entries(manifest.exports).flatMap(([subpath, target]) => {
    const source = sourceOf(target);
    return source === undefined ? [] : [[subpath, source] as const];
  });
  const config = ts.getParsedCommandLineOfConfigFile(
    join(repoRoot, "tsconfig.json"),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
        throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n"));
      },
    },
  );
  if (config === undefined) throw new Error("tsconfig.json could not be read");
  const program = ts.createProgram({
    rootNames: entries.map(([, source]) => source),
    options: { ...config.options, noEmit: true },
  });
  const checker = program.getTypeChecker();
  const names: Record<string, string[]> = {};
  for (const [subpath, source] of entries) {
    const file = program.getSourceFile(source);
    const symbol = file === undefined ? undefined : checker.getSymbolAtLocation(file);
    if (symbol === undefined) throw new Error(`${subpath}: ${source} is not a module`);
    names[subpath] = checker
      .getExportsOfModule(symbol)
      .map((s) => s.name)
      .sort();
  }
  return names;
}

test("each entry point's export names are the documented surface", () => {
  const names = exportNames();
  console.info(
    `exports per entry point: ${Object.entries(names)
      .map(([subpath, list]) => `${subpath} ${list.length}`)
      .join(", ")}`,
  );
  expect(names).toMatchInlineSnapshot(`
    {
      ".": [
        "KeyReader",
        "KeyReaderOptions",
        "KeyReading",
        "MalformedPayloadError",
        "PAYLOAD_FORMAT",
        "SecretPayload",
        "SecretsErrorCode",
        "createKeyReader",
        "isAuthFailure",
        "isSecretsError",
        "parsePayload",
        "redactKey",
        "secretPayloadSchema",
      ],
      "./llamacloud": [
        "ApiKeyInfo",
        "CreatedApiKey",
        "DEFAULT_KEY_PREFIX",
        "LlamaCloudAmbiguousProjectError",
        "LlamaCloudAuthenticationError",
        "LlamaCloudBadResponseError",
        "LlamaCloudClient",
        "LlamaCloudClientOptions",
        "LlamaCloudConfigError",
        "LlamaCloudError",
        "LlamaCloudErrorCode",
        "LlamaCloudErrorDetails",
        "LlamaCloudMaskedKeyError",
        "LlamaCloudNetworkError",
        "LlamaCloudNotFoundError",
        "LlamaCloudPermissionError",
        "LlamaCloudRateLimitedError",
        "LlamaCloudRegion",
        "LlamaCloudRequestEvent",
        "LlamaCloudServerError",
        "LlamaCloudTimeoutError",
        "LlamaCloudTimeouts",
        "LlamaCloudUnknownProjectError",
        "LlamaCloudValidationError",
        "Organization",
        "Project",
        "RetryPolicy",
        "ValidationIssue",
        "createLlamaCloudClient",
        "defaultRetryPolicy",
        "defaultTimeouts",
        "isLlamaCloudError",
        "keyName",
        "llamaCloudErrorCodes",
        "maskKey",
        "regionBaseUrls",
      ],
      "./llamacloud/emulator": [
        "EmulatorHandle",
        "EmulatorOptions",
        "EmulatorRoute",
        "EmulatorSeed",
        "EmulatorState",
        "Fault",
        "FaultInjector",
        "FaultSpec",
        "HeldRequest",
        "KeySnapshot",
        "LoggedRequest",
        "Principal",
        "SeedError",
        "StateError",
        "defaultSeed",
        "emulatorRoutes",
        "emulatorSeedSchema",
        "startEmulator",
      ],
      "./provider": [
        "ApiKey",
        "ApiKeyArgs",
        "ApiKeyInputs",
        "ApiKeyOutputs",
        "CONFIG_API_KEY",
        "CONFIG_BASE_URL",
        "DEFAULT_KEY_PREFIX",
        "DEFAULT_SECRET_PREFIX",
        "ENV_API_KEY",
        "ENV_BASE_URL",
        "MIN_GRACE_MS",
        "MissingPeerDependencyError",
        "PEER_RANGES",
        "PROVIDER_ERROR_CODES",
        "PeerName",
        "ProjectKeys",
        "ProjectKeysArgs",
        "ProjectKeysProject",
        "ProjectKeysSecret",
        "ProviderError",
        "ProviderErrorCode",
        "StackConfig",
        "apiKeyInputsSchema",
        "apiKeyProvider",
        "isProviderError",
        "parseStackConfig",
        "readerPolicy",
        "rotatorPolicy",
      ],
      "./rotator": [
        "ALL_EVENTS",
        "Command",
        "DEFAULT_GRACE_MS",
        "DaemonDeps",
        "DaemonHandle",
        "FlagValues",
        "GRACE_FLOOR_MS",
        "LogFormat",
        "LoggerOptions",
        "PROMOTE_WITHIN_MS",
        "ROTATOR_ERROR_CODES",
        "RevokeReason",
        "RotatorConfig",
        "RotatorDeps",
        "RotatorEmitter",
        "RotatorError",
        "RotatorErrorCode",
        "RotatorErrorDetails",
        "RotatorEventName",
        "RotatorEvents",
        "RotatorServices",
        "RunOnceDeps",
        "RunOnceResult",
        "STAGING_WINDOW_MS",
        "SecretOptions",
        "SecretResult",
        "SecretStatus",
        "ServiceParts",
        "StagedKey",
        "StepInput",
        "StepName",
        "attachLogger",
        "collectStatus",
        "createSecret",
        "createServices",
        "finishSecret",
        "formatStatus",
        "isRotatorError",
        "loadConfig",
        "revokePrevious",
        "runDaemon",
        "runOnce",
        "setSecret",
        "sweepOrphans",
        "testSecret",
      ],
      "./rotator/lambda": [
        "FunctionConfig",
        "HandlerDeps",
        "HandlerResult",
        "LambdaContext",
        "NATIVE_ERROR_CODES",
        "NativeErrorCode",
        "NativeRotationError",
        "ROTATION_STEPS",
        "RotationFunctionEvent",
        "RotationHandler",
        "RotationStep",
        "ScheduledEvent",
        "SecretsManagerRotationEvent",
        "createRotationHandler",
        "handler",
        "parseEvent",
        "readFunctionConfig",
      ],
      "./secrets": [
        "AWSCURRENT",
        "AWSPENDING",
        "AWSPREVIOUS",
        "CreateSecretInput",
        "DeleteSecretOptions",
        "KeyReader",
        "KeyReaderOptions",
        "KeyReading",
        "ListManagedSecretsOptions",
        "MalformedPayloadError",
        "ManagedSecretSummary",
        "ManagementTags",
        "ManagementTagsInput",
        "PAYLOAD_FORMAT",
        "PayloadReading",
        "PromoteOptions",
        "Redacted",
        "SECRETS_ERROR_CODES",
        "SecretDescription",
        "SecretPayload",
        "SecretPayloadInput",
        "SecretStore",
        "SecretStoreCredentials",
        "SecretStoreOptions",
        "SecretVersionInfo",
        "SecretsError",
        "SecretsErrorCode",
        "StagingLabel",
        "StoreCallEvent",
        "TAG_ENVIRONMENT",
        "TAG_GRACE",
        "TAG_MANAGED",
        "TAG_OWNER",
        "TAG_PROJECT_ID",
        "TAG_ROTATE_EVERY",
        "VersionSelector",
        "WriteVersionInput",
        "createKeyReader",
        "createSecretStore",
        "isAuthFailure",
        "isSecretsError",
        "managementTags",
        "parsePayload",
        "readManagementTags",
        "redactKey",
        "redacted",
        "secretPayloadSchema",
        "serializePayload",
      ],
    }
  `);
}, 60_000);
