// Axis labels and typed numbers (src/si.js), without a browser.
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseSI, plainTicks, si, siTicks, stepDecimals } from "../src/si.js";

test("tick labels write every tick exactly, one prefix per axis", () => {
  // A step of 0.25 mV: rounding to one decimal would print 1.3 mV for 1.25 mV.
  assert.deepEqual(siTicks([-1.25e-3, -1e-3, -0.75e-3, 0, 0.25e-3], "V"), ["-1.25 mV", "-1 mV", "-0.75 mV", "0 mV", "0.25 mV"]);
  assert.deepEqual(siTicks([0, 50e-6, 100e-6], "s"), ["0 µs", "50 µs", "100 µs"]);
  assert.deepEqual(siTicks([0, 2e5, 4e5, 1.2e6], "Hz"), ["0 MHz", "0.2 MHz", "0.4 MHz", "1.2 MHz"]);
  assert.deepEqual(plainTicks([-10.5, -10, -9.5], "dB"), ["-10.5 dB", "-10.0 dB", "-9.5 dB"]);
  assert.deepEqual(plainTicks([-180, -135, -90], "°"), ["-180°", "-135°", "-90°"]);
  assert.equal(stepDecimals(0.25), 2);
  assert.equal(stepDecimals(50), 0);
  assert.equal(stepDecimals(0.1 + 0.2), 1);
});

test("numbers in and out with SI prefixes", () => {
  assert.equal(si(2e-4, "s"), "200 µs");
  assert.equal(si(1.5e6, "Hz"), "1.5 MHz");
  assert.equal(parseSI("1.5M"), 1.5e6);
  assert.equal(parseSI("200 us"), 200e-6);
  assert.ok(Number.isNaN(parseSI("fast")));
});
