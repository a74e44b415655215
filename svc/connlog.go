package svc

import (
	"log/slog"

	"github.com/nats-io/nats.go"
)

// ConnectionLog returns the options that make a connection called name
// log its life on log: each disconnect with the server it lost and why,
// each reconnect with the server it moved to, a failed reconnect attempt,
// and its end. A service that goes quiet after a node's loss then says
// where it went.
func ConnectionLog(log *slog.Logger, name string) []nats.Option {
	// The server a connection is on, by URL (password hidden) and name.
	server := func(nc *nats.Conn) []any {
		return []any{"conn", name, "server", nc.ConnectedUrlRedacted(), "server_name", nc.ConnectedServerName()}
	}
	return []nats.Option{
		nats.DisconnectErrHandler(func(nc *nats.Conn, err error) {
			log.Warn("nats: disconnected", append(server(nc), "err", err)...)
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Warn("nats: reconnected", append(server(nc), "reconnects", nc.Stats().Reconnects)...)
		}),
		nats.ReconnectErrHandler(func(nc *nats.Conn, err error) {
			log.Debug("nats: reconnect attempt failed", "conn", name, "err", err)
		}),
		nats.ClosedHandler(func(nc *nats.Conn) {
			log.Info("nats: connection closed", "conn", name)
		}),
	}
}
