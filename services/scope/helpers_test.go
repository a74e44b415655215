package scope_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/board/sim"
	"github.com/rpbus/rpbus/client"
	"github.com/rpbus/rpbus/internal/natstest"
	"github.com/rpbus/rpbus/internal/testrig"
	"github.com/rpbus/rpbus/regmap"
	"github.com/rpbus/rpbus/services/scope"
)

// seed fixes the simulated board's noise.
const seed = 7

// env is the test rig (a simulated board behind a real bridge, each part
// on its own TCP connection to an embedded server) with one or more scope
// service instances and a Go client.
type env struct {
	ns     *server.Server
	sim    *sim.Board
	cfg    sim.Config
	rig    *testrig.Rig
	c      *client.Client
	board  *client.Board
	scopes []*scope.Service
}

// newEnv starts the rig with instances scope services.
func newEnv(tb testing.TB, instances int) *env {
	tb.Helper()
	cfg := sim.DefaultConfig()
	cfg.Seed = seed
	rig := testrig.Start(tb, &cfg)
	e := &env{ns: rig.Server, sim: rig.Sim, cfg: cfg, rig: rig, board: rig.Board}
	for i := 0; i < instances; i++ {
		e.addScope(tb)
	}
	e.c = e.newClient(tb)
	return e
}

func (e *env) addScope(tb testing.TB) *scope.Service {
	tb.Helper()
	return e.addScopeWith(tb, scope.Config{})
}

func (e *env) addScopeWith(tb testing.TB, cfg scope.Config) *scope.Service {
	tb.Helper()
	s, err := scope.Start(natstest.Connect(tb, e.ns), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Stop(context.Background()) })
	e.scopes = append(e.scopes, s)
	return s
}

func ctxT(tb testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	tb.Cleanup(cancel)
	return ctx
}

// sine puts a sine of amplitude amp (V) and frequency f (Hz) from
// generator g ("asg0"/"asg1") on output out.
func (e *env) sine(tb testing.TB, g string, f, amp float64, out string) {
	tb.Helper()
	gen := e.board.ASG0
	if g == "asg1" {
		gen = e.board.ASG1
	}
	_, err := gen.Setup(ctxT(tb, 5*time.Second), api.ASGSetup{
		Waveform: client.Ptr("sin"), Frequency: client.Ptr(f), Amplitude: client.Ptr(amp),
		Offset: client.Ptr(0.0), OutputDirect: client.Ptr(out), TriggerSource: client.Ptr("immediately"),
	})
	if err != nil {
		tb.Fatal(err)
	}
}

func (e *env) single(tb testing.TB, s api.ScopeSettings) api.ScopeTrace {
	tb.Helper()
	tr, err := e.board.Scope().Single(ctxT(tb, 30*time.Second), s)
	if err != nil {
		tb.Fatalf("single %+v: %v", s, err)
	}
	return tr
}

// stats returns the mean and standard deviation of x.
func stats(x []float32) (mean, std float64) {
	for _, v := range x {
		mean += float64(v)
	}
	mean /= float64(len(x))
	for _, v := range x {
		d := float64(v) - mean
		std += d * d
	}
	return mean, math.Sqrt(std / float64(len(x)-1))
}

// matchTruth compares a trace of a noiseless digital signal (out1, asg0,
// ...) with the board's ground truth: sample i at decimation 1 without
// averaging is the signal at cycle trigger + lag + i. It returns the
// smallest worst-case error over lags -8..8 cycles.
func (e *env) matchTruth(tr api.ScopeTrace, ch []float32, sig int) (worst float64, lag int64) {
	t := int64(math.Round(tr.TriggerTime * regmap.Clock))
	worst = math.Inf(1)
	truth := make([]float64, len(ch)+16)
	for k := range truth {
		truth[k] = e.sim.Noiseless(sig, t-8+int64(k))
	}
	for l := int64(-8); l <= 8; l++ {
		w := 0.0
		for i, v := range ch {
			w = max(w, math.Abs(float64(v)-truth[int64(i)+l+8]))
		}
		if w < worst {
			worst, lag = w, l
		}
	}
	return worst, lag
}

// newClient is a client on a connection of its own.
func (e *env) newClient(tb testing.TB) *client.Client {
	tb.Helper()
	c, err := client.New(natstest.Connect(tb, e.ns))
	if err != nil {
		tb.Fatal(err)
	}
	return c
}
