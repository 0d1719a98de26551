/**
 * `llamacloud-keys`: what a deployed app needs to read its LlamaCloud key from Secrets Manager.
 * Loads the AWS SDK and zod only. The Pulumi resources are in `llamacloud-keys/provider`, the
 * rotator in `llamacloud-keys/rotator`, the LlamaCloud client and emulator in
 * `llamacloud-keys/llamacloud`, the Secrets Manager store in `llamacloud-keys/secrets`.
 */
export {
  createKeyReader,
  isAuthFailure,
  isSecretsError,
  type KeyReader,
  type KeyReaderOptions,
  type KeyReading,
  MalformedPayloadError,
  PAYLOAD_FORMAT,
  parsePayload,
  redactKey,
  type SecretPayload,
  type SecretsErrorCode,
  secretPayloadSchema,
} from "./secrets";
