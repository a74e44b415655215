package scope_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/board/sim"
	"github.com/rpbus/rpbus/client"
	"github.com/rpbus/rpbus/internal/natstest"
	"github.com/rpbus/rpbus/internal/testrig"
	"github.com/rpbus/rpbus/natsserver"
	"github.com/rpbus/rpbus/regmap"
	"github.com/rpbus/rpbus/rperr"
	"github.com/rpbus/rpbus/services/scope"
	"github.com/rpbus/rpbus/wire"
)

// lsb is one ADC step in volts.
const lsb = 1.0 / regmap.VoltsNorm

func TestStartConfig(t *testing.T) {
	if _, err := scope.Start(nil, scope.Config{}); !errors.Is(err, scope.ErrConfigValidation) {
		t.Fatalf("nil connection: %v", err)
	}
	ns := natstest.Server(t)
	if _, err := scope.Start(natstest.Connect(t, ns), scope.Config{RollingInterval: -1}); !errors.Is(err, scope.ErrConfigValidation) {
		t.Fatalf("negative interval: %v", err)
	}
}

// durationTable is the hardware's table: 16384 x 8 ns x 2^k.
var durationTable = []struct {
	request float64 // s
	dec     int
	applied float64 // s
}{
	{1e-9, 1, 131.072e-6},
	{131.072e-6, 1, 131.072e-6},
	{131.073e-6, 2, 262.144e-6},
	{1e-3, 8, 1.048576e-3},
	{0.1, 1024, 0.134217728},
	{1, 8192, 1.073741824},
	{8.589934592, 65536, 8.589934592},
}

func TestDurationRoundsUpAsTheHardwareTable(t *testing.T) {
	for _, tt := range durationTable {
		s, err := scope.Normalize(api.ScopeSettings{Duration: tt.request})
		if err != nil {
			t.Fatalf("duration %g: %v", tt.request, err)
		}
		if s.Decimation != tt.dec || math.Abs(s.Duration-tt.applied) > 1e-15 {
			t.Errorf("duration %g: decimation %d duration %g, want %d %g", tt.request, s.Decimation, s.Duration, tt.dec, tt.applied)
		}
	}
	for k := 0; k <= 16; k++ {
		s, err := scope.Normalize(api.ScopeSettings{Decimation: 1 << k})
		if err != nil {
			t.Fatal(err)
		}
		if want := 16384 * 8e-9 * float64(int(1)<<k); math.Abs(s.Duration-want) > 1e-12*want {
			t.Errorf("decimation %d: duration %g, want %g", 1<<k, s.Duration, want)
		}
	}
	// And on the wire: dt and the settings as applied.
	e := newEnv(t, 1)
	for _, tt := range durationTable[:5] {
		tr := e.single(t, api.ScopeSettings{Duration: tt.request})
		if tr.Settings.Decimation != tt.dec || tr.Dt != float64(tt.dec)*8e-9 || len(tr.Ch1) != 16384 || len(tr.Ch2) != 16384 {
			t.Errorf("duration %g: decimation %d dt %g, %d+%d samples", tt.request, tr.Settings.Decimation, tr.Dt, len(tr.Ch1), len(tr.Ch2))
		}
		if got := tr.Ended - tr.Started; got < tt.applied {
			t.Errorf("duration %g: acquisition took %g s, less than the trace's %g s", tt.request, got, tt.applied)
		}
	}
}

func TestBadSettingsAnswer400ThenTheNextSucceeds(t *testing.T) {
	e := newEnv(t, 1)
	bad := []struct {
		body  string
		field string
	}{
		{`{"input1":"in3"}`, "input1"},
		{`{"input2":"adc"}`, "input2"},
		{`{"duration":9}`, "duration"},
		{`{"duration":-1}`, "duration"},
		{`{"decimation":3}`, "decimation"},
		{`{"decimation":131072}`, "decimation"},
		{`{"duration":0.001,"decimation":8}`, "duration, decimation"},
		{`{"trigger_source":"ch3_positive_edge"}`, "trigger_source"},
		{`{"trigger_source":"off"}`, "trigger_source"},
		{`{"threshold":1.5}`, "threshold"},
		{`{"hysteresis":-0.1}`, "hysteresis"},
		{`{"trigger_delay":20,"trigger_source":"ch1_positive_edge"}`, "trigger_delay"},
		{`{"trigger_delay":-0.001}`, "trigger_delay"},
		{`{"trace_average":-2}`, "trace_average"},
		{`{"trace_average":5000}`, "trace_average"},
		{`{"timeout":-1}`, "timeout"},
		{`{"timeout":1e9}`, "timeout"},
		{`{"duraton":0.001}`, "duraton"},
		{`{"duration":"long"}`, "duration"},
	}
	nc := e.c.Conn()
	for _, b := range bad {
		m, err := nc.RequestWithContext(ctxT(t, 5*time.Second), "rp.sim.scope.single", []byte(b.body))
		if err != nil {
			t.Fatal(err)
		}
		err = wire.ErrorFromMsg(m)
		if rperr.ErrorCode(err) != rperr.EInvalid || m.Header.Get("Nats-Service-Error-Code") != "400" || !strings.Contains(rperr.ErrorMessage(err), b.field) {
			t.Errorf("%s: %v, want 400 naming %s", b.body, err, b.field)
		}
		tr := e.single(t, api.ScopeSettings{})
		if len(tr.Ch1) != 16384 {
			t.Fatalf("after %s: %d samples", b.body, len(tr.Ch1))
		}
	}
	// JSON replies: numbers and the same fields.
	m, err := nc.RequestWithContext(ctxT(t, 5*time.Second), "rp.sim.scope.single", []byte(`{"input1":"out1"}`))
	if err != nil || wire.ErrorFromMsg(m) != nil {
		t.Fatalf("JSON request: %v %v", err, wire.ErrorFromMsg(m))
	}
	var tr api.ScopeTrace
	if err := wire.JSON.Unmarshal(m.Data, &tr); err != nil || len(tr.Ch1) != 16384 || tr.Settings.Input1 != "out1" || tr.Settings.Input2 != "in2" {
		t.Fatalf("JSON reply: %v %d %+v", err, len(tr.Ch1), tr.Settings)
	}
}

