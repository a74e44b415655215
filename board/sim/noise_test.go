package sim

import (
	"math"
	"testing"

	"github.com/rpbus/rpbus/regmap"
)

const (
	// normTableTol bounds the table Gaussian's CDF error and variance error.
	normTableTol = 1e-6
	// statSigmas: sample statistics may differ from theory by this many
	// standard errors (the draws are fixed by the seed, so this is not flaky).
	statSigmas = 5
)

func phi(x float64) float64 { return 0.5 * math.Erfc(-x/math.Sqrt2) }

// The table inverse: at every input the CDF of the draw is within
// normTableTol of the uniform it came from, and the variance of the
// whole table distribution (interpolated cells, exact tails) is 1.
func TestNormTable(t *testing.T) {
	q := normQ()
	worst := 0.0
	for w := uint64(0); w < 1<<32; w += 65537*3 + 1 {
		u := (float64(w) + 0.5) / (1 << 32)
		x := norm32(q, uint32(w))
		if math.Abs(x) < noiseClip {
			worst = max(worst, math.Abs(phi(x)-u))
		}
	}
	if worst > normTableTol {
		t.Errorf("CDF error %g, want <= %g", worst, normTableTol)
	}
	var v float64
	const cells = 1 << normBits
	for i := 1; i < cells-1; i++ {
		a, b := float64(q[i]), float64(q[i+1])
		v += (a*a + a*b + b*b) / 3 / cells
	}
	for _, i := range []uint32{0, cells - 1} {
		for f := uint32(0); f < 1<<(32-normBits); f++ {
			x := norm32(q, i<<(32-normBits)|f)
			v += x * x / (1 << 32)
		}
	}
	if math.Abs(v-1) > 10*normTableTol {
		t.Errorf("variance %g, want 1", v)
	}
	if norm32(q, 0) != -noiseClip || norm32(q, math.MaxUint32) != noiseClip {
		t.Errorf("extremes %g %g, want the clip", norm32(q, 0), norm32(q, math.MaxUint32))
	}
}

// Draws at consecutive counters: mean 0, std 1, uncorrelated at short and
// long lags (inside a tape block, across its edges, far apart) and across
// streams, and Gaussian (Kolmogorov-Smirnov).
func TestNoiseStatistics(t *testing.T) {
	const n = 1 << 20
	x := make([]float64, n)
	y := make([]float64, n)
	addNoise(x, 7, streamIn1, 1001, 1, 1)
	addNoise(y, 7, streamIn2, 1001, 1, 1)
	var m, v float64
	for _, a := range x {
		m += a
		v += a * a
	}
	m /= n
	v = v/n - m*m
	se := 1 / math.Sqrt(n)
	if math.Abs(m) > statSigmas*se || math.Abs(v-1) > statSigmas*se*math.Sqrt2 {
		t.Errorf("mean %g var %g", m, v)
	}
	corr := func(a, b []float64) float64 {
		var s float64
		for i := range a {
			s += a[i] * b[i]
		}
		return s / float64(len(a))
	}
	// within a tape block, across block edges, and far apart
	for _, lag := range []int{1, 2, 3, noiseBlock - 1, noiseBlock, noiseBlock + 1, 4*noiseBlock + 7, 100003} {
		if c := corr(x[lag:], x[:n-lag]); math.Abs(c) > statSigmas*se {
			t.Errorf("lag %d correlation %g", lag, c)
		}
	}
	if c := corr(x, y); math.Abs(c) > statSigmas*se {
		t.Errorf("in1/in2 correlation %g", c)
	}
	// KS against Phi on a histogram of 0.01-sigma bins
	const lo, bins = -6.0, 1200
	var h [bins]int
	for _, a := range x {
		h[min(bins-1, max(0, int((a-lo)*100)))]++
	}
	d, c := 0.0, 0
	for i := 0; i < bins-1; i++ {
		c += h[i]
		d = max(d, math.Abs(float64(c)/n-phi(lo+float64(i+1)/100)))
	}
	if d > 1.63/math.Sqrt(n) { // 1% level
		t.Errorf("KS distance %g", d)
	}
}

// Noise is a pure function of (seed, stream, counter): blocks starting
// anywhere, with any stride, and the fused quantiser agree with single draws.
func TestNoiseOrderIndependent(t *testing.T) {
	const seed, sd = 3, 0.37
	for _, c := range []struct{ n0, dn int64 }{{100, 1}, {101, 1}, {7, 4}, {8, 3}} {
		f := make([]float64, 33)
		addNoise(f, seed, streamIn2, c.n0, c.dn, sd)
		for j, v := range f {
			if want := sd * gaussAt(seed, streamIn2, c.n0+int64(j)*c.dn); v != want {
				t.Fatalf("n0 %d dn %d: draw %d = %g, single %g", c.n0, c.dn, j, v, want)
			}
		}
	}
	model := make([]float64, 35)
	for j := range model {
		model[j] = 0.3 * math.Sin(float64(j))
	}
	for _, n0 := range []int64{10, 11} {
		got := make([]uint16, len(model))
		for _, floor := range []bool{false, true} {
			quantNoisy(got, model, seed, streamIn1, n0, sd, floor)
			for j, v := range model {
				x := (v + sd*gaussAt(seed, streamIn1, n0+int64(j))) * regmap.VoltsNorm
				q := math.RoundToEven(x)
				if floor {
					q = math.Floor(x)
				}
				if want := code14(int64(q)); got[j] != want {
					t.Fatalf("n0 %d floor %v: sample %d = %d, unfused %d", n0, floor, j, got[j], want)
				}
			}
		}
	}
}

// The tapes hold N(0, 1/2) draws, so a sum of one from each is N(0, 1).
func TestNoiseTapes(t *testing.T) {
	tp := tapes()
	for name, tape := range map[string][]float32{"A": tp.a[:], "B": tp.b[:]} {
		var m, v float64
		for _, x := range tape {
			m += float64(x)
			v += float64(x) * float64(x)
		}
		n := float64(len(tape))
		m /= n
		v = v/n - m*m
		se := math.Sqrt(0.5 / n)
		if math.Abs(m) > statSigmas*se || math.Abs(v-0.5) > statSigmas*0.5*math.Sqrt(2/n) {
			t.Errorf("tape %s: mean %g, variance %g, want 0 and 0.5", name, m, v)
		}
	}
}

// floorFast is math.Floor at integers, halves, both signs and in between.
func TestFloorFast(t *testing.T) {
	for _, x := range []float64{0, 3, -3, 0.5, -0.5, 2.5, -2.5, 2.9999999999999996, -2.9999999999999996,
		1e6 + 0.25, -1e6 - 0.75, math.Nextafter(3, 2), math.Nextafter(-3, -4), 8191.5, -8192.5} {
		if got, want := floorFast(x), math.Floor(x); got != want {
			t.Errorf("floorFast(%v) = %v, want %v", x, got, want)
		}
	}
}

// roundEven is math.RoundToEven on ties, both signs, and in between.
func TestRoundEven(t *testing.T) {
	for _, x := range []float64{0, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 0.49999999999999994, -0.49999999999999994,
		8191.5, -8192.5, 3.2, -3.7, 1e6 + 0.5, math.Nextafter(2.5, 3), math.Nextafter(-2.5, -3)} {
		if got, want := roundEven(x), math.RoundToEven(x); got != want {
			t.Errorf("roundEven(%v) = %v, want %v", x, got, want)
		}
	}
}
