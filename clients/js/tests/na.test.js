// The network analyzer through the JS client against a real `rpbus up`:
// the simulated DUT's resonance, progress and done events, cancellation.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { connect } from "../src/index.js";
import { startRpbus } from "./fixture.js";

// The simulator's default DUT on out1 -> in1 (docs/simulator.md):
// H(f) = g (j f f0/Q) / (f0^2 - f^2 + j f f0/Q).
const F0 = 1e6;
const Q = 10;
const GAIN = 1;
const H = (f) => {
  const re = F0 * F0 - f * f;
  const im = (f * F0) / Q;
  const d = re * re + im * im;
  return { re: (GAIN * im * im) / d, im: (GAIN * im * re) / d };
};
// Amplitude 0.1 V and rbw 1 kHz against 100 nV/sqrt(Hz) of input noise:
// noise/signal is about 3e-6 V / (0.1 V x |H| >= 0.066) = 5e-4. What is
// left is the IQ chain (14-bit output, demodulation filters) and 8 ns of
// analog latency (0.3 degrees at 1 MHz, 0.6 at 2 MHz): 3 % of |H| or 0.01
// in the complex plane covers both.
const H_TOL = 0.03;
// Bounds so that nothing hangs: per test, and per awaited event (s).
const T = 60_000;
const EVENT_WAIT = 10;

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
  if (up) assert.equal(await up.stop(), 0, up.stderr());
});

test("a sweep across the DUT resonance follows H(f); arrays are Float64Array", { timeout: T }, async () => {
  const points = 31;
  const id = `js-na-${process.pid}`;
  const done = board.na.done({ id });
  const t = await board.na.single({ id, start_freq: 5e5, stop_freq: 2e6, points, rbw: 1000, amplitude: 0.1, input: "in1", output_direct: "out1" });
  assert.ok(t.frequencies instanceof Float64Array && t.re instanceof Float64Array && t.im instanceof Float64Array);
  assert.equal(t.frequencies.length, points);
  assert.equal(t.re.length, points);
  assert.match(t.iq, /^iq\d$/);
  for (let i = 0; i < points; i++) {
    const f = t.frequencies[i];
    const h = H(f);
    const mag = Math.hypot(h.re, h.im);
    const err = Math.hypot(t.re[i] - h.re, t.im[i] - h.im);
    assert.ok(err < H_TOL * mag + 0.01, `f ${f} Hz: measured ${t.re[i]}+${t.im[i]}j, want ${h.re}+${h.im}j`);
  }
  // done carries the same sweep.
  const ev = await done.next(EVENT_WAIT);
  done.close();
  assert.equal(ev.error, undefined);
  assert.deepEqual(ev.re, t.re);
});

test("bad settings are a 400 naming the field", { timeout: T }, async () => {
  await assert.rejects(board.na.single({ points: -1 }), { code: 400, message: /points/ });
  await assert.rejects(board.na.single({ amplitude: 3 }), { code: 400, message: /amplitude/ });
  await assert.rejects(board.na.single({ input: "in9" }), { code: 400, message: /input/ });
});

test("aborting a long sweep cancels it; progress and done report it", { timeout: T }, async () => {
  // 10000 points at rbw 10 Hz would take 25 minutes; progress comes every 50 ms.
  const id = `js-na-long-${process.pid}`;
  const progress = board.na.progress({ id });
  const done = board.na.done({ id });
  const ac = new AbortController();
  const p = board.na.single({ id, points: 10000, rbw: 10 }, { signal: ac.signal });
  const ev = await progress.next(EVENT_WAIT);
  progress.close();
  assert.equal(ev.id, id);
  assert.equal(ev.total, 10000);
  assert.ok(ev.done < ev.total);
  ac.abort();
  await assert.rejects(p, { code: 499 });
  const fin = await done.next(EVENT_WAIT);
  done.close();
  assert.equal(fin.id, id);
  assert.equal(fin.error.code, 499);
  // The IQ module is back in the pool: a short sweep answers at once.
  const t = await board.na.single({ start_freq: 1e5, stop_freq: 1e6, points: 5, rbw: 1e4 }, { timeout: 5 });
  assert.equal(t.re.length, 5);
});

test("a bad setting reaches the service and comes back as its 400; PyRPL's avg_per_point", async () => {
  await assert.rejects(board.na.single({ rbw: -5 }), (e) => e.code === 400 && /rbw/.test(e.message));
  const tr = await board.na.single({ start_freq: 1e6, stop_freq: 2e6, points: 5, rbw: 1e4, avg_per_point: 2 });
  assert.equal(tr.settings.average_per_point, 2);
});
