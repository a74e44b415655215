// examples/quickstart.js runs against a real `rpbus up` and prints what
// the simulated board's physics says.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";
import { startRpbus } from "./fixture.js";

const example = fileURLToPath(new URL("../examples/quickstart.js", import.meta.url));
let up;

before(async () => {
  up = await startRpbus();
});

after(async () => {
  if (up) assert.equal(await up.stop(), 0, up.stderr());
});

test("the quickstart example runs and finds the 1 MHz resonance", { timeout: 60_000 }, async () => {
  const { stdout } = await promisify(execFile)(process.execPath, [example, up.url, "sim"], { timeout: 60_000 });
  assert.match(stdout, /board sim \(sim\), clock 125 MHz/);
  const num = (re) => Number(re.exec(stdout)?.[1]);
  // duration 1 ms is decimation 8: the boxcar mean over 64 ns scales a
  // 1 MHz sine by sinc(1 MHz x 64 ns) = 0.9933, so 0.4966 V; at f0 the
  // resonance has gain 1, so in1 carries the same (plus 0.8 mV rms
  // noise, /sqrt(8) by the boxcar). The printout has 3 decimals.
  const boxcar = 0.5 * (Math.sin(Math.PI * 0.064) / (Math.PI * 0.064));
  assert.ok(Math.abs(num(/asg0 peak ([\d.]+) V/) - boxcar) <= 0.002, stdout);
  assert.ok(Math.abs(num(/in1 peak ([\d.]+) V/) - boxcar) <= 0.005, stdout);
  // 101 log-spaced points from 0.5 to 2 MHz lie 1.4 % apart; |H(f0)| = 1.
  assert.ok(Math.abs(num(/resonance at ([\d.]+) MHz/) - 1) <= 0.014, stdout);
  assert.ok(Math.abs(num(/\|H\| = ([\d.]+)/) - 1) <= 0.03, stdout);
  // A 0.5 V sine is 0.25 Vpk^2 = -6.02 dB(Vpk^2).
  assert.ok(Math.abs(num(/strongest line at ([\d.]+) MHz/) - 1) <= 0.001, stdout);
  assert.ok(Math.abs(num(/MHz, (-?[\d.]+) dB/) - 10 * Math.log10(0.25)) <= 0.1, stdout);
});
