import { describe, expect, test } from "vitest";
import {
  DURATION_HINT,
  DURATION_PATTERN,
  durationSchema,
  formatDuration,
  parseDuration,
  parseDurationOrUndefined,
  toMilliseconds,
} from "../../secrets/duration";
import { fakeKey } from "../harness/fake-key";

// One duration syntax for tags, stack config, resource args, config files and flags (DESIGN.md).

describe("durations", () => {
  test.each([
    ["30d", 2_592_000_000, "30d"],
    ["12h", 43_200_000, "12h"],
    ["90m", 5_400_000, "90m"],
    ["45s", 45_000, "45s"],
    ["1s", 1_000, "1s"],
    ["24h", 86_400_000, "1d"],
    ["120s", 120_000, "2m"],
    ["60m", 3_600_000, "1h"],
  ])("%s parses to %d ms and formats back as %s", (text, ms, formatted) => {
    expect(parseDuration(text)).toBe(ms);
    expect(formatDuration(ms)).toBe(formatted);
    expect(parseDuration(formatDuration(ms))).toBe(ms);
  });

  test.each(["", "30", "d", "0s", "-5m", "1.5h", "30 d", "30D", "1w", "5ms", "1h30m", "0030d"])(
    "%j is refused with a message naming the field",
    (text) => {
      expect(() => parseDuration(text, "rotateEvery")).toThrow(
        `"rotateEvery" must be a whole number and one unit, e.g. 30d, 12h, 90m or 45s; got ${JSON.stringify(text)}`,
      );
    },
  );

  test("the error carries a stable code and the field", () => {
    try {
      parseDuration("soon", "grace");
      expect.unreachable();
    } catch (error) {
      expect(error).toMatchObject({ name: "InvalidDurationError", code: "INVALID_DURATION", field: "grace" });
    }
  });

  // SECURITY.md: a refused value is quoted, but never a key pasted into the wrong field.
  test("a key given as a duration is quoted scrubbed: llx-[redacted], never the key", () => {
    const key = fakeKey("pastedintoduration");
    expect(() => parseDuration(key, "grace")).toThrow(
      `"grace" must be ${DURATION_HINT}; got "llx-[redacted]"`,
    );
    expect(() => toMilliseconds(key, "ttl")).toThrow('got "llx-[redacted]"');
  });

  test.each([0, -1000, 1500, 0.5, Number.NaN])("formatDuration(%d) throws: not expressible", (ms) => {
    expect(() => formatDuration(ms)).toThrow(RangeError);
  });

  test("toMilliseconds takes numbers as milliseconds and strings as durations", () => {
    expect(toMilliseconds(1234, "ttl")).toBe(1234);
    expect(toMilliseconds("5m", "ttl")).toBe(300_000);
    expect(() => toMilliseconds(-1, "ttl")).toThrow(/"ttl" must be/);
    expect(() => toMilliseconds("5 minutes", "ttl")).toThrow(/"ttl" must be/);
  });
});

describe("one duration rule for every surface", () => {
  test.each([
    ["30d", 2_592_000_000],
    ["45s", 45_000],
    ["999999999s", 999_999_999_000],
    ["30 days", undefined],
    ["1000000000s", undefined],
    [30, undefined],
    [undefined, undefined],
  ] as const)("%j: the schema, the pattern and parseDurationOrUndefined agree", (text, ms) => {
    const parsed = durationSchema.safeParse(text);
    expect(parsed.success ? parsed.data : undefined).toBe(ms);
    expect(parseDurationOrUndefined(text)).toBe(ms);
    expect(typeof text === "string" && DURATION_PATTERN.test(text)).toBe(ms !== undefined);
  });
});
