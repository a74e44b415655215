// Command rpbus runs the rpbus services and talks to them.
//
//	rpbus up                  embedded NATS + simulated board + every service + the dashboard, one process
//	rpbus dashboard           the browser dashboard for a NATS deployment with WebSocket (docs/dashboard.md)
//	rpbus hwbridge            the hardware bridge for one board (sim or monitor backend)
//	rpbus scope|na|specan     one instrument service; with a verb (single, ...) a client call
//	rpbus simboard            the simulated board served over PyRPL's monitor_server protocol
//	rpbus board install       put the bridge on a Red Pitaya over SSH (and status, logs, uninstall; docs/board.md)
//	rpbus bench hw            benchmark figures for the bridge
//	rpbus bench board         on-board bridge against the monitor path, across a LAN stand-in
//	rpbus lanproxy            a LAN stand-in: a TCP proxy delaying each direction
//
// Every flag has an environment fallback: --nats reads RPBUS_NATS, and so
// on (upper case, dashes as underscores). RPBUS_NATS_URL is also accepted
// for --nats. SIGINT and SIGTERM stop taking requests, answer those in
// flight and exit.
package main
