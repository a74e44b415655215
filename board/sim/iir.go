package sim

import (
	"math"

	"github.com/rpbus/rpbus/internal/num"
	"github.com/rpbus/rpbus/regmap"
)

// iirState is the IIR module (slot 4, red_pitaya_iir_block.v): up to 14
// biquads in parallel, their outputs summed. Biquad j has coefficients
// b0, b1, a1, a2 (32 bit, 1.0 = 2^29; the high word PyRPL writes is
// truncated away) and computes, in the FPGA's sign convention,
//
//	y[k] = b0 x[k] + b1 x[k-1] + a1 y[k-1] + a2 y[k-2]
//
// (PyRPL writes -a1, -a2 of scipy's denominator). The biquads share one
// multiplier pipeline: with L = loops (10 bit; 0 counts as 1024) each is
// updated once every L cycles, biquad j one cycle after biquad j+1, and
// the first min(L, 14) are used. Biquad j samples the (input-filtered)
// input at cycle n0 - j - 1, where n0 is the cycle biquad 0 is updated in;
// the sum is output from n0 + 6 and held L cycles. For a tone
// exp(j w n) the output's component at w is therefore
//
//	H(w) = F(w) e^{-7jw} D_L(w) sum_j H_j(e^{jwL}) e^{-jwj},
//	D_L(w) = (1/L) sum_{r<L} e^{-jwr}  (the hold),
//
// with F the one-stage input filter; the images of the hold (at w + 2 pi
// m/L) are not modelled. Internally x = input * 2^17 and the output is
// the 36-bit sum >> 17, saturated to 14 bits. Off (bit 0 clear) resets the
// biquads and outputs 0; shortcut (bit 1, PyRPL's bypass) outputs the
// filtered input one cycle later instead.
type iirState struct {
	loops, ctrl, filter, overflow uint32
	coef                          [regmap.IIRStages * 8]uint32
}

func (s *iirState) on() bool       { return s.ctrl&regmap.IIROn != 0 }
func (s *iirState) shortcut() bool { return s.ctrl&regmap.IIRShortcut != 0 }

// period is L: the cycles between updates of one biquad.
func (s *iirState) period() int {
	if s.loops == 0 {
		return 1 << regmap.IIRLoopBits
	}
	return int(s.loops)
}

// biquads is the number of biquads in use.
func (s *iirState) biquads() int { return min(s.period(), regmap.IIRStages) }

// coefficient returns coefficient c (0 b0, 1 b1, 2 a1, 3 a2) of biquad j.
func (s *iirState) coefficient(j, c int) float64 {
	return float64(int32(s.coef[8*j+2*c])) / (1 << regmap.IIRShift)
}

// biquad returns H_j(z) for z^-1 = w.
func (s *iirState) biquad(j int, w complex128) complex128 {
	b0, b1 := s.coefficient(j, 0), s.coefficient(j, 1)
	a1, a2 := s.coefficient(j, 2), s.coefficient(j, 3)
	return (complex(b0, 0) + complex(b1, 0)*w) / (1 - complex(a1, 0)*w - complex(a2, 0)*w*w)
}

// response is the module's response at f Hz (the component at f of its
// output for a tone at f), input filter included.
func (s *iirState) response(f float64) complex128 {
	in := regmap.IIRFilterSpec.Response(s.filter, f)
	w := 2 * math.Pi * f / regmap.Clock
	switch {
	case s.shortcut():
		return in * expj(-w)
	case !s.on():
		return 0
	}
	l := s.period()
	wl := expj(-w * float64(l))
	var sum complex128
	for j := range s.biquads() {
		sum += s.biquad(j, wl) * expj(-w*float64(j))
	}
	return in * expj(-7*w) * boxcar(-w, int64(l)) * sum
}

// dcGain is the module's steady-state DC gain (the response at 0),
// clipped to +-1e9.
func (s *iirState) dcGain() float64 {
	in := filterDC(regmap.IIRFilterSpec, s.filter)
	switch {
	case s.shortcut():
		return in
	case !s.on():
		return 0
	}
	var g float64
	for j := range s.biquads() {
		b := real(s.biquad(j, 1))
		if !num.Finite(b) {
			b = math.Copysign(1e9, s.coefficient(j, 0)+s.coefficient(j, 1))
		}
		g += b
	}
	return max(-1e9, min(1e9, in*g))
}

// iirModel is the IIR output's AC part [V].
func (b *Board) iirModel() model {
	s := &b.iir
	return b.model(int(b.dsp.inputSel[regmap.SlotIIR])).transformAC(s.response)
}

// slowIIR evaluates the IIR's DC for the slow engine: its input's DC times
// the DC gain; an output that saturates sets overflow bit 6.
func (b *Board) slowIIR(t int64) {
	s := &b.slow
	m := &b.iir
	var v float64
	if g := m.dcGain(); g != 0 {
		v = g * b.dcIn(int(b.dsp.inputSel[regmap.SlotIIR]), t)
	}
	s.pre[regmap.SlotIIR] = v
	s.out[regmap.SlotIIR] = sat14(int64(math.Round(max(-1e9, min(1e9, v)))))
	if m.on() && (v > 8191 || v < -8192) {
		m.overflow |= 1 << 6
	}
}

func (b *Board) readIIR(off uint32) uint32 {
	s := &b.iir
	switch off {
	case regmap.IIRLoops:
		return s.loops
	case regmap.IIRControl:
		return s.ctrl
	case regmap.IIROverflow:
		return s.overflow
	case regmap.IIRInputFilter:
		return s.filter
	}
	return 0 // coefficients are not readable
}

func (b *Board) writeIIR(off, v uint32) {
	s := &b.iir
	switch {
	case off == regmap.IIRLoops:
		s.loops = v & (1<<regmap.IIRLoopBits - 1)
	case off == regmap.IIRControl:
		s.ctrl = v & 3
		if !s.on() {
			s.overflow = 0
		}
	case off == regmap.IIRInputFilter:
		s.filter = v
	case off&regmap.IIRCoefficients != 0:
		if i := off >> 2 & 0x3FF; i < uint32(len(s.coef)) {
			s.coef[i] = v
		}
	}
}
