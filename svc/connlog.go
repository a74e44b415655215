package svc

import (
	"log/slog"

	"github.com/nats-io/nats.go"
)

// ConnectionLog returns the options that make a connection called name
// log its moves on log: each disconnect with the server it lost and why,
// each reconnect with the server it moved to. A service that goes quiet
// after a node's loss then says where it went. (Its first connection and
// its end are the caller's to report.)
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
	}
}
