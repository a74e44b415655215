package sim

import "math"

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

// key combines the seed, a stream id and a counter into one hash.
func key(seed, stream, n uint64) uint64 {
	return mix(mix(seed^0x9e3779b97f4a7c15*(stream+1)) + n*0xd1b54a32d192ed03)
}

// gauss2 returns two independent standard normal draws keyed by h
// (Box-Muller), each truncated at +-noiseClip.
func gauss2(h uint64) (float64, float64) {
	u1 := (float64(h>>11) + 0.5) / (1 << 53)
	h2 := mix(h + 0x632be59bd9b4e019)
	u2 := float64(h2>>11) / (1 << 53)
	r := math.Sqrt(-2 * math.Log(u1))
	s, c := math.Sincos(2 * math.Pi * u2)
	return clip(r * c), clip(r * s)
}

func clip(x float64) float64 { return max(-noiseClip, min(noiseClip, x)) }

// gaussAt is a standard normal draw that is a pure function of (seed,
// stream, n); consecutive even/odd n share one hash.
func gaussAt(seed, stream uint64, n int64) float64 {
	a, b := gauss2(key(seed, stream, uint64(n)>>1))
	if n&1 == 0 {
		return a
	}
	return b
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
