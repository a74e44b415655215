// The hardware bridge and the generators through the JS client, against a
// real `rpbus up` (embedded NATS, simulated board) over TCP loopback.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { connect, ops, Rpbus, RpbusError } from "../src/index.js";
import { connect as natsConnect } from "@nats-io/transport-node";
import { startRpbus } from "./fixture.js";

const SCOPE = 0x40100000;
const THRESHOLD = SCOPE + 0x08; // 14-bit, read-write, harmless
const DECIMATION = SCOPE + 0x14;
const CONTROL = SCOPE + 0x00;

// Bound so that nothing hangs (ms).
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
  if (up) {
    const code = await up.stop();
    assert.equal(code, 0, `rpbus up exited with ${code}: ${up.stderr()}`);
  }
});

describe("hw", () => {
  test("info describes the simulated board", { timeout: T }, async () => {
    const info = await board.info();
    assert.equal(info.board, "sim");
    assert.equal(info.backend, "sim");
    assert.equal(info.clock, 125e6);
    assert.equal(info.scope_samples, 16384);
    assert.ok(info.decimations.includes(1) && info.decimations.includes(65536));
    assert.ok(info.generators.includes("asg0"));
    assert.equal(info.design.name, "PyRPL");
  });

  test("txn writes and reads back registers; words are a Uint32Array", { timeout: T }, async () => {
    const r = await board.hw.txn([ops.write(THRESHOLD, 1234), ops.read(THRESHOLD, 1), ops.read("0x40100014", 1)]);
    assert.deepEqual(r.modules, ["scope"]);
    assert.ok(r.results[1].words instanceof Uint32Array);
    assert.equal(r.results[1].words[0], 1234);
    assert.equal(r.results[2].words.length, 1);
    await board.hw.write(THRESHOLD, new Uint32Array([321]));
    assert.deepEqual([...(await board.hw.read(THRESHOLD))], [321]);
  });

  test("a whole channel of scope memory arrives as one typed array", { timeout: T }, async () => {
    const words = await board.hw.read(SCOPE + 0x10000, 16384);
    assert.ok(words instanceof Uint32Array);
    assert.equal(words.length, 16384);
  });

  test("a 16-bit read holds the low halves of the words as a Uint16Array", { timeout: T }, async () => {
    const buf = SCOPE + 0x10000;
    const r = await board.hw.txn([ops.read(buf, 16384), ops.read(buf, 16384, 16)]);
    const words = r.results[0].words;
    const halves = r.results[1].halves;
    assert.ok(halves instanceof Uint16Array);
    assert.equal(halves.length, 16384);
    for (let i = 0; i < words.length; i++) assert.equal(halves[i], words[i] & 0xffff);
    assert.ok(r.started > 0);
  });

  test("bad input is a 400 naming the field", { timeout: T }, async () => {
    await assert.rejects(board.hw.txn([{ op: "read", addr: THRESHOLD, n: 0 }]), (err) => {
      assert.ok(err instanceof RpbusError);
      assert.equal(err.code, 400);
      assert.equal(err.kind, "invalid");
      assert.match(err.message, /ops\[0\]/);
      return true;
    });
    await assert.rejects(board.hw.txn([{ op: "poke", addr: THRESHOLD }]), { code: 400 });
    await assert.rejects(board.hw.txn([{ op: "read", addr: 0x10, n: 1 }]), { code: 400 });
    assert.throws(() => ops.read("0xnothex", 1), { code: 400, message: /addr/ });
    assert.throws(() => rp.board("no.dots"), { code: 400, message: /board/ });
  });

  test("an unknown board is a 404 (no responders)", { timeout: T }, async () => {
    await assert.rejects(rp.board("nosuchboard").info(), (err) => {
      assert.equal(err.code, 404);
      assert.match(err.message, /rp\.nosuchboard\.hw\.info/);
      return true;
    });
  });

  test("a wait that never comes true is the bridge's 408", { timeout: T }, async () => {
    // Control bit 3 (keep writing) is never set by the simulator on its own.
    await assert.rejects(board.hw.txn([ops.wait(CONTROL, 1 << 3, 1 << 3, 0.05)]), { code: 408 });
  });

  test("aborting a transaction cancels it on the bridge and frees the module", { timeout: T }, async () => {
    const ac = new AbortController();
    const long = board.hw.txn([ops.wait(CONTROL, 1 << 3, 1 << 3, 600)], { signal: ac.signal });
    // The abort has to reach the bridge while the wait runs: abort on the
    // next tick, the client retries the cancel until the bridge knows the id.
    setImmediate(() => ac.abort(new Error("user gave up")));
    await assert.rejects(long, (err) => {
      assert.equal(err.code, 499);
      assert.equal(err.cause.message, "user gave up");
      return true;
    });
    // The scope module is free again: a transaction on it answers even with
    // a timeout far below the abandoned wait's 600 s.
    const r = await board.hw.txn([ops.read(DECIMATION, 1)], { timeout: 5 });
    assert.equal(r.results[0].words.length, 1);
    // Already aborted signals reject before anything is sent.
    await assert.rejects(board.hw.txn([ops.read(DECIMATION, 1)], { signal: AbortSignal.abort() }), { code: 499 });
  });

  test("a local timeout shorter than the work is a 408 from the client", { timeout: T }, async () => {
    await assert.rejects(board.hw.txn([ops.wait(CONTROL, 1 << 3, 1 << 3, 5)], { timeout: 0.1 }), (err) => {
      assert.equal(err.code, 408);
      assert.match(err.message, /no reply in 0\.100 s/);
      return true;
    });
    // The client cancelled it on the bridge too: the module is free.
    const r = await board.hw.txn([ops.read(DECIMATION, 1)], { timeout: 5 });
    assert.equal(r.results.length, 1);
  });

  test("concurrent transactions each get exactly their own reply", { timeout: T }, async () => {
    const n = 200;
    const results = await Promise.all(Array.from({ length: n }, (_, i) => board.hw.txn([ops.read(DECIMATION, 1 + (i % 7))])));
    results.forEach((r, i) => assert.equal(r.results[0].words.length, 1 + (i % 7)));
  });
});

