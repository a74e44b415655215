// Derived request timeouts: the table of client/testdata/deadlines.json,
// which the Go and Python clients' tests check too.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { naTimeout, scopeTimeout, specanTimeout, txnTimeout } from "../src/index.js";
import { repoRoot } from "./fixture.js";

const table = JSON.parse(readFileSync(join(repoRoot, "client", "testdata", "deadlines.json"), "utf8"));
const waits = {
  "scope.single": scopeTimeout,
  "na.single": naTimeout,
  "specan.single": specanTimeout,
  "hw.txn": (s) => txnTimeout(s.ops),
};

test("every deadline is the table's", () => {
  assert.ok(table.cases.length > 0);
  for (const c of table.cases) {
    const got = waits[c.call](c.settings);
    assert.ok(Math.abs(got - c.wait) < 1e-6, `${c.call} ${JSON.stringify(c.settings)}: ${got} s, table ${c.wait} s`);
  }
});

test("what is not a number counts as absent", () => {
  assert.equal(naTimeout({ rbw: "abc", points: null }), naTimeout({}));
  assert.equal(scopeTimeout({ decimation: "x", timeout: NaN }), scopeTimeout({}));
  assert.equal(specanTimeout({ span: Infinity }), specanTimeout({}));
});
