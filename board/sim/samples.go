package sim

import (
	"math"
	"slices"

	"github.com/rpbus/rpbus/regmap"
)

// genScratch is one generating goroutine's scratch space.
type genScratch struct {
	f      []float64
	played []bool
}

// modelBased reports whether sample16 makes sig from its cached model
// rather than exactAt: averaged, a noisy input, or noise through modules.
func (b *Board) modelBased(sig int, avg bool) bool {
	return avg || b.noisy(sig) || b.hasNoisePath(sig)
}

// shareable reports whether two goroutines may make sig's samples at once
// (scopeProduce's helper): model-based without a noise path or a PFD
// output, whose streams and counting history carry state, so that only
// cached, read-only state is used.
func (b *Board) shareable(sig int, avg bool) bool {
	if _, pfd := b.pfdSignal(sig); pfd {
		return false
	}
	return b.modelBased(sig, avg) && !b.hasNoisePath(sig)
}

// genBlock is the generation block [samples]: its float scratch (8 KiB)
// stays in L1.
const genBlock = 1024

// sampleBlock appends to dst n decimated samples of signal sig whose
// windows start at cs + j*dec (see sample16).
func (b *Board) sampleBlock(sig int, cs, dec int64, avg bool, n int, dst []int64) []int64 {
	if cap(b.tmp16) < n {
		b.tmp16 = make([]uint16, n)
	}
	t := b.tmp16[:n]
	for j := 0; j < n; j += genBlock {
		k := min(n, j+genBlock)
		b.sample16(sig, cs+int64(j)*dec, dec, avg, t[j:k], &b.gen[0])
	}
	dst = slices.Grow(dst, n)
	for _, v := range t {
		dst = append(dst, fromCode14(v))
	}
	return dst
}

// sample16 fills dst with the 14-bit codes (code14) of decimated samples
// of signal sig whose windows start at cs + j*dec: the last value of each
// window, or with avg the sum of the window's dec samples shifted right by
// log2(dec) as the Verilog does it (floor(S/dec), S an integer), and for
// a dec that is not a power of two the sum's low 14 bits, undivided.
// Noisy inputs take the harmonic model plus the keyed noise, then
// quantise in one pass. sc is the calling goroutine's scratch.
func (b *Board) sample16(sig int, cs, dec int64, avg bool, dst []uint16, sc *genScratch) {
	n := len(dst)
	if k, ok := b.pfdSignal(sig); ok {
		if cap(sc.f) < n {
			sc.f = make([]float64, n)
		}
		f := sc.f[:n]
		b.pfdBlock(k, f, cs, dec, avg)
		for j, v := range f {
			// a mean over a window that is not a power of two is the
			// undivided sum's low 14 bits, as in the model path
			x := int64(math.Floor(v*regmap.VoltsNorm + 1e-9))
			if avg && dec&(dec-1) != 0 {
				x = regmap.ToSigned(uint32(int64(math.Round(v*regmap.VoltsNorm*float64(dec)))), 14)
			}
			dst[j] = code14(x)
		}
		return
	}
	if !b.modelBased(sig, avg) {
		last := cs + dec - 1
		for j := range dst {
			dst[j] = code14(b.exactAt(sig, last+int64(j)*dec))
		}
		return
	}
	if cap(sc.f) < n {
		sc.f = make([]float64, n)
	}
	f := sc.f[:n]
	clear(f)
	in2 := uint64(0)
	if sig == regmap.SlotIn2 {
		in2 = 1
	}
	if avg {
		b.model(sig).block(cs, dec, dec, f, &sc.played)
		b.addSlow(f, sig, cs, dec, true)
		b.addNoisePath(f, sig, cs, dec, true)
		if dec&(dec-1) != 0 {
			b.boxcarSum(dst, f, sig, cs, dec, in2)
			return
		}
		// S/dec lies on a lattice of 1/dec steps: floor(S/dec) of the
		// integer sum is floor(mean + 1/(2 dec)) of its continuous
		// (Gaussian) stand-in, and of an exact mean too.
		half := 0.5 / float64(dec) / regmap.VoltsNorm
		for j := range f {
			f[j] += half
		}
		if b.noisy(sig) {
			// one draw per window, keyed by (window number cs/dec, log2
			// dec): consecutive windows have consecutive numbers, so they
			// read a tape block in order
			lg := uint64(math.Log2(float64(dec)))
			sd := b.cfg.SampleNoiseStd(uint32(dec), true)
			quantNoisy(dst, f, b.cfg.Seed, (streamIn1Avg+in2)|lg<<8, cs/dec, sd, true)
			return
		}
		for j, v := range f {
			dst[j] = code14(b.outputStage(sig, int64(floorFast(v*regmap.VoltsNorm))))
		}
		return
	}
	last := cs + dec - 1
	b.model(sig).block(last, dec, 0, f, &sc.played)
	b.addSlow(f, sig, last, dec, false)
	b.addNoisePath(f, sig, cs, dec, false)
	if !b.noisy(sig) {
		for j, v := range f {
			dst[j] = code14(b.outputStage(sig, int64(roundEven(clampF(v*regmap.VoltsNorm)))))
		}
		return
	}
	if dec == 1 {
		quantNoisy(dst, f, b.cfg.Seed, streamIn1+in2, last, b.cfg.NoiseStd(), false)
		return
	}
	addNoise(f, b.cfg.Seed, streamIn1+in2, last, dec, b.cfg.NoiseStd())
	for j, v := range f {
		dst[j] = code14(int64(roundEven(v * regmap.VoltsNorm)))
	}
}

