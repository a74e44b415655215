// Event streams: a NATS subscription as an async iterator of decoded
// messages. The subscription exists from construction on, so events
// published after the call returns are never missed; it ends on break,
// on close(), on the AbortSignal, or when the connection closes.
// An event that carries error headers (a done event of a failed
// acquisition, with what is known of it) is yielded with an `error`
// property holding the RpbusError, so one failure does not end the stream.

import { decode } from "./codec.js";
import { RpbusError, errorFromReply } from "./errors.js";

export class EventStream {
  /**
   * @param {import("@nats-io/nats-core").NatsConnection} nc
   * @param {string} subject
   * @param {{signal?: AbortSignal, id?: string, max?: number}} [options]
   *   id keeps only events of that acquisition; max ends the stream after
   *   that many events.
   */
  constructor(nc, subject, options = {}) {
    this.subject = subject;
    this._id = options.id;
    this._max = options.max;
    this._sub = nc.subscribe(subject);
    this._signal = options.signal;
    this._onAbort = () => this.close();
    if (this._signal) {
      if (this._signal.aborted) this.close();
      else this._signal.addEventListener("abort", this._onAbort, { once: true });
    }
  }

  /** Ends the stream; a pending iteration finishes. */
  close() {
    this._signal?.removeEventListener("abort", this._onAbort);
    if (!this._sub.isClosed()) this._sub.unsubscribe();
  }

  /**
   * The next event, or undefined once the stream has ended; a 408
   * RpbusError when none comes within timeout seconds (the event is not
   * lost: the following next() gets it). Use either next() or for await
   * on one stream, not both.
   * @param {number} [timeout] seconds; none: wait as long as it takes
   */
  async next(timeout) {
    this._it ??= this[Symbol.asyncIterator]();
    this._pending ??= this._it.next();
    let r;
    if (timeout === undefined) {
      r = await this._pending;
    } else {
      let timer;
      const expired = new Promise((resolve) => (timer = setTimeout(resolve, timeout * 1000, null)));
      r = await Promise.race([this._pending, expired]);
      clearTimeout(timer);
      if (r === null) throw new RpbusError(408, `${this.subject}: no event in ${timeout} s`, { subject: this.subject });
    }
    this._pending = undefined;
    return r.done ? undefined : r.value;
  }

  async *[Symbol.asyncIterator]() {
    let n = 0;
    try {
      for await (const m of this._sub) {
        let v;
        try {
          v = decode(m.data);
        } catch (err) {
          throw new RpbusError(500, `${m.subject}: undecodable event: ${err.message}`, { cause: err, subject: m.subject });
        }
        const err = errorFromReply(m, m.subject);
        if (err) {
          if (v === null || typeof v !== "object") v = {};
          v.error = err;
        }
        if (this._id !== undefined && v?.id !== this._id) continue;
        yield v;
        if (this._max !== undefined && ++n >= this._max) return;
      }
    } finally {
      this.close();
    }
  }
}
