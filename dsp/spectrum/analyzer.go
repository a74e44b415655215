package spectrum

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/dsp/fourier"

	"github.com/rpbus/rpbus/rperr"
)

// Component selects one averaged spectrum of an Analyzer.
type Component int

const (
	Ch1     Component = iota // |F1|^2
	Ch2                      // |F2|^2
	CrossRe                  // Re(conj(F1) F2)
	CrossIm                  // Im(conj(F1) F2)
	// CrossAbs is |mean conj(F1) F2| = hypot(CrossRe, CrossIm): the curve
	// PyRPL displays for the cross spectrum, before unit conversion.
	CrossAbs
)

// String returns "ch1", "ch2", "cross_re", "cross_im" or "cross_abs".
func (c Component) String() string {
	switch c {
	case Ch1:
		return "ch1"
	case Ch2:
		return "ch2"
	case CrossRe:
		return "cross_re"
	case CrossIm:
		return "cross_im"
	case CrossAbs:
		return "cross_abs"
	}
	return fmt.Sprintf("Component(%d)", int(c))
}

// An Analyzer accumulates power averages of two-channel traces for one
// Plan. It holds its own FFT plan and scratch, so Add does not allocate.
// An Analyzer is not safe for concurrent use; use one per acquisition.
type Analyzer struct {
	p     *Plan
	z     []complex128 // FFTLength: pairFFT's work (power-of-two lengths)
	sum   [4][]float64 // Ch1, Ch2, CrossRe, CrossIm: weighted sums
	n     int          // traces in the average, at most limit if limit > 0
	limit int

	// Other lengths: two gonum real FFTs.
	fft    *fourier.FFT
	buf    []float64    // FFTLength: windowed samples, zero tail
	f1, f2 []complex128 // Bins
}

// NewAnalyzer returns an empty Analyzer for p, reusing one given back by
// Release if there is one.
func (p *Plan) NewAnalyzer() *Analyzer {
	if a, ok := p.pool.Get().(*Analyzer); ok {
		a.Reset()
		a.limit = 0
		return a
	}
	bins := len(p.freqs)
	a := &Analyzer{p: p}
	if p.pair != nil {
		a.z = make([]complex128, p.nfft)
	} else {
		a.fft = fourier.NewFFT(p.nfft)
		a.buf = make([]float64, p.nfft)
		a.f1 = make([]complex128, bins)
		a.f2 = make([]complex128, bins)
	}
	for i := range a.sum {
		a.sum[i] = make([]float64, bins)
	}
	return a
}

// NewAnalyzer is DefaultCache.Plan(s) followed by Plan.NewAnalyzer.
func NewAnalyzer(s Settings) (*Analyzer, error) {
	p, err := DefaultCache.Plan(s)
	if err != nil {
		return nil, err
	}
	return p.NewAnalyzer(), nil
}

// Release gives a to its Plan for reuse by a later NewAnalyzer. a must not
// be used afterwards. Calling it is optional.
func (a *Analyzer) Release() { a.p.pool.Put(a) }

// Plan returns the plan a was made from.
func (a *Analyzer) Plan() *Plan { return a.p }

// Count returns the number of traces in the average.
func (a *Analyzer) Count() int { return a.n }

// Reset empties the average.
func (a *Analyzer) Reset() {
	for _, s := range a.sum {
		clear(s)
	}
	a.n = 0
}

// SetLimit makes the average a moving one once n traces are in, as PyRPL's
// continuous mode with trace_average = n does: each further trace x updates
// mean = (mean*(n-1) + x) / n, an exponential average with weight 1/n.
// n = 0 (the default) averages all traces equally, as PyRPL's single mode.
// It panics if n < 0.
func (a *Analyzer) SetLimit(n int) {
	if n < 0 {
		panic("spectrum: negative average limit")
	}
	if n > 0 && a.n > n {
		g := float64(n) / float64(a.n)
		for _, s := range a.sum {
			for k := range s {
				s[k] *= g
			}
		}
		a.n = n
	}
	a.limit = n
}

// Add windows one trace of both channels (volts, Len() samples each),
// transforms them (one complex FFT of ch1 + i ch2 when FFTLength() is a
// power of two, two real FFTs otherwise) and adds |F1|^2, |F2|^2 and conj(F1) F2 to the average.
// It does not allocate. A NaN or infinite sample leaves the average as it
// was and returns an *rperr.Error with code invalid naming the channel and
// index (the scope never produces one, so it means corrupt input). It
// panics if a channel's length is not Len().
func (a *Analyzer) Add(ch1, ch2 []float64) error {
	return addTrace(a, ch1, ch2)
}

// AddFloat32 is Add for float32 traces, without a conversion copy.
func (a *Analyzer) AddFloat32(ch1, ch2 []float32) error {
	return addTrace(a, ch1, ch2)
}

func addTrace[T float32 | float64](a *Analyzer, ch1, ch2 []T) error {
	if len(ch1) != a.p.s.Length || len(ch2) != a.p.s.Length {
		panic(fmt.Sprintf("spectrum: trace lengths %d and %d, plan wants %d", len(ch1), len(ch2), a.p.s.Length))
	}
	if a.p.pair != nil {
		if ch, i := loadPair(a.p.pair, a.z, a.p.win, ch1, ch2); ch != 0 {
			x := float64(ch1[i])
			if ch == 2 {
				x = float64(ch2[i])
			}
			return nonFinite(ch, i, x)
		}
		a.p.pair.transform(a.z)
		a.accumulatePair()
		return nil
	}
	return addTwoReal(a, ch1, ch2)
}

