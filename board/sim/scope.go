package sim

import (
	"math"
	"time"

	"github.com/rpbus/rpbus/regmap"
)

const bufLen = regmap.ScopeBufferLen

// scopeState follows red_pitaya_scope.v. Decimated sample j of a run
// (armed at tArm) averages or takes the last of cycles
// [tArm + j*dec, tArm + (j+1)*dec) and is written at cycle tArm + (j+1)*dec.
type scopeState struct {
	src, thresh, hyst, dly, dec, deb uint32
	avg, keep                        bool

	armed       bool
	tArm        int64
	wpBase      uint32 // address of sample 0
	wpNext      uint32 // next address after the last run
	produced    int64  // samples materialised into buf
	owed        int64  // samples written up to here but not yet made (see scopeMake)
	searched    int64  // samples the edge search has compared
	trig        bool   // trigger accepted
	trigSample  int64  // last sample written before the trigger
	endSample   int64  // last sample of the acquisition (-1: open)
	tTrig       int64
	swAt, tSrc  int64
	wpTrig      uint32
	tsTrig      int64
	finished    bool // delay completed in keep mode
	schmitt     bool // Schmitt state of the searched channel
	schmittInit bool
	neverVer    uint64
	never       bool
	lastDone    int64 // cycle the previous acquisition finished

	buf [2][bufLen]uint16 // 14-bit codes, as the BRAM holds them
}

func (s *scopeState) decim() int64 { return max(1, int64(s.dec)) }

// nWritten is the number of samples written by cycle c (dv cycle <= c).
func (s *scopeState) nWritten(c int64) int64 {
	if !s.armed || c < s.tArm {
		return 0
	}
	n := (c - s.tArm) / s.decim()
	if s.trig && s.endSample >= 0 {
		n = min(n, s.endSample+1)
	}
	return n
}

func (s *scopeState) addr(j int64) uint32 {
	return uint32((int64(s.wpBase) + j) & (bufLen - 1))
}

func (s *scopeState) edgeSource() bool {
	return s.src >= regmap.TrigCh1Pos && s.src <= regmap.TrigCh2Neg
}

// pretrigOK: more than 16384 - delay samples written before the trigger
// (or a delay of at least a full buffer).
func (s *scopeState) pretrigOK(nWritten int64) bool {
	return s.dly >= bufLen || nWritten > int64(bufLen)-int64(s.dly)
}

// okFrom is the first cycle at which a trigger is accepted.
func (s *scopeState) okFrom() int64 {
	if s.dly >= bufLen {
		return s.tArm
	}
	return s.tArm + (int64(bufLen)-int64(s.dly)+1)*s.decim() + 1
}

// accept takes the trigger at cycle t.
func (s *scopeState) accept(t int64) bool {
	nw := s.nWritten(t - 1)
	if !s.pretrigOK(nw) {
		return false
	}
	s.trig, s.tTrig, s.tsTrig = true, t, t
	s.trigSample = nw - 1
	s.endSample = s.trigSample + int64(s.dly)
	s.wpTrig = s.addr(s.trigSample)
	return true
}

// doneAt is the cycle from which the acquisition reads as finished.
func (s *scopeState) doneAt() int64 {
	return s.tArm + (s.endSample+1)*s.decim() + 1
}

// scopeInput returns the DSP signal number recorded by channel ch.
func (b *Board) scopeInput(ch int) int { return int(b.dsp.inputSel[regmap.SlotScope1+ch]) }

