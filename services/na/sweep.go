package na

import (
	"context"
	"sync"
	"time"

	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/client"
	"github.com/rpbus/rpbus/regmap"
)

// Chunk limits: a transaction carries at most maxChunkPoints points (3
// ops each, well inside the bridge's 16384 ops and 131072 words).
const (
	maxChunkPoints = 5000
	// pipelineDepth chunks are in flight at once: the next one waits at
	// the bridge while the current one runs, so no round trip separates
	// them.
	pipelineDepth = 2
)

// chunk is a run of consecutive points of one trace.
type chunk struct {
	trace, from, to int // points [from, to) of trace
}

// chunks splits traces x points into runs of about target hardware time.
func (p *plan) chunks(target time.Duration) []chunk {
	var out []chunk
	limit := int64(target.Seconds() * regmap.Clock)
	for t := 0; t < p.s.TraceAverage; t++ {
		from := 0
		var cyc int64
		for i, pt := range p.points {
			cyc += pt.cycles()
			if cyc >= limit || i+1-from >= maxChunkPoints || i == len(p.points)-1 {
				out = append(out, chunk{trace: t, from: from, to: i + 1})
				from, cyc = i+1, 0
			}
		}
	}
	return out
}

// ops builds the chunk's transaction. Each chunk is self-contained: it
// first writes the filter and averaging registers of its first point, so
// it measures the same whatever ran on the module before it (the bridge
// does not promise that two queued transactions run in arrival order).
// Per point: write the frequency (which starts the point), wait for the
// busy bit to clear, which cannot happen before the point's hardware time
// (the wait's hint), read the four sum words.
func (p *plan) ops(base uint32, c chunk) []api.Op {
	ops := make([]api.Op, 0, 3*(c.to-c.from)+8)
	var cur point
	for i := c.from; i < c.to; i++ {
		pt := p.points[i]
		if i == c.from || pt.bwReg != cur.bwReg || pt.avg != cur.avg || pt.sleep != cur.sleep {
			if i == c.from || pt.bwReg != cur.bwReg {
				ops = append(ops, api.Write(base+regmap.IQBandwidth, pt.bwReg))
			}
			if i == c.from || pt.avg != cur.avg {
				ops = append(ops, api.Write(base+regmap.IQNAAverages, pt.avg))
			}
			if i == c.from || pt.sleep != cur.sleep {
				ops = append(ops, api.Write(base+regmap.IQNASleepCycles, pt.sleep))
			}
		}
		cur = pt
		// The wait allows for the host stalling: three times the point
		// plus a second.
		timeout := 3*float64(pt.cycles())/regmap.Clock + 1
		ops = append(ops,
			api.Write(base+regmap.IQFrequency, pt.freqReg),
			api.WaitAfter(base+regmap.IQNAISumLow, regmap.IQNABusy, 0, float64(pt.cycles())/regmap.Clock, timeout),
			api.Read(base+regmap.IQNAISumLow, 4))
	}
	return ops
}

// setupOps configures iq k as PyRPL's network analyzer does
// (_start_trace_acquisition and iq.setup): output silent first, routing,
// gain 0, phase 0, no 2f flags, filters, averaging, the first frequency,
// then the amplitude; and reads the DSP sync word (the module's "on").
func (p *plan) setupOps(base uint32) []api.Op {
	pt := p.points[0]
	return []api.Op{
		api.Write(base+regmap.IQAmplitude, 0),
		api.Write(base+regmap.DSPInputSelect, p.input),
		api.Write(base+regmap.DSPOutputDirect, p.outDirect),
		api.Write(base+regmap.IQControl, 1<<1), // pfd_on as at reset, 2f modulation off
		api.Write(base+regmap.IQOutputSignal, regmap.IQSignalOutputDirect),
		api.Write(base+regmap.IQG1, 0),
		api.Write(base+regmap.IQG4, 0),
		api.Write(base+regmap.IQPhase, 0),
		api.Write(base+regmap.IQInputFilter, p.inFilter),
		api.Write(base+regmap.IQBandwidth, pt.bwReg),
		api.Write(base+regmap.IQNAAverages, pt.avg),
		api.Write(base+regmap.IQNASleepCycles, pt.sleep),
		api.Write(base+regmap.IQFrequency, pt.freqReg),
		api.Write(base+regmap.IQAmplitude, p.ampReg),
		api.Read(base+regmap.DSPSync, 1),
	}
}

