package spectrum

import (
	"math"
	"math/cmplx"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/dsp/fourier"
)

// tolFFT is relative to the largest coefficient: pairFFT against gonum's
// complex FFT (both about log2(n) roundings deep).
const tolFFT = 1e-13

func TestPairFFTAgainstGonum(t *testing.T) {
	r := rand.New(rand.NewPCG(0x5eed, 0xf17))
	for m := 2; m <= 14; m++ {
		n := 1 << m
		p := newPairFFT(n)
		x := make([]complex128, n)
		for i := range x {
			x[i] = complex(r.NormFloat64(), r.NormFloat64())
		}
		want := fourier.NewCmplxFFT(n).Coefficients(nil, x)
		z := make([]complex128, n)
		for i, v := range x {
			z[p.rev[i]] = v
		}
		p.transform(z)
		var peak, worst float64
		for k := range want {
			peak = max(peak, cmplx.Abs(want[k]))
			worst = max(worst, cmplx.Abs(z[k]-want[k]))
		}
		if worst > tolFFT*peak {
			t.Errorf("n=%d: worst |error| %g, peak %g", n, worst, peak)
		}
	}
	for _, n := range []int{0, 1, 2, 3, 6, 12, 16385} {
		if newPairFFT(n) != nil {
			t.Errorf("newPairFFT(%d) is not nil", n)
		}
	}
}

// TestPairMatchesTwoReal checks that the two transforms give the same
// spectra, a non-power-of-two length going through gonum's real FFT.
func TestPairMatchesTwoReal(t *testing.T) {
	r := rand.New(rand.NewPCG(0x5eed, 0xbee))
	for _, s := range []Settings{
		{Length: 1024, Window: FlatTop, Decimation: 8},
		{Length: 512, Window: Hamming, Decimation: 1, Padding: 2},
		{Length: 2048, Window: Boxcar, Decimation: 64},
	} {
		p, err := NewPlan(s)
		if err != nil {
			t.Fatal(err)
		}
		x, y := make([]float64, s.Length), make([]float64, s.Length)
		for i := range x {
			x[i], y[i] = r.NormFloat64(), math.Sin(float64(i))+r.NormFloat64()
		}
		a, b := p.NewAnalyzer(), twoRealAnalyzer(p)
		if err := a.Add(x, y); err != nil {
			t.Fatal(err)
		}
		if err := addTwoReal(b, x, y); err != nil {
			t.Fatal(err)
		}
		for c := Ch1; c <= CrossIm; c++ {
			u, v := a.Mean(nil, c), b.Mean(nil, c)
			var peak, worst float64
			for k := range u {
				peak = max(peak, math.Abs(v[k]))
				worst = max(worst, math.Abs(u[k]-v[k]))
			}
			if worst > tolFFT*peak {
				t.Errorf("%+v %v: worst difference %g, peak %g", s, c, worst, peak)
			}
		}
	}
}

// twoRealAnalyzer is an Analyzer of p that has the buffers of the
// two-real-FFT path whatever p's length.
func twoRealAnalyzer(p *Plan) *Analyzer {
	return &Analyzer{
		p:   p,
		sum: [4][]float64{make([]float64, p.Bins()), make([]float64, p.Bins()), make([]float64, p.Bins()), make([]float64, p.Bins())},
		fft: fourier.NewFFT(p.nfft), buf: make([]float64, p.nfft),
		f1: make([]complex128, p.Bins()), f2: make([]complex128, p.Bins()),
	}
}

// BenchmarkAddTwoRealFFTs is BenchmarkAdd through the path Add takes for
// lengths that are not powers of two, two gonum real FFTs, for comparison
// in one run.
func BenchmarkAddTwoRealFFTs(b *testing.B) {
	p, err := NewPlan(Settings{Length: ScopeLength, Window: FlatTop, Decimation: 8})
	if err != nil {
		b.Fatal(err)
	}
	a := twoRealAnalyzer(p)
	r := rand.New(rand.NewPCG(0x5eed, 0xdecaf))
	x, y := make([]float64, ScopeLength), make([]float64, ScopeLength)
	for i := range x {
		x[i], y[i] = r.NormFloat64(), r.NormFloat64()
	}
	b.ReportAllocs()
	b.SetBytes(int64(2 * 8 * ScopeLength))
	for b.Loop() {
		if err := addTwoReal(a, x, y); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGonumCmplxFFT is gonum's complex FFT of a scope trace's length,
// the transform the x1 + i x2 trick would need from gonum.
func BenchmarkGonumCmplxFFT(b *testing.B) {
	f := fourier.NewCmplxFFT(ScopeLength)
	z := make([]complex128, ScopeLength)
	for i := range z {
		z[i] = complex(float64(i%7), float64(i%5))
	}
	dst := make([]complex128, ScopeLength)
	b.ReportAllocs()
	for b.Loop() {
		f.Coefficients(dst, z)
	}
}

// BenchmarkGonumRealFFT is one of gonum's real FFTs of a scope trace.
func BenchmarkGonumRealFFT(b *testing.B) {
	f := fourier.NewFFT(ScopeLength)
	x := make([]float64, ScopeLength)
	for i := range x {
		x[i] = float64(i % 7)
	}
	dst := make([]complex128, ScopeLength/2+1)
	b.ReportAllocs()
	for b.Loop() {
		f.Coefficients(dst, x)
	}
}

// BenchmarkPairFFT is this package's complex FFT of the same length.
func BenchmarkPairFFT(b *testing.B) {
	p := newPairFFT(ScopeLength)
	z := make([]complex128, ScopeLength)
	b.ReportAllocs()
	for b.Loop() {
		p.transform(z)
	}
}
