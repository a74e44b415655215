// The rpbus client: promises over one NATS connection, msgpack on the wire.

import { openConnection } from "./connect.js";
import { headers as natsHeaders, nuid } from "@nats-io/nats-core";
import { decode, encode } from "./codec.js";
import { RpbusError, errorFromReply, fromNatsError } from "./errors.js";
import { EventStream } from "./events.js";
import { DEFAULT_TIMEOUT, naTimeout, scopeTimeout, specanTimeout, txnTimeout } from "./timeouts.js";

/** How long an aborted call waits for the service to confirm the cancel (s). */
export const CANCEL_GRACE = 2;
/** Requests one client keeps in flight; more wait for a slot (NATS's request
 * mux overflows with hundreds of concurrent large replies). */
export const MAX_IN_FLIGHT = 64;

const BOARD_NAME = /^[A-Za-z0-9_-]+$/;

/**
 * Connects to the NATS server(s) and returns a client that owns the
 * connection (close() drains it). Credentials, at most one kind: user and
 * password, token, creds (a credentials file) or nkey (an nkey seed file);
 * timeout: seconds per attempt (default 2), after which, or at once on a
 * refusal, an authorization or a TLS failure, it rejects with code 503
 * saying what was tried and why.
 * @param {string | string[]} [servers] e.g. "nats://127.0.0.1:4222"
 * @param {object} [options] credentials, timeout, maxInFlight, and NATS connection options
 */
export async function connect(servers = "nats://127.0.0.1:4222", options = {}) {
  const { maxInFlight, ...rest } = options;
  const nc = await openConnection(servers, rest);
  return new Rpbus(nc, { maxInFlight, ownsConnection: true });
}

function abortError(signal) {
  return new RpbusError(499, "cancelled by the caller's AbortSignal", { cause: signal.reason });
}

function encodeRequest(subject, body) {
  try {
    return encode(body);
  } catch (err) {
    throw new RpbusError(400, `encoding the request for ${subject}: ${err.message}`, { cause: err, subject });
  }
}

/** A promise resolved after s seconds that does not keep the process alive. */
function sleep(s) {
  return new Promise((resolve) => setTimeout(resolve, s * 1000).unref?.());
}

/** Counting semaphore whose waiters leave on abort. */
class Limiter {
  constructor(n) {
    this.free = n;
    this.waiters = [];
  }
  acquire(signal) {
    if (this.free > 0) {
      this.free--;
      return null;
    }
    return new Promise((resolve, reject) => {
      const w = { resolve };
      const onAbort = () => {
        const i = this.waiters.indexOf(w);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(abortError(signal));
      };
      w.resolve = () => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.waiters.push(w);
    });
  }
  release() {
    const w = this.waiters.shift();
    if (w) w.resolve();
    else this.free++;
  }
}

export class Rpbus {
  /**
   * @param {import("@nats-io/nats-core").NatsConnection} nc
   * @param {{maxInFlight?: number, ownsConnection?: boolean}} [options]
   */
  constructor(nc, options = {}) {
    this.nc = nc;
    this._owns = options.ownsConnection ?? false;
    this._limiter = new Limiter(options.maxInFlight ?? MAX_IN_FLIGHT);
  }

  /** A handle on the board called name ("sim" under `rpbus up`). */
  board(name) {
    if (typeof name !== "string" || !BOARD_NAME.test(name)) {
      throw new RpbusError(400, `board: ${JSON.stringify(name)}: want letters, digits, "-" and "_"`);
    }
    return new Board(this, name);
  }

