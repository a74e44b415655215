package hwbridge_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/cmplx"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/board"
	"github.com/rpbus/rpbus/board/sim"
	"github.com/rpbus/rpbus/client"
	"github.com/rpbus/rpbus/internal/natstest"
	"github.com/rpbus/rpbus/internal/testrig"
	"github.com/rpbus/rpbus/regmap"
	"github.com/rpbus/rpbus/rperr"
	"github.com/rpbus/rpbus/services/hwbridge"
	"github.com/rpbus/rpbus/wire"
)

// env is a bridge on a simulated board behind a real embedded server.
type env struct {
	nc     *nats.Conn
	board  *client.Board
	bridge *hwbridge.Bridge
	sim    *sim.Board
	cfg    sim.Config
	unplug func() // the monitor backend: the board's server goes away
}

func newSim(tb testing.TB) (*sim.Board, sim.Config) {
	tb.Helper()
	cfg := sim.DefaultConfig()
	cfg.Seed = 1
	b, err := sim.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { b.Close() })
	return b, cfg
}

// start serves f as board "sim" and returns a client handle over TCP.
func start(tb testing.TB, f board.FPGA, backend string) *env {
	tb.Helper()
	ns := natstest.Server(tb)
	nc := natstest.Connect(tb, ns)
	br, err := hwbridge.Start(nc, hwbridge.Config{Board: "sim", Backend: backend, FPGA: f})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { br.Stop(context.Background()) })
	cnc := natstest.Connect(tb, ns)
	c, err := client.New(cnc)
	if err != nil {
		tb.Fatal(err)
	}
	return &env{nc: cnc, board: c.Board("sim"), bridge: br}
}

func startSim(tb testing.TB) *env {
	b, cfg := newSim(tb)
	e := start(tb, b, "sim")
	e.sim, e.cfg = b, cfg
	return e
}

// startMonitor serves a sim over the monitor protocol on loopback and puts
// the bridge on a monitor client of it.
func startMonitor(tb testing.TB) *env {
	tb.Helper()
	b, cfg := newSim(tb)
	addr, unplug := testrig.UnpluggableMonitor(tb, b)
	e := start(tb, testrig.DialMonitor(tb, addr), "monitor")
	e.sim, e.cfg = b, cfg
	e.unplug = unplug
	return e
}

func ctxT(tb testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	tb.Cleanup(cancel)
	return ctx
}

func TestRegisterRoundTrip(t *testing.T) {
	for name, mk := range map[string]func(testing.TB) *env{"sim": startSim, "monitor": startMonitor} {
		t.Run(name, func(t *testing.T) {
			e := mk(t)
			ctx := ctxT(t)
			threshold := regmap.ScopeBase + regmap.ScopeThreshold
			iqFreq := regmap.Slot(5) + regmap.IQFrequency
			r, err := e.board.HW.Txn(ctx,
				api.Write(threshold, regmap.VoltsToReg(0.25)),
				api.Write(iqFreq, 0x12345678),
				api.Read(threshold, 1),
				api.Read(iqFreq, 1),
			)
			if err != nil {
				t.Fatal(err)
			}
			if got := regmap.RegToVolts(r.Results[2].Words[0]); got != 0.25 {
				t.Errorf("threshold read back %v V, want 0.25", got)
			}
			if got := r.Results[3].Words[0]; got != 0x12345678 {
				t.Errorf("iq0 frequency read back %#x", got)
			}
			buf := regmap.ScopeBase + regmap.ScopeCh1Data
			r, err = e.board.HW.Txn(ctx, api.Read(buf, regmap.ScopeBufferLen), api.Read16(buf, regmap.ScopeBufferLen))
			if err != nil || len(r.Results[0].Words) != regmap.ScopeBufferLen || len(r.Results[1].Halves) != regmap.ScopeBufferLen {
				t.Fatalf("buffer read: %v", err)
			}
			for i, w := range r.Results[0].Words {
				if uint16(w) != r.Results[1].Halves[i] {
					t.Fatalf("word %d: %#x, its 16-bit read %#x", i, w, r.Results[1].Halves[i])
				}
			}
		})
	}
}

