package sim

import (
	"math"
	"sync"

	"github.com/rpbus/rpbus/regmap"
)

// noiseClip truncates every Gaussian draw at this many sigmas, so that a
// trigger threshold beyond signal + noiseClip*sigma provably never fires.
const noiseClip = 6.0

// mix is splitmix64's finaliser: a bijective avalanche of one word.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// Hash constants: the golden ratio keys streams, a second odd constant
// spreads the counter.
const (
	streamMul  = 0x9e3779b97f4a7c15
	counterMul = 0xd1b54a32d192ed03
)

// streamKey is the per-stream half of key: hoisted out of sample loops.
func streamKey(seed, stream uint64) uint64 { return mix(seed ^ streamMul*(stream+1)) }

// key combines the seed, a stream id and a counter into one hash.
func key(seed, stream, n uint64) uint64 { return mix(streamKey(seed, stream) + n*counterMul) }

// Inverse normal CDF table: normQ[i] = Phi^-1(i / 2^normBits) for
// 0 < i < 2^normBits (the ends are infinite and never read).
const normBits = 16

var normQ = sync.OnceValue(func() *[1<<normBits + 1]float32 {
	t := new([1<<normBits + 1]float32)
	const n = 1 << normBits
	for i := 1; i <= n/2; i++ {
		p := float64(i) / n
		t[i] = float32(math.Sqrt2 * math.Erfinv(2*p-1))
		t[n-i] = -t[i] // exact symmetry: zero mean
	}
	return t
})

// norm32 maps 32 uniform bits to a standard normal draw, truncated at
// +-noiseClip, by inverting the CDF: the top 16 bits pick a quantile cell
// of probability 2^-16, the low 16 bits place the draw linearly inside it.
// The CDF is exact at the cell edges and within 1e-6 in between (see
// TestNormTable). The two outer cells (|x| > 3.97, probability 3e-5) use
// the exact inverse, so the tails reach the clip.
func norm32(q *[1<<normBits + 1]float32, w uint32) float64 {
	i := w >> (32 - normBits)
	if i-1 >= 1<<normBits-2 { // i == 0 or the last cell
		return normTail(w)
	}
	return normCell(q, i, w)
}

// normCell interpolates inside cell i (0 < i < 2^normBits-1): the low bits
// of w, plus half a step, are the position in the cell.
func normCell(q *[1<<normBits + 1]float32, i, w uint32) float64 {
	lo := float64(q[i])
	return lo + (float64(q[i+1])-lo)*(float64(w&(1<<(32-normBits)-1))*(1.0/(1<<(32-normBits)))+0.5/(1<<(32-normBits)))
}

// normTail is the exact inverse CDF at (w + 1/2) / 2^32, clipped; kept out
// of line so that norm32 inlines.
//
//go:noinline
func normTail(w uint32) float64 {
	return clip(math.Sqrt2 * math.Erfinv(2*(float64(w)+0.5)/(1<<32)-1))
}

// gauss2 returns two independent standard normal draws keyed by h (its
// low and high 32 bits), each truncated at +-noiseClip.
func gauss2(h uint64) (float64, float64) {
	q := normQ()
	return norm32(q, uint32(h)), norm32(q, uint32(h>>32))
}

func clip(x float64) float64 { return max(-noiseClip, min(noiseClip, x)) }

// gaussAt is a standard normal draw that is a pure function of (seed,
// stream, n); consecutive even/odd n share one hash.
func gaussAt(seed, stream uint64, n int64) float64 {
	h := key(seed, stream, uint64(n)>>1)
	return norm32(normQ(), uint32(h>>(32*(uint64(n)&1))))
}

// addNoise adds sd * gaussAt(seed, stream, n0 + j*dn) to dst[j], with the
// stream's key and the table hoisted out of the loop and, for dn == 1,
// one hash per pair of samples.
func addNoise(dst []float64, seed, stream uint64, n0, dn int64, sd float64) {
	if sd == 0 || len(dst) == 0 {
		return
	}
	q := normQ()
	s := streamKey(seed, stream)
	if dn != 1 {
		n := uint64(n0)
		for j := range dst {
			h := mix(s + (n>>1)*counterMul)
			dst[j] += sd * norm32(q, uint32(h>>(32*(n&1))))
			n += uint64(dn)
		}
		return
	}
	n := uint64(n0)
	j := 0
	if n&1 == 1 { // odd start: the high half of the previous pair
		dst[0] += sd * norm32(q, uint32(mix(s+(n>>1)*counterMul)>>32))
		j, n = 1, n+1
	}
	for ; j+1 < len(dst); j += 2 {
		h := mix(s + (n>>1)*counterMul)
		n += 2
		w0, w1 := uint32(h), uint32(h>>32)
		// both in interpolated cells (all but 1 pair in 16000): one branch
		if max(w0>>(32-normBits)-1, w1>>(32-normBits)-1) < 1<<normBits-2 {
			dst[j] += sd * normCell(q, w0>>(32-normBits), w0)
			dst[j+1] += sd * normCell(q, w1>>(32-normBits), w1)
			continue
		}
		dst[j] += sd * norm32(q, w0)
		dst[j+1] += sd * norm32(q, w1)
	}
	if j < len(dst) {
		dst[j] += sd * norm32(q, uint32(mix(s+(n>>1)*counterMul)))
	}
}

// quantNoisy sets dst[j] = sat14(round((f[j] + sd*gaussAt(seed, stream,
// n0+j)) * 2^13)): the dec-1 input path with noise and quantisation fused
// into one pass, one hash per pair of samples, the counter advanced by
// addition. Values equal the unfused addNoise, round and sat14.
func quantNoisy(dst []int16, f []float64, seed, stream uint64, n0 int64, sd float64) {
	q := normQ()
	s := streamKey(seed, stream)
	n := uint64(n0)
	j := 0
	put := func(j int, g float64) { dst[j] = int16(sat14(int64(round((f[j] + sd*g) * regmap.VoltsNorm)))) }
	if n&1 == 1 && len(dst) > 0 { // odd start: the high half of the previous pair
		put(0, norm32(q, uint32(mix(s+(n>>1)*counterMul)>>32)))
		j, n = 1, n+1
	}
	f = f[:len(dst)]
	ctr := s + (n>>1)*counterMul
	for ; j+1 < len(dst); j += 2 {
		h := mix(ctr)
		ctr += counterMul
		w0, w1 := uint32(h), uint32(h>>32)
		i0, i1 := w0>>(32-normBits), w1>>(32-normBits)
		var g0, g1 float64
		if max(i0-1, i1-1) < 1<<normBits-2 { // not a tail cell: all but 1 pair in 16000
			g0, g1 = normCell(q, i0, w0), normCell(q, i1, w1)
		} else {
			g0, g1 = norm32(q, w0), norm32(q, w1)
		}
		x0 := round((f[j] + sd*g0) * regmap.VoltsNorm)
		x1 := round((f[j+1] + sd*g1) * regmap.VoltsNorm)
		dst[j] = int16(sat14(int64(x0)))
		dst[j+1] = int16(sat14(int64(x1)))
	}
	if j < len(dst) {
		put(j, norm32(q, uint32(mix(ctr))))
	}
}

// Noise streams.
const (
	streamIn1 = 1 + iota
	streamIn2
	streamIn1Avg
	streamIn2Avg
	streamNA
	streamASGRand
)
