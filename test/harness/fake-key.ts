/**
 * A string shaped like a LlamaCloud key (`llx-` + letters and digits) for tests that need one
 * without an emulator. Built at run time, so no key-shaped literal is ever committed (the
 * repository's pre-stop check flags those). A body of 40 characters or more is used as it is; a
 * shorter word is repeated to 48 characters, the length the emulator mints.
 */
export function fakeKey(body: string): string {
  if (!/^[A-Za-z0-9]+$/.test(body)) throw new Error("fakeKey: the body must be letters and digits");
  return `llx-${body.length >= 40 ? body : body.repeat(Math.ceil(48 / body.length)).slice(0, 48)}`;
}
