// The scope through the JS client against a real `rpbus up`: physics of a
// known sine, typed arrays, bad input, cancellation (AbortSignal and
// cancel by id), done events and continuous mode.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { connect, timeAxis } from "../src/index.js";
import { startRpbus, waitFor } from "./fixture.js";

const SAMPLES = 16384;
const DT1 = 8e-9; // s, sampling time at decimation 1
const AMPLITUDE = 0.5; // V, asg0 sine
const FREQ = 1e6; // Hz
// A 14-bit sample is a multiple of 1/8192 V; the asg table too. The RMS of
// 131.072 periods of a sampled sine differs from A/sqrt(2) by at most the
// incomplete period's share, 0.072/131 of the mean square: below 0.1 %.
const RMS_TOL = 2e-3; // relative
const LSB = 1 / 8192; // V

// Bounds so that nothing hangs: per test (ms), and per awaited event (s).
const T = 60_000;
const EVENT_WAIT = 10;

let up;
let rp;
let board;

before(async () => {
  up = await startRpbus();
  rp = await connect(up.url);
  board = rp.board("sim");
  await board.asg0.setup({ waveform: "sin", frequency: FREQ, amplitude: AMPLITUDE, offset: 0, output_direct: "off", trigger_source: "immediately" });
});

after(async () => {
  await rp?.close();
  if (up) assert.equal(await up.stop(), 0, up.stderr());
});

const rms = (a) => Math.sqrt(a.reduce((s, v) => s + v * v, 0) / a.length);

test("single returns Float32Array channels of a known sine", { timeout: T }, async () => {
  const t = await board.scope.single({ decimation: 1, trigger_source: "immediately", input1: "asg0", input2: "in2" });
  assert.ok(t.ch1 instanceof Float32Array && t.ch2 instanceof Float32Array);
  assert.equal(t.ch1.length, SAMPLES);
  assert.equal(t.dt, DT1);
  assert.equal(t.t0, 0);
  assert.equal(t.settings.decimation, 1);
  assert.equal(t.board, "sim");
  assert.ok(t.id.length > 0);
  const r = rms(t.ch1);
  assert.ok(Math.abs(r / (AMPLITUDE / Math.SQRT2) - 1) < RMS_TOL, `ch1 rms ${r}`);
  const peak = t.ch1.reduce((m, v) => Math.max(m, v), -Infinity);
  // 125 samples per period: the largest sample is within 1 - cos(pi/125) of the peak.
  assert.ok(Math.abs(peak - AMPLITUDE) <= AMPLITUDE * (1 - Math.cos(Math.PI / 125)) + 2 * LSB, `ch1 peak ${peak}`);
  // in2 carries only the input noise, 100 nV/sqrt(Hz) over 62.5 MHz = 0.79 mV rms.
  assert.ok(rms(t.ch2) < 5e-3, `ch2 rms ${rms(t.ch2)}`);
  const ax = timeAxis(t);
  assert.equal(ax.length, SAMPLES);
  assert.ok(Math.abs(ax[SAMPLES - 1] - (SAMPLES - 1) * DT1) < 1e-15);
});

test("duration rounds up to 16384 x 8 ns x 2^k", { timeout: T }, async () => {
  const t = await board.scope.single({ duration: 1e-3, input1: "asg0" });
  assert.equal(t.settings.decimation, 8); // 131 us x 8 = 1.05 ms >= 1 ms
  assert.ok(Math.abs(t.dt - 8 * DT1) < 1e-18);
});

test("bad settings are a 400 naming the field", { timeout: T }, async () => {
  await assert.rejects(board.scope.single({ decimation: 3 }), { code: 400, message: /decimation/ });
  await assert.rejects(board.scope.single({ input1: "in7" }), { code: 400, message: /input1/ });
  await assert.rejects(board.scope.single({ trigger_source: "sometimes" }), { code: 400, message: /trigger_source/ });
  await assert.rejects(board.scope.single({ decimaton: 1 }), { code: 400 });
  assert.throws(() => board.scope.single("fast"), { code: 400, message: /settings/ });
});

