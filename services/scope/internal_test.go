package scope

import (
	"testing"
	"time"

	"github.com/rpbus/rpbus/api"
)

// BenchmarkTraceEncode is the service's own work per trace after the
// transaction: rolling the buffers into the sum, converting to float32
// volts and encoding the msgpack reply. Its allocations are the service's
// per trace (the reply's bytes); none depends on the sample count.
func BenchmarkTraceEncode(b *testing.B) {
	p, err := newPlan(api.ScopeSettings{})
	if err != nil {
		b.Fatal(err)
	}
	words := make([]uint16, N)
	for i := range words {
		words[i] = uint16(i*7) & 0x3FFF
	}
	tr := api.TxnReply{Results: make([]api.OpResult, opCh2+1)}
	tr.Results[opTrigPtr].Words = []uint32{123}
	tr.Results[opTrigTime].Words = []uint32{1, 0}
	tr.Results[opCh1].Halves = words
	tr.Results[opCh2].Halves = words
	now := time.Now()
	b.ReportAllocs()
	b.SetBytes(2 * 4 * N)
	for i := 0; i < b.N; i++ {
		r := getRaw()
		r.addTrace(tr, p.delay, true)
		f := getFloats()
		t := makeTrace("sim", "id", p, r, f, now)
		mp, err := encodeMsgpack(&t, 1)
		if err != nil {
			b.Fatal(err)
		}
		mp.release()
		putFloats(f)
		putRaw(r)
	}
}

func TestVoltsRollAndNaN(t *testing.T) {
	r := getRaw()
	defer putRaw(r)
	words := make([]uint16, N)
	for i := range words {
		words[i] = uint16(i) & 0x3FFF // 14-bit two's complement: i >= 8192 is negative
	}
	tr := api.TxnReply{Results: make([]api.OpResult, opCh2+1)}
	tr.Results[opTrigPtr].Words = []uint32{100}
	tr.Results[opTrigTime].Words = []uint32{125e6, 0}
	tr.Results[opCh1].Halves = words
	tr.Results[opCh2].Halves = words
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
	// Unsummed, rolled while converting: the same volts.
	one := getRaw()
	defer putRaw(one)
	one.addTrace(tr, 8192, true)
	one.volts(ch1[:], ch2[:])
	if ch1[0] != float32(r.sum[0][0])/8192 || ch2[N-1] != float32(r.sum[1][N-1])/8192 {
		t.Fatalf("unsummed trace: %g %g", ch1[0], ch2[N-1])
	}
	r.valid = 10
	r.volts(ch1[:], ch2[:])
	if ch1[N-11] == ch1[N-11] || ch1[N-10] != float32(r.sum[0][N-10])/8192 {
		t.Fatalf("rolling: %g %g", ch1[N-11], ch1[N-10])
	}
}
