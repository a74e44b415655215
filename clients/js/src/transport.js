// The Node transport: NATS over TCP (and TLS), credentials files read
// from disk. The browser build gets transport-browser.js instead, through
// package.json's "#transport" import and its "browser" condition.

import { readFileSync } from "node:fs";
import { connect } from "@nats-io/transport-node";

/** Opens a NATS connection with nats.js's connection options. */
export const dial = connect;

/** The contents of a credentials or nkey file. */
export function readCredentialFile(path, encoding) {
  return readFileSync(path, encoding);
}