// A trigger that never comes: ch1 (in2: noise of 0.8 mV rms) crossing 0.9 V.
const NEVER = { decimation: 1, input1: "in2", trigger_source: "ch1_positive_edge", threshold: 0.9, timeout: 600 };

test("aborting a single cancels it on the service and frees the scope", { timeout: T }, async () => {
  const ac = new AbortController();
  const p = board.scope.single(NEVER, { signal: ac.signal });
  setImmediate(() => ac.abort());
  await assert.rejects(p, { code: 499 });
  const t = await board.scope.single({ decimation: 1, input1: "asg0" }, { timeout: 5 });
  assert.equal(t.ch1.length, SAMPLES);
});

test("cancel by id ends another caller's acquisition with 499", { timeout: T }, async () => {
  const id = `js-cancel-${process.pid}`;
  let outcome;
  const settled = board.scope.single({ ...NEVER, id }).then(
    () => (outcome = "resolved"),
    (e) => (outcome = e),
  );
  // A cancel that overtakes the request inside the service answers 404 but
  // is remembered and cancels the acquisition when it starts; one that
  // finds it running answers {cancelled: true}.
  const reply = await waitFor(5, "the cancel to reach the acquisition", async () => {
    if (outcome) return "ended";
    return board.scope.cancel(id).catch((e) => (e.code === 404 ? null : Promise.reject(e)));
  });
  if (reply !== "ended") assert.deepEqual(reply, { id, cancelled: true });
  await settled;
  assert.equal(outcome.code, 499, `outcome ${outcome}`);
  assert.match(outcome.message, /cancel/);
});

test("done events carry the trace of the acquisition", { timeout: T }, async () => {
  const id = `js-done-${process.pid}`;
  const done = board.scope.done({ id });
  const t = await board.scope.single({ id, decimation: 1, input1: "asg0" });
  const ev = await done.next(EVENT_WAIT);
  done.close();
  assert.equal(ev.id, id);
  assert.ok(ev.ch1 instanceof Float32Array);
  assert.deepEqual(ev.ch1, t.ch1);
});

test("continuous mode publishes numbered traces until stop", { timeout: T }, async () => {
  const traces = board.scope.traces();
  const reply = await board.scope.continuous({ decimation: 1, input1: "asg0" });
  assert.equal(reply.subject, "rp.sim.scope.trace");
  const seqs = [];
  for (let i = 0; i < 3; i++) {
    const t = await traces.next(EVENT_WAIT);
    assert.equal(t.id, reply.id);
    assert.equal(t.ch1.length, SAMPLES);
    seqs.push(t.seq);
  }
  traces.close();
  assert.ok(seqs[0] >= 1 && seqs[1] > seqs[0] && seqs[2] > seqs[1], `seq ${seqs}`);
  const stopped = await board.scope.stop();
  assert.equal(stopped.continuous, true);
  // Stopped: a for-await loop over a stream ends when its signal aborts.
  const ac = new AbortController();
  const late = board.scope.traces({ signal: ac.signal });
  setTimeout(() => ac.abort(), 200);
  let n = 0;
  for await (const _ of late) n++;
  assert.ok(n <= 1, `${n} traces after stop`); // one may have been on its way
});

test("stream yields continuous traces and stops continuous mode at the end", { timeout: T }, async () => {
  const seqs = [];
  for await (const t of board.scope.stream({ decimation: 1, input1: "asg0" }, { max: 3 })) {
    assert.ok(t.ch1 instanceof Float32Array);
    seqs.push(t.seq);
  }
  assert.equal(seqs.length, 3);
  assert.ok(seqs[1] > seqs[0] && seqs[2] > seqs[1], `seq ${seqs}`);
  // The stream sent stop: nothing runs any more.
  assert.deepEqual(await board.scope.stop(), { cancelled: 0, continuous: false });
});

test("concurrent singles each get their own trace", { timeout: T }, async () => {
  const ids = Array.from({ length: 20 }, (_, i) => `js-many-${process.pid}-${i}`);
  const traces = await Promise.all(ids.map((id) => board.scope.single({ id, decimation: 1, input1: "asg0" })));
  traces.forEach((t, i) => {
    assert.equal(t.id, ids[i]);
    assert.equal(t.ch1.length, SAMPLES);
  });
});
