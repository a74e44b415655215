package scope

import (
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/regmap"
	"github.com/rpbus/rpbus/rperr"
	"github.com/rpbus/rpbus/wire"
)

// acqReply is an acquisition transaction's reply whose two buffers hold
// the 14-bit words (k*step + off) & 0x3FFF, with the trigger pointer and
// the two words of the trigger timestamp.
func acqReply(step, off int, trigPtr uint32, trigTime ...uint32) api.TxnReply {
	words := make([]uint16, N)
	for k := range words {
		words[k] = uint16(k*step+off) & 0x3FFF
	}
	tr := api.TxnReply{Results: make([]api.OpResult, opData+1)}
	tr.Results[opTrigPtr].Words = []uint32{trigPtr}
	tr.Results[opTrigTime].Words = trigTime
	tr.Results[opData].Halves = append(words, words...)
	return tr
}

// BenchmarkTraceEncode is the service's own work per trace after the
// transaction: rolling and sign-extending the 14-bit samples into 16-bit
// codes and encoding the msgpack reply. Its allocations are the service's
// per trace (the reply's bytes); none depends on the sample count.
func BenchmarkTraceEncode(b *testing.B) {
	p, err := newPlan(api.ScopeSettings{})
	if err != nil {
		b.Fatal(err)
	}
	tr := acqReply(7, 0, 123, 1, 0)
	now := time.Now()
	b.ReportAllocs()
	b.SetBytes(2 * 2 * N)
	for i := 0; i < b.N; i++ {
		r := getRaw()
		r.addTrace(tr, p.delay, true)
		f := getSamples()
		t := makeTrace("sim", "id", p, r, f, now)
		mp, err := encodeMsgpack(&t, 1)
		if err != nil {
			b.Fatal(err)
		}
		mp.release()
		putSamples(f)
		putRaw(r)
	}
}

// BenchmarkTraceDecode is a client's work per trace: decoding the msgpack
// reply, whose 16-bit codes become float32 volts, into a trace whose
// arrays are reused (as client.Scope.SingleInto does).
func BenchmarkTraceDecode(b *testing.B) {
	p, err := newPlan(api.ScopeSettings{})
	if err != nil {
		b.Fatal(err)
	}
	tr := acqReply(7, 0, 123, 1, 0)
	r := getRaw()
	defer putRaw(r)
	r.addTrace(tr, p.delay, true)
	s := getSamples()
	defer putSamples(s)
	t := makeTrace("sim", "id", p, r, s, time.Now())
	mp, err := encodeMsgpack(&t, 1)
	if err != nil {
		b.Fatal(err)
	}
	defer mp.release()
	var out api.ScopeTrace
	b.ReportAllocs()
	b.SetBytes(int64(len(mp.data)))
	for b.Loop() {
		if err := wire.Msgpack.Unmarshal(mp.data, &out); err != nil {
			b.Fatal(err)
		}
	}
	if len(out.Ch1) != N || len(out.Ch2) != N {
		b.Fatalf("decoded %d and %d samples", len(out.Ch1), len(out.Ch2))
	}
}

func TestVoltsRollAndNaN(t *testing.T) {
	r := getRaw()
	defer putRaw(r)
	tr := acqReply(1, 0, 100, 125e6, 0) // 14-bit two's complement: word k >= 8192 is negative
	r.addTrace(tr, 8192, false)
	// PyRPL rolls by -(trigger pointer + delay + 1): sample 0 is address
	// 100 + 8192 + 1.
	if got, want := r.sum[0][0], adc(8293); got != want || r.trigTime != 1 {
		t.Fatalf("first sample %d, want %d; trigger time %g", got, want, r.trigTime)
	}
	if adc(0x2000) != -8192 || adc(0x1FFF) != 8191 || adc(0x3FFF) != -1 {
		t.Fatal("14-bit decoding")
	}
	var ch1, ch2 [N]float32
	// Unsummed, rolled while converting: the same codes.
	one := getRaw()
	defer putRaw(one)
	one.addTrace(tr, 8192, true)
	s := getSamples()
	defer putSamples(s)
	one.channels(s)
	for ch := range 2 {
		for i, v := range s.codes[ch] {
			if int32(v) != r.sum[ch][i] {
				t.Fatalf("unsummed trace, channel %d sample %d: %d, summed %d", ch+1, i, v, r.sum[ch][i])
			}
		}
	}
	r.valid = 10
	r.volts(ch1[:], ch2[:])
	if ch1[N-11] == ch1[N-11] || ch1[N-10] != float32(r.sum[0][N-10])/8192 {
		t.Fatalf("rolling: %g %g", ch1[N-11], ch1[N-10])
	}
}

