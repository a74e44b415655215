// Compiled (never run) by types.test.js: the calls of the README typed
// against src/index.d.ts, so the declarations stay usable.
import { connect, ops, RpbusError, timeAxis, type ScopeTrace, type Event } from "../src/index.js";

export async function usage(url: string): Promise<void> {
  const rp = await connect(url, { maxInFlight: 8 });
  const board = rp.board("sim");
  const applied = await board.asg0.setup({ waveform: "sin", frequency: 1e6, amplitude: 0.5, output_direct: "out1" });
  const f: number = applied.frequency;
  const t: ScopeTrace = await board.scope.single({ duration: 1e-3, trigger_source: "immediately" }, { signal: AbortSignal.timeout(5000) });
  const ch1: Float32Array | undefined = t.ch1;
  const axis: Float64Array = timeAxis(t);
  const sweep = await board.na.single({ start_freq: 5e5, stop_freq: 2e6, points: 201, rbw: 1000 }, { timeout: 30 });
  const re: Float64Array = sweep.re;
  const spec = await board.specan.single({ decimation: 64, trace_average: 10, unit: "dB(Vpk^2)" });
  const bins: Float64Array = spec.frequencies;
  const info = await board.info();
  const decs: number[] = info.decimations;
  const r = await board.hw.txn([ops.write(0x40100008, 100), ops.read("0x40100008", 1), ops.wait(0x40100000, 1, 0, 0.5)]);
  const words: Uint32Array | undefined = r.results[1].words;
  const progress = board.na.progress({ id: "sweep-1" });
  const p = await progress.next(1);
  const done: number | undefined = p?.done;
  for await (const ev of board.scope.traces({ max: 1 })) {
    const e: Event<ScopeTrace> = ev;
    if (e.error) console.log(e.error.code, e.error.kind);
  }
  try {
    await board.asg1.setup({ waveform: "square" });
  } catch (err) {
    if (err instanceof RpbusError && err.code === 400) console.log(err.message, err.subject);
  }
  for await (const tr of board.scope.stream({ duration: 1e-3 }, { max: 2 })) console.log(tr.seq, tr.ch1?.[0]);
  const stopped = await board.scope.stop();
  console.log(f, ch1, axis, re, bins, decs, words, done, stopped.continuous);
  await rp.close();
}

// The curve store (src/curves.d.ts).
export async function curvesUsage(url: string): Promise<void> {
  const rp = await connect(url);
  const t = await rp.board("sim").scope.single({ decimation: 8, save: true, name: "x", tags: ["a"] });
  const id: string | undefined = t.curve;
  const page = await rp.curves.list({ tag: "a", limit: 10 });
  const first: string = page.curves[0].id;
  const again = await rp.curves.get(first);
  const saved: number | undefined = again.meta.saved;
  for await (const c of rp.curves.all({ instrument: "na" })) console.log(c.name, id, saved);
  await rp.curves.update(first, { keep: true });
  await rp.curves.delete(first);
}
