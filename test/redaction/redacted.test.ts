import { format, inspect } from "node:util";
import { expect, test } from "vitest";
import { isRedacted, Redacted, redacted } from "../../redaction";
import { fakeKey } from "../harness/fake-key";

// SECURITY.md: keys travel inside a `Redacted` wrapper whose `toString`, `toJSON` and `util.inspect`
// give `[redacted]`; `reveal()` is the one way back to the value.
const key = fakeKey("wrapped");

test("toString, toJSON and util.inspect of a Redacted give [redacted], however it is printed", () => {
  const wrapped = redacted(key);
  expect(wrapped.toString()).toBe("[redacted]");
  expect(wrapped.toJSON()).toBe("[redacted]");
  expect(inspect(wrapped)).toBe("[redacted]");
  const renderings = [
    String(wrapped),
    `${wrapped}`,
    JSON.stringify({ apiKey: wrapped }),
    inspect({ nested: { apiKey: wrapped } }, { depth: 10, showHidden: true }),
    format("%s %o %O %j", wrapped, wrapped, wrapped, { wrapped }),
  ];
  expect(renderings.slice(0, 3)).toEqual(["[redacted]", "[redacted]", '{"apiKey":"[redacted]"}']);
  for (const text of renderings) expect(text).not.toContain(key);
  expect(Object.keys(wrapped)).toEqual([]);
});

test("reveal() returns the value; isRedacted recognises the wrapper and nothing else", () => {
  const wrapped = new Redacted(key);
  expect(wrapped.reveal()).toBe(key);
  expect(isRedacted(wrapped)).toBe(true);
  expect(isRedacted(key)).toBe(false);
  expect(isRedacted({ reveal: () => key })).toBe(false);
  expect(isRedacted(null)).toBe(false);
});