  /**
   * Sends body (msgpack) to subject and returns the decoded reply.
   * @param {string} subject
   * @param {unknown} [body]
   * @param {RequestOptions} [options]
   *
   * @typedef {object} RequestOptions
   * @property {number} [timeout] seconds (default 5)
   * @property {AbortSignal} [signal] aborting rejects with code 499, and
   *   with `cancel` set first asks the service to stop.
   * @property {{subject: string, id: string}} [cancel] where to send
   *   {id} when the caller aborts or the local timeout passes.
   */
  async request(subject, body = {}, options = {}) {
    const { signal, cancel } = options;
    const timeoutS = options.timeout ?? DEFAULT_TIMEOUT;
    if (!(timeoutS > 0)) throw new RpbusError(400, `timeout: ${timeoutS}: want seconds > 0`, { subject });
    if (signal?.aborted) throw abortError(signal);
    const data = encodeRequest(subject, body);
    const wait = this._limiter.acquire(signal);
    if (wait) await wait;
    try {
      const h = natsHeaders();
      h.set("Content-Type", "application/msgpack");
      const timeoutMs = Math.max(1, Math.ceil(timeoutS * 1000));
      const reply = this.nc.request(subject, data, { timeout: timeoutMs, headers: h }).then(
        (msg) => {
          const err = errorFromReply(msg, subject);
          if (err) throw err;
          return decode(msg.data);
        },
        (err) => {
          const e = fromNatsError(err, subject, timeoutMs);
          // Our own timeout, not the service's 408: the work may still run there.
          if (cancel && e.code === 408) this._cancelQuietly(cancel);
          throw e;
        },
      );
      if (!signal) return await reply;
      let onAbort;
      const aborted = new Promise((resolve) => {
        onAbort = resolve;
        signal.addEventListener("abort", onAbort, { once: true });
      });
      const settled = reply.then((v) => ({ v }), (e) => ({ e }));
      const first = await Promise.race([settled, aborted.then(() => null)]);
      signal.removeEventListener("abort", onAbort);
      if (first) {
        if (first.e) throw first.e;
        return first.v;
      }
      if (cancel) await this._cancelAndWait(cancel, settled);
      throw abortError(signal);
    } finally {
      this._limiter.release();
    }
  }

  /**
   * Asks the service to cancel, retrying while it does not know the id yet
   * (the cancel can overtake the request inside the service), until the
   * original request has its answer (499) or CANCEL_GRACE passes.
   */
  async _cancelAndWait(cancel, settled) {
    const deadline = Date.now() + CANCEL_GRACE * 1000;
    let done = false;
    settled.then(() => (done = true));
    for (let i = 0; !done && Date.now() < deadline && i < 100; i++) {
      let ok = false;
      try {
        const r = await this._send(cancel.subject, { id: cancel.id }, 1);
        ok = r?.cancelled === true;
      } catch {
        // 404: not registered yet, or already over
      }
      if (ok) break;
      await Promise.race([settled, sleep(0.02)]);
    }
    const left = (deadline - Date.now()) / 1000;
    if (!done && left > 0) await Promise.race([settled, sleep(left)]);
  }

  _cancelQuietly(cancel) {
    this._send(cancel.subject, { id: cancel.id }, 1).catch(() => {});
  }

  /** A request outside the in-flight limit, for cancels. */
  async _send(subject, body, timeoutS) {
    const h = natsHeaders();
    h.set("Content-Type", "application/msgpack");
    const timeoutMs = Math.ceil(timeoutS * 1000);
    let msg;
    try {
      msg = await this.nc.request(subject, encodeRequest(subject, body), { timeout: timeoutMs, headers: h });
    } catch (err) {
      throw fromNatsError(err, subject, timeoutMs);
    }
    const err = errorFromReply(msg, subject);
    if (err) throw err;
    return decode(msg.data);
  }

  /**
   * Events on subject as an async iterator of decoded messages.
   * @param {string} subject
   * @param {{signal?: AbortSignal, id?: string, max?: number}} [options]
   */
  subscribe(subject, options) {
    return new EventStream(this.nc, subject, options);
  }

  /** Drains the connection when connect() made it; otherwise does nothing. */
  async close() {
    if (this._owns && !this.nc.isClosed()) await this.nc.drain();
  }
}

