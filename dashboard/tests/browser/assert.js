// The part of node:assert/strict the client's tests use, for a page.

export class AssertionError extends Error {
  constructor(message) {
    super(message);
    this.name = "AssertionError";
  }
}

const show = (v) => {
  try {
    return ArrayBuffer.isView(v) ? `${v.constructor.name}(${v.length}) [${Array.from(v.slice(0, 4))}...]` : JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
};

function fail(message, fallback) {
  if (message instanceof Error) throw message;
  throw new AssertionError(message ?? fallback);
}

function deepEqualValues(a, b) {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  if (a instanceof Date) return a.getTime() === b.getTime();
  if (a instanceof RegExp) return String(a) === String(b);
  if (ArrayBuffer.isView(a)) {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
    return true;
  }
  if (a instanceof Map || a instanceof Set) return deepEqualValues([...a], [...b]);
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && deepEqualValues(a[k], b[k]));
}

/** Whether err matches what assert.rejects/throws expect. */
function matches(err, expected) {
  if (expected === undefined) return;
  if (expected instanceof RegExp) {
    if (!expected.test(String(err?.message ?? err))) fail(undefined, `${show(err?.message)} does not match ${expected}`);
    return;
  }
  if (typeof expected === "function") {
    if (expected.prototype !== undefined && err instanceof expected) return;
    if (Error.isPrototypeOf(expected) || expected === Error) fail(undefined, `${err?.name} is not a ${expected.name}`);
    if (expected(err) !== true) fail(undefined, `the validation function did not return true for ${err?.message}`);
    return;
  }
  for (const [k, want] of Object.entries(expected)) {
    const got = err?.[k];
    if (want instanceof RegExp && typeof got === "string") {
      if (!want.test(got)) fail(undefined, `${k}: ${show(got)} does not match ${want}`);
    } else if (!deepEqualValues(got, want)) {
      fail(undefined, `${k}: ${show(got)}, want ${show(want)}`);
    }
  }
}

const assert = (v, message) => assert.ok(v, message);
assert.ok = (v, message) => v || fail(message, `${show(v)} is not truthy`);
assert.equal = (a, b, message) => Object.is(a, b) || fail(message, `${show(a)} !== ${show(b)}`);
assert.strictEqual = assert.equal;
assert.notEqual = (a, b, message) => !Object.is(a, b) || fail(message, `${show(a)} equals ${show(b)}`);
assert.deepEqual = (a, b, message) => deepEqualValues(a, b) || fail(message, `${show(a)} is not deeply equal to ${show(b)}`);
assert.deepStrictEqual = assert.deepEqual;
assert.match = (s, re, message) => re.test(s) || fail(message, `${show(s)} does not match ${re}`);
assert.fail = (message) => fail(message, "failed");
assert.throws = (fn, expected, message) => {
  try {
    fn();
  } catch (err) {
    matches(err, expected);
    return;
  }
  fail(message, "did not throw");
};
assert.rejects = async (p, expected, message) => {
  try {
    await (typeof p === "function" ? p() : p);
  } catch (err) {
    matches(err, expected);
    return;
  }
  fail(message, "did not reject");
};
assert.AssertionError = AssertionError;

export default assert;
export const { ok, equal, notEqual, deepEqual, match, throws, rejects } = assert;
