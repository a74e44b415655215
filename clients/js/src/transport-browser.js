// The browser transport: NATS over WebSocket (the server's websocket
// listener, e.g. `rpbus up --ws`). Servers are ws:// or wss:// URLs.
// A page cannot read files, so creds and nkey come as their contents.

import { wsconnect } from "@nats-io/nats-core";

/** Opens a NATS connection with nats.js's connection options. */
export const dial = wsconnect;

/** Browsers have no files to read: credentials come as user/password or a token. */
export function readCredentialFile(path) {
  throw new Error(`${path}: a browser cannot read files; give user and password, or a token`);
}
