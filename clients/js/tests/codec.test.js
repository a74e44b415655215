// The msgpack codec on its own: array maps to typed arrays (views when
// aligned, copies when not), typed arrays back to array maps.
import { test } from "node:test";
import assert from "node:assert/strict";
import { encode as mpEncode, decode as mpDecode } from "@msgpack/msgpack";
import { decode, encode, typedArray } from "../src/index.js";
import { arrayStats } from "../src/codec.js";

/** Little-endian bytes of a typed array. */
const bytes = (a) => new Uint8Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));

test("array maps decode to typed arrays of the right type and values", () => {
  const f4 = new Float32Array([0.5, -0.25, NaN, 1e-3]);
  const f8 = new Float64Array([1e6, Math.PI, -Infinity]);
  const u4 = new Uint32Array([0, 1, 0xffffffff]);
  const msg = mpEncode({
    id: "x",
    ch1: { dtype: "<f4", shape: [4], data: bytes(f4) },
    nested: { re: { dtype: "<f8", shape: [3], data: bytes(f8) } },
    results: [{}, { words: { dtype: "<u4", shape: [3], data: bytes(u4) } }],
  });
  const v = decode(msg);
  assert.equal(v.id, "x");
  assert.ok(v.ch1 instanceof Float32Array);
  assert.deepEqual([...v.ch1].slice(0, 2), [0.5, -0.25]);
  assert.ok(Number.isNaN(v.ch1[2]));
  assert.equal(v.ch1[3], Math.fround(1e-3));
  assert.ok(v.nested.re instanceof Float64Array);
  assert.deepEqual([...v.nested.re], [1e6, Math.PI, -Infinity]);
  assert.ok(v.results[1].words instanceof Uint32Array);
  assert.deepEqual([...v.results[1].words], [0, 1, 0xffffffff]);
});

test("an unaligned bin is copied into an aligned buffer, an aligned one is viewed", () => {
  const f8 = new Float64Array([1, 2, 3]);
  const data = bytes(f8);
  for (let shift = 0; shift < 8; shift++) {
    // The bin sits at byte `shift` of a larger buffer.
    const buf = new Uint8Array(8 + data.length);
    buf.set(data, shift);
    const bin = buf.subarray(shift, shift + data.length);
    const before = { ...arrayStats };
    const a = typedArray({ dtype: "<f8", shape: [3], data: bin });
    assert.deepEqual([...a], [1, 2, 3]);
    assert.equal(a.byteOffset % 8, 0);
    if (shift === 0) {
      assert.equal(a.buffer, buf.buffer, "aligned: a view, no copy");
      assert.equal(arrayStats.views, before.views + 1);
    } else {
      assert.notEqual(a.buffer, buf.buffer, "unaligned: a copy");
      assert.equal(arrayStats.copies, before.copies + 1);
    }
  }
});

test("malformed array maps are errors, not garbage", () => {
  assert.throws(() => typedArray({ dtype: "<f8", shape: [1], data: new Uint8Array(7) }), { code: 500 });
  assert.throws(() => typedArray({ dtype: "<f4", shape: [3], data: new Uint8Array(8) }), { code: 500 });
  assert.throws(() => typedArray({ dtype: "<i8", shape: [1], data: new Uint8Array(8) }), { code: 500 });
  assert.throws(() => typedArray({ dtype: "<i2", shape: [1], scale: "x", data: new Uint8Array(2) }), { code: 500 });
  // A map that merely has a dtype field but other keys too stays a map.
  const v = decode(mpEncode({ s: { dtype: "<f4", data: new Uint8Array(4), unit: "V" } }));
  assert.equal(v.s.unit, "V");
});

test("16-bit codes with a scale decode to float32 volts, code * scale", () => {
  const codes = new Int16Array([0, 1, -1, 8191, -8192, 32767, -32768]);
  for (const scale of [1 / 8192, Math.fround(0.37)]) {
    const v = decode(mpEncode({ ch1: { dtype: "<i2", shape: [codes.length], scale, data: bytes(codes) } }));
    assert.ok(v.ch1 instanceof Float32Array);
    assert.deepEqual([...v.ch1], [...codes].map((c) => Math.fround(c * scale)));
  }
  // Unaligned bins are copied first, as for any dtype.
  const buf = new Uint8Array(1 + 2 * codes.length);
  buf.set(bytes(codes), 1);
  const a = typedArray({ dtype: "<i2", shape: [codes.length], scale: 0.5, data: buf.subarray(1) });
  assert.deepEqual([...a], [...codes].map((c) => c / 2));
});

test("typed arrays in requests encode as array maps; undefined fields are left out", () => {
  const words = new Uint32Array([7, 0xdeadbeef]);
  const raw = mpDecode(encode({ ops: [{ op: "write", addr: 0x40100008, words }], id: undefined }));
  assert.equal("id" in raw, false);
  const w = raw.ops[0].words;
  assert.equal(w.dtype, "<u4");
  assert.deepEqual(w.shape, [2]);
  assert.deepEqual([...new Uint32Array(w.data.slice().buffer)], [7, 0xdeadbeef]);
  // Plain arrays stay plain arrays (the services accept both).
  assert.deepEqual(mpDecode(encode({ words: [1, 2] })).words, [1, 2]);
});

test("an empty reply body decodes as an empty object", () => {
  assert.deepEqual(decode(new Uint8Array(0)), {});
});
