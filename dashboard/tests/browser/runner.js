// node:test in a page: test, describe, before and after collect; run()
// runs them in order and resolves with one result per test.

const tests = [];
const befores = [];
const afters = [];
const prefix = [];
/** Per-test bound, as the Node runner's --test-timeout. */
const TIMEOUT = 120_000;

export function test(name, options, fn) {
  if (typeof options === "function") fn = options;
  tests.push({ name: [...prefix, name].join(" > "), fn, skip: options?.skip });
}
test.skip = (name) => tests.push({ name: [...prefix, name].join(" > "), skip: true });
export const it = test;

export function describe(name, fn) {
  prefix.push(name);
  try {
    fn();
  } finally {
    prefix.pop();
  }
}

export const before = (fn) => befores.push(fn);
export const after = (fn) => afters.push(fn);

function bounded(p, what) {
  let timer;
  return Promise.race([p, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no end in ${TIMEOUT} ms`)), TIMEOUT)))]).finally(() => clearTimeout(timer));
}

function describeError(err) {
  return `${err?.name ?? "Error"}: ${err?.message ?? err}`;
}

export async function run() {
  const results = [];
  let setup = null;
  for (const fn of befores) {
    try {
      await bounded(Promise.resolve().then(fn), "before");
    } catch (err) {
      setup = err;
      break;
    }
  }
  for (const t of tests) {
    if (t.skip) {
      results.push({ name: t.name, skipped: true });
      continue;
    }
    const t0 = performance.now();
    try {
      if (setup) throw setup;
      await bounded(Promise.resolve().then(() => t.fn({ name: t.name })), t.name);
      results.push({ name: t.name, ok: true, ms: performance.now() - t0 });
    } catch (err) {
      results.push({ name: t.name, ok: false, error: describeError(err), ms: performance.now() - t0 });
    }
  }
  for (const fn of afters) {
    try {
      await bounded(Promise.resolve().then(fn), "after");
    } catch (err) {
      results.push({ name: "after", ok: false, error: describeError(err) });
    }
  }
  return results;
}
