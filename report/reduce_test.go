package report

import (
	"math"
	"slices"
	"testing"

	"gonum.org/v1/plot"
)

// tol is the tolerance of the reductions' checks, in units of the signal.
const tol = 1e-9

// A 1 MHz sine sampled every 64 ns for 16384 samples (1000 periods, the
// README's 1 ms trace) becomes a band from -A to +A in every bucket: each
// bucket spans more than a period. The min/max envelope holds every
// sample, and no bucket's band is narrower than the samples it stands for
// (two lines through the buckets' means would be flat).
func TestEnvelopeOfAFastSine(t *testing.T) {
	const n, dt, f, a = 16384, 64e-9, 1e6, 0.5
	y := func(i int) float64 { return a * math.Sin(2*math.Pi*f*float64(i)*dt) }
	b := envelope(n, buckets, func(i int) float64 { return float64(i) * dt }, y)
	if !b.reduced || len(b.x) != buckets {
		t.Fatalf("%d buckets, reduced %v; want %d reduced", len(b.x), b.reduced, buckets)
	}
	for k := range b.x {
		first, last := k*n/buckets, (k+1)*n/buckets
		for i := first; i < last; i++ {
			if y(i) < b.lo[k]-tol || y(i) > b.hi[k]+tol {
				t.Fatalf("sample %d (%g) outside bucket %d [%g, %g]", i, y(i), k, b.lo[k], b.hi[k])
			}
		}
		// 23 or 24 samples of a 15.6-sample period reach within 2% of the peaks.
		if b.hi[k] < 0.98*a || b.lo[k] > -0.98*a {
			t.Fatalf("bucket %d: [%g, %g], want about [-%g, %g]", k, b.lo[k], b.hi[k], a, a)
		}
	}
}

// One slow period over the trace: each bucket is a thin slice of the sine
// at its middle time, so the band follows the waveform.
func TestEnvelopeOfASlowSine(t *testing.T) {
	const n = 16384
	y := func(i int) float64 { return math.Sin(2 * math.Pi * float64(i) / n) }
	b := envelope(n, buckets, func(i int) float64 { return float64(i) }, y)
	step := 2 * math.Pi * float64(n/buckets+1) / n // the sine's largest change in a bucket
	for k, x := range b.x {
		want := math.Sin(2 * math.Pi * x / n)
		if math.Abs(b.mean[k]-want) > step || b.hi[k]-b.lo[k] > step || b.lo[k] > want || b.hi[k] < want {
			t.Fatalf("bucket %d at %g: [%g %g %g], want about %g", k, x, b.lo[k], b.mean[k], b.hi[k], want)
		}
	}
}

// Few samples are drawn as they are; NaN (rolling mode's unwritten
// samples) are left out.
func TestEnvelopeKeepsFewSamplesAndDropsNaN(t *testing.T) {
	y := []float64{1, math.NaN(), 3, 4}
	b := envelope(len(y), buckets, func(i int) float64 { return float64(i) }, func(i int) float64 { return y[i] })
	if b.reduced || !slices.Equal(b.x, []float64{0, 2, 3}) || !slices.Equal(b.mean, []float64{1, 3, 4}) {
		t.Fatalf("%+v", b)
	}
	nan := envelope(2000, buckets, func(i int) float64 { return float64(i) }, func(int) float64 { return math.NaN() })
	if len(nan.x) != 0 {
		t.Fatalf("an unwritten trace drew %d buckets", len(nan.x))
	}
}

