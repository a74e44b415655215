package na

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/client"
	"github.com/rpbus/rpbus/regmap"
	"github.com/rpbus/rpbus/rperr"
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

// indices returns the chunk's point indices, in order.
func (c chunk) indices() []int {
	idx := make([]int, c.to-c.from)
	for n := range idx {
		idx[n] = c.from + n
	}
	return idx
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

// Margins an open-loop sweep adds to a point's time before reading its
// sums (pacer). The bridge times the read from when the board performed
// the point's write (by the board's clock on the monitor backend); the
// margin covers what that timing cannot see: a read that travels faster
// than any recent request did.
// clockShare of the point covers the two clocks' drift (a crystal's 50 ppm).
const (
	minMargin  = 15 * time.Microsecond
	maxMargin  = time.Millisecond
	clockShare = 1e-4
	// earlyGrowth and inTimeShrink: the margin grows by earlyGrowth for
	// each point read early and shrinks by inTimeShrink for each one read
	// in time, so it settles where the early share p has p / (1 - p) =
	// -ln(1 - inTimeShrink) / ln(earlyGrowth): 5% of the points. Small
	// steps: a burst of early reads (the machine or the network stalled
	// for a moment) moves it little, and a lag that makes every read
	// early still takes it from 15 us to 1 ms within 90 points.
	earlyGrowth  = 1.05
	inTimeShrink = 1.0 / 384
)

// pacer is a board's margin, kept from sweep to sweep. A point read
// early (its sums still busy) costs its time again and about a round
// trip; one read in time costs the margin. The wake-ups of a loaded
// host are late by any amount, so a margin that avoided every early read
// would cost more than the points it saves (docs/benchmarks.md has the
// early share against the margin).
type pacer struct {
	mu     sync.Mutex
	margin time.Duration
}

func newPacer() *pacer { return &pacer{margin: minMargin} }

func (pc *pacer) get() time.Duration {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	return pc.margin
}

// note records a chunk's points read in time and early.
func (pc *pacer) note(inTime, early int) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	m := float64(pc.margin) * math.Pow(earlyGrowth, float64(early)) * math.Pow(1-inTimeShrink, float64(inTime))
	pc.margin = time.Duration(min(max(m, float64(minMargin)), float64(maxMargin)))
}

