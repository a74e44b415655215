// The curve store: rp.curves.list, get, update, delete. Acquisitions saved
// with {save: true, name, tags} are kept there; their replies carry the
// curve id in `curve`. A curve read back is the reply as it was: the store
// keeps the msgpack bytes the instrument sent, so the typed arrays are
// bit-exact.

import { Rpbus } from "./client.js";
import { RpbusError } from "./errors.js";

/** The curve store's subjects. */
export const CURVES = Object.freeze({
  list: "rp.curves.list",
  get: "rp.curves.get",
  update: "rp.curves.update",
  delete: "rp.curves.delete",
});

/** The curve store, as `rp.curves`. */
export class Curves {
  /** @param {Rpbus} client */
  constructor(client) {
    this.client = client;
  }

  /**
   * One page of curve metadata, newest first. query: board, instrument
   * (scope, na, specan), name_prefix, tag, user (who saved it), acquisition, since and until
   * (Unix s), keep, limit (1..1000, default 100), cursor (the previous
   * page's next).
   */
  list(query = {}, options = {}) {
    return this.client.request(CURVES.list, query, options);
  }

  /** Every curve the query matches, newest first, page after page. */
  async *all(query = {}, options = {}) {
    let cursor;
    for (;;) {
      const page = await this.list({ ...query, cursor }, options);
      yield* page.curves;
      if (!page.next) return;
      cursor = page.next;
    }
  }

  /**
   * The stored trace, as the instrument's reply was (typed arrays), with
   * the curve's metadata in its `meta` field.
   */
  async get(id, options = {}) {
    const { curve, trace } = await this.getWithMeta(id, options);
    return Object.assign(trace, { meta: curve });
  }

  /** {curve: metadata, trace}. */
  async getWithMeta(id, options = {}) {
    const reply = await this.client.request(CURVES.get, { id }, options);
    const curve = reply.curve;
    const trace = curve && reply[curve.instrument];
    if (!trace) throw new RpbusError(500, `curve ${id}: no trace in the reply`, { subject: CURVES.get });
    return { curve, trace };
  }

  /** Changes name, tags, note or keep; resolves to the updated metadata. */
  update(id, changes = {}, options = {}) {
    return this.client.request(CURVES.update, { ...changes, id }, options);
  }

  /** Deletes a curve; an unknown id rejects with 404. */
  async delete(id, options = {}) {
    await this.client.request(CURVES.delete, { id }, options);
  }
}

Object.defineProperty(Rpbus.prototype, "curves", {
  configurable: true,
  get() {
    return new Curves(this);
  },
});
