package sim

import (
	"math"
	"math/bits"
	"math/cmplx"

	"github.com/rpbus/rpbus/regmap"
)

// acc is a phase accumulator: its value at cycle c is (a0 + (c-c0)*step) mod m.
type acc struct {
	c0       int64
	a0, step uint64
	m        uint64
}

func (a acc) at(c int64) uint64 {
	if a.m == 0 {
		return 0
	}
	d := (c - a.c0) % int64(a.m)
	if d < 0 {
		d += int64(a.m)
	}
	hi, lo := bits.Mul64(uint64(d), a.step%a.m)
	_, r := bits.Div64(hi%a.m, lo, a.m)
	return (a.a0%a.m + r) % a.m
}

func (a acc) turns(c int64) float64 { return float64(a.at(c)) / float64(a.m) }
func (a acc) rate() float64 {
	if a.m == 0 {
		return 0
	}
	return float64(a.step%a.m) / float64(a.m)
}

// wrapsUpTo returns floor((a0 + (c-c0)*step) / m) for c >= c0.
func (a acc) wrapsUpTo(c int64) uint64 {
	hi, lo := bits.Mul64(uint64(c-a.c0), a.step)
	lo, carry := bits.Add64(lo, a.a0, 0)
	hi += carry
	if hi >= a.m {
		return math.MaxUint64
	}
	q, _ := bits.Div64(hi, lo, a.m)
	return q
}

// nextWrap returns the first cycle c >= t (t >= c0) at which the pointer
// is about to wrap (pointer(c) + step >= m, the Verilog's trig_done).
func (a acc) nextWrap(t int64) int64 {
	if a.step == 0 || a.m == 0 {
		return -1
	}
	w := a.wrapsUpTo(t + 1)
	if w != a.wrapsUpTo(t) {
		return t
	}
	// smallest c with a0 + (c+1-c0)*step >= (w+1)*m
	hi, lo := bits.Mul64(w+1, a.m)
	lo, borrow := bits.Sub64(lo, a.a0, 0)
	hi -= borrow
	lo, c1 := bits.Add64(lo, a.step-1, 0)
	hi += c1
	if hi >= a.step {
		return -1
	}
	q, _ := bits.Div64(hi, lo, a.step)
	return a.c0 + int64(q) - 1
}

// harmonic is one term Re(coef * exp(j 2 pi k turns(c))) [V].
type harmonic struct {
	k    int
	coef complex128
}

// source is a periodic signal driven by one accumulator, optionally gated
// (bursts): while not playing it holds the value frozen.
type source struct {
	acc    acc
	harm   []harmonic
	gate   func(c int64) bool // nil: always playing
	frozen float64
}

// model is the steady-state harmonic description of a signal [V].
type model struct {
	dc   float64
	srcs []source
}

// freq returns the frequency [Hz] of harmonic h of s.
func (s *source) freq(h harmonic) float64 { return float64(h.k) * s.acc.rate() * regmap.Clock }

// transform returns m with every harmonic multiplied by resp(f) (and the
// DC and frozen values by resp(0)).
func (m model) transform(resp func(f float64) complex128) model {
	h0 := real(resp(0))
	out := model{dc: m.dc * h0, srcs: make([]source, len(m.srcs))}
	for i, s := range m.srcs {
		ns := s
		ns.frozen = s.frozen * h0
		ns.harm = make([]harmonic, len(s.harm))
		for j, h := range s.harm {
			ns.harm[j] = harmonic{h.k, h.coef * resp(s.freq(h))}
		}
		out.srcs[i] = ns
	}
	return out
}

func (m *model) add(o model) {
	m.dc += o.dc
	m.srcs = append(m.srcs, o.srcs...)
}

// bound is an upper bound of |value| at any time [V].
func (m model) bound() float64 {
	b := math.Abs(m.dc)
	for _, s := range m.srcs {
		var a float64
		for _, h := range s.harm {
			a += cmplx.Abs(h.coef)
		}
		b += max(a, math.Abs(s.frozen))
	}
	return b
}

// at evaluates the model at cycle c.
func (m model) at(c int64) float64 {
	v := m.dc
	for _, s := range m.srcs {
		if s.gate != nil && !s.gate(c) {
			v += s.frozen
			continue
		}
		t := s.acc.turns(c)
		for _, h := range s.harm {
			v += real(h.coef * expj(2*math.Pi*float64(h.k)*t))
		}
	}
	return v
}

