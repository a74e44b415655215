// Derived request timeouts: each must outlast the service's own timeout
// (so the service's 408, which names the cause, arrives first) and the
// hardware time of the request.
import { test } from "node:test";
import assert from "node:assert/strict";
import { naTimeout, scopeTimeout, scopeTraceTime, specanTimeout, txnTimeout } from "../src/index.js";

const T1 = 16384 * 8e-9; // s, a scope trace at decimation 1
const close = (a, b) => Math.abs(a - b) < 1e-9;

test("scope: N x (2T + |delay| + service timeout) + 2 s", () => {
  assert.ok(close(scopeTraceTime({}), T1));
  assert.ok(close(scopeTraceTime({ duration: 1e-3 }), 8 * T1)); // rounds up to 2^3
  assert.ok(close(scopeTraceTime({ duration: 100 }), 65536 * T1)); // clamps
  assert.ok(close(scopeTimeout({}), 2 * T1 + (1 + 4 * T1) + 2));
  const p = 2 * 8192 * T1;
  assert.ok(close(scopeTimeout({ decimation: 8192, trace_average: 4 }), 4 * (p + 1 + 2 * p * 4) + 2));
  assert.ok(close(scopeTimeout({ timeout: 0.5 }), 2 * T1 + 0.5 + 2));
  assert.ok(close(scopeTimeout({ trigger_source: "ch1_positive_edge", trigger_delay: -1, timeout: 0.1 }), 2 * T1 + 1 + 0.1 + 2));
});

test("na: sweep time H = (points + 2)(0.5 + avg)/rbw x traces, then H + (timeout or 2H + 5) + 2", () => {
  const h = (1003 * 1.5) / 1000;
  assert.ok(close(naTimeout({}), h + 2 * h + 5 + 2));
  const h2 = ((101 + 2) * 3.5) / 100 * 2;
  assert.ok(close(naTimeout({ points: 101, rbw: 100, average_per_point: 3, trace_average: 2 }), h2 + 2 * h2 + 5 + 2));
  assert.ok(close(naTimeout({ points: 101, rbw: 100, timeout: 1 }), (103 * 1.5) / 100 + 1 + 2));
});

test("na with auto_bandwidth: low frequencies get the narrow bandwidth f/q (halved)", () => {
  // 3 log points 1 kHz, 10 kHz, 100 kHz; q 10; rbw 1 kHz: bandwidths
  // 100 Hz, 1 kHz, 1 kHz, halved; the first point counts 3 times.
  const h = (3 * 1.5) / 50 + 1.5 / 500 + 1.5 / 500;
  assert.ok(close(naTimeout({ auto_bandwidth: true, start_freq: 1e3, stop_freq: 1e5, points: 3, rbw: 1000 }), h + 2 * h + 5 + 2));
});

test("specan: A = decimation x T1 x traces, then A + (timeout or 5 + 2A) + 2", () => {
  assert.ok(close(specanTimeout({}), 8 * T1 + 5 + 16 * T1 + 2)); // default decimation 8
  // span 1 MHz: the largest 2^k with 125 MHz / 2^k >= 1 MHz is 64.
  assert.ok(close(specanTimeout({ span: 1e6 }), 64 * T1 + 5 + 128 * T1 + 2));
  assert.ok(close(specanTimeout({ decimation: 1024, trace_average: 10 }), 10240 * T1 + 5 + 20480 * T1 + 2));
});

test("hw.txn: 5 s plus every wait's timeout (1 s by default)", () => {
  assert.equal(txnTimeout([]), 5);
  assert.equal(txnTimeout([{ op: "read", addr: 0, n: 1 }, { op: "wait", addr: 0, mask: 1, value: 0 }, { op: "wait", addr: 0, mask: 1, value: 0, timeout: 30 }]), 36);
});