// acquire runs one immediate-trigger acquisition of both channels and
// returns them in volts.
func acquire(tb testing.TB, ctx context.Context, hw *client.HW, ch1, ch2 string, dec uint32) (a, b []float64) {
	tb.Helper()
	s1, _ := regmap.SlotNumber(ch1)
	s2, _ := regmap.SlotNumber(ch2)
	sc := regmap.ScopeBase
	timeout := 2 + 2*regmap.Duration(dec)
	r, err := hw.Txn(ctx,
		api.Write(regmap.Slot(8)+regmap.DSPInputSelect, uint32(s1)),
		api.Write(regmap.Slot(9)+regmap.DSPInputSelect, uint32(s2)),
		api.Write(sc+regmap.ScopeControl, regmap.ScopeReset),
		api.Write(sc+regmap.ScopeDecimation, dec),
		api.Write(sc+regmap.ScopeAverage, 1),
		api.Write(sc+regmap.ScopeDelay, regmap.ScopeBufferLen),
		api.Write(sc+regmap.ScopeControl, regmap.ScopeArm),
		api.Write(sc+regmap.ScopeTriggerSource, regmap.TrigImmediately),
		api.Wait(sc+regmap.ScopeControl, regmap.ScopeArm|regmap.ScopeDelayRunning, 0, timeout),
		api.Read(sc+regmap.ScopeTriggerPointer, 1),
		api.Read(sc+regmap.ScopeCh1Data, regmap.ScopeBufferLen),
		api.Read(sc+regmap.ScopeCh2Data, regmap.ScopeBufferLen),
	)
	if err != nil {
		tb.Fatal(err)
	}
	n := len(r.Results)
	roll := int(r.Results[n-3].Words[0]+regmap.ScopeBufferLen+1) % regmap.ScopeBufferLen
	conv := func(w []uint32) []float64 {
		v := make([]float64, len(w))
		for i := range w {
			v[i] = regmap.RegToVolts(w[(i+roll)%len(w)] & 0x3fff)
		}
		return v
	}
	return conv(r.Results[n-2].Words), conv(r.Results[n-1].Words)
}

// phasor fits a sine of frequency f (cycles per sample) and returns its
// complex amplitude.
func phasor(x []float64, f float64) complex128 {
	var s complex128
	for i, v := range x {
		s += complex(v, 0) * cmplx.Exp(complex(0, -2*math.Pi*f*float64(i)))
	}
	return 2 * s / complex(float64(len(x)), 0)
}

func TestSineThroughDeviceUnderTest(t *testing.T) {
	e := startSim(t)
	ctx := ctxT(t)
	const (
		dec       = 8
		amplitude = 0.4
	)
	fs := regmap.Clock / dec
	// A whole number of periods in the trace, so the fit has no leakage.
	f := 64 * fs / regmap.ScopeBufferLen
	applied, err := e.board.ASG0.Setup(ctx, api.ASGSetup{
		Waveform: ptr("sin"), Frequency: ptr(f), Amplitude: ptr(amplitude), OutputDirect: ptr("out1"), TriggerSource: ptr("immediately"),
	})
	if err != nil {
		t.Fatal(err)
	}
	in1, gen := acquire(t, ctx, e.board.HW, "in1", "asg0", dec)
	fc := applied.Frequency / fs
	pIn, pGen := phasor(in1, fc), phasor(gen, fc)
	if math.Abs(cmplx.Abs(pGen)-amplitude) > 2e-3 {
		t.Fatalf("generator amplitude %v V, want %v", cmplx.Abs(pGen), amplitude)
	}
	got := pIn / pGen
	want := e.cfg.InResponse(1, applied.Frequency)
	// Tolerance from the noise: the fit's error on a phasor is about
	// sigma*sqrt(2/N) per trace, relative to the amplitude.
	sigma := e.cfg.SampleNoiseStd(dec, true)
	tol := 6*sigma*math.Sqrt(2.0/regmap.ScopeBufferLen)/(amplitude*cmplx.Abs(want)) + 2.0/(1<<13)
	if rel := cmplx.Abs(got-want) / cmplx.Abs(want); rel > tol {
		t.Errorf("in1/asg0 at %.0f Hz = %v (|H| %.4f, %.2f deg), model %v (|H| %.4f, %.2f deg): rel error %.2g > %.2g",
			applied.Frequency, got, cmplx.Abs(got), deg(got), want, cmplx.Abs(want), deg(want), rel, tol)
	}
}

