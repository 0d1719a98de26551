import {
  DecryptionFailure,
  InvalidParameterException,
  InvalidRequestException,
  LimitExceededException,
  ResourceExistsException,
  ResourceNotFoundException,
  SecretsManagerServiceException,
} from "@aws-sdk/client-secrets-manager";
import { describe, expect, test } from "vitest";
import { summarizeAwsError, toSecretsError } from "../../secrets/aws-errors";
import {
  InvalidManagementTagError,
  isSecretsError,
  MalformedPayloadError,
  SECRETS_ERROR_CODES,
  SecretAccessDeniedError,
  SecretDecryptionFailedError,
  SecretExistsError,
  SecretInvalidRequestError,
  SecretNotFoundError,
  SecretQuotaError,
  SecretScheduledForDeletionError,
  SecretsError,
  SecretTokenConflictError,
  SecretUnavailableError,
} from "../../secrets/errors";
import { fakeKey } from "../harness/fake-key";

const arn = "arn:aws:secretsmanager:eu-west-3:123456789012:secret:llamacloud/app/prod-AbCdEf";
const metadata = { httpStatusCode: 400, requestId: "5f0c6a2e-req" };
const key = fakeKey("AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdWXYZ");

function sdkError<T>(
  Exception: new (opts: { message: string; $metadata: object }) => T,
  message: string,
  $metadata: object = metadata,
): T {
  return new Exception({ message, $metadata });
}

describe("error classes", () => {
  test("every class has its name and stable code, and SecretsError as base", () => {
    const rows = [
      new SecretNotFoundError("m"),
      new SecretScheduledForDeletionError("m"),
      new SecretTokenConflictError("m"),
      new SecretQuotaError("m"),
      new SecretAccessDeniedError("m"),
      new SecretDecryptionFailedError("m"),
      new MalformedPayloadError("m", { issues: [] }),
      new SecretInvalidRequestError("m"),
      new SecretExistsError("m"),
      new InvalidManagementTagError("m", { tag: "t" }),
      new SecretUnavailableError("m"),
    ].map((error) => [error.name, error.code, error instanceof SecretsError]);
    expect(rows).toMatchInlineSnapshot(`
      [
        [
          "SecretNotFoundError",
          "SECRET_NOT_FOUND",
          true,
        ],
        [
          "SecretScheduledForDeletionError",
          "SECRET_SCHEDULED_FOR_DELETION",
          true,
        ],
        [
          "SecretTokenConflictError",
          "SECRET_TOKEN_CONFLICT",
          true,
        ],
        [
          "SecretQuotaError",
          "SECRET_QUOTA",
          true,
        ],
        [
          "SecretAccessDeniedError",
          "SECRET_ACCESS_DENIED",
          true,
        ],
        [
          "SecretDecryptionFailedError",
          "SECRET_DECRYPTION_FAILED",
          true,
        ],
        [
          "MalformedPayloadError",
          "SECRET_MALFORMED_PAYLOAD",
          true,
        ],
        [
          "SecretInvalidRequestError",
          "SECRET_INVALID_REQUEST",
          true,
        ],
        [
          "SecretExistsError",
          "SECRET_EXISTS",
          true,
        ],
        [
          "InvalidManagementTagError",
          "SECRET_INVALID_TAG",
          true,
        ],
        [
          "SecretUnavailableError",
          "SECRET_UNAVAILABLE",
          true,
        ],
      ]
    `);
    expect(rows.map((row) => row[1])).toEqual([...SECRETS_ERROR_CODES]);
  });

  test("isSecretsError matches on code, so an error from another copy of the module (or a plain object) matches", () => {
    const foreign = Object.assign(new Error("from a serialized closure"), { code: "SECRET_NOT_FOUND" });
    expect(isSecretsError(foreign)).toBe(true);
    expect(isSecretsError(foreign, "SECRET_NOT_FOUND")).toBe(true);
    expect(isSecretsError(foreign, "SECRET_EXISTS")).toBe(false);
    expect(isSecretsError({ code: "ENOENT" })).toBe(false);
    expect(isSecretsError(new Error("x"))).toBe(false);
    expect(isSecretsError(null)).toBe(false);
    expect(isSecretsError("SECRET_NOT_FOUND")).toBe(false);
  });
});