func TestUnknownBoardIsNotFound(t *testing.T) {
	e := newEnv(t, 1)
	_, err := e.c.Board("nosuch").Scope().Single(ctxT(t, 10*time.Second), api.ScopeSettings{})
	if rperr.ErrorCode(err) != rperr.ENotFound {
		t.Fatalf("unknown board: %v, want not_found", err)
	}
	_, err = e.c.Board("nosuch").Scope().Continuous(ctxT(t, 10*time.Second), api.ScopeSettings{})
	if rperr.ErrorCode(err) != rperr.ENotFound {
		t.Fatalf("continuous on an unknown board: %v, want not_found", err)
	}
}

// edgeTol is where the crossing may sit around t = 0: within one sample,
// plus the 3 cycles an edge trigger takes to fire after its crossing
// sample is written (sim.ScopeEdgeLatencyCycles, as in the Verilog).
func edgeTol(dt float64) float64 { return dt + sim.ScopeEdgeLatencyCycles/regmap.Clock }

// crossing returns the time of the threshold crossing of x nearest to
// t = 0, interpolated between the samples around it; rising selects the
// direction. t_i = t0 + i dt is where sample i's decimation window
// starts (PyRPL's axis); without averaging the sample holds the input at
// the window's last cycle, t_i + dt - 8 ns, which is where it is placed.
func crossing(tr api.ScopeTrace, x []float32, th float64, rising bool) float64 {
	best := math.Inf(1)
	at := tr.T0 + tr.Dt - 1/regmap.Clock
	for i := 1; i < len(x); i++ {
		a, b := float64(x[i-1]), float64(x[i])
		if (rising && a < th && b >= th) || (!rising && a > th && b <= th) {
			t := at + (float64(i-1)+(th-a)/(b-a))*tr.Dt
			if math.Abs(t) < math.Abs(best) {
				best = t
			}
		}
	}
	return best
}

func TestEdgeTriggerPutsTheCrossingAtTheTrigger(t *testing.T) {
	e := newEnv(t, 1)
	// out1 -> in1: a 1 MHz sine through the unity-gain 1 MHz resonance;
	// out2 -> in2: 50 kHz through the 100 kHz low-pass (gain 0.89).
	e.sine(t, "asg0", 1e6, 0.5, "out1")
	e.sine(t, "asg1", 50e3, 0.5, "out2")
	for _, tt := range []struct {
		source string
		ch     int
		rising bool
		dec    int
	}{
		{"ch1_positive_edge", 1, true, 1},
		{"ch1_negative_edge", 1, false, 4},
		{"ch2_positive_edge", 2, true, 8},
		{"ch2_negative_edge", 2, false, 8},
	} {
		for _, k := range []float64{0, 2000, -5000} { // trigger delay in samples
			dt := float64(tt.dec) * 8e-9
			th := 0.2
			if !tt.rising {
				th = -0.1
			}
			s := api.ScopeSettings{Decimation: tt.dec, TriggerSource: tt.source, Threshold: th,
				TriggerDelay: k * dt, Average: client.Ptr(false), Hysteresis: 0.01}
			tr := e.single(t, s)
			if math.Abs(tr.Settings.TriggerDelay-k*dt) > 1e-15 {
				t.Errorf("%s: applied trigger_delay %g, want %g", tt.source, tr.Settings.TriggerDelay, k*dt)
			}
			// PyRPL's axis: t = 0 is the trigger; the trace spans
			// trigger_delay -/+ duration/2.
			if want := k*dt - tr.Settings.Duration/2; math.Abs(tr.T0-want) > 1e-15 {
				t.Errorf("%s delay %g: t0 %g, want %g", tt.source, k*dt, tr.T0, want)
			}
			x := tr.Ch1
			if tt.ch == 2 {
				x = tr.Ch2
			}
			th = tr.Settings.Threshold
			c := crossing(tr, x, th, tt.rising)
			if math.Abs(c) > edgeTol(dt) {
				t.Errorf("%s dec %d delay %g: crossing at %.3g s, want 0 within %.3g s", tt.source, tt.dec, k*dt, c, edgeTol(dt))
			}
			// In samples from the trace centre that is -trigger_delay.
			idx := -tr.T0 / dt
			if want := 8192 - k; math.Abs(idx-want) > 0.5 {
				t.Errorf("%s: the trigger sits at sample %g, want %g", tt.source, idx, want)
			}
		}
	}
}

