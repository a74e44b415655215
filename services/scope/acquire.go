package scope

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"
	"unsafe"

	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/client"
	"github.com/rpbus/rpbus/regmap"
	"github.com/rpbus/rpbus/rperr"
	"github.com/rpbus/rpbus/wire"
)

func reg(off uint32) uint32 { return regmap.ScopeBase + off }

// Indices of the results of an acquisition transaction (acqOps).
const (
	opWait = 10 + iota
	opTrigPtr
	opTrigTime
	opData
)

// acqOps is one acquisition as one transaction, in PyRPL's order
// (scope._start_trace_acquisition): input selects, reset, settings, arm,
// trigger source (for "immediately" writing it is the software trigger),
// then wait until neither armed nor the delay runs (which cannot happen
// before the acquisition time, the wait's hint), and read the trigger
// pointer, the trigger timestamp and both buffers.
func (p *plan) acqOps(timeout float64) []api.Op {
	return []api.Op{
		api.Write(regmap.Slot(regmap.SlotScope1)+regmap.DSPInputSelect, p.in1),
		api.Write(regmap.Slot(regmap.SlotScope2)+regmap.DSPInputSelect, p.in2),
		api.Write(reg(regmap.ScopeControl), regmap.ScopeReset),
		api.Write(reg(regmap.ScopeDecimation), p.dec),
		api.Write(reg(regmap.ScopeAverage), b2u(p.avg)),
		api.Write(reg(regmap.ScopeThreshold), p.threshold),
		api.Write(reg(regmap.ScopeHysteresis), p.hysteresis),
		api.Write(reg(regmap.ScopeDelay), p.delay),
		api.Write(reg(regmap.ScopeControl), regmap.ScopeArm),
		api.Write(reg(regmap.ScopeTriggerSource), p.trig),
		// Not done before the acquisition time after the arm: a bridge
		// that polls sleeps through it.
		api.WaitAfter(reg(regmap.ScopeControl), regmap.ScopeArm|regmap.ScopeDelayRunning, 0, p.acqTime(), timeout),
		api.Read(reg(regmap.ScopeTriggerPointer), 1),
		api.Read(reg(regmap.ScopeTrigTimeLow), 2),
		dataOp(),
	}
}

// dataOp reads both channels' buffers as one block: channel 2's buffer
// follows channel 1's in the address space, and one access of 2N words
// costs the bus what two of N do, but the bridge and the board pay their
// per-access overhead once. 14-bit samples: the low halves of the words
// are enough, and halve what crosses NATS.
func dataOp() api.Op { return api.Read16(reg(regmap.ScopeCh1Data), 2*N) }

// channelData splits the halves of a dataOp into the two channels'
// buffers.
func channelData(res api.OpResult) ([2][]uint16, error) {
	if len(res.Halves) != 2*N {
		return [2][]uint16{}, rperr.Errorf(rperr.EInternal, "scope: the bridge answered %d samples for both buffers, want %d", len(res.Halves), 2*N)
	}
	return [2][]uint16{res.Halves[:N:N], res.Halves[N:]}, nil
}

// resetOps disarms the scope after a trigger that never came or a cancel.
func resetOps() []api.Op {
	return []api.Op{
		api.Write(reg(regmap.ScopeControl), regmap.ScopeReset),
		api.Write(reg(regmap.ScopeTriggerSource), regmap.TrigOff),
	}
}

// Indices of the results of a rolling read (rollOps).
const (
	rollControl = iota
	rollWritten
	rollWP0
	rollData
	rollWP1
	rollTime
)

// rollStartOps arms the scope for rolling mode: no trigger, writing for
// ever around the buffer (PyRPL's _start_acquisition_rolling_mode).
func (p *plan) rollStartOps() []api.Op {
	return []api.Op{
		api.Write(regmap.Slot(regmap.SlotScope1)+regmap.DSPInputSelect, p.in1),
		api.Write(regmap.Slot(regmap.SlotScope2)+regmap.DSPInputSelect, p.in2),
		api.Write(reg(regmap.ScopeControl), regmap.ScopeReset),
		api.Write(reg(regmap.ScopeDecimation), p.dec),
		api.Write(reg(regmap.ScopeAverage), b2u(p.avg)),
		api.Write(reg(regmap.ScopeDelay), N),
		api.Write(reg(regmap.ScopeTriggerSource), regmap.TrigOff),
		api.Write(reg(regmap.ScopeControl), regmap.ScopeArm|regmap.ScopeKeepWriting),
	}
}

