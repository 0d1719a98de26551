import fc from "fast-check";

/**
 * Hostile strings for names, environments and ids: at and over the 3,000-character limit, unicode
 * (astral characters count as one character to LlamaCloud, two to JavaScript), path-like, control
 * characters, and ids that are not uuids.
 */

export const NAME_LIMIT = 3000;

/** Characters that break naive code: controls, separators, quotes, astral and combining marks. */
const nasty = fc.constantFrom(
  "\u0000",
  "\n",
  "\r",
  "\t",
  "\u001b[31m",
  "\u007f",
  "\u2028",
  "\u202e",
  "/",
  "\\",
  "..",
  "%2e%2e%2f",
  "'",
  '"',
  "`",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal placeholder is the point
  "${x}",
  "😀",
  "𝔘",
  "e\u0301",
  "ß",
  "\ufeff",
  " ",
);

export const pathLike = fc.constantFrom(
  "../prod",
  "../../etc/passwd",
  "/abs/path",
  "prod/../../x",
  "C:\\Windows",
  "..",
  ".",
  "a//b",
  "~/x",
);

export const hostileString: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: "grapheme", maxLength: 40 }),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.array(fc.oneof(nasty, fc.string({ maxLength: 4 })), { maxLength: 12 }).map((parts) => parts.join("")),
  pathLike,
);

/** Strings of exactly `length` code points, some of them astral. */
export function codePoints(length: number): fc.Arbitrary<string> {
  return fc
    .array(fc.constantFrom("a", "Z", "7", "😀", "é", "-", " ", "\u0001"), {
      minLength: length,
      maxLength: length,
    })
    .map((chars) => chars.join(""));
}

/** A name around the limit: exactly at it, or just over, in code points. */
export const nameNearLimit = fc.oneof(
  codePoints(NAME_LIMIT).map((name) => ({ name, over: false })),
  codePoints(NAME_LIMIT + 1).map((name) => ({ name, over: true })),
  fc.nat({ max: 200 }).chain((n) => codePoints(n).map((name) => ({ name, over: false }))),
);

/** Not a uuid in any spelling pydantic accepts (and not empty: that changes the route). */
export const notUuid: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    "not-a-uuid",
    "00000000-0000-0000-0000-00000000000",
    "00000000-0000-0000-0000-0000000000000",
    "gggggggg-gggg-gggg-gggg-gggggggggggg",
    "{00000000-0000-4000-8000-000000000000}",
    "0",
    "null",
    "undefined",
    " 00000000-0000-4000-8000-000000000000",
    "😀",
    "..",
    "%00",
  ),
  fc.string({ minLength: 1, maxLength: 60 }).filter((s) => !/^[0-9a-f-]{32,36}$/i.test(s.trim())),
  hostileString.filter((s) => s.length > 0),
);
