// Plays a 1 MHz sine on out1, records it with the scope through the
// simulated resonance (out1 -> in1), sweeps that resonance with the
// network analyzer and takes a spectrum of it.
//
//   node examples/quickstart.js [nats://127.0.0.1:4222] [board]
//
// (start a server first: `go run ./cmd/rpbus up` at the repository root)
import { connect, RpbusError } from "../src/index.js";

const [url = "nats://127.0.0.1:4222", name = "sim"] = process.argv.slice(2);
const rp = await connect(url);
try {
  const board = rp.board(name);
  const info = await board.info();
  console.log(`board ${info.board} (${info.backend}), clock ${info.clock / 1e6} MHz`);

  await board.asg0.setup({ waveform: "sin", frequency: 1e6, amplitude: 0.5, output_direct: "out1", trigger_source: "immediately" });
  const t = await board.scope.single({ duration: 1e-3, input1: "in1", input2: "asg0" });
  const peak = (a) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  console.log(`scope: ${t.ch1.length} samples every ${(t.dt * 1e9).toFixed(0)} ns, in1 peak ${peak(t.ch1).toFixed(3)} V, asg0 peak ${peak(t.ch2).toFixed(3)} V`);

  await board.asg0.setup({ output_direct: "off" });
  const na = await board.na.single({ start_freq: 5e5, stop_freq: 2e6, points: 101, rbw: 1000 });
  let k = 0;
  const mag = (i) => Math.hypot(na.re[i], na.im[i]);
  for (let i = 1; i < na.re.length; i++) if (mag(i) > mag(k)) k = i;
  console.log(`na: resonance at ${(na.frequencies[k] / 1e6).toFixed(3)} MHz, |H| = ${mag(k).toFixed(3)}`);

  await board.asg0.setup({ output_direct: "out1" });
  const sp = await board.specan.single({ decimation: 8, input1: "in1", unit: "dB(Vpk^2)" });
  let j = 1;
  for (let i = 1; i < sp.ch1.length; i++) if (sp.ch1[i] > sp.ch1[j]) j = i;
  console.log(`specan: strongest line at ${(sp.frequencies[j] / 1e6).toFixed(3)} MHz, ${sp.ch1[j].toFixed(1)} dB(Vpk^2)`);
  await board.asg0.setup({ output_direct: "off" });
} catch (err) {
  if (err instanceof RpbusError) console.error(`rpbus error ${err.code} (${err.kind}): ${err.message}`);
  else console.error(err);
  process.exitCode = 1;
} finally {
  await rp.close();
}
