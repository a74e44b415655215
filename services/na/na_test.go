package na_test

import (
	"context"
	"errors"
	"math"
	"math/cmplx"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/board/sim"
	"github.com/rpbus/rpbus/client"
	"github.com/rpbus/rpbus/internal/natstest"
	"github.com/rpbus/rpbus/internal/testrig"
	"github.com/rpbus/rpbus/regmap"
	"github.com/rpbus/rpbus/rperr"
	"github.com/rpbus/rpbus/services/na"
	"github.com/rpbus/rpbus/services/scope"
)

// Tolerances: magnitude and phase of well-measured points.
const (
	magTol   = 0.02 // relative
	phaseTol = 2.0  // degrees
	// snrSigmas: a point counts as "well above the noise" when magTol is
	// at least this many noise standard deviations of |H|.
	snrSigmas = 5
	// fitF0Tol and fitQTol bound the fitted resonance against the
	// configuration (relative); the fit averages hundreds of points.
	fitF0Tol = 0.002
	fitQTol  = 0.02
	// minFreqPerRBW: below a few rbw the 2f product of the demodulator
	// passes the quadrature filters and the averaging (PyRPL's NA has the
	// same limit); points there are not compared.
	minFreqPerRBW = 3
)

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// checkAgainst compares a trace with truth wherever the noise allows and
// returns how many points it checked.
func checkAgainst(t *testing.T, tr api.NATrace, noise float64, truth func(f float64) complex128) int {
	t.Helper()
	checked := 0
	for i, f := range tr.Frequencies {
		want := truth(f) * complex(sim.NAGain, 0)
		if snrSigmas*noise > magTol*cmplx.Abs(want) || f < minFreqPerRBW*tr.Settings.RBW {
			continue
		}
		got := h(tr, i)
		if rel := math.Abs(cmplx.Abs(got)/cmplx.Abs(want) - 1); rel > magTol {
			t.Errorf("%.6g Hz: |H| = %.5g, want %.5g (%.2f%% off)", f, cmplx.Abs(got), cmplx.Abs(want), 100*rel)
		}
		if d := phaseDiff(got, want); math.Abs(d) > phaseTol {
			t.Errorf("%.6g Hz: phase off by %.2f degrees", f, d)
		}
		checked++
	}
	return checked
}

func TestResonanceMatchesTheSimulatedDUT(t *testing.T) {
	e := newEnv(t)
	s := api.NASettings{StartFreq: 200e3, StopFreq: 5e6, Points: 501, RBW: 2e3, Amplitude: 0.2, Input: "in1", OutputDirect: "out1"}
	tr, err := e.board.NA().Single(ctxT(t, 30*time.Second), s)
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Frequencies) != 501 || len(tr.Re) != 501 || tr.IQ == "" || tr.Settings.RBW == 0 {
		t.Fatalf("trace: %d points, iq %q, settings %+v", len(tr.Frequencies), tr.IQ, tr.Settings)
	}
	avg := uint32(math.Round(regmap.Clock / tr.Settings.RBW))
	noise := e.cfg.NANoiseStd(avg, tr.Settings.Amplitude, 1)
	n := checkAgainst(t, tr, noise, e.cfg.H1)
	if n < 400 {
		t.Errorf("only %d of 501 points are above the noise", n)
	}
	f0, q, _ := fitResonance(tr, 0.05)
	if math.Abs(f0/e.cfg.DUT1.F0-1) > fitF0Tol || math.Abs(q/e.cfg.DUT1.Q-1) > fitQTol {
		t.Errorf("fit: f0 %.6g Hz, Q %.4g; configured f0 %g Hz, Q %g", f0, q, e.cfg.DUT1.F0, e.cfg.DUT1.Q)
	}
	t.Logf("fit: f0 %.6g Hz, Q %.4g; %d points checked; sweep %.3f s, hardware %.3f s",
		f0, q, n, tr.Ended-tr.Started, tr.HardwareTime)
}

