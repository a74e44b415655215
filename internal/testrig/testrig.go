package testrig

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/board/sim"
	"github.com/rpbus/rpbus/client"
	"github.com/rpbus/rpbus/internal/natstest"
	"github.com/rpbus/rpbus/rperr"
	"github.com/rpbus/rpbus/services/hwbridge"
)

// Service is a running service that the rig stops at the end.
type Service interface {
	Stop(ctx context.Context) error
}

// StartFunc starts a service on its own connection.
type StartFunc func(nc *nats.Conn) (Service, error)

// Rig is one simulated board named "sim" with its services.
type Rig struct {
	Server *server.Server
	Sim    *sim.Board
	Config sim.Config // the simulated board's
	Bridge *hwbridge.Bridge
	// BridgeConn is the bridge's connection: closing it kills the bridge
	// as far as NATS can tell (the server drops its subscriptions).
	BridgeConn *nats.Conn
	Client     *client.Client // on a connection of its own
	Board      *client.Board  // the client's handle on "sim"
}

// Options build a rig other than Start's; the zero value is Start's.
type Options struct {
	// Sim configures the simulated board; nil is sim.DefaultConfig().
	Sim *sim.Config
	// Server serves the rig (one with JetStream, say); nil starts
	// natstest.Server, stopped when the test ends.
	Server *server.Server
	// Connect makes every connection: the bridge's first, then each
	// service's in order, then the client's. Nil is natstest.Connect,
	// over TCP; InProcess connects as `rpbus up` does.
	Connect func(tb testing.TB, ns *server.Server, opts ...nats.Option) *nats.Conn
}

// Start serves a simulated board with cfg (sim.DefaultConfig() when nil)
// behind the bridge, then each of services on its own connection.
func Start(tb testing.TB, cfg *sim.Config, services ...StartFunc) *Rig {
	tb.Helper()
	return StartWith(tb, Options{Sim: cfg}, services...)
}

// StartWith is Start built as o says.
func StartWith(tb testing.TB, o Options, services ...StartFunc) *Rig {
	tb.Helper()
	c := sim.DefaultConfig()
	if o.Sim != nil {
		c = *o.Sim
	}
	connect := o.Connect
	if connect == nil {
		connect = natstest.Connect
	}
	sb, err := sim.New(c)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { sb.Close() })
	ns := o.Server
	if ns == nil {
		ns = natstest.Server(tb)
	}
	bnc := connect(tb, ns)
	br, err := hwbridge.Start(bnc, hwbridge.Config{Board: "sim", Backend: "sim", FPGA: sb, Model: c})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { br.Stop(context.Background()) })
	for _, start := range services {
		s, err := start(connect(tb, ns))
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { s.Stop(context.Background()) })
	}
	cl, err := client.New(connect(tb, ns))
	if err != nil {
		tb.Fatal(err)
	}
	return &Rig{Server: ns, Sim: sb, Config: c, Bridge: br, BridgeConn: bnc, Client: cl, Board: cl.Board("sim")}
}

// InProcess connects to ns without TCP, as the services of `rpbus up` do;
// the connection closes when the test ends.
func InProcess(tb testing.TB, ns *server.Server, opts ...nats.Option) *nats.Conn {
	tb.Helper()
	nc, err := nats.Connect("", append(opts, nats.InProcessServer(ns))...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(nc.Close)
	return nc
}

// ExpectDone reads done events until the one of acquisition id and fails
// the test unless it carries an error of code and ok accepts what it
// holds (at least its board and settings); after 10 s without it, too.
func ExpectDone[T any](tb testing.TB, events <-chan client.Done[T], id string, code string, ok func(T) bool) {
	tb.Helper()
	for {
		select {
		case ev := <-events:
			if idOf(ev.Value) != id {
				continue
			}
			if rperr.ErrorCode(ev.Err) != code || !ok(ev.Value) {
				tb.Fatalf("done event of %s: %v %+v, want %s with what is known", id, ev.Err, ev.Value, code)
			}
			return
		case <-time.After(10 * time.Second):
			tb.Fatalf("no done event for %s", id)
		}
	}
}

// idOf is the ID field of a scope trace, a sweep or a spectrum.
func idOf(v any) string {
	switch t := v.(type) {
	case api.ScopeTrace:
		return t.ID
	case api.NATrace:
		return t.ID
	case api.Spectrum:
		return t.ID
	}
	return ""
}