// scopeAdvance brings the scope state machine to cycle now: finds the
// trigger, materialises written samples (only the last 16384 are kept),
// and ends the acquisition.
func (b *Board) scopeAdvance(now int64) {
	s := &b.scope
	for s.armed {
		if !s.trig && s.src != regmap.TrigOff {
			if b.scopeFindTrigger(now) {
				continue
			}
		}
		target := s.nWritten(now)
		if s.trig && s.endSample >= 0 {
			target = min(target, s.endSample+1)
		}
		// the edge search has compared the samples up to its latency
		// before now; the rest are made too (or owed), so that a write
		// that follows finds the past written with the configuration of
		// its time
		b.scopeMake(target)
		if !s.trig && s.edgeSource() && !b.scopeNever() {
			break
		}
		if s.trig && s.endSample >= 0 && now >= s.doneAt() {
			s.src = regmap.TrigOff
			if s.keep {
				s.endSample, s.finished = -1, true
				continue
			}
			s.armed, s.lastDone = false, s.doneAt()
			s.wpNext = s.addr(s.endSample + 1)
		}
		break
	}
}

// scopeMake has the samples up to target written. It makes them at once
// while they may decide the trigger (an edge search), in keep-writing
// mode, or when a channel's signal is not a pure function of time
// (shareable, and not made from the slow modules' pruned history);
// otherwise they are owed, and made when the buffers are read
// or before the next write (scopeSettle). The FPGA writes them for free:
// made at the wait's probes, 2 x 16384 samples at decimation 1 took the
// sim 100 to 400 us beyond the acquisition's 131 us, and the acquisition
// read as done that much later than on a board. Owed, they are made
// inside the read's bus time (6.6 ms for both buffers), which the read
// waits out anyway.
func (b *Board) scopeMake(target int64) {
	if b.scopeDefers() {
		b.scope.owed = max(b.scope.owed, target)
		return
	}
	b.scopeSettle()
	b.scopeProduce(max(b.scope.produced, target-bufLen), target)
}

// deferSamples lets a test make every sample at once, as before owed
// samples, to compare.
var deferSamples = true

// scopeDefers says whether the samples being written may be made later
// (see scopeMake).
func (b *Board) scopeDefers() bool {
	s := &b.scope
	if !deferSamples {
		return false
	}
	avg := s.avg && s.dec > 1
	// Slow signals (trig, PIDs, IIR) are made from a history the board
	// prunes as it goes, so theirs are made at once.
	in0, in1 := b.scopeInput(0), b.scopeInput(1)
	return !s.keep && (s.trig || !s.edgeSource()) &&
		b.shareable(in0, avg) && b.shareable(in1, avg) && !b.hasSlow(in0) && !b.hasSlow(in1)
}

// scopeSettle makes the owed samples (see scopeMake).
func (b *Board) scopeSettle() {
	s := &b.scope
	if s.owed > s.produced {
		b.scopeProduce(max(s.produced, s.owed-bufLen), s.owed)
	}
}

// scopeFindTrigger looks for the trigger up to now; true if it was accepted.
func (b *Board) scopeFindTrigger(now int64) bool {
	s := &b.scope
	switch s.src {
	case regmap.TrigImmediately:
		if s.swAt >= 0 && s.swAt <= now {
			t := s.swAt
			s.swAt = -1
			return s.accept(t)
		}
	case regmap.TrigCh1Pos, regmap.TrigCh1Neg, regmap.TrigCh2Pos, regmap.TrigCh2Neg:
		if b.scopeNever() {
			return false
		}
		return b.scopeEdgeSearch(s.nWritten(now - ScopeEdgeLatencyCycles))
	case regmap.TrigASG0, regmap.TrigASG1:
		if t := b.scopeASGTrigger(); t >= 0 && t <= now {
			return s.accept(t)
		}
	case regmap.TrigDSP:
		if e := b.trigFirst(max(s.tSrc, s.okFrom()), now); e >= 0 {
			return s.accept(e)
		}
	}
	return false
}

// scopeASGTrigger predicts the trigger from a generator, -1 if none comes.
func (b *Board) scopeASGTrigger() int64 {
	s := &b.scope
	a := &b.asg[s.src-regmap.TrigASG0]
	from := max(s.tSrc, s.okFrom()) - ScopeASGLatencyCycles
	e := a.firstEvent(from)
	if e < 0 {
		return -1
	}
	return e + ScopeASGLatencyCycles
}

