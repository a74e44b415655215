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
	pfd                  pfdState
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

// iqOut is the modulator's amplitude term at cycle c: amplitude * sin(LO
// phase IQOutputLatencyCycles earlier), 14 bit.
func (b *Board) iqOut(k int, c int64) int64 {
	q := &b.iq[k]
	if !b.iqOn(k) {
		return 0
	}
	a := q.amplitude()
	if a == 0 {
		return 0
	}
	t := q.modLO().turns(c - IQOutputLatencyCycles)
	return sat14(int64(math.Round(a * regmap.VoltsNorm * math.Sin(2*math.Pi*t))))
}

// iqDirectAt is iq k's output_direct (dat_o) at cycle c.
func (b *Board) iqDirectAt(k int, c int64) int64 {
	if !b.iq[k].filtering() {
		return b.iqOut(k, c)
	}
	v := (b.model(iqDirectKey+k).at(c) + b.noiseAt(iqDirectKey+k, c)) * regmap.VoltsNorm
	return sat14(int64(math.Round(clampF(v))))
}

// The IQ module (red_pitaya_iq_block.v), with the LO phase R(n) of its
// accumulator as the time reference (R is the fgen phase two cycles
// earlier, the one the demodulator pairs with the input): the input x
// (after the one-stage input filter) is demodulated as
//
//	I = x sin(2 pi (R + theta)) * 65535/2^6,  Q = x cos(...) * 65535/2^6
//
// (24-bit units for x in LSB; theta = the phase register / 2^32, which
// PyRPL writes as -phase; at 2f with the demodulation flags), ready two
// cycles later and low-passed by the quadrature filter (2 stages, 4 for
// iq2). output_direct (dat_o) is, three cycles after the low-pass,
//
//	((I g1 + 2^19) >> 20 + g2 >> 4) * sin(2 pi R) * 65535/2^16 + ((Q g4 + 2^19) >> 20) cos(2 pi R) ...
//
// (floor, saturated to 14 bits): the amplitude term (g2, PyRPL's
// amplitude) plus a band-pass of the input around the LO (g1 = g4 = gain *
// 2^11 for PyRPL's gain). The quadrature output (output_signal 0) is
// (I g3 + 2^9) >> 10 one cycle after the low-pass (g3: quadrature_factor;
// iq2_2 is Q's). The mixing is done on the harmonic model (model.mix), so
// a tone from the same LO demodulates to an exact DC (a lock-in or PDH
// error signal), and each term is delayed and filtered exactly; the
// 14-bit saturation of the intermediate products, the floor's half-step
// offset are not modelled. The PFD (output_signal 2) is simulated cycle by
// cycle (pfd.go).

// iqDemodScale converts volts times the LO's sine into the 24-bit
// quadrature units: 2^13 * 65535 / 2^6.
const iqDemodScale = float64(regmap.VoltsNorm) * regmap.IQLUTAmplitude / (1 << regmap.IQDemodShift)

// filtering reports whether the modulator passes its demodulated input
// on (g1 or g4 non-zero).
func (q *iqState) filtering() bool { return q.g[0] != 0 || q.g[3] != 0 }

// demodLO is the demodulator's LO (doubled with the 2f flags).
func (q *iqState) demodLO() acc {
	if q.ctrl&(3<<4) != 0 {
		return q.acc.scaled(2)
	}
	return q.acc
}

// modLO is the modulator's LO (doubled with the 2f flags).
func (q *iqState) modLO() acc {
	if q.ctrl&(3<<2) != 0 {
		return q.acc.scaled(2)
	}
	return q.acc
}

// delay returns the response of a delay of n cycles.
func delay(n float64) func(f float64) complex128 {
	return func(f float64) complex128 { return expj(-2 * math.Pi * f * n / regmap.Clock) }
}