func TestHysteresisSuppressesRetriggeringOnNoise(t *testing.T) {
	e := newEnv(t, 1)
	// Nothing on the outputs: in1 is white noise of std sigma (0.79 mV).
	sigma := e.cfg.SampleNoiseStd(64, false)
	// A hysteresis of 1 LSB lets the noise retrigger at once: the first
	// rising crossing of 0 after the pretrigger.
	s := api.ScopeSettings{Decimation: 64, TriggerSource: "ch1_positive_edge", Threshold: 0, Hysteresis: lsb, Average: client.Ptr(false), Timeout: 2}
	tr := e.single(t, s)
	if c := crossing(tr, tr.Ch1, tr.Settings.Threshold, true); math.Abs(c) > edgeTol(tr.Dt) {
		t.Errorf("noise trigger: crossing at %g, want 0", c)
	}
	// A hysteresis of 12 sigma: the Schmitt trigger never re-arms on the
	// noise, so no trigger comes: 408 after the timeout, and the scope is
	// left disarmed.
	big := 12 * sigma
	s.Hysteresis, s.Timeout = big, 0.3
	_, err := e.board.Scope().Single(ctxT(t, 10*time.Second), s)
	if rperr.ErrorCode(err) != rperr.ETimeout {
		t.Fatalf("hysteresis %g V on noise of %g V: %v, want 408", big, sigma, err)
	}
	natstest.WaitFor(t, 5*time.Second, "the scope disarmed", func() bool {
		w, err := e.board.HW.Read(ctxT(t, time.Second), regmap.ScopeBase+regmap.ScopeControl, 1)
		return err == nil && w[0]&(regmap.ScopeArm|regmap.ScopeDelayRunning) == 0
	})
	if tr := e.single(t, api.ScopeSettings{}); len(tr.Ch1) != 16384 {
		t.Fatal("no trace after the 408")
	}
}

func TestBoxcarAndTraceAverageLowerTheNoise(t *testing.T) {
	e := newEnv(t, 1)
	// in1 and in2: white noise only. Every sample is quantised (LSB^2/12),
	// the averaged ones after the boxcar too.
	q := lsb * lsb / 12
	const relTol = 0.06                 // the std of 16384 samples is known to 1/sqrt(2*16384) = 0.6 %; quantisation and the floor of the boxcar shift
	for _, dec := range []int{16, 64} { // beyond, the averaged noise drops below 1 LSB and the quantisation is no longer white
		raw := e.single(t, api.ScopeSettings{Decimation: dec, Average: client.Ptr(false)})
		avg := e.single(t, api.ScopeSettings{Decimation: dec})
		_, s0 := stats(raw.Ch1)
		_, s1 := stats(avg.Ch1)
		want0 := e.cfg.SampleNoiseStd(uint32(dec), false)
		want1 := math.Sqrt(e.cfg.SampleNoiseStd(uint32(dec), true)*e.cfg.SampleNoiseStd(uint32(dec), true) + q)
		if math.Abs(s0/want0-1) > relTol || math.Abs(s1/want1-1) > relTol {
			t.Errorf("decimation %d: std %g V without, %g V with boxcar; want %g, %g", dec, s0, s1, want0, want1)
		}
		t.Logf("decimation %d: noise lowered %.2f x by the boxcar (sqrt(decimation) = %.2f)", dec, s0/s1, math.Sqrt(float64(dec)))
	}
	for _, n := range []int{4, 16} {
		one := e.single(t, api.ScopeSettings{Average: client.Ptr(false)})
		many := e.single(t, api.ScopeSettings{Average: client.Ptr(false), TraceAverage: n})
		_, s1 := stats(one.Ch2)
		_, sn := stats(many.Ch2)
		want := math.Sqrt(e.cfg.SampleNoiseStd(1, false)*e.cfg.SampleNoiseStd(1, false)+q) / math.Sqrt(float64(n))
		if many.Settings.TraceAverage != n || math.Abs(sn/want-1) > relTol {
			t.Errorf("trace_average %d: std %g V, want %g (one trace: %g)", n, sn, want, s1)
		}
		t.Logf("trace_average %d: noise lowered %.2f x (sqrt(N) = %.2f)", n, s1/sn, math.Sqrt(float64(n)))
	}
}