func TestLowPassOnIn2(t *testing.T) {
	e := newEnv(t)
	s := api.NASettings{StartFreq: 20e3, StopFreq: 10e6, Points: 201, RBW: 5e3, Input: "in2", OutputDirect: "out2"}
	tr, err := e.board.NA().Single(ctxT(t, 30*time.Second), s)
	if err != nil {
		t.Fatal(err)
	}
	noise := e.cfg.NANoiseStd(uint32(math.Round(regmap.Clock/tr.Settings.RBW)), tr.Settings.Amplitude, 1)
	if n := checkAgainst(t, tr, noise, e.cfg.H2); n < 150 {
		t.Errorf("only %d of 201 points are above the noise", n)
	}
}

func TestOutputOffMeasuresOnlyNoise(t *testing.T) {
	e := newEnv(t)
	s := api.NASettings{StartFreq: 500e3, StopFreq: 2e6, Points: 400, RBW: 10e3, Amplitude: 0.5, OutputDirect: "off"}
	tr, err := e.board.NA().Single(ctxT(t, 30*time.Second), s)
	if err != nil {
		t.Fatal(err)
	}
	sigma := e.cfg.NANoiseStd(uint32(math.Round(regmap.Clock/tr.Settings.RBW)), tr.Settings.Amplitude, 1)
	var ss float64
	for i := range tr.Re {
		ss += tr.Re[i]*tr.Re[i] + tr.Im[i]*tr.Im[i]
	}
	rms := math.Sqrt(ss / float64(2*len(tr.Re)))
	// 800 Gaussian values: the rms is within 15% of sigma (over 4 standard
	// errors); the resonance would be 1 / sigma times larger.
	if math.Abs(rms/sigma-1) > 0.15 {
		t.Fatalf("rms of re, im %.3g, want the noise %.3g", rms, sigma)
	}
}

func TestZeroSpanAndTraceAverage(t *testing.T) {
	e := newEnv(t)
	s := api.NASettings{StartFreq: 1e6, StopFreq: 1e6, Points: 50, RBW: 10e3, TraceAverage: 2}
	tr, err := e.board.NA().Single(ctxT(t, 30*time.Second), s)
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Time) != 50 || tr.Time[0] != 0 {
		t.Fatalf("time axis: %v", tr.Time)
	}
	per := (math.Round(regmap.Clock/tr.Settings.RBW*na.SleepTimes) + math.Round(regmap.Clock/tr.Settings.RBW)) / regmap.Clock
	for i := 1; i < len(tr.Time); i++ {
		// each step is at least one point's hardware time
		if d := tr.Time[i] - tr.Time[i-1]; d < per*(1-1e-9) {
			t.Errorf("time step %d: %.6f s, a point takes %.6f s", i, d, per)
		}
	}
	want := e.cfg.H1(tr.Settings.StartFreq) * complex(sim.NAGain, 0)
	for i := range tr.Re {
		if tr.Frequencies[i] != tr.Settings.StartFreq {
			t.Fatalf("frequency %d: %g", i, tr.Frequencies[i])
		}
		if got := h(tr, i); cmplx.Abs(got/want-1) > magTol {
			t.Errorf("point %d: %v, want %v", i, got, want)
		}
	}
}

func TestAutoBandwidthNarrowsLowFrequencies(t *testing.T) {
	e := newEnv(t)
	s := api.NASettings{StartFreq: 10e3, StopFreq: 3e6, Points: 101, RBW: 20e3, AutoBandwidth: true, QFactorMin: 5}
	tr, err := e.board.NA().Single(ctxT(t, 30*time.Second), s)
	if err != nil {
		t.Fatal(err)
	}
	// 10 kHz / 5: the first points use about 2 kHz, so the sweep takes
	// longer than at a fixed 20 kHz.
	fixed := 103 * 1.5 / tr.Settings.RBW
	if tr.HardwareTime < 1.5*fixed {
		t.Errorf("hardware time %g s: auto_bandwidth did not narrow the rbw (fixed rbw: %g s)", tr.HardwareTime, fixed)
	}
	noise := e.cfg.NANoiseStd(uint32(math.Round(regmap.Clock/tr.Settings.RBW)), tr.Settings.Amplitude, 1)
	if n := checkAgainst(t, tr, noise, e.cfg.H1); n < 35 {
		t.Errorf("only %d points checked", n)
	}
}