// predictDone returns the cycle the acquisition will read as finished, or
// -1 if that is not known yet.
func (b *Board) scopePredictDone() int64 {
	s := &b.scope
	if !s.armed {
		return 0
	}
	if s.trig {
		if s.endSample < 0 {
			return -1
		}
		return s.doneAt()
	}
	var t int64 = -1
	switch s.src {
	case regmap.TrigImmediately:
		t = s.swAt
	case regmap.TrigASG0, regmap.TrigASG1:
		t = b.scopeASGTrigger()
	}
	if t < 0 {
		return -1
	}
	nw := (t - 1 - s.tArm) / s.decim()
	if t-1 < s.tArm || !s.pretrigOK(max(0, nw)) {
		return -1
	}
	return s.tArm + (max(0, nw)+int64(s.dly))*s.decim() + 1
}

// scopeNever reports whether the edge trigger is out of reach of the
// signal plus noiseClip sigmas of noise (recomputed after config changes).
func (b *Board) scopeNever() bool {
	s := &b.scope
	if s.neverVer == b.ver+1 {
		return s.never
	}
	ch := 0
	if s.src == regmap.TrigCh2Pos || s.src == regmap.TrigCh2Neg {
		ch = 1
	}
	sig := b.scopeInput(ch)
	if b.hasSlow(sig) || b.hasNoisePath(sig) {
		// a module's DC moves, noise through modules has no bound here
		s.never, s.neverVer = false, b.ver+1
		return false
	}
	bound := b.model(sig).bound()*regmap.VoltsNorm + 2
	if b.noisy(sig) {
		bound += noiseClip*b.cfg.SampleNoiseStd(s.dec, s.avg)*regmap.VoltsNorm + 1
	}
	th := float64(regmap.ToSigned(s.thresh, 14))
	pos := s.src == regmap.TrigCh1Pos || s.src == regmap.TrigCh2Pos
	s.never = (pos && th > bound) || (!pos && th < -bound)
	s.neverVer = b.ver + 1
	return s.never
}

// scopeEdgeSearch produces samples up to sample `to` running the Verilog's
// Schmitt trigger on the selected channel; true once a trigger is accepted.
func (b *Board) scopeEdgeSearch(to int64) bool {
	s := &b.scope
	ch := 0
	if s.src == regmap.TrigCh2Pos || s.src == regmap.TrigCh2Neg {
		ch = 1
	}
	pos := s.src == regmap.TrigCh1Pos || s.src == regmap.TrigCh2Pos
	th := regmap.ToSigned(s.thresh, 14)
	// thresh -/+ hyst wraps in 14 bits as in the Verilog
	thm := regmap.ToSigned(uint32(th-regmap.ToSigned(s.hyst, 14)), 14)
	thp := regmap.ToSigned(uint32(th+regmap.ToSigned(s.hyst, 14)), 14)
	if to-s.searched > maxSearchLag {
		s.searched, s.schmittInit = to-maxSearchLag, false
	}
	for s.searched < to {
		j0 := s.searched
		j1 := min(to, j0+4096)
		// production runs on from where it stands: the ring keeps every
		// written sample of the last 16384, searched or skipped
		b.scopeProduce(s.produced, j1)
		s.searched = j1
		for j := j0; j < j1; j++ {
			v := fromCode14(s.buf[ch][s.addr(j)])
			prev := s.schmitt
			if !s.schmittInit {
				s.schmittInit = true
				s.schmitt = (pos && v >= th) || (!pos && v <= th)
				continue
			}
			if pos {
				if v >= th {
					s.schmitt = true
				} else if v < thm {
					s.schmitt = false
				}
			} else {
				if v <= th {
					s.schmitt = true
				} else if v > thp {
					s.schmitt = false
				}
			}
			if s.schmitt && !prev {
				t := s.tArm + (j+1)*s.decim() + ScopeEdgeLatencyCycles
				if t >= s.tSrc && s.accept(t) {
					b.scopeProduce(s.produced, min(s.nWritten(t), s.endSample+1))
					return true
				}
			}
		}
	}
	return false
}