func TestInputsOut1AndASG0ReturnTheGeneratorWaveform(t *testing.T) {
	e := newEnv(t, 1)
	e.sine(t, "asg0", 1e6, 0.5, "out1")
	e.sine(t, "asg1", 3e6, 0.25, "out2")
	tr := e.single(t, api.ScopeSettings{Input1: "out1", Input2: "asg0", Average: client.Ptr(false)})
	for _, c := range []struct {
		name string
		x    []float32
		sig  int
	}{{"out1", tr.Ch1, regmap.SlotOut1}, {"asg0", tr.Ch2, regmap.SlotASG0}} {
		worst, lag := e.matchTruth(tr, c.x, c.sig)
		if worst > 0 {
			t.Errorf("input %s: worst error %g V against the generator (best lag %d cycles), want exact", c.name, worst, lag)
		}
		lo, hi := minmax(c.x)
		if math.Abs(hi-0.5) > 2*lsb || math.Abs(lo+0.5) > 2*lsb {
			t.Errorf("input %s: range %g..%g V, want +-0.5", c.name, lo, hi)
		}
	}
	tr = e.single(t, api.ScopeSettings{Input1: "asg1", Input2: "out2", Average: client.Ptr(false)})
	for _, c := range []struct {
		x   []float32
		sig int
	}{{tr.Ch1, regmap.SlotASG1}, {tr.Ch2, regmap.SlotOut2}} {
		if worst, lag := e.matchTruth(tr, c.x, c.sig); worst > 0 {
			t.Errorf("signal %d: worst error %g V (lag %d)", c.sig, worst, lag)
		}
	}
}

func minmax(x []float32) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, v := range x {
		lo, hi = min(lo, float64(v)), max(hi, float64(v))
	}
	return lo, hi
}

func TestCancelAndStop(t *testing.T) {
	e := newEnv(t, 1)
	sc := e.board.Scope()
	never := api.ScopeSettings{TriggerSource: "ext_positive_edge", Timeout: 60} // nothing drives the ext pin
	// cancel by a client-chosen id
	errc := make(chan error, 1)
	go func() {
		s := never
		s.ID = "wait-for-ever"
		_, err := sc.Single(context.Background(), s)
		errc <- err
	}()
	// The cancel may overtake its request (it then answers 404 and is
	// remembered): send it until the single has answered.
	var err error
	natstest.WaitFor(t, 5*time.Second, "the cancelled single to answer", func() bool {
		_ = sc.Cancel(ctxT(t, time.Second), "wait-for-ever")
		select {
		case err = <-errc:
			return true
		case <-time.After(20 * time.Millisecond):
			return false
		}
	})
	if rperr.ErrorCode(err) != rperr.ECancelled {
		t.Fatalf("cancelled single: %v, want 499", err)
	}
	if tr := e.single(t, api.ScopeSettings{}); len(tr.Ch1) != 16384 {
		t.Fatal("no trace after the cancel")
	}
	// stop: one running and three queued behind it, each answered 499
	const n = 4
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		go func() {
			_, err := sc.Single(context.Background(), never)
			errs <- err
		}()
	}
	var r api.StopReply
	natstest.WaitFor(t, 5*time.Second, "stop to cancel all four", func() bool {
		got, err := sc.Stop(ctxT(t, 2*time.Second))
		r.Cancelled += got.Cancelled
		return err == nil && r.Cancelled >= n
	})
	for i := 0; i < n; i++ {
		if err := <-errs; rperr.ErrorCode(err) != rperr.ECancelled {
			t.Fatalf("stopped single: %v, want 499", err)
		}
	}
	if r.Cancelled != n {
		t.Fatalf("stop cancelled %d, want %d", r.Cancelled, n)
	}
	// A context that ends sends scope.cancel: the board is free at once.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	_, err = sc.Single(ctx, never)
	cancel()
	if code := rperr.ErrorCode(err); code != rperr.ETimeout && code != rperr.ECancelled {
		t.Fatalf("single whose context ended: %v", err)
	}
	if tr := e.single(t, api.ScopeSettings{Timeout: 2}); len(tr.Ch1) != 16384 {
		t.Fatal("no trace after the abandoned request")
	}
}