// ops builds the transaction of points idx (in order, of one trace), open
// loop or closed, and returns the index of each point's sum read in it.
// It is self-contained: it first writes the filter and averaging
// registers of its first point, so it measures the same whatever ran on
// the module before it (a try at points read early runs between chunks).
// Per point: write the frequency (which starts the point), then read the
// four sum words, whose busy bit says whether the point is over:
//   - closed loop: a wait for the busy bit to clear comes between them,
//     with the point's hardware time as its hint;
//   - open loop: the read is timed (api.Op.After) the point's time plus
//     margin after the write, so no round trip separates one point
//     from the next; a read that came too early shows busy, and the
//     caller measures that point again.
func (p *plan) ops(base uint32, idx []int, open bool, margin time.Duration) ([]api.Op, []int) {
	ops := make([]api.Op, 0, 3*len(idx)+8)
	reads := make([]int, len(idx))
	var cur point
	for n, i := range idx {
		pt := p.points[i]
		if n == 0 || pt.bwReg != cur.bwReg {
			ops = append(ops, api.Write(base+regmap.IQBandwidth, pt.bwReg))
		}
		if n == 0 || pt.avg != cur.avg {
			ops = append(ops, api.Write(base+regmap.IQNAAverages, pt.avg))
		}
		if n == 0 || pt.sleep != cur.sleep {
			ops = append(ops, api.Write(base+regmap.IQNASleepCycles, pt.sleep))
		}
		cur = pt
		d := float64(pt.cycles()) / regmap.Clock
		ops = append(ops, api.Write(base+regmap.IQFrequency, pt.freqReg))
		read := api.Read(base+regmap.IQNAISumLow, 4)
		if !open {
			// The wait allows for the host stalling: three times the
			// point plus a second.
			ops = append(ops, api.WaitAfter(base+regmap.IQNAISumLow, regmap.IQNABusy, 0, d, 3*d+1))
		} else {
			read = api.Delayed(max(d*(1+clockShare)+margin.Seconds(), 0), read)
		}
		reads[n] = len(ops)
		ops = append(ops, read)
	}
	return ops, reads
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

// enableOps turn the module's output on as setupOps left it: routing
// first, then the amplitude.
func (p *plan) enableOps(base uint32) []api.Op {
	return []api.Op{
		api.Write(base+regmap.DSPOutputDirect, p.outDirect),
		api.Write(base+regmap.IQAmplitude, p.ampReg),
	}
}

// silenceOps turn the module's output off: the amplitude first, then the
// routing (the release's first two ops).
func silenceOps(base uint32) []api.Op {
	return []api.Op{
		api.Write(base+regmap.IQAmplitude, 0),
		api.Write(base+regmap.DSPOutputDirect, regmap.OutputOff),
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

// result is one chunk's answer: each point's sum words, and in zero span
// what each point's wait took.
type result struct {
	c      chunk
	sums   [][4]uint32
	waited []float64
	redone int // points measured again after an early read
	err    error
}

// ending says how a sweep's transactions leave the output. Chunks are
// sent in order from one goroutine, and the bridge runs a module's
// transactions in the order they arrive, so the last chunk runs last of
// them, and it turns the output off (silenceOps): a sweep that ends well
// needs no round trip more for that. A try at points read early may run
// after it, so each try turns the output on first (enableOps), and one
// that ends after the last chunk was sent makes the sweep turn the output
// off itself (lateTry).
type ending struct {
	lastSent atomic.Bool // the last chunk's transaction is being sent, or was
	lateTry  atomic.Bool // a try ended after that: it may have run after the last chunk
}

// sent is one chunk's transaction on its way.
type sent struct {
	c      chunk
	idx    []int
	nops   int
	reads  []int // the sum reads' op indices
	margin time.Duration
	p      *client.Pending
}

// send sends chunk c's transaction for the module at base, open loop with
// pc (nil: closed loop); the last chunk of a sweep turns the output off
// behind its points.
func (p *plan) send(ctx context.Context, hw *client.HW, base uint32, c chunk, pc *pacer, last bool) (sent, error) {
	var after []api.Op
	if last {
		after = silenceOps(base)
	}
	sc := sent{c: c, idx: c.indices()}
	if pc != nil {
		sc.margin = pc.get()
	}
	var ops []api.Op
	ops, sc.reads = p.pointOps(base, sc.idx, pc != nil, sc.margin, nil, after)
	sc.nops = len(ops)
	var err error
	sc.p, err = hw.Start(ctx, api.Txn{Ops: ops})
	return sc, err
}

// measure collects sent chunk sc's answer. Points whose sums were read
// early are measured again, first open loop with retryMargin (on a remote
// board a closed-loop point costs a round trip more), then, those still
// early, closed loop.
func (p *plan) measure(ctx context.Context, hw *client.HW, base uint32, sc sent, pc *pacer, end *ending) result {
	res := result{c: sc.c}
	var early []int
	var r api.TxnReply
	if r, res.err = sc.p.Wait(); res.err == nil {
		res.sums, res.waited, early, res.err = p.sums(r, sc.nops, sc.idx, sc.reads, pc != nil)
	}
	if res.err != nil || pc == nil {
		return res
	}
	c, idx, margin := sc.c, sc.idx, sc.margin
	pc.note(len(idx)-len(early), len(early))
	res.redone = len(early)
	for try := 0; len(early) > 0; try++ {
		again, _, still, err := p.measurePoints(ctx, hw, base, early, try == 0, retryMargin(margin), p.enableOps(base), nil)
		if end.lastSent.Load() {
			end.lateTry.Store(true)
		}
		if err != nil {
			res.err = err
			return res
		}
		for n, i := range early {
			res.sums[i-c.from] = again[n]
		}
		early = still
	}
	return res
}

// retryMargin is the margin of a second try at points read early: wide
// enough that few are early again, and never more than maxMargin, as the
// try costs it on each of its points.
func retryMargin(m time.Duration) time.Duration { return min(2*m+100*time.Microsecond, maxMargin) }

// pointOps are ops (see ops) with before and after around them, and the
// index of each point's sum read in them.
func (p *plan) pointOps(base uint32, idx []int, open bool, margin time.Duration, before, after []api.Op) ([]api.Op, []int) {
	points, reads := p.ops(base, idx, open, margin)
	ops := append(append(append(make([]api.Op, 0, len(before)+len(points)+len(after)), before...), points...), after...)
	for n := range reads {
		reads[n] += len(before)
	}
	return ops, reads
}

// measurePoints measures points idx in one transaction (pointOps) and
// returns what sums finds in its answer.
func (p *plan) measurePoints(ctx context.Context, hw *client.HW, base uint32, idx []int, open bool, margin time.Duration, before, after []api.Op) (sums [][4]uint32, waited []float64, early []int, err error) {
	ops, reads := p.pointOps(base, idx, open, margin, before, after)
	r, err := hw.Do(ctx, api.Txn{Ops: ops})
	if err != nil {
		return nil, nil, nil, err
	}
	return p.sums(r, len(ops), idx, reads, open)
}

// sums returns the sum words of points idx, read at ops reads of r (of
// nops ops), in
// zero span what each wait took, and the points whose sums were read
// early (open loop only: closed loop, that is an error). The sums of a
// point read early are those of a busy point.
func (p *plan) sums(r api.TxnReply, nops int, idx, reads []int, open bool) (sums [][4]uint32, waited []float64, early []int, err error) {
	if len(r.Results) != nops {
		return nil, nil, nil, rperr.Errorf(rperr.EInternal, "NA: %d results for %d ops", len(r.Results), nops)
	}
	sums = make([][4]uint32, len(idx))
	if p.zeroSpan {
		waited = make([]float64, len(idx))
	}
	for n, at := range reads {
		if len(r.Results[at].Words) != 4 {
			return nil, nil, nil, rperr.Errorf(rperr.EInternal, "NA point %d: %d sum words, want 4", idx[n], len(r.Results[at].Words))
		}
		copy(sums[n][:], r.Results[at].Words)
		if _, _, busy := regmap.NASums(sums[n]); busy {
			if !open {
				return nil, nil, nil, rperr.Errorf(rperr.EUnavailable, "NA point %d: its sums read busy after its wait ended", idx[n])
			}
			early = append(early, idx[n])
		}
		if waited != nil {
			waited[n] = r.Results[at-1].Waited
		}
	}
	return sums, waited, early, nil
}

// run measures every trace on iq k (set up already), open loop with pc
// (nil: closed loop; zero span is always closed loop, its times come
// from the waits), and returns the averaged transfer function, in zero
// span each point's time since the first point's end, how many points
// were measured again, and whether the output is off (see ending).
func (p *plan) run(ctx context.Context, hw *client.HW, k int, target time.Duration, pc *pacer, pr *progress) ([]complex128, []float64, int, bool, error) {
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
	if p.zeroSpan {
		pc = nil
	}
	results := make(chan result, len(chunks))
	var end ending
	pending := map[int]result{}
	next, inFlight, doneChunks, donePoints, redone := 0, 0, 0, 0, 0
	var firstErr error
	for doneChunks < len(chunks) {
		for firstErr == nil && inFlight < pipelineDepth && next < len(chunks) {
			last := next == len(chunks)-1
			if last {
				end.lastSent.Store(true)
			}
			// Sent from here, in order; answered in a goroutine each.
			sc, err := p.send(ctx, hw, base, chunks[next], pc, last)
			go func() {
				if err != nil {
					results <- result{c: sc.c, err: err}
					return
				}
				results <- p.measure(ctx, hw, base, sc, pc, &end)
			}()
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
			redone += r.redone
			v := p.decode(r, sum, times)
			donePoints += r.c.to - r.c.from
			last := p.points[r.c.to-1]
			pr.set(donePoints, last.freq, v)
		}
	}
	if firstErr != nil {
		return nil, nil, 0, false, firstErr
	}
	for i := range sum {
		sum[i] /= complex(float64(p.s.TraceAverage), 0)
	}
	return sum, times, redone, !end.lateTry.Load(), nil
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
	for n, w := range r.sums {
		i := r.c.from + n
		si, sq, _ := regmap.NASums(w)
		v = p.points[i].normalise(si, sq, p.amp)
		sum[i] += v
		// Zero span: point i ends one point after point i-1 plus the
		// bridge's lateness in noticing the end, which is what its wait
		// measures beyond the point's time (a wait shorter than the point
		// only started late).
		if times != nil && r.c.trace == 0 && i > 0 && r.waited != nil {
			times[i] = times[i-1] + max(r.waited[n], float64(p.points[i].cycles())/regmap.Clock)
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
