package na

import (
	"context"
	"math"
	"math/cmplx"
	"testing"
	"time"

	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/board/sim"
	"github.com/rpbus/rpbus/client"
	"github.com/rpbus/rpbus/internal/lanproxy"
	"github.com/rpbus/rpbus/internal/natstest"
	"github.com/rpbus/rpbus/internal/testrig"
	"github.com/rpbus/rpbus/regmap"
	"github.com/rpbus/rpbus/services/hwbridge"
)

// monitorHW is the HW client of a bridge (monitor backend) to a
// simulated board served over PyRPL's protocol on loopback, its link
// through the LAN stand-in at delay (0: none).
func monitorHW(tb testing.TB, cfg sim.Config, delay time.Duration) *client.HW {
	tb.Helper()
	return monitorClient(tb, cfg, delay).Board("sim").HW
}

// monitorClient is monitorHW's client, for board "sim".
func monitorClient(tb testing.TB, cfg sim.Config, delay time.Duration) *client.Client {
	tb.Helper()
	b, err := sim.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { b.Close() })
	addr := testrig.ServeMonitor(tb, b)
	if delay > 0 {
		lan, err := lanproxy.Listen("127.0.0.1:0", lanproxy.Config{Target: addr, Delay: delay})
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { lan.Close() })
		addr = lan.Addr()
	}
	ns := natstest.Server(tb)
	br, err := hwbridge.Start(natstest.Connect(tb, ns), hwbridge.Config{Board: "sim", Backend: "monitor", FPGA: testrig.DialMonitor(tb, addr), Model: cfg})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { br.Stop(context.Background()) })
	c, err := client.New(natstest.Connect(tb, ns))
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// An open-loop sweep whose reads are timed a whole point too early (each
// sent right behind its point's frequency write) reads every point's
// sums while busy, notices, and measures each point again closed loop:
// the result is the device under test's, as a sweep with its reads in
// time measures it.
func TestEarlyReadsAreMeasuredAgain(t *testing.T) {
	cfg := sim.DefaultConfig()
	cfg.Seed = 11
	hw := monitorHW(t, cfg, 0)
	// rbw 1 kHz: a point lasts 1.2 ms, so a read sent right behind the
	// write that starts it always finds it busy.
	p, err := newPlan(api.NASettings{StartFreq: 300e3, StopFreq: 3e6, Points: 21, RBW: 1e3, Amplitude: 0.2}, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	first := time.Duration(float64(p.points[0].cycles()) / regmap.Clock * float64(time.Second))
	noise := cfg.NANoiseStd(p.points[1].avg, p.amp, 1)
	for _, c := range []struct {
		name       string
		margin     time.Duration
		wantRedone func(int) bool
	}{
		{"early", -2 * first, func(n int) bool { return n == len(p.points) }},
		{"in time", 200 * time.Microsecond, func(n int) bool { return n < len(p.points)/2 }},
	} {
		if _, err := hw.Do(ctx, api.Txn{Ops: p.setupOps(iqBase(0))}); err != nil {
			t.Fatal(err)
		}
		pc := &pacer{margin: c.margin}
		// One chunk: every point is read with the margin given.
		vals, _, redone, silent, err := p.run(ctx, hw, 0, time.Second, pc, &progress{})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		// One chunk, the last: a point measured again ran after it, and
		// turned the output back on.
		if silent != (redone == 0) {
			t.Errorf("%s: %d points measured again, and the run says the output is off: %v", c.name, redone, silent)
		}
		r, err := hw.Do(ctx, api.Txn{Ops: []api.Op{api.Read(iqBase(0)+regmap.IQAmplitude, 1), api.Read(iqBase(0)+regmap.DSPOutputDirect, 1)}})
		if err != nil {
			t.Fatal(err)
		}
		if off := r.Results[0].Words[0] == 0 && r.Results[1].Words[0] == regmap.OutputOff; off != silent {
			t.Errorf("%s: amplitude %#x, output %#x after the run, which says the output is off: %v", c.name, r.Results[0].Words[0], r.Results[1].Words[0], silent)
		}
		if !c.wantRedone(redone) {
			t.Errorf("%s: %d of %d points measured again", c.name, redone, len(p.points))
		}
		for i, v := range vals {
			want := cfg.H1(p.points[i].freq) * complex(sim.NAGain, 0)
			if d := cmplx.Abs(v - want); d > 5*math.Sqrt2*noise+0.02*cmplx.Abs(want) {
				t.Errorf("%s: %.6g Hz: %.5g, want %.5g (%.3g apart)", c.name, p.points[i].freq, v, want, d)
			}
		}
	}
}

// The margin grows with early reads and shrinks back to minMargin with
// reads in time, within its bounds.
func TestPacerSettles(t *testing.T) {
	pc := newPacer()
	pc.note(0, 10)
	if got, want := pc.get(), time.Duration(float64(minMargin)*math.Pow(earlyGrowth, 10)); got != want {
		t.Errorf("after 10 early reads: %v, want %v", got, want)
	}
	pc.note(0, 1000)
	if pc.get() != maxMargin {
		t.Errorf("after many early reads: %v, want the cap %v", pc.get(), maxMargin)
	}
	pc.note(100000, 0)
	if pc.get() != minMargin {
		t.Errorf("after many reads in time: %v, want the floor %v", pc.get(), minMargin)
	}
	pc = &pacer{margin: -time.Millisecond}
	pc.note(1, 0)
	if pc.get() != minMargin {
		t.Errorf("a negative margin after a read in time: %v, want %v", pc.get(), minMargin)
	}
}

// A release gives back only what is still its own: a module that another
// instance took over (it found this one gone) keeps its marker and its
// output.
func TestReleaseLeavesATakenModuleAlone(t *testing.T) {
	c := monitorClient(t, sim.DefaultConfig(), 0)
	hw := c.Board("sim").HW
	p := &pool{c: c, tag: 0x123, boards: map[string]*boardPool{}}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cl, err := p.acquire(ctx, "sim", false, nil)
	if err != nil {
		t.Fatal(err)
	}
	base := iqBase(cl.k)
	addr := base + MarkerAddrOffset
	theirs := uint32(MarkerHeld | 0x456)
	if _, err := hw.Txn(ctx, api.Write(addr, theirs), api.Write(base+regmap.IQAmplitude, 1000)); err != nil {
		t.Fatal(err)
	}
	if err := p.release("sim", cl, false); err == nil {
		t.Error("a module another instance holds was released without an error")
	}
	r, err := hw.Txn(ctx, api.Read(addr, 1), api.Read(base+regmap.IQAmplitude, 1))
	if err != nil {
		t.Fatal(err)
	}
	if m, a := r.Results[0].Words[0]&markerMask, r.Results[1].Words[0]; m != theirs || a != 1000 {
		t.Errorf("after the release: marker %#x, amplitude %d; want the other instance's %#x and 1000", m, a, theirs)
	}
}