// addTwoReal is Add with two gonum real FFTs, for lengths pairFFT does not
// take.
func addTwoReal[T float32 | float64](a *Analyzer, ch1, ch2 []T) error {
	if err := windowInto(a.buf, a.p.win, ch1, 1); err != nil {
		return err
	}
	a.fft.Coefficients(a.f1, a.buf)
	if err := windowInto(a.buf, a.p.win, ch2, 2); err != nil {
		return err
	}
	a.fft.Coefficients(a.f2, a.buf)
	a.accumulate()
	return nil
}

// windowInto writes w*x to the head of dst; the zero-padded tail stays 0.
func windowInto[T float32 | float64](dst, w []float64, x []T, ch int) error {
	dst = dst[:len(w)]
	x = x[:len(w)]
	for i, v := range x {
		f := float64(v)
		if f-f != 0 { // NaN or ±Inf
			return nonFinite(ch, i, f)
		}
		dst[i] = f * w[i]
	}
	return nil
}

func nonFinite(ch, i int, x float64) error {
	return rperr.Invalidf("spectrum: ch%d[%d] is %v; traces must be finite", ch, i, x)
}

// weight counts a new trace and returns the factor for the old sums: 1,
// or (n-1)/n once the limit is reached, so the mean moves exponentially.
func (a *Analyzer) weight() float64 {
	if a.limit > 0 && a.n >= a.limit {
		return float64(a.limit-1) / float64(a.limit)
	}
	a.n++
	return 1
}

// accumulatePair separates F1 and F2 from Z = FFT(v x1 + i v x2) and adds
// them into the sums:
//
//	F1[k] = (Z[k] + conj(Z[M-k]))/2,  F2[k] = (Z[k] - conj(Z[M-k]))/(2i).
func (a *Analyzer) accumulatePair() {
	g := a.weight()
	z := a.z
	mask := len(z) - 1 // a power of two: (M-k) mod M
	s11 := a.sum[0]
	s22, re, im := a.sum[1][:len(s11)], a.sum[2][:len(s11)], a.sum[3][:len(s11)]
	for k := range s11 {
		p, q := z[k], z[(len(z)-k)&mask]
		// F1 = (p + conj q)/2, F2 = (p - conj q)/(2i)
		x1, y1 := (real(p)+real(q))/2, (imag(p)-imag(q))/2
		x2, y2 := (imag(p)+imag(q))/2, (real(q)-real(p))/2
		s11[k] = s11[k]*g + x1*x1 + y1*y1
		s22[k] = s22[k]*g + x2*x2 + y2*y2
		re[k] = re[k]*g + x1*x2 + y1*y2
		im[k] = im[k]*g + x1*y2 - y1*x2
	}
}

// accumulate adds the current f1, f2 (two real FFTs) into the sums.
func (a *Analyzer) accumulate() {
	g := a.weight()
	f1, f2 := a.f1, a.f2[:len(a.f1)]
	s11, s22 := a.sum[0][:len(f1)], a.sum[1][:len(f1)]
	re, im := a.sum[2][:len(f1)], a.sum[3][:len(f1)]
	for k, c1 := range f1 {
		x1, y1 := real(c1), imag(c1)
		x2, y2 := real(f2[k]), imag(f2[k])
		// conj(x1 + i y1) (x2 + i y2) = x1 x2 + y1 y2 + i (x1 y2 - y1 x2)
		s11[k] = s11[k]*g + x1*x1 + y1*y1
		s22[k] = s22[k]*g + x2*x2 + y2*y2
		re[k] = re[k]*g + x1*x2 + y1*y2
		im[k] = im[k]*g + x1*y2 - y1*x2
	}
}

// Mean writes the averaged component c in Vpk^2, divided by the
// decimation-filter |H|^2, to dst (nil: allocate, else len Bins()) and
// returns it. It panics if no trace was added or c is unknown.
func (a *Analyzer) Mean(dst []float64, c Component) []float64 {
	if a.n == 0 {
		panic("spectrum: mean of no traces")
	}
	if c < Ch1 || c > CrossAbs {
		panic(fmt.Sprintf("spectrum: unknown component %d", int(c)))
	}
	dst = makeDst(dst, len(a.p.freqs))
	inv := 1 / float64(a.n)
	corr := a.p.corr
	if c == CrossAbs {
		re, im := a.sum[2], a.sum[3]
		for k := range dst {
			dst[k] = math.Hypot(re[k], im[k]) * inv * corr[k]
		}
		return dst
	}
	for k, v := range a.sum[c] {
		dst[k] = v * inv * corr[k]
	}
	return dst
}

// Spectra are the four averaged spectra of an Analyzer in Vpk^2, in
// PyRPL's order (ch1, ch2, Re cross, Im cross).
type Spectra struct {
	Ch1, Ch2, CrossRe, CrossIm []float64
}

// Result fills dst's slices with Mean of each component (nil fields are
// allocated) and returns it.
func (a *Analyzer) Result(dst Spectra) Spectra {
	dst.Ch1 = a.Mean(dst.Ch1, Ch1)
	dst.Ch2 = a.Mean(dst.Ch2, Ch2)
	dst.CrossRe = a.Mean(dst.CrossRe, CrossRe)
	dst.CrossIm = a.Mean(dst.CrossIm, CrossIm)
	return dst
}
