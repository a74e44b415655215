package sim

import (
	"math"

	"github.com/rpbus/rpbus/regmap"
)

// iqState is one IQ module (red_pitaya_iq_block.v).
type iqState struct {
	ctrl, phase, outSel  uint32
	g                    [4]uint32
	inFilter, quadFilter uint32
	naAvg, naSleep       uint32
	acc                  acc // LO phase accumulator, m = 2^32
	pointActive          bool
	cw                   int64 // cycle the frequency was written
	s, n                 uint32
	partUpTo             int64 // cycles [first, partUpTo) already summed
	partI, partQ         float64
	noiseSq              float64
}

func (q *iqState) first() int64 { return q.cw + 1 + int64(q.s) }
func (q *iqState) end() int64   { return q.first() + int64(q.n) } // exclusive
func (q *iqState) doneAt() int64 {
	return q.end()
}

// amplitude is the output amplitude [V]: the top 14 bits of g2.
func (q *iqState) amplitude() float64 {
	return float64(regmap.ToSigned(q.g[1], 18)>>4) / regmap.VoltsNorm
}

func (b *Board) iqOn(k int) bool { return b.dsp.sync&(1<<(regmap.SlotIQ0+k)) != 0 }

// iqOut is the modulator output at cycle c: amplitude * sin(LO phase
// IQOutputLatencyCycles earlier), 14 bit. The quadrature feedback terms
// (g1, g4) are not modelled.
func (b *Board) iqOut(k int, c int64) int64 {
	q := &b.iq[k]
	if !b.iqOn(k) {
		return 0
	}
	a := q.amplitude()
	if a == 0 {
		return 0
	}
	t := q.acc.turns(c - IQOutputLatencyCycles)
	return sat14(int64(math.Round(a * regmap.VoltsNorm * math.Sin(2*math.Pi*t))))
}

func (b *Board) iqModel(k int) model {
	q := &b.iq[k]
	a := q.amplitude()
	if !b.iqOn(k) || a == 0 {
		return model{}
	}
	// a sin(2 pi turns(c - L)) = Re(-j a exp(-j 2 pi rate L) exp(j 2 pi turns(c)))
	coef := complex(0, -a) * expj(-2*math.Pi*q.acc.rate()*IQOutputLatencyCycles)
	return model{srcs: []source{{acc: q.acc, harm: []harmonic{{1, coef}}}}}
}

func (b *Board) readIQ(k int, off uint32, now int64) uint32 {
	q := &b.iq[k]
	switch off {
	case regmap.IQControl:
		v := q.ctrl &^ 1
		if b.iqOn(k) {
			v |= 1
		}
		return v
	case regmap.IQPhase:
		return q.phase
	case regmap.IQFrequency:
		return uint32(q.acc.step)
	case regmap.IQOutputSignal:
		return q.outSel
	case regmap.IQG1, regmap.IQAmplitude, regmap.IQQuadratureFactor, regmap.IQG4:
		return q.g[(off-regmap.IQG1)/4]
	case regmap.IQInputFilter:
		return q.inFilter
	case regmap.IQBandwidth:
		return q.quadFilter
	case regmap.IQNAAverages:
		return q.naAvg
	case regmap.IQNASleepCycles:
		return q.naSleep
	case regmap.IQNAISumLow, regmap.IQNAISumHigh, regmap.IQNAQSumLow, regmap.IQNAQSumHigh:
		i, qq, busy := b.naSums(k, now)
		v := i
		if off >= regmap.IQNAQSumLow {
			v = qq
		}
		u := uint64(v) & (1<<62 - 1)
		w := uint32(u & 0x7FFFFFFF)
		if off == regmap.IQNAISumHigh || off == regmap.IQNAQSumHigh {
			w = uint32(u >> 31 & 0x7FFFFFFF)
		}
		if busy {
			w |= regmap.IQNABusy
		}
		return w
	}
	return 0
}

func (b *Board) writeIQ(k int, off, v uint32, now int64) {
	q := &b.iq[k]
	switch off {
	case regmap.IQControl:
		q.ctrl = v & 0x3E
	case regmap.IQPhase:
		q.phase = v
	case regmap.IQFrequency:
		// the phase stays continuous; a new NA point starts
		q.acc = acc{c0: now, a0: q.acc.at(now), step: uint64(v), m: 1 << 32}
		q.pointActive, q.cw, q.s, q.n = true, now, q.naSleep, q.naAvg
		q.partUpTo, q.partI, q.partQ, q.noiseSq = q.first(), 0, 0, 0
	case regmap.IQOutputSignal:
		q.outSel = v & 0xF
	case regmap.IQG1, regmap.IQAmplitude, regmap.IQQuadratureFactor, regmap.IQG4:
		q.g[(off-regmap.IQG1)/4] = v & (1<<18 - 1)
	case regmap.IQInputFilter:
		q.inFilter = v
	case regmap.IQBandwidth:
		q.quadFilter = v
	case regmap.IQNAAverages:
		q.naAvg = v
	case regmap.IQNASleepCycles:
		q.naSleep = v
	}
}