func deg(z complex128) float64 { return cmplx.Phase(z) * 180 / math.Pi }

func ptr[T any](v T) *T { return &v }

// TestModulesRunConcurrently shows that an iq0 transaction runs to its end
// while a scope transaction is still waiting for a half-second
// acquisition: transactions on different modules do not wait for each
// other.
func TestModulesRunConcurrently(t *testing.T) {
	e := startSim(t)
	ctx := ctxT(t)
	const dec = 4096 // 0.54 s acquisition
	sc := regmap.ScopeBase
	scopeDone := make(chan error, 1)
	go func() {
		_, err := e.board.HW.Txn(ctx,
			api.Write(sc+regmap.ScopeControl, regmap.ScopeReset),
			api.Write(sc+regmap.ScopeDecimation, dec),
			api.Write(sc+regmap.ScopeDelay, regmap.ScopeBufferLen),
			api.Write(sc+regmap.ScopeControl, regmap.ScopeArm),
			api.Write(sc+regmap.ScopeTriggerSource, regmap.TrigImmediately),
			api.Wait(sc+regmap.ScopeControl, regmap.ScopeArm|regmap.ScopeDelayRunning, 0, 5),
		)
		scopeDone <- err
	}()
	// Watch the board itself (not through the bridge) until the scope
	// transaction has armed and is waiting.
	natstest.WaitFor(t, 5*time.Second, "the scope to be armed", func() bool {
		var w [1]uint32
		_ = e.sim.Read(sc+regmap.ScopeControl, w[:])
		return w[0]&regmap.ScopeArm != 0
	})
	iq := regmap.Slot(5)
	if _, err := e.board.HW.Txn(ctx,
		api.Write(iq+regmap.IQNASleepCycles, 0),
		api.Write(iq+regmap.IQNAAverages, 125000), // 1 ms
		api.Write(iq+regmap.IQFrequency, regmap.FreqToReg(1e6, 32)),
		api.Wait(iq+regmap.IQNAISumLow, regmap.IQNABusy, 0, 2),
	); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-scopeDone:
		t.Fatalf("the scope transaction ended (%v) before the iq0 transaction: they did not overlap", err)
	default:
	}
	if err := <-scopeDone; err != nil {
		t.Fatal(err)
	}
}

// TestScopeTransactionsNeverInterleave runs transactions that write a
// marker, wait for an acquisition and read the marker back: if another
// transaction on the scope ran in between, the marker would differ.
func TestScopeTransactionsNeverInterleave(t *testing.T) {
	e := startSim(t)
	ctx := ctxT(t)
	sc := regmap.ScopeBase
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Go(func() {
			for i := 0; i < 5; i++ {
				marker := regmap.VoltsToReg(float64(w*5+i) / 64)
				r, err := e.board.HW.Txn(ctx,
					api.Write(sc+regmap.ScopeThreshold, marker),
					api.Write(sc+regmap.ScopeControl, regmap.ScopeReset),
					api.Write(sc+regmap.ScopeDecimation, 1),
					api.Write(sc+regmap.ScopeDelay, regmap.ScopeBufferLen),
					api.Write(sc+regmap.ScopeControl, regmap.ScopeArm),
					api.Write(sc+regmap.ScopeTriggerSource, regmap.TrigImmediately),
					api.Wait(sc+regmap.ScopeControl, regmap.ScopeArm|regmap.ScopeDelayRunning, 0, 2),
					api.Read(sc+regmap.ScopeThreshold, 1),
				)
				if err != nil {
					t.Error(err)
					return
				}
				if got := r.Results[7].Words[0] & 0x3fff; got != marker&0x3fff {
					t.Errorf("worker %d: marker %#x became %#x: transactions interleaved", w, marker, got)
				}
			}
		})
	}
	wg.Wait()
}