// progress is the state progress events report.
type progress struct {
	mu sync.Mutex
	p  api.Progress
}

func (pr *progress) set(done int, f float64, v complex128) {
	pr.mu.Lock()
	pr.p.Done, pr.p.Frequency, pr.p.Re, pr.p.Im = done, f, real(v), imag(v)
	pr.mu.Unlock()
}

func (pr *progress) get() api.Progress {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	return pr.p
}

// result is one chunk's answer.
type result struct {
	c     chunk
	reply api.TxnReply
	err   error
}

// run measures every trace on iq k (set up already) and returns the
// averaged transfer function and, in zero span, each point's time since
// the first point's end.
func (p *plan) run(ctx context.Context, hw *client.HW, k int, target time.Duration, pr *progress) ([]complex128, []float64, error) {
	base := iqBase(k)
	chunks := p.chunks(target)
	n := len(p.points)
	sum := make([]complex128, n)
	var times []float64
	if p.zeroSpan {
		times = make([]float64, n)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make(chan result, len(chunks))
	send := func(c chunk) {
		r, err := hw.Do(ctx, api.Txn{Ops: p.ops(base, c)})
		results <- result{c, r, err}
	}
	pending := map[int]result{}
	next, inFlight, doneChunks, donePoints := 0, 0, 0, 0
	var firstErr error
	for doneChunks < len(chunks) {
		for firstErr == nil && inFlight < pipelineDepth && next < len(chunks) {
			go send(chunks[next])
			next++
			inFlight++
		}
		if inFlight == 0 {
			break
		}
		r := <-results
		inFlight--
		if r.err != nil {
			if firstErr == nil {
				firstErr = r.err
				cancel() // the other chunk is cancelled on the bridge
			}
			continue
		}
		if firstErr != nil {
			continue
		}
		idx := chunkIndex(chunks, r.c)
		pending[idx] = r
		// Chunks are taken in order so progress counts points in order.
		for {
			r, ok := pending[doneChunks]
			if !ok {
				break
			}
			delete(pending, doneChunks)
			doneChunks++
			v := p.decode(r, sum, times)
			donePoints += r.c.to - r.c.from
			last := p.points[r.c.to-1]
			pr.set(donePoints, last.freq, v)
		}
	}
	if firstErr != nil {
		return nil, nil, firstErr
	}
	for i := range sum {
		sum[i] /= complex(float64(p.s.TraceAverage), 0)
	}
	return sum, times, nil
}

func chunkIndex(chunks []chunk, c chunk) int {
	// chunks are sorted by (trace, from): binary search.
	lo, hi := 0, len(chunks)
	for lo < hi {
		m := (lo + hi) / 2
		x := chunks[m]
		if x.trace < c.trace || (x.trace == c.trace && x.from < c.from) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// decode adds the chunk's points to sum (normalised as PyRPL does) and
// records the zero-span times of the first trace; it returns the last
// point's value.
func (p *plan) decode(r result, sum []complex128, times []float64) complex128 {
	var v complex128
	i := r.c.from
	for _, res := range r.reply.Results {
		if res.Words != nil {
			pt := p.points[i]
			var w [4]uint32
			copy(w[:], res.Words)
			si, sq, _ := regmap.NASums(w)
			v = pt.normalise(si, sq, p.amp)
			sum[i] += v
			i++
			continue
		}
		// Zero span: point i ends one point after point i-1 plus the
		// bridge's lateness in noticing the end, which is what its wait
		// measures beyond the point's time (a wait shorter than the point
		// only started late).
		if times != nil && r.c.trace == 0 && i > 0 && res.Waited > 0 {
			times[i] = times[i-1] + max(res.Waited, float64(p.points[i].cycles())/regmap.Clock)
		}
	}
	return v
}

// normalise is regmap.NAValue with the point's precomputed
// NATransferFunction: (I + jQ) / na_averages * 2^-24 * 4 / amplitude / tf.
func (pt point) normalise(i, q int64, amp float64) complex128 {
	if pt.avg == 0 || amp == 0 {
		return 0
	}
	y := complex(float64(i), float64(q)) / complex(float64(pt.avg), 0) * complex(regmap.NARescale/amp, 0)
	return y / pt.tf
}
