import { inspect } from "node:util";

const hidden = "[redacted]";

/**
 * A secret value that cannot leak by accident: `String()`, `JSON.stringify`, template literals and
 * `util.inspect` (so `console.log` and most loggers) all render `"[redacted]"`. The only way to the
 * value is the loudly named {@link Redacted.reveal}, so a grep for `reveal(` lists every place a key
 * is handled in plaintext.
 */
export class Redacted<T = string> {
  // A private class field is invisible to JSON.stringify, Object.keys and structuredClone.
  readonly #value: T;

  constructor(value: T) {
    this.#value = value;
  }

  /** The plaintext. Call it only where the value must leave the process (an HTTP header, a secret). */
  reveal(): T {
    return this.#value;
  }

  toString(): string {
    return hidden;
  }

  toJSON(): string {
    return hidden;
  }

  [inspect.custom](): string {
    return hidden;
  }
}

export function redacted<T>(value: T): Redacted<T> {
  return new Redacted(value);
}

/**
 * True for a Redacted from any copy of this module: the Pulumi provider runs from a serialized
 * closure and may hold a Redacted built by another copy, so `instanceof` is not enough.
 */
export function isRedacted(value: unknown): value is Redacted<unknown> {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { reveal?: unknown }).reveal === "function" &&
    String(value) === hidden
  );
}
