// Package dashboard serves rpbus's browser dashboard: one page whose
// assets (dist/, built from src/ by esbuild, see package.json) are
// embedded in the binary, so it works offline. The page is one more NATS
// client: it connects to the server's WebSocket listener, whose URL it
// reads from /config.json, and drives every board on the bus with the
// JavaScript client's browser build.
//
// Serve runs the HTTP side; `rpbus up` and `rpbus dashboard` call it.
package dashboard
