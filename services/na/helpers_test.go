package na_test

import (
	"context"
	"math"
	"math/cmplx"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/board/sim"
	"github.com/rpbus/rpbus/client"
	"github.com/rpbus/rpbus/internal/natstest"
	"github.com/rpbus/rpbus/internal/testrig"
	"github.com/rpbus/rpbus/services/hwbridge"
	"github.com/rpbus/rpbus/services/na"
)

// env is an embedded server, the bridge on a simulated board "sim", one
// NA instance, and a Go client, each on its own TCP connection.
type env struct {
	ns    *server.Server
	sim   *sim.Board
	cfg   sim.Config
	c     *client.Client
	board *client.Board
	na    *na.Service
}

// seed keys the simulated board's noise in every test.
const seed = 7

// newEnv is the test rig (internal/testrig) with one NA instance.
func newEnv(tb testing.TB, cfgs ...na.Config) *env {
	tb.Helper()
	cfg := sim.DefaultConfig()
	cfg.Seed = seed
	e := &env{cfg: cfg}
	r := testrig.Start(tb, &cfg, func(nc *nats.Conn) (testrig.Service, error) {
		s, err := na.Start(nc, naConfig(cfgs))
		e.na = s
		return s, err
	})
	e.ns, e.sim = r.Server, r.Sim
	e.connect(tb)
	return e
}

// newEnvOn is newEnv with the bridge on backend "sim" (the simulated
// board itself) or "monitor" (a monitor client of the simulated board
// served over PyRPL's protocol on loopback, as `rpbus simboard` serves it).
func newEnvOn(tb testing.TB, backend string, cfgs ...na.Config) *env {
	tb.Helper()
	if backend == "sim" {
		return newEnv(tb, cfgs...)
	}
	cfg := sim.DefaultConfig()
	cfg.Seed = seed
	b, err := sim.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { b.Close() })
	mc := testrig.DialMonitor(tb, testrig.ServeMonitor(tb, b))
	ns := natstest.Server(tb)
	br, err := hwbridge.Start(natstest.Connect(tb, ns), hwbridge.Config{Board: "sim", Backend: backend, FPGA: mc, Model: cfg})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { br.Stop(context.Background()) })
	e := &env{ns: ns, sim: b, cfg: cfg}
	e.na = e.startNA(tb, cfgs...)
	e.connect(tb)
	return e
}

// connect gives e a client on its own connection.
func (e *env) connect(tb testing.TB) {
	tb.Helper()
	c, err := client.New(natstest.Connect(tb, e.ns))
	if err != nil {
		tb.Fatal(err)
	}
	e.c, e.board = c, c.Board("sim")
}

func naConfig(cfgs []na.Config) na.Config {
	if len(cfgs) > 0 {
		return cfgs[0]
	}
	return na.Config{}
}

// startNA starts one more NA instance on its own connection.
func (e *env) startNA(tb testing.TB, cfgs ...na.Config) *na.Service {
	tb.Helper()
	s, err := na.Start(natstest.Connect(tb, e.ns), naConfig(cfgs))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Stop(context.Background()) })
	return s
}

func h(tr api.NATrace, i int) complex128 { return complex(tr.Re[i], tr.Im[i]) }

// phaseDiff is the wrapped phase difference a - b in degrees.
func phaseDiff(a, b complex128) float64 {
	return cmplx.Phase(a/b) * 180 / math.Pi
}

// fitResonance fits H = g (j f f0/Q) / (f0^2 - f^2 + j f f0/Q) by linear
// least squares on 1/H = 1/g + j (a f - b/f), a = Q/(g f0), b = Q f0/g,
// weighting each point by |H|^2 (the noise of 1/H grows as 1/|H|^2). It
// uses the points with |H| above minMag.
func fitResonance(tr api.NATrace, minMag float64) (f0, q, g float64) {
	var sw, sre, saa, sab, sbb, say, sby float64
	for i, f := range tr.Frequencies {
		v := h(tr, i)
		m := cmplx.Abs(v)
		if m < minMag {
			continue
		}
		w := m * m
		inv := 1 / v
		sw += w
		sre += w * real(inv)
		// Im(1/H) = a f - b/f: regressors x1 = f, x2 = -1/f
		x1, x2, y := f, -1/f, imag(inv)
		saa += w * x1 * x1
		sab += w * x1 * x2
		sbb += w * x2 * x2
		say += w * x1 * y
		sby += w * x2 * y
	}
	det := saa*sbb - sab*sab
	a := (say*sbb - sby*sab) / det
	b := (saa*sby - sab*say) / det
	g = sw / sre
	return math.Sqrt(b / a), g * math.Sqrt(a*b), g
}