// iqLowPassed returns the low-passed quadrature I (cos false) or Q (cos
// true) of iq k [24-bit units], as a model, as it leaves the quadrature
// filter.
func (b *Board) iqLowPassed(k int, cos bool) model {
	q := &b.iq[k]
	if !b.iqOn(k) {
		return model{}
	}
	sig := int(b.dsp.inputSel[regmap.SlotIQ0+k])
	in := b.model(sig)
	if b.hasSlow(sig) {
		in.dc += b.slowAt(sig, b.slow.t) / regmap.VoltsNorm
	}
	in = in.transform(func(f float64) complex128 { return regmap.IQInputFilterSpec.Response(q.inFilter, f) })
	t := sinTerm
	if cos {
		t = cosTerm
	}
	quad := regmap.IQQuadFilterSpec
	if k == 2 {
		quad = regmap.IQ2QuadFilterSpec
	}
	d := delay(2)
	return in.mix(q.demodLO(), float64(q.phase)/(1<<32), t).scaled(complex(iqDemodScale, 0)).
		transform(func(f float64) complex128 { return d(f) * quad.Response(q.quadFilter, f) })
}

// iqQuadModel is iq k's quadrature output I (or Q with cos: iq2_2) [V].
func (b *Board) iqQuadModel(k int, cos bool) model {
	q := &b.iq[k]
	g3 := float64(regmap.ToSigned(q.g[2], regmap.IQAmplitudeBits))
	if g3 == 0 {
		return model{}
	}
	return b.iqLowPassed(k, cos).scaled(complex(g3/(1<<regmap.IQQuadFactorShift)/regmap.VoltsNorm, 0)).transform(delay(1))
}

// iqModel is iq k's output_direct (dat_o) [V]: the amplitude term and,
// with g1 or g4, the band-pass of its input.
func (b *Board) iqModel(k int) model {
	q := &b.iq[k]
	if !b.iqOn(k) {
		return model{}
	}
	var m model
	if a := q.amplitude(); a != 0 {
		lo := q.modLO()
		// a sin(2 pi turns(c - L)) = Re(-j a exp(-j 2 pi rate L) exp(j 2 pi turns(c)))
		coef := complex(0, -a) * expj(-2*math.Pi*lo.rate()*IQOutputLatencyCycles)
		m.srcs = append(m.srcs, source{acc: lo, harm: []harmonic{{1, coef}}})
	}
	if q.filtering() {
		// (I g / 2^20) LSB times the modulator's 65535/2^16 sine, in volts
		scale := func(g uint32) complex128 {
			return complex(float64(regmap.ToSigned(g, regmap.IQAmplitudeBits))/(1<<20)*regmap.IQLUTAmplitude/(1<<16)/regmap.VoltsNorm, 0)
		}
		lo := q.modLO()
		if q.g[0] != 0 {
			m.add(b.iqLowPassed(k, false).scaled(scale(q.g[0])).mix(lo, 0, sinTerm).transform(delay(IQOutputLatencyCycles)))
		}
		if q.g[3] != 0 {
			m.add(b.iqLowPassed(k, true).scaled(scale(q.g[3])).mix(lo, 0, cosTerm).transform(delay(IQOutputLatencyCycles)))
		}
	}
	return m
}

// iqSignalModel is iq k's DSP output signal [V], per output_signal.
func (b *Board) iqSignalModel(k int) model {
	switch b.iq[k].outSel {
	case regmap.IQSignalQuadrature:
		return b.iqQuadModel(k, false)
	case regmap.IQSignalOutputDirect:
		return b.model(iqDirectKey + k)
	}
	return model{} // pfd (a sequence of steps: pfd.go), off, quadrature_hf (not built)
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
	case regmap.IQPFDIntegral:
		return uint32(b.pfdAt(k, now)) & 0x3FFF
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
		was := q.pfdOn()
		q.ctrl = v & 0x3E
		if q.pfdOn() != was {
			b.pfdReset(k, now)
		}
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
	h := cabs(inSpec.Response(q.inFilter, loRate*regmap.Clock))
	nv := h * h * b.noisePSD(sig, loRate*regmap.Clock) * float64(n)
	if b.noisy(sig) {
		sx := b.cfg.NoiseStd() * h
		nv += (sx*sx + LSB*LSB/12) * float64(n)
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
