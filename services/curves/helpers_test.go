package curves_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/rpbus/rpbus/board/sim"
	"github.com/rpbus/rpbus/client"
	"github.com/rpbus/rpbus/internal/natstest"
	"github.com/rpbus/rpbus/internal/testrig"
	"github.com/rpbus/rpbus/rperr"
	"github.com/rpbus/rpbus/services/curves"
	"github.com/rpbus/rpbus/services/na"
	"github.com/rpbus/rpbus/services/scope"
	"github.com/rpbus/rpbus/services/specan"
	"github.com/rpbus/rpbus/wire"
)

// env is an embedded server with JetStream in a temporary directory, a
// simulated board "sim" behind its bridge, the three instruments, the
// curve store and a Go client, each on its own TCP connection.
type env struct {
	ns     *server.Server
	c      *client.Client
	nc     *nats.Conn // the client's
	curves *curves.Service
}

// newEnv starts the parts; a nil cfg leaves the curve store out.
func newEnv(tb testing.TB, cfg *curves.Config) *env {
	tb.Helper()
	e := &env{ns: natstest.JetStreamServer(tb)}
	services := []testrig.StartFunc{
		func(nc *nats.Conn) (testrig.Service, error) { return scope.Start(nc, scope.Config{}) },
		func(nc *nats.Conn) (testrig.Service, error) { return na.Start(nc, na.Config{}) },
		func(nc *nats.Conn) (testrig.Service, error) { return specan.Start(nc, specan.Config{}) },
	}
	if cfg != nil {
		services = append([]testrig.StartFunc{func(nc *nats.Conn) (testrig.Service, error) {
			s, err := curves.Start(nc, *cfg)
			e.curves = s
			return s, err
		}}, services...)
	}
	simCfg := sim.DefaultConfig()
	simCfg.Seed = 7
	r := testrig.StartWith(tb, testrig.Options{Sim: &simCfg, Server: e.ns}, services...)
	e.c, e.nc = r.Client, r.Client.Conn()
	return e
}

// startCurves starts one more curve store instance on its own connection.
func (e *env) startCurves(tb testing.TB, cfg curves.Config) *curves.Service {
	tb.Helper()
	s, err := curves.Start(natstest.Connect(tb, e.ns), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Stop(context.Background()) })
	return s
}

func ctxT(tb testing.TB, d time.Duration) context.Context {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	tb.Cleanup(cancel)
	return ctx
}

// request sends body (JSON text, or msgpack bytes with mp) to subject and
// returns the reply and its service error.
func request(tb testing.TB, nc *nats.Conn, subject string, body []byte, mp bool) (*nats.Msg, error) {
	tb.Helper()
	codec := wire.JSON
	if mp {
		codec = wire.Msgpack
	}
	m, err := nc.RequestMsg(&nats.Msg{Subject: subject, Data: body, Header: codec.Header()}, 30*time.Second)
	if err != nil {
		tb.Fatalf("%s: %v", subject, err)
	}
	return m, wire.ErrorFromMsg(m)
}

// wantCode fails unless err has code and its message names want.
func wantCode(tb testing.TB, what string, err error, code, want string) {
	tb.Helper()
	if rperr.ErrorCode(err) != code || !bytes.Contains([]byte(err.Error()), []byte(want)) {
		tb.Errorf("%s: got %v, want %s naming %q", what, err, code, want)
	}
}

// storedTrace reads a msgpack rp.curves.get reply's trace bytes exactly
// as they came: the value under the instrument's key.
func storedTrace(tb testing.TB, data []byte) (instrument string, raw []byte) {
	tb.Helper()
	r := bytes.NewReader(data)
	dec := msgpack.NewDecoder(r)
	n, err := dec.DecodeMapLen()
	if err != nil {
		tb.Fatal(err)
	}
	for i := 0; i < n; i++ {
		key, err := dec.DecodeString()
		if err != nil {
			tb.Fatal(err)
		}
		start := len(data) - r.Len()
		if err := dec.Skip(); err != nil {
			tb.Fatal(err)
		}
		if key != "curve" {
			instrument, raw = key, data[start:len(data)-r.Len()]
		}
	}
	return instrument, raw
}

// waitFor polls cond until it holds or the test runs out of patience.
func waitFor(tb testing.TB, timeout time.Duration, what string, cond func() bool) {
	tb.Helper()
	natstest.WaitFor(tb, timeout, what, cond)
}
