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

// mulMod is x*y mod m.
func mulMod(x, y, m uint64) uint64 {
	hi, lo := bits.Mul64(x%m, y%m)
	_, r := bits.Div64(hi, lo, m)
	return r
}

// scaled returns the accumulator whose value is k times a's, modulo the
// same modulus: harmonic k of a as an accumulator of its own.
func (a acc) scaled(k int64) acc {
	if a.m == 0 {
		return a
	}
	r := k % int64(a.m) // moduli stay below 2^63 (combine caps them at 2^62)
	if r < 0 {
		r += int64(a.m)
	}
	km := uint64(r)
	return acc{c0: a.c0, a0: mulMod(a.a0, km, a.m), step: mulMod(a.step, km, a.m), m: a.m}
}

// combine returns the accumulator whose turns are a's plus o's, exactly:
// both are lifted to the least common multiple of their moduli (IQ
// modules count modulo 2^32, the generators modulo their table size);
// ok is false when that exceeds 2^62.
func (a acc) combine(o acc) (acc, bool) {
	if a.m == 0 || o.m == 0 {
		return acc{}, false
	}
	g := gcd(a.m, o.m)
	hi, l := bits.Mul64(a.m/g, o.m)
	if hi != 0 || l > 1<<62 {
		return acc{}, false
	}
	fa, fo := l/a.m, l/o.m
	return acc{c0: a.c0, m: l,
		a0:   (mulMod(a.a0%a.m, fa, l) + mulMod(o.at(a.c0), fo, l)) % l,
		step: (mulMod(a.step%a.m, fa, l) + mulMod(o.step%o.m, fo, l)) % l}, true
}

// canonical returns a referred to cycle 0 and, if its rate is above half
// a turn per cycle, negated with coef conjugated: the same real term
// Re(coef e^{j 2 pi turns}), in one form per phase, so equal terms merge.
func (a acc) canonical(coef complex128) (acc, complex128) {
	n := acc{a0: a.at(0), step: a.step % a.m, m: a.m}
	if 2*n.step > n.m {
		n.a0, n.step = (n.m-n.a0)%n.m, n.m-n.step
		coef = cmplx.Conj(coef)
	}
	return n, coef
}

func gcd(x, y uint64) uint64 {
	for y != 0 {
		x, y = y, x%y
	}
	return x
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

// transformAC is transform for an AC-coupled consumer: the DC parts (dc,
// zero-frequency harmonics, a gated source's frozen value) are left out
// (a module's DC goes through the slow engine, slow.go) and every other
// harmonic is multiplied by resp(f).
func (m model) transformAC(resp func(f float64) complex128) model {
	var out model
	for _, s := range m.srcs {
		ns := s
		ns.frozen = 0
		ns.harm = make([]harmonic, 0, len(s.harm))
		for _, h := range s.harm {
			if f := s.freq(h); f != 0 {
				ns.harm = append(ns.harm, harmonic{h.k, h.coef * resp(f)})
			}
		}
		if len(ns.harm) > 0 {
			out.srcs = append(out.srcs, ns)
		}
	}
	return out
}

// dcLevel is the model's constant part [V]: dc plus its zero-frequency
// harmonics (a table's mean, a mixing product at rate 0), taken while
// playing.
func (m model) dcLevel() float64 {
	v := m.dc
	for _, s := range m.srcs {
		for _, h := range s.harm {
			switch {
			case h.k == 0:
				v += real(h.coef)
			case s.freq(h) == 0:
				v += real(h.coef * expj(2*math.Pi*float64(h.k)*s.acc.turns(s.acc.c0)))
			}
		}
	}
	return v
}

// scaled returns m times a.
func (m model) scaled(a complex128) model {
	return m.transform(func(float64) complex128 { return a })
}

func (m *model) add(o model) {
	m.dc += o.dc
	m.srcs = append(m.srcs, o.srcs...)
}

// mixTerm is one product term of mix: harmonic coefficient factors for the
// sum (LO multiplier +1) and difference (-1) frequencies.
type mixTerm struct{ plus, minus complex128 }

// sinTerm and cosTerm: Re(c e^{j phi}) sin(psi) = Re(c (-j/2) e^{j(phi+psi)})
// + Re(c (j/2) e^{j(phi-psi)}), and with cos(psi) the halves are 1/2.
var (
	sinTerm = mixTerm{complex(0, -0.5), complex(0, 0.5)}
	cosTerm = mixTerm{0.5, 0.5}
)

// mix returns m times sin or cos (t) of 2 pi (turns of lo + theta), as the
// IQ modules' multipliers do: every harmonic becomes two, at the sum and
// difference of its phase and the LO's, on an accumulator combined exactly
// from both (acc.combine). Products at rate 0 join dc; equal products
// are merged (so a balanced modulator's images cancel). Gates and frozen
// values are dropped: a burst is mixed as if it played on.
func (m model) mix(lo acc, theta float64, t mixTerm) model {
	var out model
	idx := map[acc]int{}
	put := func(a acc, coef complex128) {
		if a.step%a.m == 0 {
			out.dc += real(coef * expj(2*math.Pi*a.turns(a.c0)))
			return
		}
		a, coef = a.canonical(coef)
		if i, ok := idx[a]; ok {
			out.srcs[i].harm[0].coef += coef
			return
		}
		idx[a] = len(out.srcs)
		out.srcs = append(out.srcs, source{acc: a, harm: []harmonic{{1, coef}}})
	}
	th := expj(2 * math.Pi * theta)
	both := func(a acc, c complex128) {
		for _, sgn := range [2]int64{1, -1} {
			l := lo.scaled(sgn)
			f := t.plus * th
			if sgn < 0 {
				f = t.minus / th
			}
			if n, ok := a.combine(l); ok {
				put(n, c*f)
			}
		}
	}
	if m.dc != 0 {
		both(acc{m: lo.m, c0: lo.c0}, complex(m.dc, 0))
	}
	for _, s := range m.srcs {
		for _, h := range s.harm {
			both(s.acc.scaled(int64(h.k)), h.coef)
		}
	}
	keep := out.srcs[:0]
	for _, s := range out.srcs {
		if cabs(s.harm[0].coef) > mixFloor {
			keep = append(keep, s)
		}
	}
	out.srcs = keep
	return out
}

// mixFloor drops mixing products below this [V]: a balanced modulator's
// cancelled images and products of cancelled terms.
const mixFloor = 1e-12

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