// block adds to dst[j] the model's value at cycle cs + j*dt, or, with
// avg > 1, its mean over cycles [cs + j*dt, cs + j*dt + avg). played is
// scratch for gated sources, reused between calls.
func (m model) block(cs, dt int64, avg int64, dst []float64, played *[]bool) {
	if m.dc != 0 {
		for j := range dst {
			dst[j] += m.dc
		}
	}
	for _, s := range m.srcs {
		t0 := s.acc.turns(cs)
		r := s.acc.rate()
		step := math.Mod(r*float64(dt), 1)
		var on []bool
		if s.gate != nil {
			if cap(*played) < len(dst) {
				*played = make([]bool, len(dst))
			}
			on = (*played)[:len(dst)]
			for j := range dst {
				on[j] = s.gate(cs + int64(j)*dt + avg/2)
				if !on[j] {
					dst[j] += s.frozen
				}
			}
		}
		for _, h := range s.harm {
			if h.coef == 0 {
				continue
			}
			k := float64(h.k)
			base := h.coef
			if avg > 1 {
				base *= boxcar(2*math.Pi*math.Mod(k*r, 1), avg)
			}
			ph0, dph := math.Mod(k*t0, 1), math.Mod(k*step, 1)
			if on == nil {
				addTone(dst, base, ph0, dph)
				continue
			}
			p := base * expj(2*math.Pi*ph0)
			rot := expj(2 * math.Pi * dph)
			for j := range dst {
				if on[j] {
					dst[j] += real(p)
				}
				if j&(anchorEvery-1) == anchorEvery-1 {
					p = base * expj(2*math.Pi*math.Mod(ph0+dph*float64(j+1), 1))
				} else {
					p *= rot
				}
			}
		}
	}
}

// anchorEvery: recurrences restart from an exact sincos this often
// (samples), which bounds their rounding drift.
const anchorEvery = 1024

// addTone adds Re(base exp(j 2 pi (ph0 + j dph))) to dst[j]. Four
// interleaved streams (samples j = 4m + k) each follow the Chebyshev
// recurrence y[m+1] = 2 cos(8 pi dph) y[m] - y[m-1]: one multiply per
// sample and no dependency chain across streams. Every anchorEvery
// samples they restart from exact values, which bounds the rounding error
// to about 1e-10 relative (1e-6 LSB at full scale, worst near Nyquist).
func addTone(dst []float64, base complex128, ph0, dph float64) {
	c := 2 * math.Cos(2*math.Pi*math.Mod(4*dph, 1))
	at := func(j int) float64 { return real(base * expj(2*math.Pi*math.Mod(ph0+dph*float64(j), 1))) }
	for j0 := 0; j0 < len(dst); j0 += anchorEvery {
		d := dst[j0:min(len(dst), j0+anchorEvery)]
		a0, a1, a2, a3 := at(j0), at(j0+1), at(j0+2), at(j0+3)
		b0, b1, b2, b3 := at(j0+4), at(j0+5), at(j0+6), at(j0+7)
		j := 0
		for ; j+3 < len(d); j += 4 {
			d4 := d[j : j+4 : j+4]
			d4[0] += a0
			d4[1] += a1
			d4[2] += a2
			d4[3] += a3
			a0, b0 = b0, c*b0-a0
			a1, b1 = b1, c*b1-a1
			a2, b2 = b2, c*b2-a2
			a3, b3 = b3, c*b3-a3
		}
		for _, v := range [...]float64{a0, a1, a2} {
			if j < len(d) {
				d[j] += v
				j++
			}
		}
	}
}

// boxcar is (1/n) sum_{m<n} exp(j w m).
func boxcar(w float64, n int64) complex128 {
	s := math.Sin(w / 2)
	if math.Abs(s) < 1e-15 {
		return 1
	}
	return expj(w*float64(n-1)/2) * complex(math.Sin(w*float64(n)/2)/(float64(n)*s), 0)
}

// geom is sum_{m<n} exp(j 2 pi nu m).
func geom(nu float64, n int64) complex128 {
	nu -= math.Round(nu)
	s := math.Sin(math.Pi * nu)
	if math.Abs(s) < 1e-13 {
		return complex(float64(n), 0)
	}
	return expj(math.Pi*nu*float64(n-1)) * complex(math.Sin(math.Pi*nu*float64(n))/s, 0)
}

func expj(x float64) complex128 {
	s, c := math.Sincos(x)
	return complex(c, s)
}

func sat14(x int64) int64 { return max(-8192, min(8191, x)) }

// code14 is x saturated to 14 bits, as the 14-bit two's-complement code
// the scope's buffers hold and its data registers read (bits 14, 15 zero).
func code14(x int64) uint16 { return uint16(sat14(x)) & 0x3FFF }

// fromCode14 is the signed value of a 14-bit code.
func fromCode14(c uint16) int64 { return int64(int16(c<<2) >> 2) }

// roundEven is math.RoundToEven for |x| < 2^51 in two additions (the
// magic constant leaves no fraction bits). Noisy inputs are quantised
// with it: their values are continuous, so a tie has probability zero
// and the tie rule does not matter, while the speed does (2 x 16384
// samples per trace).
func roundEven(x float64) float64 {
	const magic = 1 << 52 * 1.5
	return (x + magic) - magic
}

// floorFast is math.Floor for |x| < 2^51 without a call or a branch:
// round, then step down by the sign bit of x - r (exact), which is set
// where rounding went up. A branch there mispredicted half the time and
// made noisy boxcar samples 2.4 times slower.
func floorFast(x float64) float64 {
	r := roundEven(x)
	return r - float64(math.Float64bits(x-r)>>63)
}

func cabs(z complex128) float64 { return math.Hypot(real(z), imag(z)) }
