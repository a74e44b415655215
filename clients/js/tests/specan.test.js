// The spectrum analyzer through the JS client against a real `rpbus up`:
// a known sine's peak, the input noise density, progress events and
// cancellation.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { connect } from "../src/index.js";
import { startRpbus } from "./fixture.js";

const AMPLITUDE = 0.5; // V, asg0 sine
const FREQ = 1e6; // Hz
// Flattop scalloping is below 0.01 dB (0.23 % in power); the generator's
// 14-bit amplitude adds 2^-13 relative: 1 % covers both with room.
const PEAK_TOL = 0.01;
// The simulator's input noise: 100 nV/sqrt(Hz) white, so 1e-14 Vrms^2/Hz.
// Between 0.2 and 2 MHz at decimation 8 the boxcar decimation filter
// keeps above 98.5 % of it (sinc^2 at 2 MHz x 8 / 125 MHz) and adds under
// 2 % of aliases; 10 averaged traces over ~1900 bins leave about 1 % of
// estimation scatter. 10 % bounds the sum with margin.
const NOISE_DENSITY2 = 1e-14; // Vrms^2/Hz
const NOISE_TOL = 0.1;

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

test("a sine of amplitude A peaks at A^2 Vpk^2 at its frequency; arrays are Float64Array", { timeout: T }, async () => {
  const s = await board.specan.single({ decimation: 8, input1: "asg0", input2: "in2", window: "flattop", unit: "Vpk^2" });
  assert.ok(s.frequencies instanceof Float64Array && s.ch1 instanceof Float64Array && s.ch2 instanceof Float64Array);
  assert.equal(s.ch1.length, s.frequencies.length);
  assert.equal(s.frequencies[0], 0);
  assert.ok(Math.abs(s.frequencies.at(-1) - 125e6 / 8 / 2) < 1, `last bin ${s.frequencies.at(-1)}`);
  let k = 0;
  for (let i = 1; i < s.ch1.length; i++) if (s.ch1[i] > s.ch1[k]) k = i;
  const bin = s.frequencies[1] - s.frequencies[0];
  assert.ok(Math.abs(s.frequencies[k] - FREQ) <= bin, `peak at ${s.frequencies[k]} Hz`);
  assert.ok(Math.abs(s.ch1[k] / AMPLITUDE ** 2 - 1) < PEAK_TOL, `peak ${s.ch1[k]} Vpk^2`);
  assert.ok(s.rbw > 0 && s.enbw > 0);
});

test("the input noise density comes out in Vrms^2/Hz", { timeout: T }, async () => {
  const s = await board.specan.single({ decimation: 8, input1: "in2", unit: "Vrms^2/Hz", trace_average: 10 });
  let sum = 0;
  let n = 0;
  s.frequencies.forEach((f, i) => {
    if (f >= 2e5 && f <= 2e6) {
      sum += s.ch1[i];
      n++;
    }
  });
  const mean = sum / n;
  assert.ok(Math.abs(mean / NOISE_DENSITY2 - 1) < NOISE_TOL, `noise ${mean} Vrms^2/Hz over ${n} bins`);
});

test("bad settings are a 400 naming the field", { timeout: T }, async () => {
  await assert.rejects(board.specan.single({ window: "kaiser" }), { code: 400, message: /window/ });
  await assert.rejects(board.specan.single({ unit: "furlongs" }), { code: 400, message: /unit/ });
  await assert.rejects(board.specan.single({ trace_average: -1 }), { code: 400, message: /trace_average/ });
});

test("progress events count the traces of a long spectrum; abort cancels it", { timeout: T }, async () => {
  // 5 traces of 16384 x 8 ns x 1024 = 134 ms each.
  const id = `js-specan-${process.pid}`;
  const progress = board.specan.progress({ id });
  const ac = new AbortController();
  const p = board.specan.single({ id, decimation: 1024, trace_average: 5 }, { signal: ac.signal });
  for (let i = 0; i < 100; i++) {
    const ev = await progress.next(EVENT_WAIT);
    assert.equal(ev.id, id);
    assert.equal(ev.total, 5);
    if (ev.done >= 1) break; // one trace is in: give up on the rest
  }
  progress.close();
  ac.abort();
  await assert.rejects(p, { code: 499 });
  // The service is free: a short spectrum answers well within its timeout.
  const s = await board.specan.single({ decimation: 1 }, { timeout: 5 });
  assert.equal(s.traces, 1);
});

test("PyRPL's names: rbw picks the decimation, display_unit, input1_baseband, baseband", async () => {
  const sp = await board.specan.single({ rbw: 449, display_unit: "dB(Vrms^2/Hz)", input1_baseband: "in2", baseband: true });
  assert.equal(sp.settings.decimation, 64);
  assert.equal(sp.settings.unit, "dB(Vrms^2/Hz)");
  assert.equal(sp.settings.input1, "in2");
  await assert.rejects(board.specan.single({ baseband: false }), (e) => e.code === 400 && /baseband/.test(e.message));
});
