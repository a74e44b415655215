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

// Noise tapes. Drawing every sample's noise through the inverse CDF table
// costs a lookup at a random place in 256 KiB per sample, which made noise
// the simulator's largest cost (two 16384-sample channels per trace).
// Input noise is therefore read from two fixed tapes A and B of tapeLen
// independent N(0, 1/2) draws: the draw for counter n of a stream is
//
//	g(n) = clip(sA*A[(oA+k) mod tapeLen] + sB*B[(oB+k) mod tapeLen])
//
// with block = n / noiseBlock and k = n mod noiseBlock, and the offsets
// oA, oB and the signs sA, sB from one hash of (seed, stream, block). So g
// is N(0, 1), truncated at noiseClip, independent from sample to sample
// within a block, and a pure function of (seed, stream, n). Two blocks
// share half their variance over their overlap only when one tape's
// windows overlap (probability about 2*noiseBlock/tapeLen = 0.4% per pair
// of blocks, with a random sign): a ripple under 0.05 dB in an averaged
// spectrum. Reading a block is two sequential streams, 4 to 5 times faster
// than the table.
const (
	tapeBits   = 19
	tapeLen    = 1 << tapeBits
	tapeMask   = tapeLen - 1
	noiseBlock = 1024
)

type noiseTapes struct{ a, b [tapeLen]float32 }

// tapes are built once, from the table, with a fixed key of their own.
var tapes = sync.OnceValue(func() *noiseTapes {
	t := new(noiseTapes)
	q := normQ()
	s := streamKey(0x7a9e, 0)
	for i := range t.a {
		h := mix(s + uint64(i)*counterMul)
		t.a[i] = float32(norm32(q, uint32(h)) / math.Sqrt2)
		t.b[i] = float32(norm32(q, uint32(h>>32)) / math.Sqrt2)
	}
	normalise(t.a[:])
	normalise(t.b[:])
	return t
})

// normalise makes a tape's mean exactly 0 and its mean square exactly 1/2,
// so that the draws' variance is the configured one (2^19 draws would
// miss it by about 0.2%).
func normalise(x []float32) {
	var s, s2 float64
	for _, v := range x {
		s += float64(v)
	}
	m := s / float64(len(x))
	for _, v := range x {
		s2 += (float64(v) - m) * (float64(v) - m)
	}
	k := math.Sqrt(0.5 * float64(len(x)) / s2)
	for i, v := range x {
		x[i] = float32((float64(v) - m) * k)
	}
}

// tapeBlock is where a block's draws are on the tapes: offsets and signs.
type tapeBlock struct {
	oa, ob uint32
	sa, sb float64
}

func blockOf(s, block uint64) tapeBlock {
	h := mix(s + block*counterMul)
	sign := func(bit uint64) float64 { return float64(1 - 2*int64(h>>bit&1)) }
	return tapeBlock{oa: uint32(h) & tapeMask, ob: uint32(h>>32) & tapeMask, sa: sign(31), sb: sign(63)}
}

// draw is draw k of the block, truncated at noiseClip.
func (tb tapeBlock) draw(t *noiseTapes, k uint32) float64 {
	g := tb.sa*float64(t.a[(tb.oa+k)&tapeMask]) + tb.sb*float64(t.b[(tb.ob+k)&tapeMask])
	if g > noiseClip || g < -noiseClip { // one draw in 5e8
		g = clip(g)
	}
	return g
}

// gaussAt is a standard normal draw that is a pure function of (seed,
// stream, n), truncated at noiseClip: the tapes' g(n).
func gaussAt(seed, stream uint64, n int64) float64 {
	tb := blockOf(streamKey(seed, stream), uint64(n)/noiseBlock)
	return tb.draw(tapes(), uint32(uint64(n)%noiseBlock))
}

// addNoise adds sd * gaussAt(seed, stream, n0 + j*dn) to dst[j], a block
// of the tapes at a time.
func addNoise(dst []float64, seed, stream uint64, n0, dn int64, sd float64) {
	if sd == 0 || len(dst) == 0 {
		return
	}
	t := tapes()
	s := streamKey(seed, stream)
	if dn != 1 {
		n := uint64(n0)
		blk, tb := ^uint64(0), tapeBlock{}
		for j := range dst {
			if n/noiseBlock != blk {
				blk = n / noiseBlock
				tb = blockOf(s, blk)
			}
			dst[j] += sd * tb.draw(t, uint32(n%noiseBlock))
			n += uint64(dn)
		}
		return
	}
	forBlocks(len(dst), uint64(n0), func(j, m int, k uint32, blk uint64) {
		tb := blockOf(s, blk)
		d := dst[j : j+m]
		for i := range d {
			d[i] += sd * tb.draw(t, k+uint32(i))
		}
	})
}

// forBlocks splits counters [n0, n0+count) into stretches within one
// noise block: f gets the stretch's first index j, its length m, its
// position k in the block and the block's number.
func forBlocks(count int, n0 uint64, f func(j, m int, k uint32, blk uint64)) {
	n := n0
	for j := 0; j < count; {
		k := uint32(n % noiseBlock)
		m := min(count-j, int(noiseBlock-k))
		f(j, m, k, n/noiseBlock)
		j += m
		n += uint64(m)
	}
}

// quantNoisy sets dst[j] = code14(q((f[j] + sd*gaussAt(seed, stream,
// n0+j)) * 2^13)): an input path with noise and quantisation fused into
// one pass, q rounding to nearest (roundEven) or, with floor, down (the
// boxcar's shift, floorFast). Values equal the unfused addNoise, q and
// sat14.
func quantNoisy(dst []uint16, f []float64, seed, stream uint64, n0 int64, sd float64, floor bool) {
	t := tapes()
	s := streamKey(seed, stream)
	f = f[:len(dst)]
	forBlocks(len(dst), uint64(n0), func(j, m int, k uint32, blk uint64) {
		quantBlock(dst[j:j+m], f[j:j+m], t, blockOf(s, blk), k, sd, floor)
	})
}

// quantBlock is quantNoisy's loop over draws k... of one block. It is a
// function of its own: inside the closure the loop re-read the block
// through its context on every sample and took 25% longer.
func quantBlock(d []uint16, f []float64, t *noiseTapes, tb tapeBlock, k uint32, sd float64, floor bool) {
	f = f[:len(d)]
	for i := range d {
		x := (f[i] + sd*tb.draw(t, k+uint32(i))) * regmap.VoltsNorm
		if floor {
			x = floorFast(x)
		} else {
			x = roundEven(x)
		}
		d[i] = code14(int64(x))
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
	streamIn1Sum
	streamIn2Sum
	streamQuant // + streamIn1/2: the quantisation error a module sees of an input
	streamSynth // | signal << 8: long windows' noise through modules (noisepath.go)
)