// TestQueuedBehindAMissingTriggerRuns: a single sent to the bridge while
// the one ahead of it waits for a trigger that never comes runs once that
// one has timed out, however short its own timeout.
func TestQueuedBehindAMissingTriggerRuns(t *testing.T) {
	e := newEnv(t, 1)
	// ext edges never fire on the simulated board: 408 after 3 s, longer
	// than the second's timeout plus the transaction's 2 s of grace. The
	// second takes 268 ms, so a cancel would catch it running.
	stuck := api.ScopeSettings{Decimation: 1, TriggerSource: "ext_positive_edge", Timeout: 3, ID: "stuck"}
	errc := make(chan error, 1)
	go func() {
		_, err := e.board.Scope().Single(ctxT(t, 10*time.Second), stuck)
		errc <- err
	}()
	natstest.WaitFor(t, 5*time.Second, "the first to be at the bridge", func() bool {
		return e.scopes[0].Queued("sim") == 1
	})
	tr, err := e.board.Scope().Single(ctxT(t, 10*time.Second), api.ScopeSettings{Decimation: 2048, Timeout: 0.5, ID: "behind"})
	if err != nil {
		t.Fatalf("the single behind: %v, want a trace", err)
	}
	if len(tr.Ch1) != 16384 {
		t.Fatalf("the single behind: %d samples", len(tr.Ch1))
	}
	if err := <-errc; rperr.ErrorCode(err) != rperr.ETimeout {
		t.Fatalf("the first: %v, want 408", err)
	}
}

func TestRequestsQueueInArrivalOrder(t *testing.T) {
	e := newEnv(t, 1)
	const n = 8
	var wg sync.WaitGroup
	traces := make([]api.ScopeTrace, n)
	// A slow one first so the others queue behind it, sent one by one.
	for i := 0; i < n; i++ {
		dec := 1
		if i == 0 {
			dec = 8192 // 1.07 s
		}
		s := api.ScopeSettings{Decimation: dec, ID: fmt.Sprintf("q%d", i)}
		wg.Add(1)
		go func() {
			defer wg.Done()
			traces[i] = e.single(t, s)
		}()
		natstest.WaitFor(t, 5*time.Second, "the request to be queued", func() bool {
			return e.scopes[0].Queued("sim") == i+1
		})
	}
	wg.Wait()
	for i := 1; i < n; i++ {
		if traces[i].Started < traces[i-1].Ended-1e-6 {
			t.Errorf("trace %d started at %f before trace %d ended at %f", i, traces[i].Started, i-1, traces[i-1].Ended)
		}
	}
}

func TestTwoInstancesNeverInterleave(t *testing.T) {
	e := newEnv(t, 2)
	e.sine(t, "asg0", 1e6, 0.5, "out1")
	e.sine(t, "asg1", 1.5e6, 0.25, "out2")
	type want struct {
		s   api.ScopeSettings
		sig [2]int
		amp float64
	}
	kinds := []want{
		{api.ScopeSettings{Input1: "out1", Input2: "asg1", Decimation: 1, Average: client.Ptr(false)}, [2]int{regmap.SlotOut1, regmap.SlotASG1}, 0.5},
		{api.ScopeSettings{Input1: "out2", Input2: "asg0", Decimation: 2, Average: client.Ptr(false)}, [2]int{regmap.SlotOut2, regmap.SlotASG0}, 0.25},
		{api.ScopeSettings{Input1: "asg0", Input2: "out2", Decimation: 4, Average: client.Ptr(false)}, [2]int{regmap.SlotASG0, regmap.SlotOut2}, 0.5},
	}
	const clients, each = 6, 8
	var wg sync.WaitGroup
	var mu sync.Mutex
	var got []struct {
		k  want
		tr api.ScopeTrace
	}
	for c := 0; c < clients; c++ {
		cl, _ := client.New(natstest.Connect(t, e.ns))
		sc := cl.Board("sim").Scope()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				k := kinds[(c+i)%len(kinds)]
				tr, err := sc.Single(ctxT(t, 30*time.Second), k.s)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				got = append(got, struct {
					k  want
					tr api.ScopeTrace
				}{k, tr})
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for _, g := range got {
		if g.tr.Settings.Decimation != g.k.s.Decimation || g.tr.Settings.Input1 != g.k.s.Input1 {
			t.Fatalf("trace %s: settings %+v, asked %+v", g.tr.ID, g.tr.Settings, g.k.s)
		}
		if g.tr.Dt != float64(g.k.s.Decimation)*8e-9 {
			t.Errorf("trace %s: dt %g for decimation %d", g.tr.ID, g.tr.Dt, g.k.s.Decimation)
		}
		// The data are the requested signals at the requested decimation.
		for ch, x := range [][]float32{g.tr.Ch1, g.tr.Ch2} {
			if !e.matchesAtDecimation(g.tr, x, g.k.sig[ch], g.k.s.Decimation) {
				t.Errorf("trace %s ch%d is not signal %d at decimation %d", g.tr.ID, ch+1, g.k.sig[ch], g.k.s.Decimation)
			}
		}
	}
	if len(got) != clients*each {
		t.Fatalf("%d traces, want %d", len(got), clients*each)
	}
}

// matchesAtDecimation compares x with the noiseless signal sampled every
// dec cycles (no averaging), trying lags of -8..8 cycles.
func (e *env) matchesAtDecimation(tr api.ScopeTrace, x []float32, sig, dec int) bool {
	t := int64(math.Round(tr.TriggerTime * regmap.Clock))
	for l := int64(-8); l <= 8; l++ {
		ok := true
		for i := 0; i < len(x) && ok; i += 97 {
			ok = float64(x[i]) == e.sim.Noiseless(sig, t+l+int64(i*dec))
		}
		if ok {
			return true
		}
	}
	return false
}

func TestScopeAndNetworkAnalyzerAtTheSameTime(t *testing.T) {
	e := newEnv(t, 1)
	// An NA point on iq0 that takes 10 s: the bridge holds iq0 while it
	// waits for the point.
	iq := regmap.Slot(regmap.SlotIQ0)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := e.board.HW.Do(ctx, api.Txn{Ops: []api.Op{
			api.Write(iq+regmap.IQNAAverages, 1250000000),
			api.Write(iq+regmap.IQNASleepCycles, 0),
			api.Write(iq+regmap.IQFrequency, regmap.FreqToReg(1e6, 32)),
			api.Wait(iq+regmap.IQNAISumLow, regmap.IQNABusy, 0, 20),
		}})
		done <- err
	}()
	// The bridge holds iq0 now, so look at the board directly.
	natstest.WaitFor(t, 5*time.Second, "the NA point to run", func() bool {
		w := make([]uint32, 1)
		return e.sim.Read(iq+regmap.IQNAISumLow, w) == nil && w[0]&regmap.IQNABusy != 0
	})
	for i := 0; i < 20; i++ {
		e.single(t, api.ScopeSettings{Decimation: 1 << (i % 8)})
	}
	select {
	case err := <-done:
		t.Fatalf("the NA point ended before the scope traces: %v", err)
	default:
	}
	cancel()
	if err := <-done; rperr.ErrorCode(err) != rperr.ECancelled {
		t.Fatalf("NA point: %v", err)
	}
}