describe("AWS error mapping", () => {
  const ctx = {
    operation: "GetSecretValue",
    secretId: arn,
    versionId: "0b9f3c4e-7d1a-4c2b-9e8f-1a2b3c4d5e6f",
    region: "eu-west-3",
  };

  test("each AWS exception maps to a code and an actionable message (name, code, message, cause)", () => {
    const cases: [string, () => unknown, Parameters<typeof toSecretsError>[1]][] = [
      [
        "ResourceNotFoundException",
        () => sdkError(ResourceNotFoundException, "Secrets Manager can't find the specified secret."),
        ctx,
      ],
      [
        "ResourceExistsException on PutSecretValue",
        () =>
          sdkError(
            ResourceExistsException,
            "You can't use ClientRequestToken 0b9f… because that value is already in use",
          ),
        { ...ctx, operation: "PutSecretValue" },
      ],
      [
        "ResourceExistsException on CreateSecret",
        () =>
          sdkError(
            ResourceExistsException,
            "The operation failed because the secret llamacloud/app/prod already exists.",
          ),
        { operation: "CreateSecret", secretId: "llamacloud/app/prod", region: "eu-west-3" },
      ],
      [
        "InvalidRequestException, pending deletion",
        () =>
          sdkError(
            InvalidRequestException,
            "You can't perform this operation on the secret because it was marked for deletion.",
          ),
        ctx,
      ],
      ["InvalidRequestException", () => sdkError(InvalidRequestException, "You can't do that."), ctx],
      ["InvalidParameterException", () => sdkError(InvalidParameterException, "Not a valid version: x"), ctx],
      [
        "LimitExceededException",
        () => sdkError(LimitExceededException, "Too many versions."),
        { ...ctx, operation: "PutSecretValue" },
      ],
      [
        "AccessDeniedException",
        () =>
          new SecretsManagerServiceException({
            name: "AccessDeniedException",
            $fault: "client",
            message:
              "User: arn:aws:iam::1:user/app is not authorized to perform: secretsmanager:GetSecretValue",
            $metadata: { httpStatusCode: 403, requestId: "req-403" },
          }),
        ctx,
      ],
      ["DecryptionFailure", () => sdkError(DecryptionFailure, "KMS key is disabled."), ctx],
      [
        "network failure",
        () => Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:4566"), { code: "ECONNREFUSED" }),
        ctx,
      ],
      [
        "missing region",
        () => new Error("Region is missing"),
        { operation: "DescribeSecret", secretId: "app/prod" },
      ],
    ];
    const table = cases.map(([label, make, context]) => {
      const error = toSecretsError(make(), context);
      return { label, name: error.name, code: error.code, message: error.message, cause: error.cause };
    });
    expect(table).toMatchInlineSnapshot(`
      [
        {
          "cause": {
            "httpStatusCode": 400,
            "message": "Secrets Manager can't find the specified secret.",
            "name": "ResourceNotFoundException",
            "requestId": "5f0c6a2e-req",
          },
          "code": "SECRET_NOT_FOUND",
          "label": "ResourceNotFoundException",
          "message": "GetSecretValue: version 0b9f3c4e-7d1a-4c2b-9e8f-1a2b3c4d5e6f of secret arn:aws:secretsmanager:eu-west-3:123456789012:secret:llamacloud/app/prod-AbCdEf was not found in region eu-west-3 (HTTP 400, ResourceNotFoundException, request id 5f0c6a2e-req: Secrets Manager can't find the specified secret.). Check the secret name or ARN and the region (AWS_REGION), and that it was not force-deleted.",
          "name": "SecretNotFoundError",
        },
        {
          "cause": {
            "httpStatusCode": 400,
            "message": "You can't use ClientRequestToken 0b9f… because that value is already in use",
            "name": "ResourceExistsException",
            "requestId": "5f0c6a2e-req",
          },
          "code": "SECRET_TOKEN_CONFLICT",
          "label": "ResourceExistsException on PutSecretValue",
          "message": "PutSecretValue: ClientRequestToken 0b9f3c4e-7d1a-4c2b-9e8f-1a2b3c4d5e6f is already a version of secret arn:aws:secretsmanager:eu-west-3:123456789012:secret:llamacloud/app/prod-AbCdEf with a different value (HTTP 400, ResourceExistsException, request id 5f0c6a2e-req: You can't use ClientRequestToken 0b9f… because that value is already in use). Versions are immutable: another writer (e.g. a concurrent rotation) used this token first. Write a new value under a new token.",
          "name": "SecretTokenConflictError",
        },
        {
          "cause": {
            "httpStatusCode": 400,
            "message": "The operation failed because the secret llamacloud/app/prod already exists.",
            "name": "ResourceExistsException",
            "requestId": "5f0c6a2e-req",
          },
          "code": "SECRET_EXISTS",
          "label": "ResourceExistsException on CreateSecret",
          "message": "CreateSecret: a secret named llamacloud/app/prod already exists in region eu-west-3 (HTTP 400, ResourceExistsException, request id 5f0c6a2e-req: The operation failed because the secret llamacloud/app/prod already exists.). Choose another name, or import the existing secret instead of creating it.",
          "name": "SecretExistsError",
        },
        {
          "cause": {
            "httpStatusCode": 400,
            "message": "You can't perform this operation on the secret because it was marked for deletion.",
            "name": "InvalidRequestException",
            "requestId": "5f0c6a2e-req",
          },
          "code": "SECRET_SCHEDULED_FOR_DELETION",
          "label": "InvalidRequestException, pending deletion",
          "message": "Secret arn:aws:secretsmanager:eu-west-3:123456789012:secret:llamacloud/app/prod-AbCdEf is scheduled for deletion, so GetSecretValue is refused. Either restore it: \`aws secretsmanager restore-secret --secret-id arn:aws:secretsmanager:eu-west-3:123456789012:secret:llamacloud/app/prod-AbCdEf\`, or delete it for good: \`aws secretsmanager delete-secret --secret-id arn:aws:secretsmanager:eu-west-3:123456789012:secret:llamacloud/app/prod-AbCdEf --force-delete-without-recovery\` and wait until it no longer appears in \`aws secretsmanager describe-secret\` before reusing the name.",
          "name": "SecretScheduledForDeletionError",
        },
        {
          "cause": {
            "httpStatusCode": 400,
            "message": "You can't do that.",
            "name": "InvalidRequestException",
            "requestId": "5f0c6a2e-req",
          },
          "code": "SECRET_INVALID_REQUEST",
          "label": "InvalidRequestException",
          "message": "GetSecretValue: Secrets Manager rejected the request for version 0b9f3c4e-7d1a-4c2b-9e8f-1a2b3c4d5e6f of secret arn:aws:secretsmanager:eu-west-3:123456789012:secret:llamacloud/app/prod-AbCdEf (HTTP 400, InvalidRequestException, request id 5f0c6a2e-req: You can't do that.).",
          "name": "SecretInvalidRequestError",
        },
        {
          "cause": {
            "httpStatusCode": 400,
            "message": "Not a valid version: x",
            "name": "InvalidParameterException",
            "requestId": "5f0c6a2e-req",
          },
          "code": "SECRET_INVALID_REQUEST",
          "label": "InvalidParameterException",
          "message": "GetSecretValue: Secrets Manager rejected the request for version 0b9f3c4e-7d1a-4c2b-9e8f-1a2b3c4d5e6f of secret arn:aws:secretsmanager:eu-west-3:123456789012:secret:llamacloud/app/prod-AbCdEf (HTTP 400, InvalidParameterException, request id 5f0c6a2e-req: Not a valid version: x).",
          "name": "SecretInvalidRequestError",
        },
        {
          "cause": {
            "httpStatusCode": 400,
            "message": "Too many versions.",
            "name": "LimitExceededException",
            "requestId": "5f0c6a2e-req",
          },
          "code": "SECRET_QUOTA",
          "label": "LimitExceededException",
          "message": "PutSecretValue: a Secrets Manager quota was hit on version 0b9f3c4e-7d1a-4c2b-9e8f-1a2b3c4d5e6f of secret arn:aws:secretsmanager:eu-west-3:123456789012:secret:llamacloud/app/prod-AbCdEf (HTTP 400, LimitExceededException, request id 5f0c6a2e-req: Too many versions.). A secret keeps about 100 versions (those younger than 24 h are never pruned) and a version at most 20 staging labels: remove stale labels, and avoid more than one new version per 10 minutes.",
          "name": "SecretQuotaError",
        },
        {
          "cause": {
            "httpStatusCode": 403,
            "message": "User: arn:aws:iam::1:user/app is not authorized to perform: secretsmanager:GetSecretValue",
            "name": "AccessDeniedException",
            "requestId": "req-403",
          },
          "code": "SECRET_ACCESS_DENIED",
          "label": "AccessDeniedException",
          "message": "GetSecretValue: access to version 0b9f3c4e-7d1a-4c2b-9e8f-1a2b3c4d5e6f of secret arn:aws:secretsmanager:eu-west-3:123456789012:secret:llamacloud/app/prod-AbCdEf was denied (HTTP 403, AccessDeniedException, request id req-403: User: arn:aws:iam::1:user/app is not authorized to perform: secretsmanager:GetSecretValue). Check that the AWS credentials are valid and that their IAM policy allows secretsmanager:GetSecretValue on the secret (and kms:Decrypt / kms:GenerateDataKey on its KMS key).",
          "name": "SecretAccessDeniedError",
        },
        {
          "cause": {
            "httpStatusCode": 400,
            "message": "KMS key is disabled.",
            "name": "DecryptionFailure",
            "requestId": "5f0c6a2e-req",
          },
          "code": "SECRET_DECRYPTION_FAILED",
          "label": "DecryptionFailure",
          "message": "GetSecretValue: KMS could not decrypt version 0b9f3c4e-7d1a-4c2b-9e8f-1a2b3c4d5e6f of secret arn:aws:secretsmanager:eu-west-3:123456789012:secret:llamacloud/app/prod-AbCdEf (HTTP 400, DecryptionFailure, request id 5f0c6a2e-req: KMS key is disabled.). Check that the secret's KMS key is enabled and that the caller may use it (kms:Decrypt, kms:GenerateDataKey).",
          "name": "SecretDecryptionFailedError",
        },
        {
          "cause": {
            "message": "connect ECONNREFUSED 127.0.0.1:4566",
            "name": "Error",
          },
          "code": "SECRET_UNAVAILABLE",
          "label": "network failure",
          "message": "GetSecretValue: Secrets Manager did not complete the request for version 0b9f3c4e-7d1a-4c2b-9e8f-1a2b3c4d5e6f of secret arn:aws:secretsmanager:eu-west-3:123456789012:secret:llamacloud/app/prod-AbCdEf (Error: connect ECONNREFUSED 127.0.0.1:4566). This is a network, throttling or service failure: retry later, and check the endpoint (AWS_ENDPOINT_URL_SECRETS_MANAGER) if it persists.",
          "name": "SecretUnavailableError",
        },
        {
          "cause": {
            "message": "Region is missing",
            "name": "Error",
          },
          "code": "SECRET_INVALID_REQUEST",
          "label": "missing region",
          "message": "DescribeSecret: no AWS region is configured for secret app/prod. Set AWS_REGION or pass \`region\`.",
          "name": "SecretInvalidRequestError",
        },
      ]
    `);
  });

  test("a pending-deletion error carries the date and both ways out", () => {
    const error = toSecretsError(
      sdkError(
        InvalidRequestException,
        "You tried to perform the operation on a secret that's currently marked deleted.",
      ),
      ctx,
      new Date("2030-05-01T10:00:00Z"),
    );
    expect(isSecretsError(error, "SECRET_SCHEDULED_FOR_DELETION")).toBe(true);
    expect((error as SecretScheduledForDeletionError).deletedDate?.toISOString()).toBe(
      "2030-05-01T10:00:00.000Z",
    );
    expect(error.message).toMatchInlineSnapshot(
      `"Secret arn:aws:secretsmanager:eu-west-3:123456789012:secret:llamacloud/app/prod-AbCdEf is scheduled for deletion (deleted date 2030-05-01T10:00:00.000Z), so GetSecretValue is refused. Either restore it: \`aws secretsmanager restore-secret --secret-id arn:aws:secretsmanager:eu-west-3:123456789012:secret:llamacloud/app/prod-AbCdEf\`, or delete it for good: \`aws secretsmanager delete-secret --secret-id arn:aws:secretsmanager:eu-west-3:123456789012:secret:llamacloud/app/prod-AbCdEf --force-delete-without-recovery\` and wait until it no longer appears in \`aws secretsmanager describe-secret\` before reusing the name."`,
    );
  });

  test("cause is a frozen summary, never the SDK error, and holds no secret value", () => {
    const raw = sdkError(
      InvalidParameterException,
      `Value {"apiKey":"${key}"} at 'secretString' failed to satisfy constraint`,
    );
    const error = toSecretsError(raw, {
      ...ctx,
      operation: "PutSecretValue",
      sensitive: [`{"apiKey":"${key}"}`],
    });
    expect(error.cause).not.toBe(raw);
    expect(Object.isFrozen(error.cause)).toBe(true);
    expect(error.cause).toEqual({
      name: "InvalidParameterException",
      httpStatusCode: 400,
      requestId: "5f0c6a2e-req",
      message: "Value [redacted] at 'secretString' failed to satisfy constraint",
    });
    expect(JSON.stringify(error)).not.toContain(key);
    expect(error.message).not.toContain(key);
  });

  test("summarizeAwsError copes with anything thrown", () => {
    expect(summarizeAwsError("boom")).toEqual({ name: "Error", message: "boom" });
    expect(summarizeAwsError(undefined)).toEqual({ name: "Error" });
    expect(summarizeAwsError({ name: "X", message: "y".repeat(400) }).message).toHaveLength(300);
  });
});
