package specan_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/board/sim"
	"github.com/rpbus/rpbus/client"
	"github.com/rpbus/rpbus/dsp/spectrum"
	"github.com/rpbus/rpbus/internal/natstest"
	"github.com/rpbus/rpbus/internal/testrig"
	"github.com/rpbus/rpbus/regmap"
	"github.com/rpbus/rpbus/rperr"
	"github.com/rpbus/rpbus/services/specan"
	"github.com/rpbus/rpbus/wire"
)

// Tolerances, named so that a failure says which promise broke.
const (
	// tolToneDB: a flattop peak against |H1(f)| A. The flattop's
	// scalloping loss is below 0.01 dB; the noise under the peak is
	// 60 dB down; the sinc correction differs from the scope's exact
	// boxcar by 1e-4 dB at these frequencies.
	tolToneDB = 0.1
	// tolFloorModelDB: the averaged floor against the density derived
	// from the physics (sim.Config.ScopeNoiseDensity). The mean of 20
	// traces' bins has a statistical error of about 0.01 dB (less at
	// decimation 1024, whose samples are two values); a window's ENBW
	// taken for another's (Hann for Hamming: 0.42 dB) fails.
	tolFloorModelDB = 0.1
	// tolFloorDensityDB: below fs/8 at decimations 1 and 8, the floor
	// against the configured density alone: the 14-bit conversion and the
	// boxcar's truncation add 0.01 and 0.08 dB there, the decimation
	// filter's correction 0.02 dB on average, and the mean of these
	// fewer bins has a statistical error of about 0.04 dB.
	tolFloorDensityDB = 0.3
	// tolParseval: relative, the integrated density against the signal's
	// mean square. The ASG table's 14-bit steps (1e-4) and the noise
	// (2e-6 of the sine's power) are what is left.
	tolParseval = 2e-3
	// tolSelfCross: relative to the mean auto spectrum, a channel's cross
	// spectrum with itself against its auto spectrum (one complex FFT of
	// x1 + i x2 separates them to rounding only).
	tolSelfCross = 1e-9
)

// The test tone: off the resonance, so |H1| matters (about 0.26).
const (
	toneFreq = 1.2e6 // Hz
	toneAmp  = 0.4   // V
)