// A single trace travels as 16-bit codes and decodes, in both encodings,
// into the api.ScopeTrace a client declares: every field, and volts equal
// to the float32 conversion. Averages and rolling traces travel as volts.
func TestTraceOutDecodesAsScopeTrace(t *testing.T) {
	p, err := newPlan(api.ScopeSettings{Decimation: 4, TriggerSource: "ch1_positive_edge", Threshold: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	tr := acqReply(7, 3, 77, 125e6, 1)
	start := time.Unix(1700000000, 5000)
	for _, c := range []struct {
		name    string
		only    bool // one trace, unsummed
		traces  int
		valid   int
		wantQ16 bool
	}{
		{"single", true, 1, N, true},
		{"summed once", false, 1, N, true},
		{"average of 2", false, 2, N, false},
		{"rolling, partly written", false, 1, 100, false},
	} {
		r, summed := getRaw(), getRaw()
		for range c.traces {
			r.addTrace(tr, p.delay, c.only)
			summed.addTrace(tr, p.delay, false)
		}
		r.valid, summed.valid = c.valid, c.valid
		r.started, r.ended = start, start.Add(time.Millisecond)
		var want [2][N]float32
		summed.volts(want[0][:], want[1][:])
		putRaw(summed)
		s := getSamples()
		out := makeTrace("sim", "scope-7", p, r, s, start)
		out.Seq = 3
		if _, ok := out.Ch1.(wire.Q16); ok != c.wantQ16 {
			t.Errorf("%s: ch1 is %T", c.name, out.Ch1)
		}
		for _, codec := range []wire.Codec{wire.Msgpack, wire.JSON} {
			var b []byte
			var err error
			if codec == wire.Msgpack {
				b, err = codec.Marshal(&out)
			} else {
				b, err = codec.Marshal(out.volts(s)) // as handleSingle sends JSON
				if !strings.HasPrefix(string(b), `{"id":"scope-7","board":"sim"`) {
					t.Errorf("%s: JSON begins %.40s, want the id and board first", c.name, b)
				}
			}
			if err != nil {
				t.Fatal(err)
			}
			var got api.ScopeTrace
			if err := codec.Unmarshal(b, &got); err != nil {
				t.Fatalf("%s %v: %v", c.name, codec, err)
			}
			wantTr := out.ScopeTrace
			wantTr.Ch1, wantTr.Ch2 = want[0][:], want[1][:]
			if !sameTrace(got, wantTr) {
				t.Errorf("%s %v: decoded %+v", c.name, codec, got.Timing)
			}
		}
		putSamples(s)
		putRaw(r)
	}
}

func sameTrace(a, b api.ScopeTrace) bool {
	for _, pair := range [2][2]wire.F32{{a.Ch1, b.Ch1}, {a.Ch2, b.Ch2}} {
		if len(pair[0]) != N || len(pair[1]) != N {
			return false
		}
		for i, x := range pair[0] {
			if y := pair[1][i]; x != y && !(math.IsNaN(float64(x)) && math.IsNaN(float64(y))) {
				return false
			}
		}
	}
	a.Ch1, a.Ch2, b.Ch1, b.Ch2 = nil, nil, nil, nil
	return reflect.DeepEqual(a, b)
}

// signExtend14 at every 14-bit code, at every alignment and length.
func TestSignExtend14(t *testing.T) {
	src := make([]uint16, 1<<14+9)
	for i := range src {
		src[i] = uint16(i) & 0x3FFF
		if i%5 == 0 {
			src[i] |= 0xC000 // bits above the sample are ignored
		}
	}
	for _, off := range []int{0, 1, 2, 3} {
		for _, n := range []int{0, 1, 3, 4, 5, 1 << 14} {
			dst := make([]int16, n)
			if got := signExtend14(dst, src[off:]); got != n {
				t.Fatalf("copied %d, want %d", got, n)
			}
			for i, v := range dst {
				if want := int16(adc(src[off+i])); v != want {
					t.Fatalf("offset %d, length %d: sample %d of %#x = %d, want %d", off, n, i, src[off+i], v, want)
				}
			}
		}
	}
}

// TestShortData: a reply whose block of both buffers is not 2N samples
// is the bridge's fault, answered as an internal error, never read out of
// range or taken for a trace.
func TestShortData(t *testing.T) {
	for _, n := range []int{0, N, 2*N - 1, 2*N + 1} {
		tr := acqReply(1, 0, 0, 0, 0)
		tr.Results[opData].Halves = make([]uint16, n)
		r := getRaw()
		err := r.addTrace(tr, 0, true)
		putRaw(r)
		if rperr.ErrorCode(err) != rperr.EInternal {
			t.Errorf("%d samples: %v, want an internal error", n, err)
		}
	}
	tr := acqReply(1, 0, 0, 0, 0)
	tr.Results = tr.Results[:opData]
	if err := getRaw().addTrace(tr, 0, true); rperr.ErrorCode(err) != rperr.EInternal {
		t.Errorf("a missing result: %v, want an internal error", err)
	}
}

// TestDataOp: both channels are one read of 2N words from channel 1's
// buffer, which channel 2's follows in the address space.
func TestDataOp(t *testing.T) {
	op := dataOp()
	if uint32(op.Addr) != reg(regmap.ScopeCh1Data) || op.N != 2*N || op.Width != 16 {
		t.Fatalf("dataOp %+v, want 2N halves from channel 1's buffer", op)
	}
	if regmap.ScopeCh2Data != regmap.ScopeCh1Data+4*N {
		t.Fatalf("channel 2's buffer at %#x does not follow channel 1's", regmap.ScopeCh2Data)
	}
}