func TestBadSettingsAnswer400NamingTheField(t *testing.T) {
	e := newEnv(t)
	no := false
	cases := []struct {
		s     api.NASettings
		field string
	}{
		{api.NASettings{StartFreq: -1}, "start_freq"},
		{api.NASettings{StopFreq: -5, Logscale: &no}, "stop_freq"},
		{api.NASettings{StopFreq: 70e6}, "stop_freq"},
		{api.NASettings{Points: 100001}, "points"},
		{api.NASettings{Points: -1}, "points"},
		{api.NASettings{RBW: 0.5}, "rbw"},
		{api.NASettings{RBW: 20e6}, "rbw"},
		{api.NASettings{Amplitude: 1.5}, "amplitude"},
		{api.NASettings{Amplitude: -0.1}, "amplitude"},
		{api.NASettings{Input: "adc9"}, "input"},
		{api.NASettings{OutputDirect: "out3"}, "output_direct"},
		{api.NASettings{ACBandwidth: -3}, "acbandwidth"},
		{api.NASettings{ACBandwidth: 1e9}, "acbandwidth"},
		{api.NASettings{AveragePerPoint: -2}, "average_per_point"},
		{api.NASettings{RBW: 1.2, AveragePerPoint: 100}, "average_per_point"},
		{api.NASettings{TraceAverage: -1}, "trace_average"},
		{api.NASettings{QFactorMin: -1}, "q_factor_min"},
		{api.NASettings{QFactorMin: 1e308}, "q_factor_min"},
		{api.NASettings{Timeout: -1}, "timeout"},
		{api.NASettings{StartFreq: math.NaN()}, "start_freq"},
		{api.NASettings{Points: 50000}, "points"}, // larger than the 1 MiB max payload
	}
	ctx := ctxT(t, 30*time.Second)
	for _, c := range cases {
		err := e.c.Request(ctx, "rp.sim.na.single", c.s, nil)
		if rperr.ErrorCode(err) != rperr.EInvalid || !strings.HasPrefix(rperr.ErrorMessage(err), c.field+":") {
			t.Errorf("%+v: %v, want 400 naming %s", c.s, err, c.field)
		}
	}
	// Unknown fields, in JSON as from a shell.
	m, err := e.c.Conn().RequestWithContext(ctx, "rp.sim.na.single", []byte(`{"start_frequency":1}`))
	if err != nil || m.Header.Get("Nats-Service-Error-Code") != "400" {
		t.Fatalf("misspelt field: %v %v", err, m)
	}
}

// markersFree checks that every IQ module is silent once its sweep has
// answered, and unclaimed soon after (a sweep that ended well gives its
// module back after its reply).
func markersFree(t *testing.T, e *env) {
	t.Helper()
	ctx := ctxT(t, 10*time.Second)
	for k := 0; k < na.NumIQ; k++ {
		base := regmap.Slot(regmap.SlotIQ0 + k)
		amp, err := e.board.HW.Read(ctx, base+regmap.IQAmplitude, 1)
		if err != nil {
			t.Fatal(err)
		}
		if amp[0] != 0 {
			t.Errorf("iq%d after the sweeps: amplitude register %#x", k, amp[0])
		}
		for {
			marker, err := e.board.HW.Read(ctx, base+na.MarkerAddrOffset, 1)
			if err != nil {
				t.Fatalf("iq%d: its marker still set (%v)", k, err)
			}
			if marker[0]&na.MarkerHeld == 0 {
				break
			}
			time.Sleep(time.Millisecond)
		}
	}
}