/** One board's services. */
export class Board {
  constructor(client, name) {
    this.client = client;
    this.name = name;
    this.hw = new HW(this);
    this.asg0 = new Generator(this, "asg0");
    this.asg1 = new Generator(this, "asg1");
    this.scope = new Scope(this, "scope");
    this.na = new NA(this, "na");
    this.specan = new Specan(this, "specan");
  }

  /** rp.<board>.<module>.<verb> */
  subject(module, verb) {
    return `rp.${this.name}.${module}.${verb}`;
  }

  /** What the board is (hw.info). */
  info(options) {
    return this.hw.info(options);
  }
}

/** Register operation builders for hw.txn. */
export const ops = {
  /** Reads n words (1..65535) at addr. */
  // width 16: the low 16 bits of each word, in the result's `halves`.
  read: (addr, n = 1, width = 32) => (width === 32 ? { op: "read", addr: toAddr(addr), n } : { op: "read", addr: toAddr(addr), n, width }),
  /** Writes words (numbers, an array or a Uint32Array) at addr. */
  write: (addr, ...words) => ({ op: "write", addr: toAddr(addr), words: words.length === 1 && typeof words[0] === "object" ? words[0] : words }),
  /** Waits until word(addr) & mask == value, at most timeout s (default 1). */
  wait: (addr, mask, value, timeout) => ({ op: "wait", addr: toAddr(addr), mask, value, timeout }),
};

/** Accepts numbers and strings such as "0x40100000" (msgpack carries numbers only). */
function toAddr(a) {
  if (typeof a === "string") {
    const v = Number(a.trim());
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) {
      throw new RpbusError(400, `addr: ${JSON.stringify(a)}: want a 32-bit unsigned number or a hex string like "0x40100000"`);
    }
    return v;
  }
  return a;
}

/** The hardware bridge: raw registers. */
export class HW {
  constructor(board) {
    this.board = board;
  }

  info(options = {}) {
    return this.board.client.request(this.board.subject("hw", "info"), {}, options);
  }

  /**
   * Runs the operations as one transaction. It carries an id (options.id
   * or a fresh one) so that aborting options.signal, or the local timeout
   * passing, cancels it on the bridge (hw.cancel); an abort rejects (499)
   * once the bridge has answered, i.e. released the modules. The timeout
   * defaults to 5 s plus the wait ops' timeouts.
   * @param {object[]} txnOps from ops.read/write/wait, or plain objects
   * @param {{id?: string, signal?: AbortSignal, timeout?: number}} [options]
   */
  txn(txnOps, options = {}) {
    if (!Array.isArray(txnOps)) throw new RpbusError(400, "ops: want an array of operations");
    const list = txnOps.map((o) => (o && typeof o === "object" && typeof o.addr === "string" ? { ...o, addr: toAddr(o.addr) } : o));
    // Always an id, so both an abort and a local timeout can cancel it on the bridge.
    const id = options.id ?? nuid.next();
    return this.board.client.request(
      this.board.subject("hw", "txn"),
      { id, ops: list },
      {
        timeout: options.timeout ?? txnTimeout(list),
        signal: options.signal,
        cancel: { subject: this.board.subject("hw", "cancel"), id },
      },
    );
  }

  /** Reads n words at addr: a Uint32Array. */
  async read(addr, n = 1, options) {
    const r = await this.txn([ops.read(addr, n)], options);
    return r.results[0].words ?? new Uint32Array(0);
  }

  /** Writes words (an array or a Uint32Array) at addr. */
  async write(addr, words, options) {
    await this.txn([ops.write(addr, Array.isArray(words) || ArrayBuffer.isView(words) ? words : [words])], options);
  }

  /** Cancels the transaction with this id: {id, cancelled}. */
  cancel(id, options) {
    return this.board.client.request(this.board.subject("hw", "cancel"), { id }, options);
  }
}

/** One of the two signal generators (asg0, asg1). */
export class Generator {
  constructor(board, name) {
    this.board = board;
    this.name = name;
  }

  /**
   * Changes the given settings (absent ones keep their value) and returns
   * the generator's whole state as applied.
   */
  setup(settings = {}, options = {}) {
    return this.board.client.request(this.board.subject(this.name, "setup"), settings, options);
  }
}