// boxcarSum is sample16's averaged sample at a decimation that is not a
// power of two: red_pitaya_scope.v has no shift for it and keeps the low
// 14 bits of the sum of the dec conversions, so the sample is dec times the
// mean, wrapped. f holds the window means [V].
func (b *Board) boxcarSum(dst []uint16, f []float64, sig int, cs, dec int64, in2 uint64) {
	d := float64(dec)
	for j := range f {
		f[j] *= d
	}
	if b.noisy(sig) {
		sd := b.cfg.SampleNoiseStd(uint32(dec), true) * d // of the sum
		addNoise(f, b.cfg.Seed, (streamIn1Sum+in2)|uint64(dec)<<8, cs/dec, 1, sd)
	}
	for j, v := range f {
		dst[j] = uint16(int64(roundEven(v*regmap.VoltsNorm))) & 0x3FFF
	}
}

// addSlow adds to f[j] [V] the slow engine's DC of signal sig at cycle
// cs + j*dec, or with avg its mean over [cs + j*dec, cs + (j+1)*dec): the
// history is piecewise constant, so the mean is exact (the trig module's
// output, a sequence of events, is taken at 16 points of a window).
func (b *Board) addSlow(f []float64, sig int, cs, dec int64, avg bool) {
	if !b.hasSlow(sig) {
		return
	}
	if b.slowTrig(sig) {
		step := max(1, dec/16)
		for j := range f {
			c := cs + int64(j)*dec
			if !avg {
				f[j] += float64(b.trigOutAt(c)) * b.slowGain(sig) / regmap.VoltsNorm
				continue
			}
			var v float64
			n := 0
			for m := int64(0); m < dec; m += step {
				v += float64(b.trigOutAt(c + m))
				n++
			}
			f[j] += v / float64(n) * b.slowGain(sig) / regmap.VoltsNorm
		}
		if sig == regmap.SlotTrig {
			return
		}
	}
	h := b.slow.hist
	if len(h) == 0 {
		return
	}
	i := b.slow.slowIndex(cs)
	vi, val := i, b.slowValue(sig, &h[i])
	at := func(k int) float64 {
		if k != vi {
			vi, val = k, b.slowValue(sig, &h[k])
		}
		return val
	}
	for j := range f {
		c := cs + int64(j)*dec
		for i+1 < len(h) && h[i+1].t <= c {
			i++
		}
		if !avg || i+1 >= len(h) || h[i+1].t >= c+dec {
			f[j] += at(i) / regmap.VoltsNorm
			continue
		}
		// the window spans changes: integrate the steps
		var v float64
		t, k := c, i
		for t < c+dec {
			end := c + dec
			if k+1 < len(h) {
				end = min(end, h[k+1].t)
			}
			v += at(k) * float64(end-t)
			t = end
			if k+1 < len(h) && h[k+1].t <= t {
				k++
			}
		}
		f[j] += v / float64(dec) / regmap.VoltsNorm
	}
}

// noisy reports whether sig carries analog input noise.
func (b *Board) noisy(sig int) bool {
	return (sig == regmap.SlotIn1 || sig == regmap.SlotIn2) && b.hk.digitalLoop&1 == 0
}