func TestBadInput(t *testing.T) {
	e := newEnv(t, specan.Config{})
	cases := []struct {
		s     api.SpecanSettings
		field string
	}{
		{api.SpecanSettings{Span: 1e6, Decimation: 8}, "span, decimation"},
		{api.SpecanSettings{Span: -1}, "span"},
		{api.SpecanSettings{Span: 200e6}, "span"},
		{api.SpecanSettings{Span: math.Inf(1)}, "span"},
		{api.SpecanSettings{Decimation: 3}, "decimation"},
		{api.SpecanSettings{Decimation: -8}, "decimation"},
		{api.SpecanSettings{Decimation: 1 << 17}, "decimation"},
		{api.SpecanSettings{Input1: "in3"}, "input1"},
		{api.SpecanSettings{Input2: "adc"}, "input2"},
		{api.SpecanSettings{Window: "hann"}, "window"},
		{api.SpecanSettings{Unit: "dBm"}, "unit"},
		{api.SpecanSettings{TraceAverage: -1}, "trace_average"},
		{api.SpecanSettings{TraceAverage: specan.MaxTraceAverage + 1}, "trace_average"},
		{api.SpecanSettings{Timeout: -1}, "timeout"},
		{api.SpecanSettings{Timeout: 1e9}, "timeout"},
		{api.SpecanSettings{ID: strings.Repeat("x", 200)}, "id"},
	}
	for _, c := range cases {
		_, err := e.board.Specan().Single(ctxT(t, 5*time.Second), c.s)
		wantCode(t, err, rperr.EInvalid, c.field)
	}
	// Unknown fields and wrong types, over plain JSON as a shell would send.
	for raw, field := range map[string]string{
		`{"spam":1}`:            "spam",
		`{"decimation":"8"}`:    "decimation",
		`{"trace_average":1.5}`: "trace_average",
	} {
		msg, err := e.c.Conn().Request("rp.sim.specan.single", []byte(raw), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		wantCode(t, wire.ErrorFromMsg(msg), rperr.EInvalid, field)
	}
}

func TestAppliedSettings(t *testing.T) {
	e := newEnv(t, specan.Config{})
	sp := e.spectrum(t, api.SpecanSettings{Span: 1e6, TraceAverage: 2, Unit: "db(vrms^2/hz)", Window: "Hamming"})
	s := sp.Settings
	// 1 MHz rounds up to 125 MHz / 64 = 1.953125 MHz.
	if s.Decimation != 64 || s.Span != 1.953125e6 || s.Window != "hamming" || s.Unit != "dB(Vrms^2/Hz)" ||
		s.Input1 != "in1" || s.Input2 != "in2" || s.TraceAverage != 2 || s.ID != sp.ID || sp.ID == "" {
		t.Errorf("applied settings %+v", s)
	}
	// 5 s + 2 x 2 traces x (16384 x 64 / 125 MHz acquisition + 2 x 16384
	// words x 200 ns readout), worked out by hand.
	const wantTimeout = 5 + 2*2*(0.008388608+0.0065536)
	if math.Abs(s.Timeout-wantTimeout) > 1e-9 {
		t.Errorf("timeout %v, want %v", s.Timeout, wantTimeout)
	}
	n := len(sp.Frequencies)
	if n != 8193 || len(sp.Ch1) != n || len(sp.Ch2) != n || sp.CrossRe != nil || sp.CrossUnit != "" {
		t.Fatalf("%d frequencies, %d and %d values, cross %d", n, len(sp.Ch1), len(sp.Ch2), len(sp.CrossRe))
	}
	if sp.Frequencies[0] != 0 || sp.Frequencies[n-1] != s.Span/2 {
		t.Errorf("frequencies %g .. %g, want 0 .. span/2", sp.Frequencies[0], sp.Frequencies[n-1])
	}
	p, err := spectrum.NewPlan(spectrum.Settings{Length: 16384, Window: spectrum.Hamming, Decimation: 64})
	if err != nil {
		t.Fatal(err)
	}
	if sp.ENBW != p.ENBW() || sp.RBW != p.ENBW()*s.Span {
		t.Errorf("enbw %g rbw %g, want %g and %g", sp.ENBW, sp.RBW, p.ENBW(), p.ENBW()*s.Span)
	}
	if !(sp.Requested <= sp.Started && sp.Started < sp.Ended) || sp.Ended-sp.Started < 2*regmap.Duration(64) {
		t.Errorf("timing %+v", sp.Timing)
	}
	// A span read back from a reply asks for the same decimation.
	if d, _ := specan.DecimationForSpan(s.Span); d != 64 {
		t.Errorf("span %g maps to decimation %d", s.Span, d)
	}
	if d, _ := specan.DecimationForSpan(1); d != 65536 {
		t.Errorf("span 1 Hz maps to decimation %d, want the largest", d)
	}
}

// TestSineAmplitude: a sine from asg0 on out1 reaches in1 through the
// simulated resonance; its flattop peak reads (|H1(f)| A)^2 Vpk^2 at f.
func TestSineAmplitude(t *testing.T) {
	e := newEnv(t, specan.Config{})
	f, a := e.sine(t, toneFreq, toneAmp)
	sp := e.spectrum(t, api.SpecanSettings{Decimation: 8, TraceAverage: 4})
	v, k := peak(sp.Ch1)
	bin := sp.Frequencies[1]
	if math.Abs(sp.Frequencies[k]-f) > bin {
		t.Errorf("peak at %g Hz, tone at %g Hz (bin %g Hz)", sp.Frequencies[k], f, bin)
	}
	want := a * cabs(e.cfg.H1(f))
	got := math.Sqrt(v)
	t.Logf("peak %.6f Vpk, |H1(f)| A = %.6f Vpk: %+.4f dB", got, want, 2*dB(got/want))
	if d := 2 * dB(got/want); math.Abs(d) > tolToneDB {
		t.Errorf("peak %g Vpk, want %g: %+.3f dB", got, want, d)
	}
}

// TestNoiseFloor: without a signal the averaged floor in Vrms^2/Hz is
// the density derived from the physics, sim.Config.ScopeNoiseDensity (the
// input noise, the 14-bit conversion, the boxcar's sum and its truncation,
// white), times the service's decimation-filter correction 1/sinc^2, which
// makes it rise towards fs/2 (3.9 dB at fs/2 for large decimations).
// Where the conversion and the truncation add little (decimations 1 and 8,
// below fs/8) it is the configured density itself. The package-level
// TestScopeNoiseFloor in board/sim checks every decimation up to 65536;
// this one the service's way, through the scope, at the fast ones.
func TestNoiseFloor(t *testing.T) {
	e := newEnv(t, specan.Config{})
	nd2 := e.cfg.NoiseDensity * e.cfg.NoiseDensity
	for _, c := range []struct {
		dec, traces int
		window      spectrum.Window
	}{{1, 20, spectrum.Hamming}, {8, 20, spectrum.Hamming}, {64, 20, spectrum.Blackman}, {1024, 4, spectrum.FlatTop}} {
		sp := e.spectrum(t, api.SpecanSettings{Decimation: c.dec, TraceAverage: c.traces, Window: string(c.window), Unit: "Vrms^2/Hz"})
		p, err := spectrum.NewPlan(spectrum.Settings{Length: 16384, Window: c.window, Decimation: c.dec})
		if err != nil {
			t.Fatal(err)
		}
		corr := p.Correction(nil)
		floor := e.cfg.ScopeNoiseDensity(uint32(c.dec), true, 0)
		for ch, x := range [][]float64{sp.Ch1, sp.Ch2} {
			// Skip the lowest bins: the mean of the samples (half a step
			// below 0) sits at DC.
			var all, low float64
			var nAll, nLow int
			for k := 16; k < len(x); k++ {
				all += x[k] / (floor * corr[k])
				nAll++
				if sp.Frequencies[k] < sp.Settings.Span/8 {
					low += x[k]
					nLow++
				}
			}
			dAll := dB(all / float64(nAll))
			dLow := dB(low / float64(nLow) / nd2)
			t.Logf("decimation %d ch%d: floor against the derived %.4g V^2/Hz %+.3f dB; below fs/8 against NoiseDensity^2 %+.3f dB", c.dec, ch+1, floor, dAll, dLow)
			if math.Abs(dAll) > tolFloorModelDB {
				t.Errorf("decimation %d ch%d: floor %+.3f dB from the derived density", c.dec, ch+1, dAll)
			}
			if c.dec <= 8 && math.Abs(dLow) > tolFloorDensityDB {
				t.Errorf("decimation %d ch%d: floor %+.3f dB from NoiseDensity^2 below fs/8", c.dec, ch+1, dLow)
			}
		}
	}
}

// boxcar is the scope's exact averaging response at decimation dec.
func boxcar(f float64, dec int) float64 {
	x := math.Pi * f / regmap.Clock
	if dec == 1 || x == 0 {
		return 1
	}
	return math.Abs(math.Sin(float64(dec)*x) / (float64(dec) * math.Sin(x)))
}

// TestParseval: for every window the density, with the decimation
// correction undone, integrates to the trace's mean square: the tone's
// A^2 |H1|^2 |boxcar|^2 / 2 plus the noise (and the floor's DC offset).
func TestParseval(t *testing.T) {
	e := newEnv(t, specan.Config{})
	f, a := e.sine(t, toneFreq, toneAmp)
	const dec = 8
	h := a * cabs(e.cfg.H1(f)) * boxcar(f, dec)
	sd := e.cfg.SampleNoiseStd(dec, true)
	want := h*h/2 + sd*sd + sim.LSB*sim.LSB/12 + sim.LSB*sim.LSB/4
	for _, w := range spectrum.Windows() {
		sp := e.spectrum(t, api.SpecanSettings{Decimation: dec, Window: string(w), Unit: "Vrms^2/Hz"})
		p, err := spectrum.NewPlan(spectrum.Settings{Length: 16384, Window: w, Decimation: dec})
		if err != nil {
			t.Fatal(err)
		}
		corr := p.Correction(nil)
		var sum float64
		last := len(sp.Ch1) - 1
		for k, v := range sp.Ch1 {
			c := 1.0
			if k == 0 || k == last {
				c = 0.5
			}
			sum += c * v / corr[k]
		}
		sum *= sp.Frequencies[1]
		t.Logf("%s: integral %.6e V^2, mean square %.6e V^2 (%+.2e)", w, sum, want, sum/want-1)
		if math.Abs(sum/want-1) > tolParseval {
			t.Errorf("%s: integral %g V^2, want %g", w, sum, want)
		}
	}
}

// TestCrossOfItself: with both channels on in1 the cross spectrum is real
// and equals the auto spectrum, in the unit's power form.
func TestCrossOfItself(t *testing.T) {
	e := newEnv(t, specan.Config{})
	e.sine(t, toneFreq, toneAmp)
	for _, u := range []string{"Vrms^2/Hz", "dB(Vpk^2)", "Vrms"} {
		sp := e.spectrum(t, api.SpecanSettings{Input1: "in1", Input2: "in1", Cross: true, Unit: u, TraceAverage: 2})
		cu := spectrum.Unit(sp.CrossUnit)
		pow := spectrum.ConvertBack(nil, sp.Ch1, spectrum.Unit(u), sp.RBW) // Vpk^2
		auto := spectrum.Convert(nil, pow, cu, sp.RBW)
		if len(sp.CrossRe) != len(auto) || len(sp.CrossIm) != len(auto) {
			t.Fatalf("%s: cross has %d and %d bins, want %d", u, len(sp.CrossRe), len(sp.CrossIm), len(auto))
		}
		var mean float64
		for _, v := range auto {
			mean += v / float64(len(auto))
		}
		// dB units carry 1e-16-relative rounding through 10^(x/10); the
		// tolerance covers it.
		tol := tolSelfCross * mean
		for k := range auto {
			if math.Abs(sp.CrossRe[k]-auto[k]) > tol+1e-12*auto[k] || math.Abs(sp.CrossIm[k]) > tol {
				t.Fatalf("%s: bin %d: cross %g%+gi %s, auto %g", u, k, sp.CrossRe[k], sp.CrossIm[k], cu, auto[k])
			}
		}
		wantCU := map[string]string{"Vrms^2/Hz": "Vrms^2/Hz", "dB(Vpk^2)": "Vpk^2", "Vrms": "Vrms^2"}[u]
		if sp.CrossUnit != wantCU {
			t.Errorf("%s: cross unit %q, want %q", u, sp.CrossUnit, wantCU)
		}
	}
}

// TestUnits: the tone's peak, read in each unit, is the same physical
// value (|H1| A)^2 Vpk^2 converted by the documented formula.
func TestUnits(t *testing.T) {
	e := newEnv(t, specan.Config{})
	f, a := e.sine(t, toneFreq, toneAmp)
	p := math.Pow(a*cabs(e.cfg.H1(f)), 2) // Vpk^2
	for _, u := range spectrum.Units() {
		sp := e.spectrum(t, api.SpecanSettings{Decimation: 8, Unit: string(u)})
		v, _ := peak(sp.Ch1)
		rbw := sp.RBW
		var got float64 // back in Vpk^2, by the documented formulas
		switch u {
		case spectrum.Vpk2:
			got = v
		case spectrum.DBVpk2:
			got = math.Pow(10, v/10)
		case spectrum.Vpk:
			got = v * v
		case spectrum.Vrms2:
			got = 2 * v
		case spectrum.DBVrms2:
			got = 2 * math.Pow(10, v/10)
		case spectrum.Vrms:
			got = 2 * v * v
		case spectrum.Vrms2PerHz:
			got = 2 * rbw * v
		case spectrum.DBVrms2PerHz:
			got = 2 * rbw * math.Pow(10, v/10)
		case spectrum.VrmsPerSqrtHz:
			got = 2 * rbw * v * v
		}
		if d := dB(got / p); math.Abs(d) > tolToneDB {
			t.Errorf("%s: peak %g, that is %g Vpk^2, want %g (%+.3f dB)", u, v, got, p, d)
		}
	}
}

// TestConcurrent: two spectra and a scope acquisition asked for at once
// on one board all complete and are right.
func TestConcurrent(t *testing.T) {
	e := newEnv(t, specan.Config{})
	f, a := e.sine(t, toneFreq, toneAmp)
	var wg sync.WaitGroup
	var tone, noise api.Spectrum
	var tr api.ScopeTrace
	errs := make([]error, 3)
	wg.Add(3)
	go func() {
		defer wg.Done()
		tone, errs[0] = e.board.Specan().Single(context.Background(), api.SpecanSettings{Decimation: 8, TraceAverage: 30})
	}()
	go func() {
		defer wg.Done()
		noise, errs[1] = e.board.Specan().Single(context.Background(), api.SpecanSettings{Decimation: 64, TraceAverage: 5, Input1: "in2", Window: "blackman", Unit: "Vrms^2/Hz"})
	}()
	go func() {
		defer wg.Done()
		tr, errs[2] = e.board.Scope().Single(context.Background(), api.ScopeSettings{Decimation: 8})
	}()
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	v, _ := peak(tone.Ch1)
	want := a * cabs(e.cfg.H1(f))
	if d := dB(v / (want * want)); math.Abs(d) > tolToneDB || tone.Traces != 30 {
		t.Errorf("tone: %d traces, peak %+.3f dB from (|H1| A)^2", tone.Traces, d)
	}
	p, err := spectrum.NewPlan(spectrum.Settings{Length: 16384, Window: spectrum.Blackman, Decimation: 64})
	if err != nil {
		t.Fatal(err)
	}
	corr := p.Correction(nil)
	floor := e.cfg.ScopeNoiseDensity(64, true, 0)
	var r float64
	for k := 16; k < len(noise.Ch1); k++ {
		r += noise.Ch1[k] / (floor * corr[k]) / float64(len(noise.Ch1)-16)
	}
	if math.Abs(dB(r)) > tolFloorModelDB {
		t.Errorf("noise: floor %+.3f dB from the derived density", dB(r))
	}
	// The scope trace's rms: the tone through H1 and the boxcar, 0.07 V.
	var ms float64
	for _, x := range tr.Ch1 {
		ms += float64(x) * float64(x) / float64(len(tr.Ch1))
	}
	wantRMS := want * boxcar(f, 8) / math.Sqrt2
	if d := math.Sqrt(ms)/wantRMS - 1; math.Abs(d) > 0.01 {
		t.Errorf("scope: rms %g V, want %g (%+.2e)", math.Sqrt(ms), wantRMS, d)
	}
}

// TestProgressAndDone: progress comes at least every 100 ms, counts up to
// the total, and the done event carries the reply.
func TestProgressAndDone(t *testing.T) {
	e := newEnv(t, specan.Config{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	prog, err := e.board.Specan().Progress(ctx)
	if err != nil {
		t.Fatal(err)
	}
	done, err := e.board.Specan().Done(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const traces = 16 // decimation 256: 34 ms each, about 0.55 s in all
	sp := e.spectrum(t, api.SpecanSettings{ID: "progress-test", Decimation: 256, TraceAverage: traces})
	var events []api.Progress
	natstest.WaitFor(t, 2*time.Second, "the last progress event", func() bool {
		for {
			select {
			case p := <-prog:
				events = append(events, p)
				if p.Done == traces {
					return true
				}
			default:
				return false
			}
		}
	})
	// One event per interval, give or take the ticks a loaded machine
	// drops: at least one per two intervals.
	minEvents := int((sp.Ended - sp.Started) / specan.ProgressInterval.Seconds() / 2)
	if len(events) < minEvents {
		t.Errorf("%d progress events in %.3f s, want at least %d", len(events), sp.Ended-sp.Started, minEvents)
	}
	for i, p := range events {
		if p.ID != "progress-test" || p.Total != traces || (i > 0 && p.Done < events[i-1].Done) {
			t.Fatalf("event %d: %+v after %+v", i, p, events[max(i-1, 0)])
		}
	}
	var d api.Spectrum
	natstest.WaitFor(t, 2*time.Second, "the done event", func() bool {
		select {
		case ev := <-done:
			d = ev.Value
			return ev.Err == nil
		default:
			return false
		}
	})
	if d.ID != sp.ID || d.Traces != traces || len(d.Ch1) != len(sp.Ch1) || d.Ch1[100] != sp.Ch1[100] {
		t.Errorf("done event %s with %d traces, reply %s", d.ID, d.Traces, sp.ID)
	}
}

// longRun is a spectrum that would run for about 26 s: three traces of
// 8.6 s each, all queued at the scope at once.
var longRun = api.SpecanSettings{Decimation: 65536, TraceAverage: 3}

// startLong starts longRun under id and waits until it runs.
func startLong(t *testing.T, e *env, id string) <-chan error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	prog, err := e.board.Specan().Progress(ctx)
	if err != nil {
		t.Fatal(err)
	}
	res := make(chan error, 1)
	s := longRun
	s.ID = id
	go func() {
		_, err := e.board.Specan().Single(context.Background(), s)
		res <- err
	}()
	natstest.WaitFor(t, 5*time.Second, "the long spectrum's first progress event", func() bool {
		select {
		case p := <-prog:
			return p.ID == id
		default:
			return false
		}
	})
	return res
}

// scopeFree checks that the scope is not busy with cancelled work: a
// 131 us trace completes well before one of the 8.6 s traces could have.
func scopeFree(t *testing.T, e *env) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if _, err := e.board.Scope().Single(ctx, api.ScopeSettings{Decimation: 1}); err != nil {
		stats, _ := e.c.Conn().Request("$SRV.STATS.scope", nil, time.Second)
		var body []byte
		if stats != nil {
			body = stats.Data
		}
		t.Fatalf("scope after the cancelled spectrum: %v\nscope stats: %s", err, body)
	}
}

func TestCancel(t *testing.T) {
	e := newEnv(t, specan.Config{})
	res := startLong(t, e, "long-1")
	r, err := e.board.Specan().Cancel(ctxT(t, 5*time.Second), "long-1")
	if err != nil || !r.Cancelled {
		t.Fatalf("cancel: %+v, %v", r, err)
	}
	wantCode(t, <-res, rperr.ECancelled, "long-1")
	scopeFree(t, e)
	_, err = e.board.Specan().Cancel(ctxT(t, 5*time.Second), "long-1")
	wantCode(t, err, rperr.ENotFound, "long-1")
}

func TestStop(t *testing.T) {
	e := newEnv(t, specan.Config{})
	res := startLong(t, e, "long-2")
	r, err := e.board.Specan().Stop(ctxT(t, 5*time.Second))
	if err != nil || r.Cancelled != 1 {
		t.Fatalf("stop: %+v, %v", r, err)
	}
	wantCode(t, <-res, rperr.ECancelled, "long-2")
	scopeFree(t, e)
}

// TestClientContextCancels: ending Single's context cancels the spectrum
// on the service, and with it the scope's work.
func TestClientContextCancels(t *testing.T) {
	e := newEnv(t, specan.Config{})
	ctx, cancel := context.WithCancel(context.Background())
	res := make(chan error, 1)
	go func() {
		_, err := e.board.Specan().Single(ctx, longRun)
		res <- err
	}()
	prog, err := e.board.Specan().Progress(ctxT(t, 10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	natstest.WaitFor(t, 5*time.Second, "progress", func() bool {
		select {
		case <-prog:
			return true
		default:
			return false
		}
	})
	cancel()
	wantCode(t, <-res, rperr.ECancelled)
	scopeFree(t, e)
}

// timeoutSlack bounds how late a 0.2 s timeout may answer on a loaded
// machine; a timeout that waited for the scope's trace would take 8.6 s.
const timeoutSlack = 4 * time.Second

func TestTimeout(t *testing.T) {
	e := newEnv(t, specan.Config{})
	s := longRun
	s.Timeout = 0.2
	start := time.Now()
	_, err := e.board.Specan().Single(context.Background(), s)
	elapsed := time.Since(start)
	t.Logf("408 after %v", elapsed)
	wantCode(t, err, rperr.ETimeout, "0 of 3 traces", "0.2 s")
	// Not before the timeout; and long before the first 8.6 s trace could
	// end, with room for a loaded machine.
	if elapsed < 200*time.Millisecond || elapsed > timeoutSlack {
		t.Errorf("408 after %v, want 0.2 s .. %v", elapsed, timeoutSlack)
	}
	scopeFree(t, e)
}

func TestStartConfig(t *testing.T) {
	nc := natstest.Connect(t, natstest.Server(t))
	for _, c := range []specan.Config{{InFlight: -1}, {InFlight: specan.MaxInFlight + 1}, {MaxSpectra: -1}} {
		if _, err := specan.Start(nc, c); !errors.Is(err, specan.ErrConfigValidation) || !strings.Contains(err.Error(), "Max") && !strings.Contains(err.Error(), "InFlight") {
			t.Errorf("Start(%+v): %v", c, err)
		}
	}
	if _, err := specan.Start(nil, specan.Config{}); !errors.Is(err, specan.ErrConfigValidation) {
		t.Errorf("Start(nil): %v", err)
	}
}

// TestServiceStop: stopping the service answers the spectrum it runs
// (499 once the grace ends) and takes no new ones.
func TestServiceStop(t *testing.T) {
	e := newEnv(t, specan.Config{})
	res := startLong(t, e, "long-3")
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := e.svc.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	wantCode(t, <-res, rperr.ECancelled, "long-3")
	scopeFree(t, e)
	_, err := e.board.Specan().Single(ctxT(t, 5*time.Second), api.SpecanSettings{})
	wantCode(t, err, rperr.ENotFound)
}

// TestMissingServices: a board no bridge serves, or no scope service at
// all, is a 404 that says which request failed.
func TestMissingServices(t *testing.T) {
	e := newEnv(t, specan.Config{})
	_, err := e.c.Board("nosuch").Specan().Single(ctxT(t, 10*time.Second), api.SpecanSettings{})
	wantCode(t, err, rperr.ENotFound, "scope trace 1 of 1")

	ns := natstest.Server(t)
	sa, err := specan.Start(natstest.Connect(t, ns), specan.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sa.Stop(context.Background()) })
	c, err := client.New(natstest.Connect(t, ns))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Board("sim").Specan().Single(ctxT(t, 10*time.Second), api.SpecanSettings{})
	wantCode(t, err, rperr.ENotFound, "scope.single")
}

// TestDoneEventsForEveryEnd: a spectrum that is cancelled, times out, is
// stopped or finds the board gone publishes its done event too, with the
// error's code, its id and the settings as applied.
func TestDoneEventsForEveryEnd(t *testing.T) {
	e := newEnv(t, specan.Config{})
	sa := e.board.Specan()
	done, err := sa.Done(ctxT(t, 60*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	expect := func(id, code string) {
		t.Helper()
		testrig.ExpectDone(t, done, id, code, func(v api.Spectrum) bool { return v.Board == "sim" && v.Settings.Decimation != 0 })
	}

	res := startLong(t, e, "cancelled")
	if _, err := sa.Cancel(ctxT(t, 5*time.Second), "cancelled"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, <-res, rperr.ECancelled)
	expect("cancelled", rperr.ECancelled)

	s := longRun
	s.ID, s.Timeout = "timed-out", 0.2
	_, err = sa.Single(context.Background(), s)
	wantCode(t, err, rperr.ETimeout)
	expect("timed-out", rperr.ETimeout)

	res = startLong(t, e, "stopped")
	if _, err := sa.Stop(ctxT(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	wantCode(t, <-res, rperr.ECancelled)
	expect("stopped", rperr.ECancelled)

	scopeFree(t, e)
	e.sim.Close() // the board goes away: the bridge answers 503
	_, err = sa.Single(ctxT(t, 10*time.Second), api.SpecanSettings{ID: "no-board"})
	wantCode(t, err, rperr.EUnavailable)
	expect("no-board", rperr.EUnavailable)
}

// TestPyRPLNames: PyRPL's names on the wire. rbw picks the decimation
// whose rbw is nearest, as PyRPL's does; display_unit, input1_baseband
// and input2_baseband are unit, input1 and input2; baseband must be true;
// errors name the field the user gave.
func TestPyRPLNames(t *testing.T) {
	e := newEnv(t, specan.Config{})
	sp := e.spectrum(t, api.SpecanSettings{RBW: 449, DisplayUnit: "dB(Vrms^2/Hz)", Input1Baseband: "in2", Input2Baseband: "out1", TraceAverage: 1})
	if sp.Settings.Decimation != 64 || math.Abs(sp.RBW-449.5) > 1 || sp.Settings.Unit != "dB(Vrms^2/Hz)" || sp.Settings.Input1 != "in2" || sp.Settings.Input2 != "out1" {
		t.Fatalf("applied %+v, rbw %g", sp.Settings, sp.RBW)
	}
	if sp.Settings.RBW != 0 || sp.Settings.DisplayUnit != "" || sp.Settings.Baseband != nil {
		t.Errorf("the reply's settings keep PyRPL's names: %+v", sp.Settings)
	}
	// A boxcar's rbw is 1 bin: 120 Hz is about decimation 64's 119 Hz.
	if d, err := specan.RBWDecimation(120, 1.0/16384); err != nil || d != 64 {
		t.Errorf("RBWDecimation(120 Hz, boxcar) = %d, %v; want 64", d, err)
	}
	yes := true
	if sp := e.spectrum(t, api.SpecanSettings{Baseband: &yes, Decimation: 8}); sp.Settings.Decimation != 8 {
		t.Errorf("baseband true: %+v", sp.Settings)
	}
	no := false
	for _, tc := range []struct {
		s    api.SpecanSettings
		want []string
	}{
		{api.SpecanSettings{RBW: -5}, []string{"rbw", "-5"}},
		{api.SpecanSettings{RBW: 100, Decimation: 8}, []string{"rbw, span, decimation"}},
		{api.SpecanSettings{DisplayUnit: "V", Unit: "Vpk"}, []string{"display_unit, unit"}},
		{api.SpecanSettings{DisplayUnit: "furlong"}, []string{"unit", "furlong"}},
		{api.SpecanSettings{Baseband: &no}, []string{"baseband"}},
	} {
		_, err := e.board.Specan().Single(ctxT(t, 10*time.Second), tc.s)
		wantCode(t, err, rperr.EInvalid, tc.want...)
	}
}