describe("client", () => {
  test("a request waiting for an in-flight slot leaves on abort without being sent", { timeout: T }, async () => {
    const nc = await natsConnect({ servers: up.url });
    const one = new Rpbus(nc, { maxInFlight: 1 });
    const b = one.board("sim");
    const first = new AbortController();
    const holding = b.hw.txn([ops.wait(CONTROL, 1 << 3, 1 << 3, 600)], { signal: first.signal });
    const queued = new AbortController();
    const waiting = b.hw.txn([ops.write(THRESHOLD, 777)], { signal: queued.signal });
    queued.abort();
    await assert.rejects(waiting, { code: 499 });
    first.abort();
    await assert.rejects(holding, { code: 499 });
    // The queued write never reached the bridge.
    await board.hw.write(THRESHOLD, 5);
    const after = await b.hw.read(THRESHOLD);
    assert.equal(after[0], 5);
    await nc.close();
    // A client that does not own its connection leaves it open on close().
    await one.close();
  });

  test("a closed connection is 503", { timeout: T }, async () => {
    const other = await connect(up.url);
    await other.close();
    await assert.rejects(other.board("sim").info(), { code: 503 });
  });
});

describe("asg", () => {
  test("setup returns the settings as applied", { timeout: T }, async () => {
    const s = await board.asg0.setup({ waveform: "sin", frequency: 1e6, amplitude: 0.5, offset: 0, output_direct: "off", trigger_source: "immediately" });
    assert.equal(s.generator, "asg0");
    assert.equal(s.waveform, "sin");
    assert.ok(Math.abs(s.frequency - 1e6) < 1, `frequency ${s.frequency}`); // 125 MHz / 2^30 steps
    assert.ok(Math.abs(s.amplitude - 0.5) < 2 ** -13, `amplitude ${s.amplitude}`); // 14-bit scale
    // Absent fields keep their value.
    const s2 = await board.asg0.setup({ amplitude: 0.25 });
    assert.equal(s2.waveform, "sin");
    assert.ok(Math.abs(s2.frequency - 1e6) < 1);
  });

  test("bad settings are a 400 naming the field and the allowed values", { timeout: T }, async () => {
    await assert.rejects(board.asg1.setup({ waveform: "triangle" }), (err) => {
      assert.equal(err.code, 400);
      assert.match(err.message, /waveform/);
      return true;
    });
    await assert.rejects(board.asg1.setup({ amplitude: 2 }), { code: 400, message: /amplitude/ });
    await assert.rejects(board.asg1.setup({ amplitud: 0.1 }), { code: 400 });
  });
});