func TestDoneEventsCarryTheTrace(t *testing.T) {
	e := newEnv(t, 1)
	ch, err := e.board.Scope().Done(ctxT(t, 20*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	tr := e.single(t, api.ScopeSettings{Input1: "out1", ID: "logged"})
	ev := (<-ch).Value
	if ev.ID != "logged" || ev.Board != "sim" || len(ev.Ch1) != 16384 || ev.Ch1[100] != tr.Ch1[100] || ev.Settings.Input1 != "out1" || ev.Ended != tr.Ended {
		t.Fatalf("done event %s %s %d samples %+v", ev.ID, ev.Board, len(ev.Ch1), ev.Settings)
	}
}

// With Heard from the embedded server (as rpbus up sets it), a done event
// that nobody subscribes to is not sent: the scope's connection publishes
// one message fewer per single than when someone listens.
func TestDoneEventsOnlyWhenHeard(t *testing.T) {
	e := newEnv(t, 0)
	nc := natstest.Connect(t, e.ns)
	heard, err := natsserver.Interest(e.ns, nc)
	if err != nil || heard == nil {
		t.Fatalf("interest probe %v, %v", heard != nil, err)
	}
	// asked counts the scope's questions: it asks once per single, after
	// the reply has gone out, so a subscription made as soon as the reply
	// arrives could still be heard by the single before it.
	var asked atomic.Int64
	s, err := scope.Start(nc, scope.Config{Heard: func(subject string) bool { defer asked.Add(1); return heard(subject) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Stop(context.Background()) })
	cid, _ := nc.GetClientID()
	// sent counts what the scope's connection has published so far. The
	// server adds a read buffer's messages to InMsgs only after parsing the
	// whole buffer, so two pings settle it: the second one is read after
	// the buffer that held the first was counted, and with it everything
	// published before.
	sent := func() int64 {
		for range 2 {
			if err := nc.Flush(); err != nil {
				t.Fatal(err)
			}
		}
		cz, err := e.ns.Connz(&server.ConnzOptions{CID: cid})
		if err != nil || len(cz.Conns) != 1 {
			t.Fatalf("connz: %v", err)
		}
		return cz.Conns[0].InMsgs
	}
	e.single(t, api.ScopeSettings{}) // the board's first transactions
	n0 := sent()
	e.single(t, api.ScopeSettings{ID: "unheard"})
	natstest.WaitFor(t, 10*time.Second, "the scope to decide about the unheard event", func() bool { return asked.Load() == 2 })
	// An event published although unheard would be counted here or, when
	// it goes out after eventDelay, in the heard window below: either way
	// the difference is not exactly one.
	unheard := sent() - n0

	ch, err := e.board.Scope().Done(ctxT(t, 20*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	n1 := sent()
	e.single(t, api.ScopeSettings{ID: "heard"})
	if ev := (<-ch).Value; ev.ID != "heard" || len(ev.Ch1) != 16384 {
		t.Fatalf("done event %q with %d samples", ev.ID, len(ev.Ch1))
	}
	if got := sent() - n1; got != unheard+1 {
		t.Fatalf("messages from the scope per single: %d unheard, %d heard; want one more (the event)", unheard, got)
	}
}

func TestContinuous(t *testing.T) {
	e := newEnv(t, 1)
	e.sine(t, "asg0", 1e6, 0.5, "out1")
	sc := e.board.Scope()
	ctx := ctxT(t, 30*time.Second)
	traces, err := sc.Traces(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r, err := sc.Continuous(ctx, api.ScopeSettings{Input1: "out1", Decimation: 1})
	if err != nil || r.Subject != "rp.sim.scope.trace" {
		t.Fatalf("continuous: %+v %v", r, err)
	}
	var seq uint64
	for seq < 50 {
		tr := <-traces
		if tr.Seq != seq+1 || tr.ID != r.ID {
			t.Fatalf("trace seq %d id %s after %d", tr.Seq, tr.ID, seq)
		}
		seq = tr.Seq
		if seq == 10 {
			// A single interleaves between continuous traces.
			s := e.single(t, api.ScopeSettings{Input1: "in2", Decimation: 2})
			if s.Settings.Input1 != "in2" || s.Dt != 16e-9 {
				t.Fatalf("single during continuous: %+v", s.Settings)
			}
		}
		if worst, _ := e.matchTruth(tr, tr.Ch1, regmap.SlotOut1); worst > 0 {
			t.Fatalf("continuous trace %d is not out1 (error %g)", seq, worst)
		}
	}
	sr, err := sc.Stop(ctx)
	if err != nil || !sr.Continuous {
		t.Fatalf("stop: %+v %v", sr, err)
	}
	// After stop no more traces: the next trace would have to come from a
	// new run; a single still works.
	e.single(t, api.ScopeSettings{})
	if sr, _ := sc.Stop(ctx); sr.Continuous {
		t.Fatal("second stop found continuous mode running")
	}
}

func TestContinuousRollingMode(t *testing.T) {
	e := newEnv(t, 1)
	e.sine(t, "asg0", 1e3, 0.5, "out1")
	sc := e.board.Scope()
	ctx := ctxT(t, 30*time.Second)
	traces, err := sc.Traces(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// 0.27 s (decimation 2048): rolling mode.
	r, err := sc.Continuous(ctx, api.ScopeSettings{Input1: "out1", Duration: 0.2})
	if err != nil || r.Settings.Decimation != 2048 {
		t.Fatalf("continuous: %+v %v", r, err)
	}
	first := <-traces
	// The first read comes about 50 ms after arming (later on a loaded
	// machine), before the buffer is full: the samples written so far
	// are the newest ones, at the end, and NaN stands where none was
	// written yet.
	nan := 0
	for nan < len(first.Ch1) && math.IsNaN(float64(first.Ch1[nan])) {
		nan++
	}
	for i, v := range first.Ch1[nan:] {
		if math.IsNaN(float64(v)) {
			t.Fatalf("first rolling trace: NaN at %d after %d samples", nan+i, i)
		}
	}
	if first.Seq != 1 || nan == 16384 {
		t.Fatalf("first rolling trace: seq %d, %d NaN", first.Seq, nan)
	}
	if want := -16383 * first.Dt; math.Abs(first.T0-want) > 1e-12 {
		t.Fatalf("rolling t0 %g, want %g", first.T0, want)
	}
	// The newest samples are out1 as it was just before the read.
	var last api.ScopeTrace
	for last.Seq < 8 {
		last = <-traces
	}
	n := 0
	for i := len(last.Ch1) - 1; i >= 0 && !math.IsNaN(float64(last.Ch1[i])); i-- {
		n++
	}
	if n < 16384-nan || (nan > 0 && n == 16384-nan) {
		t.Fatalf("rolling trace %d holds %d samples, the first held %d", last.Seq, n, 16384-nan)
	}
	if _, err := sc.Stop(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestContinuousReplacedAcrossInstances: a second continuous request,
// whichever instance takes it, replaces the first.
func TestContinuousReplacedAcrossInstances(t *testing.T) {
	e := newEnv(t, 2)
	sc := e.board.Scope()
	ctx := ctxT(t, 30*time.Second)
	traces, err := sc.Traces(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := 0; i < 4; i++ {
		r, err := sc.Continuous(ctx, api.ScopeSettings{Decimation: 1 << i})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	// Once the last run's traces flow, no other run's may follow.
	last := ids[len(ids)-1]
	for tr := range traces {
		if tr.ID == last {
			break
		}
	}
	for i := 0; i < 20; i++ {
		if tr := <-traces; tr.ID != last {
			t.Fatalf("trace of run %s after run %s started", tr.ID, last)
		}
	}
	sc.Stop(ctx)
}

// Routing the trig module or the IIR to an output (one hw.txn anyone may
// send) leaves the board usable: the scope records out1 and in1 as before,
// where an output model that indexed a generator at -5 would answer every
// later request 500.
func TestTrigAndIIRRoutedToOutputs(t *testing.T) {
	e := newEnv(t, 1)
	ctx := ctxT(t, 10*time.Second)
	for _, slot := range []int{regmap.SlotTrig, regmap.SlotIIR} {
		if err := e.board.HW.Write(ctx, regmap.Slot(slot)+regmap.DSPOutputDirect, 3); err != nil {
			t.Fatal(err)
		}
	}
	e.sine(t, "asg0", 1e6, 0.5, "out1")
	tr := e.single(t, api.ScopeSettings{Input1: "out1", Input2: "in1", Decimation: 1})
	if worst, _ := e.matchTruth(tr, tr.Ch1, regmap.SlotOut1); worst > 0 {
		t.Fatalf("out1 with trig and iir routed to it: error %g V", worst)
	}
	if _, std := stats(tr.Ch2); std < 0.3 {
		t.Fatalf("in1 shows no 0.5 V sine (std %g V)", std)
	}
}

// TestDoneEventsForEveryEnd: a single that is cancelled, times out, is
// stopped or finds the board gone publishes its done event too, with the
// error's code and what is known of it (its id and settings).
func TestDoneEventsForEveryEnd(t *testing.T) {
	e := newEnv(t, 1)
	sc := e.board.Scope()
	done, err := sc.Done(ctxT(t, 60*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	expect := func(id, code string) {
		t.Helper()
		testrig.ExpectDone(t, done, id, code, func(v api.ScopeTrace) bool { return v.Board == "sim" && v.Settings.TriggerSource != "" })
	}

	never := api.ScopeSettings{TriggerSource: "ext_positive_edge", Timeout: 60} // nothing drives the ext pin
	start := func(id string) <-chan error {
		errc := make(chan error, 1)
		s := never
		s.ID = id
		go func() { _, err := sc.Single(context.Background(), s); errc <- err }()
		return errc
	}

	errc := start("cancelled")
	natstest.WaitFor(t, 5*time.Second, "the single to be cancelled", func() bool {
		_ = sc.Cancel(ctxT(t, time.Second), "cancelled")
		return len(errc) > 0
	})
	expect("cancelled", rperr.ECancelled)

	s := never
	s.ID, s.Timeout = "timed-out", 0.2
	if _, err := sc.Single(ctxT(t, 10*time.Second), s); rperr.ErrorCode(err) != rperr.ETimeout {
		t.Fatalf("timeout: %v", err)
	}
	expect("timed-out", rperr.ETimeout)

	errc = start("stopped")
	natstest.WaitFor(t, 5*time.Second, "stop to cancel the single", func() bool {
		r, _ := sc.Stop(ctxT(t, 2*time.Second))
		return r.Cancelled > 0 || len(errc) > 0
	})
	if err := <-errc; rperr.ErrorCode(err) != rperr.ECancelled {
		t.Fatalf("stopped: %v", err)
	}
	expect("stopped", rperr.ECancelled)

	e.sim.Close() // the board goes away: the bridge answers 503
	if _, err := sc.Single(ctxT(t, 10*time.Second), api.ScopeSettings{ID: "no-board"}); rperr.ErrorCode(err) != rperr.EUnavailable {
		t.Fatalf("closed board: %v, want 503", err)
	}
	expect("no-board", rperr.EUnavailable)
}

// TestLongAveragesStayWithinTheBridgesLimits: 1000 traces at decimation
// 65536 (8590 s) get a default timeout, which bounds each trace's wait,
// capped at 3600 s, the bridge's limit for a wait, rather than an error
// about an op the user never wrote.
func TestLongAveragesStayWithinTheBridgesLimits(t *testing.T) {
	s, err := scope.Normalize(api.ScopeSettings{Decimation: 65536, TraceAverage: 1000})
	if err != nil || s.Timeout != scope.MaxTimeout {
		t.Fatalf("%+v %v; want the timeout capped at %g s", s, err, scope.MaxTimeout)
	}
}

// TestDefaultTimeoutCountsTheReadout: the default timeout is 1 s + twice
// each trace's acquisition and readout (2 x 16384 words at 200 ns), worked
// out by hand here: 1000 traces at decimation 1 take 6.7 s of hardware
// time, which twice their acquisition time alone (0.26 s) would not cover.
func TestDefaultTimeoutCountsTheReadout(t *testing.T) {
	const tol = 1e-12
	for _, c := range []struct {
		s    api.ScopeSettings
		want float64
	}{
		{api.ScopeSettings{Decimation: 1}, 1 + 2*(131.072e-6+6.5536e-3)},
		{api.ScopeSettings{Decimation: 1, TraceAverage: 1000}, 1 + 2*1000*(131.072e-6+6.5536e-3)},
		{api.ScopeSettings{Decimation: 64}, 1 + 2*(8.388608e-3+6.5536e-3)},
	} {
		s, err := scope.Normalize(c.s)
		if err != nil || math.Abs(s.Timeout-c.want) > tol {
			t.Errorf("%+v: timeout %.12g s %v, want %.12g s", c.s, s.Timeout, err, c.want)
		}
	}
}