// rollOps reads the rolling buffer: the write pointer before and after the
// buffers tell which samples changed while they were read.
func rollOps() []api.Op {
	return []api.Op{
		api.Read(reg(regmap.ScopeControl), 1),
		api.Read(reg(regmap.ScopeSamplesWritten), 1),
		api.Read(reg(regmap.ScopeWritePointer), 1),
		dataOp(),
		api.Read(reg(regmap.ScopeWritePointer), 1),
		api.Read(reg(regmap.ScopeTimeLow), 2),
	}
}

func b2u(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}

// raw is the outcome of one job on the hardware: the sum of the traces in
// ADC units, oldest sample first, in a pooled buffer.
type raw struct {
	sum    [2][N]int32
	traces int // traces summed
	// A single trace is not summed: its buffers stay as the bridge sent
	// them and channels rolls them while converting, in the request's
	// goroutine rather than the worker's.
	words    [2][]uint16
	txn      *api.TxnReply // the reply words belongs to, from txnPool
	start    uint32        // index of the oldest sample in words
	valid    int           // rolling: the last `valid` samples hold data, the rest is NaN
	trigTime float64       // s
	started  time.Time
	ended    time.Time
}

var rawPool = sync.Pool{New: func() any { return new(raw) }}

// txnPool holds decoded transaction replies of single traces: each is
// decoded into one whose buffers are reused (client.Pending.WaitInto).
var txnPool = sync.Pool{New: func() any { return new(api.TxnReply) }}

func getRaw() *raw {
	r := rawPool.Get().(*raw)
	r.traces, r.valid = 0, N
	r.words = [2][]uint16{}
	return r
}

func putRaw(r *raw) {
	if r != nil {
		if r.words[0] == nil {
			clear(r.sum[0][:])
			clear(r.sum[1][:])
		}
		r.words = [2][]uint16{}
		if r.txn != nil {
			txnPool.Put(r.txn)
			r.txn = nil
		}
		rawPool.Put(r)
	}
}

// adc decodes a 14-bit two's complement buffer sample (the low half of
// its word).
func adc(w uint16) int32 { return int32(int16(w<<2)) >> 2 }

// addTrace adds one transaction's buffers to r, rolled so the oldest
// sample comes first: PyRPL rolls by -(trigger pointer + delay + 1).
func (r *raw) addTrace(tr api.TxnReply, delay uint32, only bool) error {
	if len(tr.Results) != opData+1 {
		return rperr.Errorf(rperr.EInternal, "scope: the bridge answered %d results for %d operations", len(tr.Results), opData+1)
	}
	data, err := channelData(tr.Results[opData])
	if err != nil {
		return err
	}
	start := (tr.Results[opTrigPtr].Words[0] + delay + 1) & (N - 1)
	tt := tr.Results[opTrigTime].Words
	r.trigTime = float64(uint64(tt[1])<<32|uint64(tt[0])) / regmap.Clock
	if only {
		r.words = data
		r.start = start
		r.traces = 1
		return nil
	}
	if r.words[0] != nil {
		panic("scope: addTrace after a single unsummed trace")
	}
	for ch, w := range data {
		dst := &r.sum[ch]
		k := int(start)
		for i := range dst {
			dst[i] += adc(w[k])
			k = (k + 1) & (N - 1)
		}
	}
	r.traces++
	return nil
}

// txnID is the bridge transaction id of acquisition id: the bridge's ids
// are shared by every instrument on the board, so the scope's carry its
// name, and a client's id (or another instrument's cancel) cannot reach
// another instrument's transaction.
func txnID(id string) string { return "scope:" + id }

// acquire runs the plan's traces on board, one transaction each, named id
// (a suffix for the traces after the first) so hw.cancel reaches them.
func acquire(ctx context.Context, b *client.Board, p *plan, id string) (*raw, error) {
	r := getRaw()
	left := p.timeout // each trace's wait for its trigger and data
	for i := 0; i < p.n; i++ {
		txnID := id
		if i > 0 {
			txnID = id + "." + strconv.Itoa(i)
		}
		// The transaction may outlive the wait by the reads and two round
		// trips; the bridge's own 408 is what normally ends it.
		tctx, cancel := context.WithTimeout(ctx, time.Duration((left+txnGrace)*float64(time.Second)))
		tr, err := b.HW.Do(tctx, api.Txn{ID: txnID, Ops: p.acqOps(left), Stream: true})
		cancel()
		if err != nil {
			putRaw(r)
			if rperr.ErrorCode(err) == rperr.ETimeout && ctx.Err() == nil {
				return nil, timeoutError(p, i)
			}
			return nil, err
		}
		if err := r.addTrace(tr, p.delay, p.n == 1); err != nil {
			putRaw(r)
			return nil, err
		}
		start, end := bridgeTimes(tr)
		if i == 0 {
			r.started = start
		}
		r.ended = end
	}
	return r, nil
}

