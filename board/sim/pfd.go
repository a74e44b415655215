package sim

import (
	"cmp"
	"math"
	"slices"

	"github.com/rpbus/rpbus/regmap"
)

// pfdState is an IQ module's phase-frequency detector
// (red_pitaya_pfd_block.v with ISR 0, inside red_pitaya_iq_block.v). Every
// cycle it takes two sign bits: s1 of the module's input after its input
// filter, s2 of the LO's sine (the fgen's sin output, at 2f with the
// sin_at_2f flag). A rising sign bit (the signal turning negative) is an
// edge: an edge of s1 alone adds 1 to a 14-bit integral, one of s2 alone
// takes 1 away, both at once leave it. At +8191 the next cycle steps it
// down by one and at -8192 up by one, whatever the edges: it rests
// against its rails. The integral counts the input's cycles minus the
// LO's, so it ramps at the frequency difference and, at equal
// frequencies, holds a value whose mean moves by one count per turn of
// phase between them. pfd_on (control bit 1, set at reset) low holds it
// at 0. It reads at 0x150 and is the module's signal with output_signal
// pfd.
//
// Like the trig module it is evaluated when it is looked at (the register,
// its signal, and before every write once it has been looked at), cycle by
// cycle over the input's exact samples (noise included, so a noisy slow
// crossing makes extra edges as on a board), at most maxSearchLag cycles
// per look. Of a longer stretch only the last maxSearchLag cycles are
// simulated; the stretch before them moves the integral by the rate those
// cycles show (the input's edges per cycle from its first to its last
// edge there, less the LO's from its frequency register), clamped to the
// rails. Before its first look nothing is
// simulated: the first look extrapolates from pfd_on (or the board's
// start) the same way.
type pfdState struct {
	watched  bool  // looked at since the last reset: advanced before writes
	since    int64 // cycle the integral starts from 0 (pfd_on set)
	searched int64 // cycles [.., searched) are processed
	v        int64 // the integral after cycle searched-1
	l1, l2   bool  // the sign bits of cycle searched-1
	init     bool  // l1, l2 valid
	lpf      lpfState
	hist     []pfdStep // the integral's changes, oldest first
	steps    []pfdStep // a look's changes before they join hist (scratch)
	busy     bool      // evaluating: an input that is the PFD itself reads its past
}

// pfdStep is a change of the integral: from cycle t on it is v.
type pfdStep struct {
	t int64
	v int64
}

// pfdMaxLook is the most cycles one look simulates (0.5 ms, about 1 ms of
// CPU): a PyRPL client polling the register over a LAN keeps the board
// busy, not behind.
const pfdMaxLook = 1 << 16

// maxPFDHistory bounds the changes remembered for samples of the signal.
const maxPFDHistory = 1 << 16

// pfdOn reports whether iq k's PFD runs (pfd_on, control bit 1).
func (q *iqState) pfdOn() bool { return q.ctrl&2 != 0 }

// pfdReset holds iq k's PFD at 0 from cycle now (pfd_on cleared, or set
// again: it counts from now).
func (b *Board) pfdReset(k int, now int64) {
	p := &b.iq[k].pfd
	*p = pfdState{since: now, searched: now, hist: p.hist[:0]}
}

// pfdLO returns the accumulator whose top bit is the sign of the LO's
// sine as the PFD sees it.
func (q *iqState) pfdLO() acc {
	if q.ctrl&(1<<2) != 0 { // sin_at_2f
		return q.acc.scaled(2)
	}
	return q.acc
}

