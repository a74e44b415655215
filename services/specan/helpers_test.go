package specan_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/board/sim"
	"github.com/rpbus/rpbus/client"
	"github.com/rpbus/rpbus/internal/natstest"
	"github.com/rpbus/rpbus/internal/testrig"
	"github.com/rpbus/rpbus/natsserver"
	"github.com/rpbus/rpbus/rperr"
	"github.com/rpbus/rpbus/services/scope"
	"github.com/rpbus/rpbus/services/specan"
)

// seed fixes the simulated board's noise.
const seed = 11

// env is a simulated board behind the real bridge, the real scope service
// and the spectrum analyzer, each on its own TCP connection to an embedded
// server, and a Go client on another.
type env struct {
	ns    *server.Server
	sim   *sim.Board
	cfg   sim.Config
	svc   *specan.Service
	c     *client.Client
	board *client.Board
}

func newEnv(tb testing.TB, cfg specan.Config) *env {
	tb.Helper()
	return newEnvConn(tb, cfg, natstest.Connect, false)
}

// newEnvUp is newEnv as `rpbus up` runs it: every part on an in-process
// connection, and the scope sends the done events someone subscribes to.
func newEnvUp(tb testing.TB, cfg specan.Config) *env {
	tb.Helper()
	return newEnvConn(tb, cfg, testrig.InProcess, true)
}

// newEnvConn is newEnv with the connections (bridge, scope, specan,
// client, in that order) made by connect; with heard the scope asks the
// server whether anyone subscribes to its done events
// (natsserver.Interest).
func newEnvConn(tb testing.TB, cfg specan.Config, connect func(testing.TB, *server.Server, ...nats.Option) *nats.Conn, heard bool) *env {
	tb.Helper()
	sc := sim.DefaultConfig()
	sc.Seed = seed
	ns := natstest.Server(tb)
	e := &env{ns: ns}
	startScope := func(nc *nats.Conn) (testrig.Service, error) {
		var scfg scope.Config
		if heard {
			var err error
			if scfg.Heard, err = natsserver.Interest(ns, nc); err != nil {
				return nil, err
			}
		}
		return scope.Start(nc, scfg)
	}
	startSpecan := func(nc *nats.Conn) (testrig.Service, error) {
		s, err := specan.Start(nc, cfg)
		e.svc = s
		return s, err
	}
	r := testrig.StartWith(tb, testrig.Options{Sim: &sc, Server: ns, Connect: connect}, startScope, startSpecan)
	e.sim, e.cfg, e.c, e.board = r.Sim, r.Config, r.Client, r.Board
	return e
}

// sine plays a sine of amplitude a (V) at about f (Hz) from asg0 on out1
// and returns the frequency and amplitude as the hardware applied them.
func (e *env) sine(tb testing.TB, f, a float64) (float64, float64) {
	tb.Helper()
	got, err := e.board.ASG0.Setup(ctxT(tb, 5*time.Second), api.ASGSetup{
		Waveform: client.Ptr("sin"), Frequency: client.Ptr(f), Amplitude: client.Ptr(a),
		OutputDirect: client.Ptr("out1"), TriggerSource: client.Ptr("immediately"),
	})
	if err != nil {
		tb.Fatal(err)
	}
	return got.Frequency, got.Amplitude
}

func (e *env) spectrum(tb testing.TB, s api.SpecanSettings) api.Spectrum {
	tb.Helper()
	sp, err := e.board.Specan().Single(context.Background(), s)
	if err != nil {
		tb.Fatalf("%+v: %v", s, err)
	}
	if sp.Traces != s.TraceAverage && !(s.TraceAverage == 0 && sp.Traces == 1) {
		tb.Fatalf("%d traces averaged, asked for %d", sp.Traces, s.TraceAverage)
	}
	return sp
}

func ctxT(tb testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	tb.Cleanup(cancel)
	return ctx
}

// wantCode fails unless err is an *rperr.Error of code whose message holds
// every part.
func wantCode(tb testing.TB, err error, code string, parts ...string) {
	tb.Helper()
	var re *rperr.Error
	if !errors.As(err, &re) || re.Code != code {
		tb.Fatalf("error %v, want code %s", err, code)
	}
	for _, p := range parts {
		if !strings.Contains(re.Message, p) {
			tb.Errorf("message %q does not name %q", re.Message, p)
		}
	}
}

// peak returns the largest value of x above DC and its index.
func peak(x []float64) (float64, int) {
	k := 1
	for i := 2; i < len(x); i++ {
		if x[i] > x[k] {
			k = i
		}
	}
	return x[k], k
}

func dB(x float64) float64 { return 10 * math.Log10(x) }

func cabs(z complex128) float64 { return math.Hypot(real(z), imag(z)) }