// bridgeTimes is when a transaction held the scope at the bridge: when
// the hardware work began and ended.
func bridgeTimes(tr api.TxnReply) (start, end time.Time) {
	start = api.UnixTime(tr.Started)
	return start, start.Add(time.Duration(tr.Elapsed * float64(time.Second)))
}

// txnGrace is what a transaction may take beyond its wait: reading 2 x
// 16384 words and the round trips.
const txnGrace = 2.0

func timeoutError(p *plan, done int) error {
	msg := fmt.Sprintf("no trigger from %s within the timeout of %g s", p.set.TriggerSource, p.timeout)
	if p.set.TriggerSource == "immediately" {
		msg = fmt.Sprintf("the trace did not complete within the timeout of %g s", p.timeout)
	}
	if p.n > 1 {
		msg += fmt.Sprintf(" (%d of %d traces acquired)", done, p.n)
	}
	return rperr.Errorf(rperr.ETimeout, "scope: %s; the scope is disarmed", msg)
}

// samples are a trace's two channels as the reply sends them, pooled:
// they live only until the trace is encoded.
type samples struct {
	codes [2][N]int16
	volts [2][N]float32
}

var samplesPool = sync.Pool{New: func() any { return new(samples) }}

func getSamples() *samples  { return samplesPool.Get().(*samples) }
func putSamples(s *samples) { samplesPool.Put(s) }

// lsb is one ADC code in volts: a power of two, so codes times lsb are
// exactly the float32 volts.
const lsb = float32(1.0 / regmap.VoltsNorm)

// channels fills s from r, oldest sample first, and returns what each
// channel sends: the ADC codes and their scale (wire.Q16, half the bytes
// of float32) when r is one trace with every sample written, else float32
// volts (averages, and a rolling trace's NaN where nothing is written yet).
func (r *raw) channels(s *samples) (ch1, ch2 any) {
	switch {
	case r.words[0] != nil:
		for ch := range 2 {
			w, dst := r.words[ch][:N], s.codes[ch][:]
			n := signExtend14(dst, w[r.start:]) // rolled: oldest first
			signExtend14(dst[n:], w)
		}
	case r.traces <= 1 && r.valid == N:
		for ch := range 2 {
			for i, v := range &r.sum[ch] {
				s.codes[ch][i] = int16(v)
			}
		}
	default:
		r.volts(s.volts[0][:], s.volts[1][:])
		return wire.F32(s.volts[0][:]), wire.F32(s.volts[1][:])
	}
	return wire.Q16{Codes: s.codes[0][:], Scale: lsb}, wire.Q16{Codes: s.codes[1][:], Scale: lsb}
}

// signExtend14 copies 14-bit two's complement samples (the low bits of
// each half word) into dst as int16, as many as both hold, and returns
// how many.
func signExtend14(dst []int16, src []uint16) int {
	n := min(len(dst), len(src))
	dst, src = dst[:n], src[:n]
	// Four samples at a time: copy bit 13 into bits 14 and 15 of each
	// 16-bit lane. Lanes never mix, so the host's byte order does not
	// matter.
	d := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(dst))), 2*n)
	s := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(src))), 2*n)
	const low14, bit13 = 0x3FFF_3FFF_3FFF_3FFF, 0x2000_2000_2000_2000
	i := 0
	for ; i+4 <= n; i += 4 {
		x := binary.NativeEndian.Uint64(s[2*i:]) & low14
		m := x & bit13
		binary.NativeEndian.PutUint64(d[2*i:], x|m<<1|m<<2)
	}
	for ; i < n; i++ {
		dst[i] = int16(adc(src[i]))
	}
	return n
}

// volts converts r into float32 volts: the mean of the summed traces,
// NaN where rolling mode has no data yet.
func (r *raw) volts(ch1, ch2 []float32) {
	scale := float32(1 / (float64(regmap.VoltsNorm) * float64(max(r.traces, 1))))
	nan := float32(math.NaN())
	for ch, dst := range [2][]float32{ch1, ch2} {
		src := &r.sum[ch]
		cut := N - r.valid
		for i := 0; i < cut; i++ {
			dst[i] = nan
		}
		for i := cut; i < N; i++ {
			dst[i] = float32(src[i]) * scale
		}
	}
}