func TestBadInputAnswers400(t *testing.T) {
	e := startSim(t)
	ctx := ctxT(t)
	subject := "rp.sim.hw.txn"
	big := make([]api.Op, api.MaxTxnOps+1)
	for i := range big {
		big[i] = api.Read(regmap.ScopeBase, 1)
	}
	manyWords := make([]api.Op, 3)
	for i := range manyWords {
		manyWords[i] = api.Read(regmap.ScopeBase+regmap.ScopeCh1Data, 65535)
	}
	cases := []struct {
		name string
		raw  []byte // sent as JSON when set
		txn  api.Txn
		want string // a word the message must contain
	}{
		{name: "unknown op", txn: api.Txn{Ops: []api.Op{{Op: "poke", Addr: api.Addr(regmap.ScopeBase)}}}, want: "ops[0].op"},
		{name: "unmapped address", txn: api.Txn{Ops: []api.Op{api.Read(0x50000000, 1)}}, want: "ops[0].addr"},
		{name: "count over 65535", txn: api.Txn{Ops: []api.Op{api.Read(regmap.ScopeBase+regmap.ScopeCh1Data, 70000)}}, want: "ops[0].n"},
		{name: "zero count", txn: api.Txn{Ops: []api.Op{api.Read(regmap.ScopeBase, 0)}}, want: "ops[0].n"},
		{name: "read width", txn: api.Txn{Ops: []api.Op{{Op: api.OpRead, Addr: api.Addr(regmap.ScopeBase), N: 1, Width: 8}}}, want: "ops[0].width"},
		{name: "range leaves module", txn: api.Txn{Ops: []api.Op{api.Read(regmap.Slot(5)+0xfffc, 2)}}, want: "ops[0].addr"},
		{name: "too many ops", txn: api.Txn{Ops: big}, want: "ops"},
		{name: "too many words", txn: api.Txn{Ops: manyWords}, want: "words"},
		{name: "no ops", txn: api.Txn{}, want: "ops"},
		{name: "wait timeout", txn: api.Txn{Ops: []api.Op{api.Wait(regmap.ScopeBase, 1, 0, -1)}}, want: "timeout"},
		{name: "malformed json", raw: []byte(`{"ops": [`), want: "JSON"},
		{name: "wrong type", raw: []byte(`{"ops": [{"op": "read", "addr": "0xZZ", "n": 1}]}`), want: "addr"},
		{name: "unknown field", raw: []byte(`{"ops": [], "speed": 3}`), want: "speed"},
		{name: "malformed msgpack", raw: []byte{0xc1, 0xff}, want: "msgpack"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.raw != nil {
				msg := nats.NewMsg(subject)
				msg.Data = tc.raw
				if tc.want == "msgpack" {
					msg.Header.Set("Content-Type", "application/msgpack")
				}
				var reply *nats.Msg
				reply, err = e.nc.RequestMsgWithContext(ctx, msg)
				if err == nil {
					err = wire.ErrorFromMsg(reply)
				}
			} else {
				_, err = e.board.HW.Txn(ctx, tc.txn.Ops...)
			}
			var re *rperr.Error
			if !errors.As(err, &re) || re.Code != rperr.EInvalid {
				t.Fatalf("got %v, want a 400", err)
			}
			if !strings.Contains(re.Message, tc.want) {
				t.Errorf("message %q does not name %q", re.Message, tc.want)
			}
			// The bridge keeps serving.
			if _, err := e.board.HW.Read(ctx, regmap.ScopeBase+regmap.ScopeDecimation, 1); err != nil {
				t.Fatalf("good request after bad one: %v", err)
			}
		})
	}
}

func TestWaitTimeoutAnswers408(t *testing.T) {
	e := startSim(t)
	ctx := ctxT(t)
	// The iq0 busy bit never sets without a started point.
	_, err := e.board.HW.Txn(ctx, api.Wait(regmap.Slot(5)+regmap.IQNAISumLow, regmap.IQNABusy, regmap.IQNABusy, 0.05))
	if rperr.ErrorCode(err) != rperr.ETimeout {
		t.Fatalf("got %v, want timeout", err)
	}
}