// A spectrum on the linear grid of an FFT (8193 bins, DC to Nyquist) with
// one tone: log buckets drop DC, keep the lowest bins one by one at their
// own frequencies, share the top decade's bins between pixels, and keep
// the tone's height and place.
func TestLogBucketsOfASpectrum(t *testing.T) {
	const bins, df, tone = 8193, 119.2, 4000
	f := make([]float64, bins)
	y := make([]float64, bins)
	for i := range f {
		f[i] = float64(i) * df
		y[i] = -140 + math.Sin(float64(i)) // a noise floor with some spread
	}
	y[tone] = -36
	b := logBuckets(f, func(i int) float64 { return y[i] }, buckets)
	if !b.reduced || len(b.x) > buckets || b.x[0] != df || b.mean[0] != y[1] || b.lo[0] != b.hi[0] {
		t.Fatalf("first point %g Hz [%g %g]; want bin 1 (%g Hz) alone", b.x[0], b.lo[0], b.hi[0], df)
	}
	if !slices.IsSorted(b.x) {
		t.Fatal("bucket frequencies not increasing")
	}
	// The first ten bins each have a bucket of their own.
	for k := 0; k < 10; k++ {
		if math.Abs(b.x[k]-float64(k+1)*df) > tol {
			t.Fatalf("bucket %d at %g Hz, want bin %d", k, b.x[k], k+1)
		}
	}
	k := slices.Index(b.hi, -36)
	if k < 0 || b.mean[k] >= -36 || math.Abs(math.Log(b.x[k]/(tone*df))) > math.Log(f[bins-1]/df)/buckets {
		t.Fatalf("the tone at %g Hz: bucket %d at %g Hz", tone*df, k, b.x[max(k, 0)])
	}
	if last := b.x[len(b.x)-1]; last > f[bins-1] || last < f[bins-1]*0.99 {
		t.Fatalf("last bucket at %g Hz, want near Nyquist %g Hz", last, f[bins-1])
	}
}

func labels(ts []plot.Tick) []string {
	var out []string
	for _, t := range ts {
		if t.Label != "" {
			out = append(out, t.Label)
		}
	}
	return out
}

// Ticks sit at round steps with SI prefixes.
func TestTicks(t *testing.T) {
	for _, tc := range []struct {
		ticker plot.Ticker
		lo, hi float64
		want   []string
	}{
		{linTicks{"s"}, 0, 1.048576e-3, []string{"0 s", "200 µs", "400 µs", "600 µs", "800 µs", "1 ms"}},
		{linTicks{"s"}, 0, 131.072e-6, []string{"0 s", "20 µs", "40 µs", "60 µs", "80 µs", "100 µs", "120 µs"}},
		{linTicks{"V"}, -0.5, 0.5, []string{"-400 mV", "-200 mV", "0 V", "200 mV", "400 mV"}},
		{linTicks{"dB"}, -143, -35, []string{"-140 dB", "-120 dB", "-100 dB", "-80 dB", "-60 dB", "-40 dB"}},
		{linTicks{"°"}, -90, 90, []string{"-90°", "-60°", "-30°", "0°", "30°", "60°", "90°"}},
		{logTicks{unit: "Hz"}, 5e5, 2e6, []string{"500 kHz", "1 MHz", "2 MHz"}},
		{logTicks{unit: "Hz"}, 119, 976e3, []string{"1 kHz", "10 kHz", "100 kHz"}},
		{logTicks{sci: true}, 3e-12, 2e-6, []string{"1e-11", "1e-10", "1e-9", "1e-8", "1e-7", "1e-6"}},
	} {
		if got := labels(tc.ticker.Ticks(tc.lo, tc.hi)); !slices.Equal(got, tc.want) {
			t.Errorf("%T%v %g..%g: %q, want %q", tc.ticker, tc.ticker, tc.lo, tc.hi, got, tc.want)
		}
	}
}

func TestSI(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		unit string
		sig  int
		want string
	}{
		{2.0000000076834112e6, "Hz", 7, "2.000000 MHz"},
		{1214.2929101024397, "Hz", 4, "1.214 kHz"},
		{999.96, "Hz", 4, "1.000 kHz"},
		{-8e-5, "s", 3, "-80.0 µs"},
		{0.0999755859375, "V", 4, "99.98 mV"},
		{-35.9798, "dB", 4, "-35.98 dB"},
		{0, "V", 3, "0 V"},
	} {
		if got := SI(tc.v, tc.unit, tc.sig); got != tc.want {
			t.Errorf("SI(%v, %q, %d) = %q, want %q", tc.v, tc.unit, tc.sig, got, tc.want)
		}
	}
}