// holdAll starts three long sweeps and waits until each reports progress.
func holdAll(t *testing.T, e *env, ctx context.Context, s api.NASettings) (ids []string, errs chan error) {
	t.Helper()
	prog, err := e.board.NA().Progress(ctx)
	if err != nil {
		t.Fatal(err)
	}
	errs = make(chan error, na.NumIQ)
	for k := 0; k < na.NumIQ; k++ {
		s := s
		s.ID = "hold-" + string(rune('a'+k))
		ids = append(ids, s.ID)
		go func() {
			_, err := e.board.NA().Single(ctx, s)
			errs <- err
		}()
	}
	seen := map[string]bool{}
	for len(seen) < na.NumIQ {
		select {
		case p := <-prog:
			seen[p.ID] = true
		case <-ctx.Done():
			t.Fatalf("progress from %v only", seen)
		}
	}
	return ids, errs
}

func TestModulesAreReleasedAfterCancelTimeoutAndErrors(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t, 60*time.Second)
	long := api.NASettings{StartFreq: 1e5, StopFreq: 1e6, Points: 2000, RBW: 1e3} // 3 s
	ids, errs := holdAll(t, e, ctx, long)

	// All three held: no_wait answers 409.
	quick := api.NASettings{StartFreq: 1e6, StopFreq: 2e6, Points: 11, RBW: 10e3}
	nw := quick
	nw.NoWait = true
	if _, err := e.board.NA().Single(ctx, nw); rperr.ErrorCode(err) != rperr.EBusy {
		t.Fatalf("no_wait with every module held: %v, want 409", err)
	}
	// A waiting request gets the first module freed.
	waited := make(chan error, 1)
	go func() {
		_, err := e.board.NA().Single(ctx, quick)
		waited <- err
	}()
	// cancel one by id, stop ends the others
	if _, err := e.board.NA().Cancel(ctx, ids[0]); err != nil {
		t.Fatal(err)
	}
	if err := <-errs; rperr.ErrorCode(err) != rperr.ECancelled {
		t.Fatalf("cancelled sweep: %v", err)
	}
	if err := <-waited; err != nil {
		t.Fatalf("the sweep waiting in line: %v", err)
	}
	if _, err := e.board.NA().Stop(ctx); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if err := <-errs; rperr.ErrorCode(err) != rperr.ECancelled {
			t.Fatalf("stopped sweep: %v", err)
		}
	}
	markersFree(t, e)

	// A timeout: the sweep needs 3 s, it may take 0.2.
	to := long
	to.Timeout = 0.2
	if _, err := e.board.NA().Single(ctx, to); rperr.ErrorCode(err) != rperr.ETimeout {
		t.Fatalf("timeout: %v", err)
	}
	// The client's context ending cancels on the service.
	cctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	_, err := e.board.NA().Single(cctx, long)
	cancel()
	if code := rperr.ErrorCode(err); code != rperr.ETimeout {
		t.Fatalf("client deadline: %v", err)
	}
	markersFree(t, e)
	// and three no_wait sweeps still find a module each
	var wg sync.WaitGroup
	got := make(chan string, 3)
	for k := 0; k < 3; k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tr, err := e.board.NA().Single(ctx, nw)
			if err != nil {
				t.Error(err)
			}
			got <- tr.IQ
		}()
	}
	wg.Wait()
	close(got)
	for iq := range got {
		if iq == "" {
			t.Error("a sweep got no module")
		}
	}
	markersFree(t, e)
}