func TestGeneratorSetupValidates(t *testing.T) {
	e := startSim(t)
	ctx := ctxT(t)
	_, err := e.board.ASG1.Setup(ctx, api.ASGSetup{Amplitude: ptr(1.5)})
	if rperr.ErrorCode(err) != rperr.EInvalid || !strings.Contains(rperr.ErrorMessage(err), "amplitude") {
		t.Fatalf("amplitude 1.5 V: got %v", err)
	}
	s, err := e.board.ASG1.Setup(ctx, api.ASGSetup{Amplitude: ptr(0.3), Waveform: ptr("square")})
	if err != nil || s.Waveform != "square" || math.Abs(s.Amplitude-0.3) > 1e-3 || s.Generator != "asg1" {
		t.Fatalf("setup: %+v %v", s, err)
	}
}

func TestInfoAndUnknownBoard(t *testing.T) {
	e := startSim(t)
	ctx := ctxT(t)
	info, err := e.board.Info(ctx)
	if err != nil || info.Backend != "sim" || info.Clock != 125e6 || len(info.Decimations) != 17 {
		t.Fatalf("info %+v, %v", info, err)
	}
	c, _ := client.New(e.nc)
	if _, err := c.Board("nosuch").Info(ctx); rperr.ErrorCode(err) != rperr.ENotFound {
		t.Fatalf("unknown board: %v", err)
	}
}