// maxSearchLag bounds the samples a trigger search compares at once: the
// FPGA compares every sample as it comes, the sim only when asked, and a
// search left unasked for minutes would otherwise hold the board for as
// long. A search further behind starts afresh this many samples before
// its end (about 8 ms of work); a condition first met in the skipped
// stretch fires at its next occurrence. The skipped samples are still
// written: the ring's last 16384 (the pre-trigger part of the trace) are
// made as the search goes, since the FPGA writes them from the arm on.
const maxSearchLag = 1 << 20

// scopeProduce materialises samples [j0, j1) into the buffers. While a
// helper is awake (fast acquisitions, see helper), long stretches of
// model-based signals share the two channels with it.
func (b *Board) scopeProduce(j0, j1 int64) {
	s := &b.scope
	if j1 <= j0 {
		return
	}
	j0 = max(j0, j1-bufLen)
	in0, in1 := b.scopeInput(0), b.scopeInput(1)
	avg := s.avg && s.dec > 1
	if j1-j0 >= parallelMin && b.help.awake() && b.shareable(in0, avg) && b.shareable(in1, avg) {
		b.model(in0) // fill the model cache: the helper only reads it
		b.model(in1)
		b.help.share(func() { b.scopeProduceChannel(0, in0, avg, j0, j1) },
			func() { b.scopeProduceChannel(1, in1, avg, j0, j1) })
	} else {
		b.scopeProduceChannel(0, in0, avg, j0, j1)
		b.scopeProduceChannel(1, in1, avg, j0, j1)
	}
	s.produced = j1
	if s.trig && s.endSample >= 0 && j1 > s.endSample {
		b.help.release() // the acquisition's samples are all made
	}
}

// parallelMin is the shortest stretch [samples] worth sharing.
const parallelMin = 1024

// helpedDecimation: up to this decimation generation is slower than real
// time on one goroutine, and a helper is kept awake.
const helpedDecimation = 2

// backToBack: an acquisition armed within this many cycles (500 us) of
// the previous one's end is part of a stream (queued singles, continuous
// mode), where the CPUs are busy anyway and a spinning helper would take
// CPU time from the rest of the pipeline.
const backToBack = 62_500

// wakeHelper keeps the helper awake until the last samples of a lone
// acquisition at a helped decimation are made (see helperGrace).
func (b *Board) wakeHelper() {
	s := &b.scope
	if !s.armed || s.decim() > helpedDecimation || s.tArm-s.lastDone < backToBack || b.scopeDefers() {
		return // owed samples are made in the read's bus time: no hurry
	}
	if t := b.scopePredictDone(); t >= 0 {
		b.help.keepAwake(b.start.Add(time.Duration(t*8) + helperGrace))
	}
}

// scopeProduceChannel writes channel ch's samples [j0, j1) of signal sig
// into its ring, a contiguous stretch of at most genBlock at a time.
func (b *Board) scopeProduceChannel(ch, sig int, avg bool, j0, j1 int64) {
	s := &b.scope
	dec := s.decim()
	for j := j0; j < j1; {
		a := int64(s.addr(j))
		n := min(j1-j, genBlock, bufLen-a)
		b.sample16(sig, s.tArm+j*dec, dec, avg, s.buf[ch][a:a+n], &b.gen[ch])
		j += n
	}
}

// dataAt is the scope buffer from address a to the end of its channel, or
// nil if a is not in a data buffer.
func (b *Board) dataAt(a uint32) []uint16 {
	off := a - regmap.ScopeBase
	if a < regmap.ScopeBase || off < regmap.ScopeCh1Data || off >= regmap.ScopeCh2Data+bufLen*4 {
		return nil
	}
	ch := 0
	if off >= regmap.ScopeCh2Data {
		ch = 1
	}
	return b.scope.buf[ch][int(off&0xFFFF)/4:]
}