func TestInstancesNeverShareAModule(t *testing.T) {
	e := newEnv(t)
	e.startNA(t) // a second instance in the same queue group
	ctx := ctxT(t, 60*time.Second)
	done, err := e.board.NA().Done(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s := api.NASettings{StartFreq: 1e5, StopFreq: 1e6, Points: 300, RBW: 5e3}
	var wg sync.WaitGroup
	for k := 0; k < 6; k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := e.board.NA().Single(ctx, s); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	// No two sweeps overlapped on one module.
	type span struct{ a, b float64 }
	byIQ := map[string][]span{}
	for i := 0; i < 6; i++ {
		d := <-done
		if d.Err != nil {
			t.Fatal(d.Err)
		}
		for _, o := range byIQ[d.Value.IQ] {
			if d.Value.Started < o.b && o.a < d.Value.Ended {
				t.Errorf("%s: two sweeps overlap: %v and %v", d.Value.IQ, o, span{d.Value.Started, d.Value.Ended})
			}
		}
		byIQ[d.Value.IQ] = append(byIQ[d.Value.IQ], span{d.Value.Started, d.Value.Ended})
	}
	markersFree(t, e)

	// A marker left by an instance that is gone is taken over.
	for k := 0; k < na.NumIQ; k++ {
		if err := e.board.HW.Write(ctx, regmap.Slot(regmap.SlotIQ0+k)+na.MarkerAddrOffset, na.MarkerHeld|0x1234); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.board.NA().Single(ctx, api.NASettings{Points: 5, NoWait: true}); err != nil {
		t.Fatalf("stale markers: %v", err)
	}
}

func TestProgressAndDoneEvents(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t, 30*time.Second)
	prog, err := e.board.NA().Progress(ctx)
	if err != nil {
		t.Fatal(err)
	}
	done, err := e.board.NA().Done(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s := api.NASettings{ID: "watched", StartFreq: 1e5, StopFreq: 2e6, Points: 300, RBW: 1e3}
	tr, err := e.board.NA().Single(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	d := <-done
	if d.Err != nil || d.Value.ID != "watched" || len(d.Value.Re) != 300 || d.Value.Re[7] != tr.Re[7] {
		t.Fatalf("done: %v %+v", d.Err, d.Value.Settings)
	}
	var events []api.Progress
	natstest.WaitFor(t, 5*time.Second, "progress events", func() bool {
		for {
			select {
			case p := <-prog:
				events = append(events, p)
			default:
				return len(events) >= 3
			}
		}
	})
	last := 0
	for _, p := range events {
		if p.ID != "watched" || p.Total != 300 || p.Done < last || p.Done > 300 {
			t.Fatalf("progress %+v after %d", p, last)
		}
		last = p.Done
		if p.Done > 0 && (p.Frequency < 1e5 || p.Frequency > 2e6) {
			t.Fatalf("progress point %+v", p)
		}
	}
	// A failed sweep's done event carries the error.
	s.ID, s.Timeout = "late", 0.05
	if _, err := e.board.NA().Single(ctx, s); rperr.ErrorCode(err) != rperr.ETimeout {
		t.Fatalf("timeout: %v", err)
	}
	d = <-done
	if rperr.ErrorCode(d.Err) != rperr.ETimeout || d.Value.ID != "late" {
		t.Fatalf("failed done: %v %q", d.Err, d.Value.ID)
	}
}

func TestUnknownBoardIs404(t *testing.T) {
	e := newEnv(t)
	_, err := e.c.Board("nowhere").NA().Single(ctxT(t, 10*time.Second), api.NASettings{Points: 3})
	if rperr.ErrorCode(err) != rperr.ENotFound {
		t.Fatalf("unknown board: %v", err)
	}
}

func TestStartValidatesItsConfig(t *testing.T) {
	e := newEnv(t)
	nc := natstest.Connect(t, e.ns)
	for _, cfg := range []na.Config{{ChunkTime: time.Microsecond}, {ProgressInterval: time.Second}} {
		if _, err := na.Start(nc, cfg); !errors.Is(err, na.ErrConfigValidation) {
			t.Errorf("%+v: %v", cfg, err)
		}
	}
	if _, err := na.Start(nil, na.Config{}); !errors.Is(err, na.ErrConfigValidation) {
		t.Errorf("nil connection: %v", err)
	}
}

// scopeTone fits a cos + b sin + c at frequency f to a trace and returns
// the tone's amplitude.
func scopeTone(tr api.ScopeTrace, f float64) float64 {
	var mean float64
	for _, y := range tr.Ch1 {
		mean += float64(y) / float64(len(tr.Ch1))
	}
	var sc, ss, scs, syc, sys float64
	for i, y := range tr.Ch1 {
		ph := 2 * math.Pi * f * (tr.T0 + float64(i)*tr.Dt)
		c, s := math.Cos(ph), math.Sin(ph)
		sc += c * c
		ss += s * s
		scs += c * s
		syc += (float64(y) - mean) * c
		sys += (float64(y) - mean) * s
	}
	det := sc*ss - scs*scs
	a := (syc*ss - sys*scs) / det
	b := (sys*sc - syc*scs) / det
	return math.Hypot(a, b)
}

func TestSweepAndScopeAtTheSameTime(t *testing.T) {
	e := newEnv(t)
	sc, err := scope.Start(natstest.Connect(t, e.ns), scope.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sc.Stop(context.Background()) })
	ctx := ctxT(t, 60*time.Second)
	// asg1 -> out2 -> low-pass -> in2, watched by the scope; the NA drives
	// out1 -> resonance -> in1.
	g, err := e.board.ASG1.Setup(ctx, api.ASGSetup{Waveform: client.Ptr("sin"), Frequency: client.Ptr(50e3),
		Amplitude: client.Ptr(0.4), OutputDirect: client.Ptr("out2"), TriggerSource: client.Ptr("immediately")})
	if err != nil {
		t.Fatal(err)
	}
	naDone := make(chan error, 1)
	var tr api.NATrace
	go func() {
		var err error
		tr, err = e.board.NA().Single(ctx, api.NASettings{StartFreq: 500e3, StopFreq: 2e6, Points: 301, RBW: 2e3})
		naDone <- err
	}()
	wantScope := cmplx.Abs(e.cfg.H2(g.Frequency)) * g.Amplitude
	scopes := 0
	for running := true; running; {
		select {
		case err := <-naDone:
			if err != nil {
				t.Fatal(err)
			}
			running = false
		default:
		}
		st, err := e.board.Scope().Single(ctx, api.ScopeSettings{Input1: "in2", Decimation: 8})
		if err != nil {
			t.Fatal(err)
		}
		if got := scopeTone(st, g.Frequency); math.Abs(got/wantScope-1) > magTol {
			t.Errorf("scope during the sweep: tone %.5g V, want %.5g V", got, wantScope)
		}
		scopes++
		if scopes > 1000 {
			t.Fatal("the sweep does not end")
		}
	}
	if scopes < 3 {
		t.Errorf("only %d scope traces during the sweep", scopes)
	} else {
		t.Logf("%d scope traces during the sweep", scopes)
	}
	noise := e.cfg.NANoiseStd(uint32(math.Round(regmap.Clock/tr.Settings.RBW)), tr.Settings.Amplitude, 1)
	if n := checkAgainst(t, tr, noise, e.cfg.H1); n < 250 {
		t.Errorf("only %d of 301 points checked", n)
	}
}

// TestDoneEventsForEveryEnd: a sweep that is cancelled, times out, is
// stopped or finds the board gone publishes its done event too, with the
// error's code, its id and the settings as applied.
func TestDoneEventsForEveryEnd(t *testing.T) {
	e := newEnv(t)
	n := e.board.NA()
	ctx := ctxT(t, 60*time.Second)
	done, err := n.Done(ctx)
	if err != nil {
		t.Fatal(err)
	}
	expect := func(id, code string) {
		t.Helper()
		testrig.ExpectDone(t, done, id, code, func(v api.NATrace) bool { return v.Board == "sim" && v.Settings.Points != 0 })
	}

	long := api.NASettings{StartFreq: 1e5, StopFreq: 1e6, Points: 2000, RBW: 1e3} // 3 s
	progress, err := n.Progress(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// start runs a sweep and returns once it measures: a cancel that lands
	// while a sweep claims its module leaves the marker set until this
	// instance's next claim takes it over (pool.claimModule).
	start := func(id string) <-chan error {
		errc := make(chan error, 1)
		s := long
		s.ID = id
		go func() { _, err := n.Single(ctx, s); errc <- err }()
		for p := range progress {
			if p.ID == id && p.Done > 0 {
				break
			}
		}
		return errc
	}

	errc := start("cancelled")
	natstest.WaitFor(t, 5*time.Second, "the sweep to be cancelled", func() bool {
		_, _ = n.Cancel(ctxT(t, time.Second), "cancelled")
		return len(errc) > 0
	})
	expect("cancelled", rperr.ECancelled)

	s := long
	s.ID, s.Timeout = "timed-out", 0.2
	if _, err := n.Single(ctx, s); rperr.ErrorCode(err) != rperr.ETimeout {
		t.Fatalf("timeout: %v", err)
	}
	expect("timed-out", rperr.ETimeout)

	errc = start("stopped")
	natstest.WaitFor(t, 5*time.Second, "stop to cancel the sweep", func() bool {
		r, _ := n.Stop(ctxT(t, 2*time.Second))
		return r.Cancelled > 0 || len(errc) > 0
	})
	if err := <-errc; rperr.ErrorCode(err) != rperr.ECancelled {
		t.Fatalf("stopped: %v", err)
	}
	expect("stopped", rperr.ECancelled)

	markersFree(t, e)
	e.sim.Close() // the board goes away: the bridge answers 503
	if _, err := n.Single(ctx, api.NASettings{ID: "no-board", Points: 11}); rperr.ErrorCode(err) != rperr.EUnavailable {
		t.Fatalf("closed board: %v, want 503", err)
	}
	expect("no-board", rperr.EUnavailable)
}

// TestPyRPLNames: avg_per_point, PyRPL's older name, is average_per_point;
// errors name the field the user gave.
func TestPyRPLNames(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t, 30*time.Second)
	tr, err := e.board.NA().Single(ctx, api.NASettings{StartFreq: 1e6, StopFreq: 2e6, Points: 5, RBW: 1e4, AvgPerPoint: 2})
	if err != nil || tr.Settings.AveragePerPoint != 2 || tr.Settings.AvgPerPoint != 0 {
		t.Fatalf("avg_per_point 2: %+v %v", tr.Settings, err)
	}
	for _, tc := range []struct {
		s    api.NASettings
		want string
	}{
		{api.NASettings{AvgPerPoint: -1}, "avg_per_point: -1"},
		{api.NASettings{AveragePerPoint: -1}, "average_per_point: -1"},
		{api.NASettings{AvgPerPoint: 2, AveragePerPoint: 3}, "avg_per_point, average_per_point"},
	} {
		_, err := e.board.NA().Single(ctx, tc.s)
		if rperr.ErrorCode(err) != rperr.EInvalid || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want a 400 naming %q", tc.s, err, tc.want)
		}
	}
}

// The NA through a bridge on the monitor backend (pipelined transactions,
// polled waits with the point's time as their hint) measures the same
// transfer function as through a bridge on the simulated board itself:
// each point within the noise of the two measurements.
func TestMonitorBackendMeasuresAsTheSimDoes(t *testing.T) {
	s := api.NASettings{StartFreq: 200e3, StopFreq: 5e6, Points: 201, RBW: 2e3, Amplitude: 0.2, Input: "in1", OutputDirect: "out1"}
	ctx := ctxT(t, 60*time.Second)
	on := map[string]api.NATrace{}
	var cfg sim.Config
	for _, backend := range []string{"sim", "monitor"} {
		e := newEnvOn(t, backend)
		tr, err := e.board.NA().Single(ctx, s)
		if err != nil {
			t.Fatalf("%s: %v", backend, err)
		}
		on[backend], cfg = tr, e.cfg
	}
	a, b := on["sim"], on["monitor"]
	noise := cfg.NANoiseStd(uint32(math.Round(regmap.Clock/a.Settings.RBW)), a.Settings.Amplitude, 1)
	if n := checkAgainst(t, b, noise, cfg.H1); n < 150 {
		t.Errorf("monitor: only %d of 201 points are above the noise", n)
	}
	// I and Q each have std noise in both traces: their difference has
	// std sqrt(2) noise per component.
	bound := snrSigmas * math.Sqrt2 * math.Sqrt2 * noise
	for i, f := range a.Frequencies {
		if b.Frequencies[i] != f {
			t.Fatalf("point %d: %g Hz on the monitor backend, %g Hz on the sim", i, b.Frequencies[i], f)
		}
		if f < minFreqPerRBW*a.Settings.RBW {
			continue
		}
		if d := cmplx.Abs(h(a, i) - h(b, i)); d > bound {
			t.Errorf("%.6g Hz: sim %.5g, monitor %.5g: %.3g apart, noise bound %.3g", f, h(a, i), h(b, i), d, bound)
		}
	}
}

// dutTol bounds the model against values computed by hand: rounding only.
const dutTol = 1e-12

// The physics tests compare sweeps with the simulated device under test,
// so the model itself is pinned here to values computed by hand for the
// default configuration: out1 -> in1 a resonance H1 = j f f0/Q / (f0^2 -
// f^2 + j f f0/Q) with f0 = 1 MHz, Q = 10, gain 1; out2 -> in2 a low-pass
// H2 = 1 / (1 + j f/fc) with fc = 100 kHz.
func TestDUTModelAtHandComputedValues(t *testing.T) {
	cfg := sim.DefaultConfig()
	if cfg.DUT1 != (sim.Resonance{F0: 1e6, Q: 10, Gain: 1}) || cfg.DUT2 != (sim.LowPass{Fc: 100e3, Gain: 1}) {
		t.Fatalf("default DUTs %+v, %+v: the values below are for f0 1 MHz, Q 10, fc 100 kHz", cfg.DUT1, cfg.DUT2)
	}
	for _, c := range []struct {
		name string
		h    func(float64) complex128
		f    float64
		want complex128
	}{
		{"H1", cfg.H1, 1e6, 1},                              // at f0: j1e11 / j1e11
		{"H1", cfg.H1, 1e5, complex(1.0/9802, 99.0/9802)},   // j / (99 + j)
		{"H1", cfg.H1, 2e6, complex(4.0/904, -60.0/904)},    // 2j / (-30 + 2j)
		{"H1", cfg.H1, 10e6, complex(1.0/9802, -99.0/9802)}, // j / (-99 + j)
		{"H2", cfg.H2, 0, 1},
		{"H2", cfg.H2, 1e5, complex(0.5, -0.5)},          // 1 / (1 + j)
		{"H2", cfg.H2, 1e6, complex(1.0/101, -10.0/101)}, // 1 / (1 + 10j)
	} {
		if got := c.h(c.f); cmplx.Abs(got-c.want) > dutTol {
			t.Errorf("%s(%g Hz) = %v, want %v", c.name, c.f, got, c.want)
		}
	}
}

// Sweeps one after another keep to one module: a sweep that ended well
// gives its module back after its reply, and the next one waits for it
// rather than setting up (and marking) another module, which a tool
// outside the marker protocol may be using.
func TestSweepsOneAfterAnotherKeepTheirModule(t *testing.T) {
	s := api.NASettings{StartFreq: 500e3, StopFreq: 2e6, Points: 5, RBW: 10e3, Amplitude: 0.1}
	for _, backend := range []string{"sim", "monitor"} {
		e := newEnvOn(t, backend)
		ctx := ctxT(t, 60*time.Second)
		for i := range 20 {
			tr, err := e.board.NA().Single(ctx, s)
			if err != nil {
				t.Fatalf("%s, sweep %d: %v", backend, i, err)
			}
			if tr.IQ != "iq0" {
				t.Fatalf("%s, sweep %d ran on %s; want iq0 every time", backend, i, tr.IQ)
			}
		}
		markersFree(t, e)
	}
}