// TestCancel cancels a transaction waiting in a wait op, and one whose
// cancel overtook it (cancel and transaction travel on different
// subjects).
func TestCancel(t *testing.T) {
	e := startSim(t)
	ctx := ctxT(t)
	never := api.Wait(regmap.Slot(5)+regmap.IQNAISumLow, regmap.IQNABusy, regmap.IQNABusy, 30)
	cl, _ := client.New(e.nc)

	done := make(chan error, 1)
	go func() {
		_, err := e.bridge.Exec(ctx, api.Txn{ID: "waiting", Ops: []api.Op{never}})
		done <- err
	}()
	var r api.TxnCancelReply
	natstest.WaitFor(t, 5*time.Second, "the transaction to be cancelled", func() bool {
		if len(done) > 0 {
			return true // a cancel that overtook it took effect when it came
		}
		err := cl.Request(ctx, "rp.sim.hw.cancel", api.TxnCancel{ID: "waiting"}, &r)
		return err == nil && r.Cancelled
	})
	if err := <-done; rperr.ErrorCode(err) != rperr.ECancelled {
		t.Fatalf("cancelled transaction answered %v, want cancelled", err)
	}

	if err := cl.Request(ctx, "rp.sim.hw.cancel", api.TxnCancel{ID: "early"}, &r); err != nil || r.Cancelled {
		t.Fatalf("early cancel: %+v %v", r, err)
	}
	if _, err := e.bridge.Exec(ctx, api.Txn{ID: "early", Ops: []api.Op{never}}); rperr.ErrorCode(err) != rperr.ECancelled {
		t.Fatalf("transaction overtaken by its cancel answered %v", err)
	}
	// The modules are free again.
	if _, err := e.board.HW.Read(ctx, regmap.Slot(5)+regmap.IQNAISumLow, 4); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkTxnRead1 is one 1-word read through the bridge, Go client over
// TCP loopback; BenchmarkNATSEcho is the same round trip with a bare NATS
// responder, the floor it stands on. Compare them from one run.
func BenchmarkTxnRead1(b *testing.B) {
	e := startSim(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.board.HW.Read(ctx, regmap.ScopeBase+regmap.ScopeDecimation, 1); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNATSEcho(b *testing.B) {
	ns := natstest.Server(b)
	srv := natstest.Connect(b, ns)
	if _, err := srv.Subscribe("echo", func(m *nats.Msg) { _ = m.Respond(m.Data) }); err != nil {
		b.Fatal(err)
	}
	_ = srv.Flush()
	nc := natstest.Connect(b, ns)
	payload := make([]byte, 16)
	for b.Loop() {
		if _, err := nc.Request("echo", payload, time.Second); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkClientEcho(b *testing.B) {
	ns := natstest.Server(b)
	srv := natstest.Connect(b, ns)
	if _, err := srv.Subscribe("echo", func(m *nats.Msg) { _ = m.RespondMsg(&nats.Msg{Data: m.Data, Header: m.Header}) }); err != nil {
		b.Fatal(err)
	}
	_ = srv.Flush()
	c, _ := client.New(natstest.Connect(b, ns))
	ctx := context.Background()
	var out api.TxnReply
	for b.Loop() {
		if err := c.Request(ctx, "echo", api.Txn{Ops: []api.Op{api.Read(regmap.ScopeBase, 1)}}, &out); err != nil && rperr.ErrorCode(err) != rperr.EInternal {
			b.Fatal(err)
		}
	}
}

func BenchmarkExecRead1(b *testing.B) {
	e := startSim(b)
	ctx := context.Background()
	t := api.Txn{Ops: []api.Op{api.Read(regmap.ScopeBase+regmap.ScopeDecimation, 1)}}
	for b.Loop() {
		if _, err := e.bridge.Exec(ctx, t); err != nil {
			b.Fatal(err)
		}
	}
}

// TestTransactionsRunInArrivalOrder sends transactions on one module back
// to back without waiting for replies; each waits until a counter holds
// its index and then increments it. Run in any other order than their
// arrival, one would wait for a value that never comes and time out.
func TestTransactionsRunInArrivalOrder(t *testing.T) {
	e := startSim(t)
	ctx := ctxT(t)
	counter := regmap.Slot(0) + regmap.PIDSetpoint // 14-bit storage on pid0
	if err := e.board.HW.Write(ctx, counter, 0); err != nil {
		t.Fatal(err)
	}
	const n = 200
	inbox := nats.NewInbox()
	replies := make(chan *nats.Msg, n)
	sub, err := e.nc.ChanSubscribe(inbox+".*", replies)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	for i := 0; i < n; i++ {
		data, _ := wire.Msgpack.Marshal(api.Txn{Ops: []api.Op{
			api.Wait(counter, 0x3fff, uint32(i), 0.5),
			api.Write(counter, uint32(i+1)),
		}})
		msg := &nats.Msg{Subject: "rp.sim.hw.txn", Reply: fmt.Sprintf("%s.%d", inbox, i), Data: data, Header: wire.Msgpack.Header()}
		if err := e.nc.PublishMsg(msg); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < n; i++ {
		select {
		case m := <-replies:
			if err := wire.ErrorFromMsg(m); err != nil {
				t.Fatalf("%s: %v", m.Subject, err)
			}
		case <-ctx.Done():
			t.Fatalf("%d of %d replies", i, n)
		}
	}
	words, err := e.board.HW.Read(ctx, counter, 1)
	if err != nil || words[0]&0x3fff != n {
		t.Fatalf("counter %v, want %d: %v", words, n, err)
	}
}

// TestInfoReportsTheModel: hw.info carries the simulated board's model
// when the bridge has one, and no sim_model key at all when it has none.
func TestInfoReportsTheModel(t *testing.T) {
	cfg := sim.DefaultConfig()
	cfg.DUT1.F0 = 1.25e6
	b, err := sim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	ns := natstest.Server(t)
	nc := natstest.Connect(t, ns)
	for _, c := range []struct {
		board string
		model sim.Config
	}{{"modelled", cfg}, {"bare", sim.Config{}}} {
		br, err := hwbridge.Start(natstest.Connect(t, ns), hwbridge.Config{Board: c.board, Backend: "sim", FPGA: b, Model: c.model})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { br.Stop(context.Background()) })
	}
	info := func(board string) map[string]json.RawMessage {
		msg, err := nc.Request(api.Subject(board, "hw", "info"), nil, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(msg.Data, &m); err != nil {
			t.Fatalf("%s: %v: %s", board, err, msg.Data)
		}
		return m
	}
	var got sim.Config
	if err := json.Unmarshal(info("modelled")["sim_model"], &got); err != nil || got != cfg {
		t.Errorf("sim_model %+v (%v), want %+v", got, err, cfg)
	}
	if raw, ok := info("bare")["sim_model"]; ok {
		t.Errorf("a bridge without a model reports sim_model %s", raw)
	}
}
