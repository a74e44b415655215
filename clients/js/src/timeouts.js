// Client-side timeouts derived from what a request asks the hardware to do,
// so a long acquisition is not cut short by the NATS client's 1 s default
// and the service's own 408 (which names the cause) arrives before ours.
// All values in seconds.

/** FPGA clock period: 125 MHz. */
export const CYCLE = 8e-9;
/** Samples per scope channel. */
export const SCOPE_SAMPLES = 16384;
/** Largest scope decimation. */
export const MAX_DECIMATION = 65536;
/** Added to every derived timeout: queueing, NATS hops, decoding. */
export const MARGIN = 2;
/** Timeout of requests whose duration cannot be derived (as the Go client). */
export const DEFAULT_TIMEOUT = 5;

const num = (v, dflt) => (typeof v === "number" && Number.isFinite(v) && v > 0 ? v : dflt);

/** Smallest power of two >= x, clamped to 1..65536. */
function pow2AtLeast(x) {
  let d = 1;
  while (d < x && d < MAX_DECIMATION) d *= 2;
  return d;
}

/** Largest power of two <= x, clamped to 1..65536. */
function pow2AtMost(x) {
  let d = 1;
  while (2 * d <= x && d < MAX_DECIMATION) d *= 2;
  return d;
}

/**
 * Scope trace time T = 16384 x 8 ns x decimation, decimation from
 * `decimation`, or `duration` rounded up to 16384 x 8 ns x 2^k (default 1).
 */
export function scopeTraceTime(s = {}) {
  const dec = num(s.decimation, 0) || pow2AtLeast(num(s.duration, 0) / (SCOPE_SAMPLES * CYCLE));
  return SCOPE_SAMPLES * CYCLE * dec;
}

/**
 * scope.single: N = trace_average traces, each taking at most
 * P = 2T + |trigger_delay| (pre-trigger fill, then the trace after the
 * trigger) and each allowed the service's timeout to see its trigger
 * (settings.timeout, default 1 s + 2 x P x N), so N x (P + timeout) plus
 * MARGIN.
 */
export function scopeTimeout(s = {}) {
  const n = num(s.trace_average, 1);
  const per = 2 * scopeTraceTime(s) + Math.abs(s.trigger_delay || 0);
  return n * (per + num(s.timeout, 1 + 2 * per * n)) + MARGIN;
}

/** PyRPL's floor of the automatic rbw (Hz). */
const MIN_AUTO_RBW = 1.186;

/**
 * na.single: the sweep's time H = sum over points of (0.5 +
 * average_per_point) / rbw_i, the first point counting three times, x
 * trace_average; then H + the service's timeout (settings.timeout,
 * default 2H + 5 s) + MARGIN. rbw_i is rbw, or with auto_bandwidth
 * max(min(f_i / q_factor_min, rbw), 1.186 Hz) / 2 (the service raises its
 * bandwidth by doubling, so it may lag a factor 2 behind).
 */
export function naTimeout(s = {}) {
  const points = Math.round(num(s.points, 1001));
  const rbw = num(s.rbw, 1000);
  const avg = num(s.average_per_point, 1);
  let h;
  if (s.auto_bandwidth) {
    const start = num(s.start_freq, 1e3);
    const stop = num(s.stop_freq, 10e6);
    const q = num(s.q_factor_min, 10);
    const log = s.logscale ?? true;
    h = 0;
    for (let i = 0; i < points; i++) {
      const x = points > 1 ? i / (points - 1) : 0;
      const f = log ? start * (stop / start) ** x : start + (stop - start) * x;
      const bw = Math.max(Math.min(f / q, rbw), MIN_AUTO_RBW) / 2;
      h += ((i === 0 ? 3 : 1) * (0.5 + avg)) / bw;
    }
  } else {
    h = ((points + 2) * (0.5 + avg)) / rbw;
  }
  h *= num(s.trace_average, 1);
  return h + num(s.timeout, 2 * h + 5) + MARGIN;
}

/**
 * specan.single: A = decimation x 16384 x 8 ns x trace_average (decimation
 * from `decimation`, or as the service: the largest power of two with
 * 125 MHz / decimation >= span; default 8), plus the service's timeout (settings.timeout, default
 * 5 s + 2A), plus MARGIN.
 */
export function specanTimeout(s = {}) {
  const dec = num(s.decimation, 0) || (num(s.span, 0) ? pow2AtMost(1 / CYCLE / s.span) : 8);
  const a = dec * SCOPE_SAMPLES * CYCLE * num(s.trace_average, 1);
  return a + num(s.timeout, 5 + 2 * a) + MARGIN;
}

/** hw.txn: the sum of its wait ops' timeouts (default 1 s each) plus 5 s. */
export function txnTimeout(ops = []) {
  let t = DEFAULT_TIMEOUT;
  for (const op of ops) if (op && op.op === "wait") t += num(op.timeout, 1);
  return t;
}
