// msgpack encoding of requests and decoding of replies and events.
//
// Numeric arrays travel as maps {dtype: "<f4" | "<f8" | "<u4" | "<u2", shape: [n],
// data: bin} of little-endian bytes. Decoding turns each such map into a
// Float32Array, Float64Array, Uint32Array or Uint16Array: a view on the
// message's own bytes when the bin starts at a multiple of the element size
// in its ArrayBuffer, otherwise a copy into a fresh (aligned) buffer,
// because a typed array view must start at a multiple of its element size.
// A scope trace's samples come as 16-bit codes and a scale, {dtype: "<i2",
// shape, scale, data} (half the bytes of float32): they decode into a
// Float32Array of code * scale, the volts the service measured, exactly.
// Encoding does the reverse for typed arrays in requests.

import { Decoder, Encoder } from "@msgpack/msgpack";
import { RpbusError } from "./errors.js";

/** dtype string -> typed array constructor. */
export const DTYPES = {
  "<f4": Float32Array,
  "<f8": Float64Array,
  "<u4": Uint32Array,
  "<u2": Uint16Array,
  "<i2": Int16Array,
};

const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

// Shared: Decoder.decode leaves nothing of its own in the result (bins
// are views on the input), Encoder.encode returns a copy of its buffer,
// and both handle reentrancy. Building an Encoder per call cost 5 us.
const decoder = new Decoder();
const encoder = new Encoder({ ignoreUndefined: true });

/** Counts of decoded arrays that were views and copies, for tests and tuning. */
export const arrayStats = { views: 0, copies: 0 };

/**
 * Decodes one msgpack message, turning array maps into typed arrays.
 * @param {Uint8Array} data
 */
export function decode(data) {
  if (!data || data.length === 0) return {};
  return convert(decoder.decode(data));
}

/**
 * Encodes a request: typed arrays become array maps, undefined fields are
 * left out (the service takes its default).
 * @param {unknown} value
 * @returns {Uint8Array}
 */
export function encode(value) {
  return encoder.encode(prepare(value));
}

/**
 * One array map as a typed array (a view when aligned, else a copy).
 * @param {{dtype: string, shape?: number[], data: Uint8Array}} m
 */
export function typedArray(m) {
  if (m.dtype === "<i2" && m.scale !== undefined) return scaled(m);
  const T = DTYPES[m.dtype];
  const bin = m.data;
  if (!T || !(bin instanceof Uint8Array)) {
    throw new RpbusError(500, `array of dtype ${m.dtype}: want one of ${Object.keys(DTYPES).join(", ")} with bin data`);
  }
  const size = T.BYTES_PER_ELEMENT;
  if (bin.byteLength % size !== 0) {
    throw new RpbusError(500, `array of ${bin.byteLength} bytes is not a whole number of ${m.dtype}`);
  }
  const n = bin.byteLength / size;
  if (Array.isArray(m.shape) && m.shape.reduce((a, b) => a * b, 1) !== n) {
    throw new RpbusError(500, `array shape [${m.shape}] does not hold ${n} elements of ${m.dtype}`);
  }
  if (!littleEndian) return readBigEndianHost(T, bin, n);
  if (bin.byteOffset % size === 0) {
    arrayStats.views++;
    return new T(bin.buffer, bin.byteOffset, n);
  }
  arrayStats.copies++;
  const out = new T(n);
  new Uint8Array(out.buffer).set(bin);
  return out;
}

/**
 * A "<i2" array map with a scale: Float32Array of code * scale. The double
 * product of a 16-bit code and a float32 scale is exact, so storing it
 * rounds once: the float32 product the Go and Python clients compute.
 */
function scaled(m) {
  const scale = m.scale;
  if (typeof scale !== "number" || !Number.isFinite(scale)) {
    throw new RpbusError(500, `array of dtype <i2: scale ${scale} is not a finite number`);
  }
  const codes = typedArray({ dtype: "<i2", shape: m.shape, data: m.data });
  const out = new Float32Array(codes.length);
  for (let i = 0; i < codes.length; i++) out[i] = codes[i] * scale;
  return out;
}

function readBigEndianHost(T, bin, n) {
  const dv = new DataView(bin.buffer, bin.byteOffset, bin.byteLength);
  const out = new T(n);
  for (let i = 0; i < n; i++) {
    if (T === Float32Array) out[i] = dv.getFloat32(4 * i, true);
    else if (T === Float64Array) out[i] = dv.getFloat64(8 * i, true);
    else if (T === Uint32Array) out[i] = dv.getUint32(4 * i, true);
    else if (T === Uint16Array) out[i] = dv.getUint16(2 * i, true);
    else out[i] = dv.getInt16(2 * i, true);
  }
  return out;
}

function isArrayMap(v) {
  if (typeof v.dtype !== "string" || !(v.data instanceof Uint8Array)) return false;
  for (const k in v) if (k !== "dtype" && k !== "shape" && k !== "data" && k !== "scale") return false;
  return true;
}

function convert(v) {
  if (v === null || typeof v !== "object" || ArrayBuffer.isView(v)) return v;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const e = v[i];
      if (e !== null && typeof e === "object") v[i] = convert(e);
    }
    return v;
  }
  if (isArrayMap(v)) return typedArray(v);
  for (const k in v) {
    const e = v[k];
    if (e !== null && typeof e === "object") v[k] = convert(e);
  }
  return v;
}

const dtypeOf = new Map([
  [Float32Array, "<f4"],
  [Float64Array, "<f8"],
  [Uint32Array, "<u4"],
  [Uint16Array, "<u2"],
]);

/** Little-endian bytes of a typed array (its own memory on little-endian hosts). */
function leBytes(a) {
  if (littleEndian) return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const size = a.BYTES_PER_ELEMENT;
  const out = new Uint8Array(a.length * size);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < a.length; i++) {
    if (a instanceof Float32Array) dv.setFloat32(4 * i, a[i], true);
    else if (a instanceof Float64Array) dv.setFloat64(8 * i, a[i], true);
    else dv.setUint32(4 * i, a[i], true);
  }
  return out;
}

function prepare(v) {
  if (v === null || typeof v !== "object") return v;
  if (ArrayBuffer.isView(v)) {
    const dtype = dtypeOf.get(v.constructor);
    if (dtype) return { dtype, shape: [v.length], data: leBytes(v) };
    return v; // Uint8Array and friends: bin
  }
  if (Array.isArray(v)) {
    let out = v;
    for (let i = 0; i < v.length; i++) {
      const e = v[i];
      if (e === null || typeof e !== "object") continue;
      const p = prepare(e);
      if (p !== e) {
        if (out === v) out = v.slice();
        out[i] = p;
      }
    }
    return out;
  }
  const out = {};
  for (const k in v) out[k] = prepare(v[k]);
  return out;
}
