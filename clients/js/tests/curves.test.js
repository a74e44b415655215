// The curve store through the JS client against a real `rpbus up`:
// save: true on every instrument, then rp.curves.list, get, update, delete.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { connect, isRpbusError } from "../src/index.js";
import { startRpbus } from "./fixture.js";

const T = 60_000;
let up;
let rp;
let board;

before(async () => {
  up = await startRpbus();
  rp = await connect(up.url);
  board = rp.board("sim");
});

after(async () => {
  await rp?.close();
  await up?.stop();
});

test("saved acquisitions read back bit-exact, listed, updated, deleted", { timeout: T }, async () => {
  const tag = `js-${Date.now()}`;
  const tr = await board.scope.single({ decimation: 8, save: true, name: "js scope", tags: [tag] });
  const sweep = await board.na.single({ start_freq: 1e5, stop_freq: 1e6, points: 11, rbw: 1e4, save: true, tags: [tag] });
  const spec = await board.specan.single({ decimation: 64, save: true, tags: [tag] });
  for (const r of [tr, sweep, spec]) assert.ok(r.curve, "reply without a curve id");

  const got = await rp.curves.get(tr.curve);
  assert.ok(got.ch1 instanceof Float32Array);
  assert.deepEqual(got.ch1, tr.ch1);
  assert.deepEqual(got.ch2, tr.ch2);
  assert.equal(got.meta.name, "js scope");
  assert.equal(got.meta.acquisition, tr.id);
  const { curve, trace } = await rp.curves.getWithMeta(sweep.curve);
  assert.equal(curve.instrument, "na");
  assert.ok(trace.re instanceof Float64Array);
  assert.deepEqual(trace.re, sweep.re);
  assert.deepEqual((await rp.curves.get(spec.curve)).ch1, spec.ch1);

  const page = await rp.curves.list({ tag });
  assert.deepEqual(page.curves.map((c) => c.id), [spec.curve, sweep.curve, tr.curve]);
  assert.ok(page.store.curves >= 3);
  const all = [];
  for await (const c of rp.curves.all({ tag, limit: 2 })) all.push(c.id);
  assert.deepEqual(all, [spec.curve, sweep.curve, tr.curve]);

  const c = await rp.curves.update(tr.curve, { keep: true, note: "reference" });
  assert.equal(c.keep, true);
  assert.equal(c.note, "reference");
  await rp.curves.delete(spec.curve);
  await assert.rejects(rp.curves.get(spec.curve), (err) => isRpbusError(err, 404));
  await assert.rejects(rp.curves.list({ limit: -1 }), (err) => isRpbusError(err, 400) && /limit/.test(err.message));
  await assert.rejects(board.scope.single({ name: "unsaved" }), (err) => isRpbusError(err, 400) && /save/.test(err.message));
});