// pfdAdvance runs iq k's PFD up to cycle `to` (inclusive).
func (b *Board) pfdAdvance(k int, to int64) {
	q := &b.iq[k]
	p := &q.pfd
	if p.busy || to < p.searched {
		return
	}
	p.watched = true
	if !q.pfdOn() {
		p.searched = to + 1
		return
	}
	p.busy = true
	defer func() { p.busy = false }()
	from := p.searched
	skipped := int64(0)
	if to-from+1 > pfdMaxLook {
		skipped = to + 1 - pfdMaxLook - from
		from = to + 1 - pfdMaxLook
		p.init = false
	}
	sig := int(b.dsp.inputSel[regmap.SlotIQ0+k])
	lo := q.pfdLO()
	spec := regmap.IQInputFilterSpec
	v := p.v
	var n1, first1, last1 int64 // the input's edges: count, first and last cycle
	// scratch of its own: a look can come from inside another signal's
	// sample generation
	if b.pfdBuf == nil {
		b.pfdBuf = make([]uint16, genBlock)
	}
	start := v
	steps := p.steps[:0]
	for c := from; c <= to; c += genBlock {
		buf := b.pfdBuf[:min(genBlock, to-c+1)]
		b.sample16(sig, c, 1, false, buf, &b.pfdGen)
		for i, code := range buf {
			t := c + int64(i)
			x := p.lpf.step(spec, q.inFilter, fromCode14(code))
			s1, s2 := x < 0, lo.at(t)>>31&1 != 0
			if !p.init {
				p.l1, p.l2, p.init = s1, s2, true
				continue
			}
			e1, e2 := s1 && !p.l1, s2 && !p.l2
			p.l1, p.l2 = s1, s2
			old := v
			switch {
			case v == 8191:
				v--
			case v == -8192:
				v++
			case e1 && !e2:
				v++
			case e2 && !e1:
				v--
			}
			if e1 {
				if n1 == 0 {
					first1 = t
				}
				n1, last1 = n1+1, t
			}
			if v != old {
				steps = append(steps, pfdStep{t + 1, v})
			}
		}
	}
	if skipped > 0 {
		// the skipped stretch came first: it moved the integral by the
		// input's edges there less the LO's
		shift := b.pfdSkipped(sig, lo, from-skipped-1, from, n1, first1, last1) // cycles (from-skipped-1, from]
		shift = min(max(start+shift, -8192), 8191) - start
		if shift != 0 {
			p.addStep(from, start+shift)
			v = min(max(v+shift, -8192), 8191)
			for i := range steps {
				steps[i].v = min(max(steps[i].v+shift, -8192), 8191)
			}
		}
	}
	for _, s := range steps {
		p.addStep(s.t, s.v)
	}
	p.steps = steps[:0]
	p.v = v
	p.searched = to + 1
}

// pfdSkipped is the input's edges minus the LO's in cycles (c1, c2], a
// stretch not simulated; n1, first1 and last1 are the input's edges in the
// simulated cycles after it (up to to). The LO's edges are counted on its
// accumulator exactly. The input's are too where its model is one
// periodic source whose fundamental the simulated edges follow: its
// crossing is at the accumulator position of the last simulated edge.
// Otherwise they are the simulated edges' rate times the stretch.
func (b *Board) pfdSkipped(sig int, lo acc, c1, c2, n1, first1, last1 int64) int64 {
	crossings := func(a acc, theta uint64) (int64, bool) {
		if a.m == 0 || c1 < a.c0 || a.step%a.m > a.m/2 {
			return 0, false
		}
		sh := acc{c0: a.c0, a0: a.a0%a.m + (a.m-theta%a.m)%a.m, step: a.step % a.m, m: a.m}
		w1, w2 := sh.wrapsUpTo(c1), sh.wrapsUpTo(c2)
		if w1 == math.MaxUint64 || w2 == math.MaxUint64 {
			return 0, false
		}
		return int64(w2 - w1), true
	}
	n2, ok := crossings(lo, lo.m/2)
	if !ok {
		n2 = int64(math.Round(lo.rate() * float64(c2-c1)))
	}
	if m := b.model(sig); n1 > 1 && len(m.srcs) == 1 && m.srcs[0].gate == nil {
		a := m.srcs[0].acc
		r1 := float64(n1-1) / float64(last1-first1)
		if math.Abs(a.rate()-r1)*float64(last1-first1) < 1 {
			// the crossing lies between the last edge's cycle and the one before
			theta := (a.at(last1) + a.m - a.step%a.m/2) % a.m
			if n, ok := crossings(a, theta); ok {
				return n - n2
			}
		}
	}
	var r1 float64 // edges per cycle
	switch {
	case n1 > 1:
		r1 = float64(n1-1) / float64(last1-first1)
	case n1 == 1:
		r1 = 1 / float64(pfdMaxLook)
	}
	return int64(math.Round(r1*float64(c2-c1))) - n2
}