func (b *Board) readScope(off uint32, now int64) uint32 {
	s := &b.scope
	if off >= regmap.ScopeCh1Data && off < regmap.ScopeCh2Data+bufLen*4 {
		ch := 0
		if off >= regmap.ScopeCh2Data {
			ch = 1
		}
		i := (off & 0xFFFF) / 4
		if i >= bufLen {
			return 0
		}
		return uint32(s.buf[ch][i])
	}
	switch off {
	case regmap.ScopeControl:
		var v uint32
		if s.armed {
			v |= regmap.ScopeArm
		}
		if s.armed && s.trig && !s.finished {
			v |= regmap.ScopeDelayRunning
		}
		if s.keep {
			v |= regmap.ScopeKeepWriting
		}
		return v
	case regmap.ScopeTriggerSource:
		return s.src
	case regmap.ScopeThreshold:
		return s.thresh
	case regmap.ScopeDelay:
		return s.dly
	case regmap.ScopeDecimation:
		return s.dec
	case regmap.ScopeWritePointer:
		return uint32(int64(s.wpBase)+s.nWritten(now)-1) & (bufLen - 1)
	case regmap.ScopeTriggerPointer:
		return s.wpTrig
	case regmap.ScopeHysteresis:
		return s.hyst
	case regmap.ScopeAverage:
		if s.avg {
			return 1
		}
		return 0
	case regmap.ScopeSamplesWritten:
		if s.trig {
			return uint32(min(s.trigSample+1, math.MaxUint32))
		}
		return uint32(min(s.nWritten(now), math.MaxUint32))
	case regmap.ScopeDebounce:
		return s.deb
	case regmap.ScopeADC1, regmap.ScopeADC2:
		ch := int(off-regmap.ScopeADC1) / 4
		return uint32(b.exactAt(b.scopeInput(ch), now)) & 0x3FFF
	case regmap.ScopeTimeLow:
		return lo32(now)
	case regmap.ScopeTimeHigh:
		return hi32(now)
	case regmap.ScopeTrigTimeLow:
		return lo32(s.tsTrig)
	case regmap.ScopeTrigTimeHigh:
		return hi32(s.tsTrig)
	case regmap.ScopePretrigger:
		n := s.nWritten(now)
		if s.trig {
			n = s.trigSample + 1
		}
		if s.pretrigOK(n) {
			return 1
		}
	}
	return 0
}

func (b *Board) writeScope(off, v uint32, now int64) {
	s := &b.scope
	switch off {
	case regmap.ScopeControl:
		s.keep = v&regmap.ScopeKeepWriting != 0
		if v&regmap.ScopeReset != 0 {
			s.armed, s.trig, s.finished = false, false, false
			s.wpBase, s.wpNext, s.wpTrig = 0, 0, 0
			s.tsTrig, s.src, s.swAt = now, regmap.TrigOff, -1
		}
		if v&regmap.ScopeArm != 0 {
			if s.armed {
				s.wpNext = s.addr(s.nWritten(now))
			}
			s.armed, s.trig, s.finished = true, false, false
			s.tArm, s.produced, s.owed, s.searched, s.endSample = now, 0, 0, 0, -1
			s.wpBase = s.wpNext
			s.schmittInit = false
		}
	case regmap.ScopeTriggerSource:
		s.src, s.tSrc = v&0xF, now
		s.swAt = -1
		if v&0xF == regmap.TrigImmediately {
			s.swAt = now + ScopeSWLatencyCycles
		}
		s.schmittInit = false
		b.wakeHelper()
		// the search starts at the samples written from now on
		if s.armed && !s.trig {
			b.scopeMake(s.nWritten(now))
			s.searched = s.nWritten(now)
		}
	case regmap.ScopeThreshold:
		s.thresh = v & 0x3FFF
	case regmap.ScopeDelay:
		s.dly = v
	case regmap.ScopeDecimation:
		s.dec = v & 0x1FFFF
	case regmap.ScopeHysteresis:
		s.hyst = v & 0x3FFF
	case regmap.ScopeAverage:
		s.avg = v&1 != 0
	case regmap.ScopeDebounce:
		s.deb = v & 0xFFFFF
	}
}
