import { errors } from "@nats-io/nats-core";

// Errors of rpbus: one class whose `code` is the number the wire carries
// (Nats-Service-Error-Code) and whose `kind` is the Go side's name for it.

/** @type {Record<number, string>} */
export const KINDS = {
  400: "invalid", // bad input: the message names the field and the allowed range
  404: "not_found", // unknown board, module or acquisition id; no responders
  408: "timeout", // a trigger, a register condition or the reply did not come in time
  409: "busy", // the resource is held and the request asked not to wait
  499: "cancelled", // cancelled by a cancel or stop request, by shutdown, or by an AbortSignal
  500: "internal", // a bug
  503: "unavailable", // the hardware, a service it needs or the connection is gone
};

/** The codes by kind, e.g. Codes.invalid === 400. */
export const Codes = Object.freeze(Object.fromEntries(Object.entries(KINDS).map(([c, k]) => [k, Number(c)])));

export class RpbusError extends Error {
  /**
   * @param {number} code 400, 404, 408, 409, 499, 500 or 503 (others become 500)
   * @param {string} message
   * @param {{cause?: unknown, subject?: string}} [options]
   */
  constructor(code, message, options = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "RpbusError";
    this.code = KINDS[code] ? code : 500;
    this.kind = KINDS[this.code];
    this.subject = options.subject;
  }
}

/** Whether err is an RpbusError, and with the given code when one is given. */
export function isRpbusError(err, code) {
  return err instanceof RpbusError && (code === undefined || err.code === code);
}

/**
 * The service error a reply carries in micro's headers, or null.
 * @param {import("@nats-io/nats-core").Msg} msg
 * @param {string} subject
 */
export function errorFromReply(msg, subject) {
  const h = msg.headers;
  if (!h) return null;
  const desc = h.get("Nats-Service-Error");
  const code = h.get("Nats-Service-Error-Code");
  if (!desc && !code) return null;
  const n = Number.parseInt(code, 10);
  return new RpbusError(Number.isFinite(n) ? n : 500, desc || `${subject}: error ${code}`, { subject });
}

/**
 * Maps an error of the NATS client to an RpbusError: no responders is
 * not_found (no service serves that board or module), timeouts 408, a
 * closed or draining connection 503.
 * @param {unknown} err
 * @param {string} subject
 * @param {number} timeoutMs
 */
export function fromNatsError(err, subject, timeoutMs) {
  if (err instanceof RpbusError) return err;
  const chain = [];
  for (let e = err, i = 0; e && i < 8; e = e.cause, i++) chain.push(e);
  const has = (name) => chain.some((e) => e instanceof errors[name]);
  if (has("NoRespondersError")) {
    return new RpbusError(404, `no service answers ${subject}: unknown board or module, or the service is not running`, { cause: err, subject });
  }
  if (has("TimeoutError")) {
    return new RpbusError(408, `${subject}: no reply in ${(timeoutMs / 1000).toFixed(3)} s`, { cause: err, subject });
  }
  if (has("ClosedConnectionError") || has("DrainingConnectionError") || has("ConnectionError")) {
    return new RpbusError(503, `${subject}: ${err.message}`, { cause: err, subject });
  }
  if (has("InvalidSubjectError") || has("InvalidArgumentError")) {
    return new RpbusError(400, `${subject}: ${err.message}`, { cause: err, subject });
  }
  return new RpbusError(500, `${subject}: ${err?.message ?? err}`, { cause: err, subject });
}
