// Numbers as a physicist reads and types them: SI prefixes (200 us,
// 1.5 MHz, -80 dB) out, and "1.5M", "200u", "10e-3" in.

const PREFIXES = [
  [1e9, "G"],
  [1e6, "M"],
  [1e3, "k"],
  [1, ""],
  [1e-3, "m"],
  [1e-6, "µ"],
  [1e-9, "n"],
  [1e-12, "p"],
];

/** The prefix whose scale suits magnitude m (the largest scale <= m). */
export function prefixFor(m) {
  if (!(m > 0) || !Number.isFinite(m)) return [1, ""];
  for (const p of PREFIXES) if (m >= p[0] * 0.9995) return p;
  return PREFIXES[PREFIXES.length - 1];
}

function trim(s) {
  return s.includes(".") ? s.replace(/\.?0+$/, "") : s;
}

/** v with d decimals, and no "-0.00". */
export function fixed(v, d) {
  const t = v.toFixed(d);
  return Number(t) === 0 ? (0).toFixed(d) : t;
}

/** v with an SI prefix and unit, digits significant digits: si(2e-4, "s") = "200 µs". */
export function si(v, unit = "", digits = 4) {
  if (v === null || v === undefined || Number.isNaN(v)) return "—";
  if (!Number.isFinite(v)) return `${v > 0 ? "" : "-"}∞ ${unit}`.trim();
  if (v === 0) return `0 ${unit}`.trim();
  const [scale, p] = prefixFor(Math.abs(v));
  const x = v / scale;
  const decimals = Math.max(0, digits - 1 - Math.floor(Math.log10(Math.abs(x))));
  return `${trim(x.toFixed(decimals))} ${p}${unit}`.trim();
}

/**
 * The decimals that write every multiple of step exactly: 2 for a step of
 * 0.25 (0.25, 0.5, 0.75, never 0.3, 0.5, 0.8), 0 for 50; at most 6.
 */
export function stepDecimals(step) {
  if (!(step > 0) || !Number.isFinite(step)) return 0;
  for (let d = 0; d < 6; d++) {
    const s = step * 10 ** d;
    if (Math.abs(s - Math.round(s)) < 1e-6 * Math.max(1, s)) return d;
  }
  return 6;
}

/**
 * Tick labels of one axis with one prefix for all (0, 50 µs, 100 µs, not
 * 0, 50 µs, 0.1 ms), the prefix chosen by the largest tick.
 */
export function siTicks(splits, unit = "") {
  const m = Math.max(...splits.map((v) => Math.abs(v)).filter(Number.isFinite), 0);
  const [scale, p] = prefixFor(m);
  const decimals = stepDecimals(splits.length > 1 ? Math.abs(splits[1] - splits[0]) / scale : 1);
  return splits.map((v) => `${v === 0 ? "0" : trim((v / scale).toFixed(decimals))} ${p}${unit}`.trim());
}

/** Plain numbers with a fixed number of decimals for a linear dB or degree axis. */
export function plainTicks(splits, unit = "") {
  const decimals = stepDecimals(splits.length > 1 ? Math.abs(splits[1] - splits[0]) : 1);
  // An angle's degree sign follows the number; every other unit is spaced.
  const sep = unit === "°" ? "" : " ";
  return splits.map((v) => `${(Math.abs(v) < 1e-12 ? 0 : v).toFixed(decimals)}${sep}${unit}`.trim());
}

/** Labels of a log axis: 1, 2 and 5 of each decade, the others blank. */
export function logTicks(splits, unit = "") {
  return splits.map((v) => {
    if (!(v > 0)) return "";
    const lead = Math.round(v / 10 ** Math.floor(Math.log10(v) + 1e-9));
    return lead === 1 || lead === 2 || lead === 5 ? si(v, unit, 3) : "";
  });
}

const SUFFIX = { p: 1e-12, n: 1e-9, u: 1e-6, "µ": 1e-6, m: 1e-3, k: 1e3, K: 1e3, M: 1e6, G: 1e9 };

/**
 * Parses "1.5M", "200u", "200 us", "10e-3", "-0.1 V" into a number; NaN
 * when it is none. A unit after the prefix is ignored ("200 us", "1 MHz").
 */
export function parseSI(text) {
  const m = /^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([pnuµmkKMG]?)\s*([A-Za-z°]*)\s*$/.exec(String(text));
  if (!m) return NaN;
  const [, num, prefix] = m;
  const scale = prefix ? SUFFIX[prefix] : 1;
  // Divide by the exact 1e6 rather than multiply by the inexact 1e-6.
  return scale < 1 ? Number(num) / Math.round(1 / scale) : Number(num) * scale;
}

/** Labels in exponent notation, for squared units (1.0e-6). */
export function expTicks(splits, unit = "") {
  return splits.map((v) => `${v === 0 ? "0" : v.toExponential(1)} ${unit}`.trim());
}
