import { expect, it } from "vitest";
import { NATIVE_ERROR_CODES, parseEvent, readFunctionConfig } from "../../rotator/lambda";

// The event and environment parsing of the rotation function, in process (beside the engine tests,
// which run the packaged zip under the runtime emulator).

const token = "6f9619ff-8b86-4d11-b42d-00c04fc964ff";

it("accepts Secrets Manager's event with or without RotationToken, and a scheduled event", () => {
  expect(parseEvent({ Step: "createSecret", SecretId: "arn:x", ClientRequestToken: token })).toEqual({
    Step: "createSecret",
    SecretId: "arn:x",
    ClientRequestToken: token,
  });
  expect(
    parseEvent({ Step: "finishSecret", SecretId: "name", ClientRequestToken: token, RotationToken: "rt-1" }),
  ).toMatchObject({ RotationToken: "rt-1" });
  expect(parseEvent({ "detail-type": "Scheduled Event", source: "aws.events", detail: {} })).toMatchObject({
    "detail-type": "Scheduled Event",
  });
});

it("refuses a malformed event with one line per field, never echoing the values", () => {
  let message = "";
  try {
    parseEvent({ Step: "deleteSecret", SecretId: "", ClientRequestToken: "short-token-value" });
  } catch (error) {
    expect((error as { code: string }).code).toBe("NATIVE_INVALID_EVENT");
    message = (error as Error).message;
  }
  expect(message).toMatch(/"Step": must be one of createSecret, setSecret, testSecret, finishSecret/);
  expect(message).toMatch(/"SecretId"/);
  expect(message).toMatch(/"ClientRequestToken"/);
  expect(message).not.toContain("short-token-value");
  expect(() => parseEvent(null)).toThrow(/\(event\)/);
  expect(() => parseEvent("createSecret")).toThrow(/Invalid rotation event/);
});

it("reads its configuration from the environment, naming each missing or malformed variable", () => {
  expect(
    readFunctionConfig({
      LLAMACLOUD_KEYS_ADMIN_SECRET_ARN: "arn:admin",
      LLAMACLOUD_KEYS_SECRET_IDS: "arn:a, arn:b,",
      LLAMACLOUD_KEYS_PREFIX: "team",
    }),
  ).toEqual({ adminSecretId: "arn:admin", secretIds: ["arn:a", "arn:b"], prefix: "team" });
  expect(() =>
    readFunctionConfig({ LLAMACLOUD_KEYS_PREFIX: "a/b", LLAMACLOUD_KEYS_ADMIN_TTL: "5 minutes" }),
  ).toThrow(
    /LLAMACLOUD_KEYS_ADMIN_SECRET_ARN: required[\s\S]*LLAMACLOUD_KEYS_PREFIX[\s\S]*LLAMACLOUD_KEYS_ADMIN_TTL/,
  );
  expect(NATIVE_ERROR_CODES).toContain("NATIVE_CONFIG");
});

it('runs the revoke-only pass for any event whose "detail-type" is "Scheduled Event", as rotator/README.md says', () => {
  // EventBridge always adds `source`; the documented contract is the detail-type alone.
  expect(parseEvent({ "detail-type": "Scheduled Event" })).toEqual({ "detail-type": "Scheduled Event" });
  expect(() => parseEvent({ "detail-type": "Object Created", source: "aws.s3" })).toThrow(
    /NATIVE_INVALID_EVENT|Invalid scheduled event/,
  );
});

it("LLAMACLOUD_KEYS_PREFIX follows the one key-name prefix rule of the CLI's --prefix and the provider's name", () => {
  for (const prefix of ["team-a", "llamacloud-keys", "svc_1.v2"]) {
    expect(
      readFunctionConfig({ LLAMACLOUD_KEYS_ADMIN_SECRET_ARN: "arn:admin", LLAMACLOUD_KEYS_PREFIX: prefix }),
    ).toMatchObject({ prefix });
  }
  for (const prefix of ["a/b", "-leading-dash", "has space", "x".repeat(101)]) {
    expect(
      () =>
        readFunctionConfig({ LLAMACLOUD_KEYS_ADMIN_SECRET_ARN: "arn:admin", LLAMACLOUD_KEYS_PREFIX: prefix }),
      prefix,
    ).toThrow(/LLAMACLOUD_KEYS_PREFIX/);
  }
});
