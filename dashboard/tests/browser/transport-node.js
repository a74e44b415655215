// A test that opens a bare nats.js connection gets the page's transport.
export { wsconnect as connect } from "@nats-io/nats-core";