// naSettle sums every running NA point up to now with the configuration
// that held so far (called before each write, and when a point's sums are
// read after its end).
func (b *Board) naSettle(now int64) {
	for k := range b.iq {
		q := &b.iq[k]
		if !q.pointActive {
			continue
		}
		to := min(now+1, q.end())
		if to > q.partUpTo {
			i, qq, nv := b.naSum(k, q.partUpTo, to)
			q.partI += i
			q.partQ += qq
			q.noiseSq += nv
			q.partUpTo = to
		}
		if q.partUpTo >= q.end() {
			q.pointActive = false
		}
	}
}

// naSums returns the accumulator values at cycle now, in the Verilog's
// units, and whether the point is still running.
func (b *Board) naSums(k int, now int64) (int64, int64, bool) {
	q := &b.iq[k]
	to := min(now+1, q.end())
	if q.pointActive && to == q.end() {
		// The point is over: its sums are final, and the reads that
		// follow (four words) take them instead of each summing the
		// point again (5 us a point at rbw 10 kHz, 3% of its time).
		b.naSettle(now)
	}
	i, qq, nv := q.partI, q.partQ, q.noiseSq
	if q.pointActive && to > q.partUpTo {
		di, dq, dn := b.naSum(k, q.partUpTo, to)
		i, qq, nv = i+di, qq+dq, nv+dn
	}
	// Gaussian noise of the accumulated variance, keyed by the point
	sd := naScale * math.Sqrt(nv/2)
	gi, gq := gauss2(key(b.cfg.Seed, streamNA+uint64(k)<<8, uint64(q.cw)))
	i += sd * gi
	qq += sd * gq
	busy := now < q.doneAt()
	return trunc62(i), trunc62(qq), busy
}

func trunc62(x float64) int64 {
	v := int64(math.Round(x))
	return v << 2 >> 2
}

// naSum is the analytic sum over cycles [a, e) of the IQ module's
// (input-filtered) input times sin and cos of its LO, each product term
// weighted by the quadrature low-pass's steady-state response, in the
// accumulator's units; and the noise variance the sum carries [V^2 cycles].
func (b *Board) naSum(k int, a, e int64) (float64, float64, float64) {
	q := &b.iq[k]
	n := e - a
	if n <= 0 || !b.iqOn(k) {
		return 0, 0, 0
	}
	sig := int(b.dsp.inputSel[regmap.SlotIQ0+k])
	in := b.model(sig)
	inSpec := regmap.IQInputFilterSpec
	quadSpec := regmap.IQQuadFilterSpec
	if k == 2 {
		quadSpec = regmap.IQ2QuadFilterSpec
	}
	loRate := q.acc.rate()
	lo0 := math.Mod(q.acc.turns(a)+float64(q.phase)/(1<<32), 1)
	var sp, sm complex128 // sum z e^{+j Phi}, sum z e^{-j Phi}
	term := func(z0 complex128, rate float64) {
		for _, sgn := range []float64{1, -1} {
			nu := rate + sgn*loRate
			nu -= math.Round(nu)
			hq := quadSpec.Response(q.quadFilter, nu*regmap.Clock)
			s := z0 * expj(2*math.Pi*sgn*lo0) * geom(nu, n) * hq
			if sgn > 0 {
				sp += s
			} else {
				sm += s
			}
		}
	}
	term(complex(in.dc*real(inSpec.Response(q.inFilter, 0)), 0), 0)
	for _, s := range in.srcs {
		if s.gate != nil && !s.gate(a) {
			term(complex(s.frozen*real(inSpec.Response(q.inFilter, 0)), 0), 0)
			continue
		}
		t0, r := s.acc.turns(a), s.acc.rate()
		for _, h := range s.harm {
			kk := float64(h.k)
			f := kk * r * regmap.Clock
			z := h.coef * inSpec.Response(q.inFilter, f) * expj(2*math.Pi*math.Mod(kk*t0, 1))
			term(z, math.Mod(kk*r, 1))
		}
	}
	// x sin(Phi) = (Im(z e^{jPhi}) - Im(z e^{-jPhi}))/2 and
	// x cos(Phi) = (Re(z e^{jPhi}) + Re(z e^{-jPhi}))/2 for x = Re z
	i := (imag(sp) - imag(sm)) / 2
	qq := (real(sp) + real(sm)) / 2
	var nv float64
	if b.noisy(sig) {
		h := cabs(inSpec.Response(q.inFilter, loRate*regmap.Clock))
		sx := b.cfg.NoiseStd() * h
		nv = (sx*sx + LSB*LSB/12) * float64(n)
	}
	return i * naScale, qq * naScale, nv
}

// naDoneAt returns the cycle from which iq k's NA point reads as done.
func (b *Board) naDoneAt(k int) int64 {
	q := &b.iq[k]
	if q.cw == 0 && !q.pointActive && q.n == 0 {
		return 0
	}
	return q.doneAt()
}
