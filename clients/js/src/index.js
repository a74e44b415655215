// rpbus: Red Pitaya instruments over NATS, from Node.js (TCP) and browsers
// (WebSocket): package.json's "#transport" picks the transport.
export { connect, Rpbus, Board, HW, Generator, Instrument, Scope, NA, Specan, ops, timeAxis, CANCEL_GRACE, MAX_IN_FLIGHT } from "./client.js";
export { CONNECT_TIMEOUT, describeCredentials } from "./connect.js";
export { RpbusError, isRpbusError, Codes, KINDS } from "./errors.js";
export { EventStream } from "./events.js";
export { encode, decode, typedArray, DTYPES } from "./codec.js";
export { scopeTimeout, naTimeout, specanTimeout, txnTimeout } from "./timeouts.js";
export { Curves, CURVES } from "./curves.js";