/** What every instrument service has: cancel, stop and events. */
export class Instrument {
  constructor(board, module) {
    this.board = board;
    this.module = module;
  }

  /** Cancels the acquisition with this id (404 if none runs). */
  cancel(id, options) {
    return this.board.client.request(this.board.subject(this.module, "cancel"), { id }, options);
  }

  /** Ends continuous mode and cancels this board's queued and running acquisitions. */
  stop(options) {
    return this.board.client.request(this.board.subject(this.module, "stop"), {}, options);
  }

  /** Results of finished acquisitions, as they are published. */
  done(options) {
    return this.board.client.subscribe(this.board.subject(this.module, "done"), options);
  }

  /** Progress events of running acquisitions. */
  progress(options) {
    return this.board.client.subscribe(this.board.subject(this.module, "progress"), options);
  }

  /**
   * One acquisition: settings get an id (unless given) so that aborting
   * options.signal cancels it on the service.
   */
  _acquire(verb, settings, options, timeout) {
    if (settings === null || typeof settings !== "object" || Array.isArray(settings)) {
      throw new RpbusError(400, `settings: want an object of ${this.module} settings`);
    }
    const id = settings.id ?? nuid.next();
    return this.board.client.request(
      this.board.subject(this.module, verb),
      { ...settings, id },
      {
        timeout: options.timeout ?? timeout,
        signal: options.signal,
        cancel: { subject: this.board.subject(this.module, "cancel"), id },
      },
    );
  }
}

/** The oscilloscope: two channels of 16384 samples. */
export class Scope extends Instrument {
  /** One trace (averaged over trace_average): ch1/ch2 are Float32Array in V. */
  single(settings = {}, options = {}) {
    return this._acquire("single", settings, options, scopeTimeout(settings));
  }

  /** Starts continuous mode: traces follow on rp.<board>.scope.trace. */
  continuous(settings = {}, options = {}) {
    return this._acquire("continuous", settings, { timeout: DEFAULT_TIMEOUT, ...options }, DEFAULT_TIMEOUT);
  }

  /** Traces of continuous mode, as they are published. */
  traces(options) {
    return this.board.client.subscribe(this.board.subject(this.module, "trace"), options);
  }

  /**
   * Continuous mode as an async iterator: subscribes to the traces, starts
   * continuous mode with settings and yields its traces until the loop
   * ends (break, options.signal, options.max); then it sends scope.stop,
   * which ends continuous mode on the board for everyone.
   * @param {object} [settings]
   * @param {{signal?: AbortSignal, max?: number, timeout?: number}} [options]
   */
  async *stream(settings = {}, options = {}) {
    const traces = this.traces({ signal: options.signal });
    try {
      const started = await this.continuous(settings, { signal: options.signal, timeout: options.timeout });
      let n = 0;
      for await (const t of traces) {
        if (t.id !== started.id) continue; // a run this one replaced
        yield t;
        if (options.max !== undefined && ++n >= options.max) return;
      }
    } finally {
      traces.close();
      await this.stop().catch(() => {});
    }
  }
}

/** The network analyzer: a frequency sweep through an IQ module. */
export class NA extends Instrument {
  /** One sweep: frequencies, re, im are Float64Array. */
  single(settings = {}, options = {}) {
    return this._acquire("single", settings, options, naTimeout(settings));
  }
}

/** The spectrum analyzer. */
export class Specan extends Instrument {
  /** One (averaged) spectrum: frequencies, ch1, ch2 are Float64Array. */
  single(settings = {}, options = {}) {
    return this._acquire("single", settings, options, specanTimeout(settings));
  }
}

/** The time axis of a scope trace: t0 + i*dt, in seconds. */
export function timeAxis(trace) {
  const n = trace.ch1?.length ?? trace.ch2?.length ?? 0;
  const t = new Float64Array(n);
  for (let i = 0; i < n; i++) t[i] = trace.t0 + i * trace.dt;
  return t;
}