func (p *pfdState) addStep(t, v int64) {
	if n := len(p.hist); n == maxPFDHistory {
		p.hist = append(p.hist[:0], p.hist[n/2:]...)
	}
	p.hist = append(p.hist, pfdStep{t, v})
}

// pfdAt is iq k's PFD integral at cycle c.
func (b *Board) pfdAt(k int, c int64) int64 {
	b.pfdAdvance(k, c)
	p := &b.iq[k].pfd
	if c < p.since {
		return 0
	}
	return p.valueAt(c)
}

// valueAt is the integral at cycle c from the remembered changes (before
// them, the oldest; without any, the current value).
func (p *pfdState) valueAt(c int64) int64 {
	h := p.hist
	i := p.index(c)
	switch {
	case i >= 0:
		return h[i].v
	case len(h) > 0:
		return h[0].v
	}
	return p.v
}

// index is the last change at or before cycle c, or -1.
func (p *pfdState) index(c int64) int {
	i, _ := slices.BinarySearchFunc(p.hist, c+1, func(s pfdStep, t int64) int { return cmp.Compare(s.t, t) })
	return i - 1
}

// pfdBlock fills f [V] with iq k's PFD signal at cycles cs + j*dec, or
// with avg its mean over each window [cs + j*dec, cs + (j+1)*dec) (the
// integral is piecewise constant: the mean is exact over the remembered
// changes).
func (b *Board) pfdBlock(k int, f []float64, cs, dec int64, avg bool) {
	end := cs + int64(len(f))*dec
	b.pfdAdvance(k, end)
	for j := range f {
		c := cs + int64(j)*dec
		if !avg || dec == 1 {
			f[j] = float64(b.pfdAt(k, c+dec-1)) / regmap.VoltsNorm
			continue
		}
		f[j] = b.pfdMean(k, c, c+dec) / regmap.VoltsNorm
	}
}

// pfdMean is the integral's mean over cycles [from, to).
func (b *Board) pfdMean(k int, from, to int64) float64 {
	p := &b.iq[k].pfd
	h := p.hist
	v := b.pfdAt(k, from)
	i := p.index(from) + 1
	var sum float64
	t := from
	for ; i < len(h) && h[i].t < to; i++ {
		sum += float64(v) * float64(h[i].t-t)
		t, v = h[i].t, h[i].v
	}
	sum += float64(v) * float64(to-t)
	return sum / float64(to-from)
}

// pfdWatch advances every watched PFD up to now before a write at addr
// that may change what it sees: to its own module, the generators or
// housekeeping (the digital loop). A write elsewhere (another module's
// gains, the scope) applies to the stretch since the PFD's last look.
func (b *Board) pfdWatch(now int64, addr uint32) {
	for k := range b.iq {
		slot := regmap.Slot(regmap.SlotIQ0 + k)
		own := addr >= slot && addr < slot+regmap.SlotSize
		if b.iq[k].pfd.watched && (own || addr < regmap.DSPBase && addr >= regmap.ASGBase || addr < regmap.ScopeBase) {
			b.pfdAdvance(k, now)
		}
	}
}

// pfdSignal reports whether DSP signal sig is an IQ module's PFD output
// (output_signal pfd), and which module.
func (b *Board) pfdSignal(sig int) (int, bool) {
	if sig < regmap.SlotIQ0 || sig > regmap.SlotIQ2 {
		return 0, false
	}
	k := sig - regmap.SlotIQ0
	return k, b.iq[k].outSel == regmap.IQSignalPFD
}
