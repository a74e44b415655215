// How long each call waits for its reply, derived from its settings: the
// hardware time, plus the service's own timeout (so its 408, which names
// the cause, arrives first), plus MARGIN. All values in seconds. The rule
// is in docs/protocol.md (Client deadlines); client/testdata/deadlines.json
// in the repository holds its values for a table of settings, checked by
// the Go, Python and JavaScript clients' tests alike. A setting that is
// absent, 0, negative, not finite or not a number counts as absent here,
// so the request still reaches the service, which answers 400 at once.

const CLOCK = 125e6;
const SAMPLES = 16384;
const MAX_DECIMATION = 65536;
const MAX_POINTS = 100000;
/** PyRPL's floor of the automatic rbw (Hz). */
const MIN_AUTO_RBW = 1.186;
/** Added to every derived timeout: queueing, NATS hops, decoding. */
export const MARGIN = 4;
/** Seconds the board's bus takes to read one trace's two buffers (2 x 16384 words at 200 ns a read), counted in every scope and spectrum trace. */
const READOUT = 2 * SAMPLES * 200e-9;
/** Timeout of requests whose duration cannot be derived (as the Go client). */
export const DEFAULT_TIMEOUT = 5;

const pos = (v, dflt) => (typeof v === "number" && Number.isFinite(v) && v > 0 ? v : dflt);
const decimation = (v) => (typeof v === "number" && v >= 1 && v <= MAX_DECIMATION ? v : undefined);

/** Smallest power of two >= x, within 1..65536. */
function pow2AtLeast(x) {
  let d = 1;
  while (d < x && d < MAX_DECIMATION) d *= 2;
  return d;
}

/** scope.single: per x n + service (x n with a trigger) + MARGIN; per is one trace's acquisition and readout. */
export function scopeTimeout(s = {}) {
  let dec = decimation(s.decimation);
  if (dec === undefined) {
    const duration = pos(s.duration, 0);
    dec = duration ? pow2AtLeast((duration / (SAMPLES / CLOCK)) * (1 - 1e-12)) : 1;
  }
  const dt = dec / CLOCK;
  const immediate = s.trigger_source === undefined || s.trigger_source === null || s.trigger_source === "" || s.trigger_source === "immediately";
  let samples = SAMPLES;
  if (!immediate && typeof s.trigger_delay === "number" && Number.isFinite(s.trigger_delay)) {
    samples = Math.max(samples, SAMPLES / 2 + s.trigger_delay / dt);
  }
  const per = samples * dt + READOUT;
  const n = pos(s.trace_average, 1);
  const service = pos(s.timeout, 0) || Math.min(1 + 2 * per * n, 3600);
  return per * n + (immediate ? 1 : n) * service + MARGIN;
}

/** na.single: H + (timeout or 2H + 5 s) + MARGIN. */
export function naTimeout(s = {}) {
  const start = pos(s.start_freq, 1e3);
  const stop = pos(s.stop_freq, 10e6);
  const points = Math.min(Math.trunc(pos(s.points, 1001)), MAX_POINTS);
  const rbw = pos(s.rbw, 1000);
  const avg = pos(s.average_per_point || s.avg_per_point, 1);
  const q = pos(s.q_factor_min, 10);
  const log = s.logscale !== false;
  let h = 0;
  for (let i = 0; i < points; i++) {
    const x = points > 1 ? i / (points - 1) : 0;
    const f = log ? start * (stop / start) ** x : start + (stop - start) * x;
    const bw = s.auto_bandwidth ? Math.max(Math.min(f / q, rbw), MIN_AUTO_RBW) / 2 : rbw;
    h += ((i === 0 ? 3 : 1) * (0.5 + avg)) / bw;
  }
  h *= pos(s.trace_average, 1);
  return h + (pos(s.timeout, 0) || 2 * h + 5) + MARGIN;
}

/** specan.single: A + (timeout or 5 s + 2A) + MARGIN; A is the traces' acquisition and readout. */
export function specanTimeout(s = {}) {
  let dec = decimation(s.decimation);
  const span = pos(s.span, 0);
  const rbw = pos(s.rbw, 0);
  if (dec === undefined && span) {
    dec = 1;
    while (dec < MAX_DECIMATION && CLOCK / (2 * dec) >= span * (1 - 1e-12)) dec *= 2;
  } else if (dec === undefined && rbw) {
    dec = pow2AtLeast((8 * CLOCK) / (SAMPLES * rbw));
  } else if (dec === undefined) {
    dec = 8;
  }
  const a = ((dec * SAMPLES) / CLOCK + READOUT) * pos(s.trace_average, 1);
  return a + (pos(s.timeout, 0) || 5 + 2 * a) + MARGIN;
}

/** hw.txn: 5 s plus each wait op's timeout (1 s when it gives none) and each op's after. */
export function txnTimeout(ops = []) {
  let t = DEFAULT_TIMEOUT;
  for (const op of ops) {
    if (!op) continue;
    if (op.op === "wait") t += pos(op.timeout, 1);
    t += pos(op.after, 0);
  }
  return t;
}
