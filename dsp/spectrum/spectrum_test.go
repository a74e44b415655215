package spectrum_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/rpbus/rpbus/dsp/spectrum"
	"github.com/rpbus/rpbus/regmap"
	"github.com/rpbus/rpbus/rperr"
)

// Tolerances, named so a failure says which promise broke.
const (
	tolToneDB       = 0.1   // a sine's peak against A^2, dB
	tolNoiseDB      = 0.2   // a white-noise density against σ^2/(fs/2), dB
	tolParseval     = 1e-10 // relative, both sides of the Parseval identity
	tolWindow       = 1e-13 // relative, a window sample against its formula
	tolRoundTrip    = 1e-12 // relative, unit conversions there and back
	tolCorrection   = 1e-12 // relative, correction against 1/sinc^2
	tolCrossAgainst = 1e-9  // relative to |F|^2, cross spectrum against a direct DFT
	// tolSelfCross: relative to the mean auto spectrum, a channel's cross
	// spectrum with itself against its auto spectrum. Both channels go
	// through one complex FFT of x1 + i x2, so they agree to rounding only.
	tolSelfCross = 1e-12
)

// Fixed PCG seeds: every run sees the same noise.
const seed1, seed2 = 0x5eed, 0xdecaf

func newRand() *rand.Rand { return rand.New(rand.NewPCG(seed1, seed2)) }

func dB(x float64) float64 { return 10 * math.Log10(x) }

func mustPlan(t testing.TB, s spectrum.Settings) *spectrum.Plan {
	t.Helper()
	p, err := spectrum.NewPlan(s)
	if err != nil {
		t.Fatalf("NewPlan(%+v): %v", s, err)
	}
	return p
}

// tone returns A cos(2π f t + phi) at sample rate fs.
func tone(n int, fs, f, a, phi float64) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = a * math.Cos(2*math.Pi*f*float64(i)/fs+phi)
	}
	return x
}

func maxOf(x []float64) (float64, int) {
	m, at := math.Inf(-1), -1
	for i, v := range x {
		if v > m {
			m, at = v, i
		}
	}
	return m, at
}

func mustPanic(t *testing.T, what string, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		r := recover()
		if r == nil {
			t.Fatalf("%s: no panic", what)
		}
		if s, ok := r.(string); !ok || !strings.HasPrefix(s, "spectrum: ") {
			t.Fatalf("%s: panic %v, want a \"spectrum: \" message", what, r)
		}
	}()
	f()
}

// rawWindow is the window as numpy (and PyRPL's get_window_numpy) defines
// it, computed independently of the package.
func rawWindow(w spectrum.Window, n int) []float64 {
	x := make([]float64, n)
	for i := range x {
		c := 2 * math.Pi * float64(i) / float64(n-1)
		switch w {
		case spectrum.Blackman:
			x[i] = 0.42 - 0.5*math.Cos(c) + 0.08*math.Cos(2*c)
		case spectrum.FlatTop:
			x[i] = 1 - 1.93*math.Cos(c) + 1.29*math.Cos(2*c) - 0.388*math.Cos(3*c) + 0.032*math.Cos(4*c)
		case spectrum.Boxcar:
			x[i] = 1
		case spectrum.Hamming:
			x[i] = 0.54 - 0.46*math.Cos(c)
		case spectrum.Gaussian:
			d := (float64(i) - float64(n-1)/2) / (float64(n) / 10)
			x[i] = math.Exp(-0.5 * d * d)
		}
	}
	return x
}

func TestWindowDefinitions(t *testing.T) {
	for _, w := range spectrum.Windows() {
		for _, n := range []int{3, 7, 1000, spectrum.ScopeLength} {
			p := mustPlan(t, spectrum.Settings{Length: n, Window: w, Decimation: 1})
			got := p.Window(nil)
			want := rawWindow(w, n)
			var sum, sum2 float64
			for _, v := range want {
				sum += v
				sum2 += v * v
			}
			peak, _ := maxOf(got)
			var gotSum float64
			for i, v := range got {
				gotSum += v
				if e := want[i] * 2 / sum; math.Abs(v-e) > tolWindow*peak {
					t.Fatalf("%s n=%d w[%d] = %g, want %g", w, n, i, v, e)
				}
				if math.Abs(v-got[n-1-i]) > tolWindow*peak {
					t.Fatalf("%s n=%d not symmetric at %d", w, n, i)
				}
			}
			if math.Abs(gotSum-2) > 1e-12 {
				t.Errorf("%s n=%d: sum(w) = %.15g, want 2", w, n, gotSum)
			}
			if enbw := sum2 / (sum * sum); math.Abs(p.ENBW()-enbw) > 1e-12*enbw {
				t.Errorf("%s n=%d: ENBW %g, want %g", w, n, p.ENBW(), enbw)
			}
			if rbw := p.ENBW() * regmap.Clock; math.Abs(p.RBW()-rbw) > 1e-12*rbw {
				t.Errorf("%s n=%d: rbw %g, want ENBW*fs = %g", w, n, p.RBW(), rbw)
			}
		}
	}
	// Textbook ENBWs in bins, as a sanity check of the windows' shapes.
	for _, c := range []struct {
		w    spectrum.Window
		bins float64
	}{{spectrum.Boxcar, 1}, {spectrum.Hamming, 1.363}, {spectrum.Blackman, 1.727}, {spectrum.FlatTop, 3.77}} {
		p := mustPlan(t, spectrum.Settings{Length: spectrum.ScopeLength, Window: c.w, Decimation: 1})
		if got := p.ENBW() * spectrum.ScopeLength; math.Abs(got-c.bins) > 0.01*c.bins {
			t.Errorf("%s: ENBW %.4f bins, want about %.3f", c.w, got, c.bins)
		}
	}
}

func TestParseNames(t *testing.T) {
	for _, w := range spectrum.Windows() {
		got, err := spectrum.ParseWindow(strings.ToUpper(string(w)))
		if err != nil || got != w {
			t.Errorf("ParseWindow(%q) = %q, %v", strings.ToUpper(string(w)), got, err)
		}
	}
	for _, u := range spectrum.Units() {
		got, err := spectrum.ParseUnit(string(u))
		if err != nil || got != u {
			t.Errorf("ParseUnit(%q) = %q, %v", u, got, err)
		}
	}
	_, err := spectrum.ParseWindow("hann")
	if rperr.ErrorCode(err) != rperr.EInvalid || !strings.Contains(err.Error(), "blackman, flattop, boxcar, hamming, gaussian") {
		t.Errorf("ParseWindow(hann) error %v, want invalid naming the windows", err)
	}
	_, err = spectrum.ParseUnit("dBm")
	if rperr.ErrorCode(err) != rperr.EInvalid || !strings.Contains(err.Error(), "Vrms/sqrt(Hz)") {
		t.Errorf("ParseUnit(dBm) error %v, want invalid naming the units", err)
	}
	var w spectrum.Window
	if err := w.UnmarshalText([]byte("Hamming")); err != nil || w != spectrum.Hamming {
		t.Errorf("UnmarshalText(Hamming) = %q, %v", w, err)
	}
	var u spectrum.Unit
	if err := u.UnmarshalText([]byte("furlong")); rperr.ErrorCode(err) != rperr.EInvalid {
		t.Errorf("UnmarshalText(furlong) error %v", err)
	}
}

var invalidSettings = []spectrum.Settings{
	{Length: 1, Window: spectrum.Boxcar, Decimation: 1},
	{Length: 16, Window: "hann", Decimation: 1},
	{Length: 16, Window: "", Decimation: 1},
	{Length: 16, Window: spectrum.Boxcar, Decimation: 0},
	{Length: 16, Window: spectrum.Boxcar, Decimation: 3},
	{Length: 16, Window: spectrum.Boxcar, Decimation: 1 << 17},
	{Length: 16, Window: spectrum.Boxcar, Decimation: 1, Padding: -1},
	{Length: 2, Window: spectrum.Blackman, Decimation: 1},
	{Length: spectrum.ScopeLength, Window: spectrum.Boxcar, Decimation: 1, Padding: 512},
}

func TestSettingsValidation(t *testing.T) {
	for _, s := range invalidSettings {
		if _, err := spectrum.NewPlan(s); rperr.ErrorCode(err) != rperr.EInvalid {
			t.Errorf("NewPlan(%+v) error %v, want code invalid", s, err)
		}
		if _, err := spectrum.NewAnalyzer(s); rperr.ErrorCode(err) != rperr.EInvalid {
			t.Errorf("NewAnalyzer(%+v) error %v, want code invalid", s, err)
		}
	}
	p := mustPlan(t, spectrum.Settings{Length: 16, Window: "Blackman", Decimation: 4})
	if s := p.Settings(); s.Window != spectrum.Blackman || s.Padding != 1 {
		t.Errorf("settings not normalised: %+v", s)
	}
}

func TestFrequencies(t *testing.T) {
	for _, c := range []struct{ n, pad, dec int }{{spectrum.ScopeLength, 1, 1}, {1000, 3, 8}, {1001, 1, 2}} {
		p := mustPlan(t, spectrum.Settings{Length: c.n, Window: spectrum.Boxcar, Decimation: c.dec, Padding: c.pad})
		m := c.n * c.pad
		f := p.Frequencies(nil)
		fs := regmap.Clock / float64(c.dec)
		if p.SampleRate() != fs || p.FFTLength() != m || len(f) != m/2+1 || p.Bins() != len(f) {
			t.Fatalf("%+v: fs %g, M %d, bins %d", c, p.SampleRate(), p.FFTLength(), len(f))
		}
		for k, v := range f {
			if want := float64(k) * fs / float64(m); math.Abs(v-want) > 1e-9*fs {
				t.Fatalf("%+v: f[%d] = %g, want %g", c, k, v, want)
			}
		}
		if m%2 == 0 && math.Abs(f[len(f)-1]-fs/2) > 1e-9*fs {
			t.Errorf("%+v: last bin %g, want fs/2", c, f[len(f)-1])
		}
		if math.Abs(p.BinWidth()-fs/float64(m)) > 1e-12*fs {
			t.Errorf("%+v: bin width %g", c, p.BinWidth())
		}
	}
}

func TestSineAmplitude(t *testing.T) {
	const n, a = spectrum.ScopeLength, 0.3
	var worst float64
	defer func() { t.Logf("worst peak error %.4f dB (tolerance %g dB)", worst, tolToneDB) }()
	for _, dec := range []int{1, 1024} {
		for _, pad := range []int{1, spectrum.PyRPLPadding} {
			for _, w := range spectrum.Windows() {
				offsets := []float64{0}
				if w == spectrum.FlatTop {
					offsets = []float64{0, 0.25, 0.37, 0.5}
				}
				for _, off := range offsets {
					// NoAverage: the tone is synthesised at the decimated rate,
					// with no boxcar to correct for.
					s := spectrum.Settings{Length: n, Window: w, Decimation: dec, Padding: pad, NoAverage: true}
					an, err := spectrum.NewAnalyzer(s)
					if err != nil {
						t.Fatal(err)
					}
					p := an.Plan()
					f0 := (2000 + off) * p.SampleRate() / n
					x := tone(n, p.SampleRate(), f0, a, 0.7)
					if err := an.Add(x, x); err != nil {
						t.Fatal(err)
					}
					peak, at := maxOf(an.Mean(nil, spectrum.Ch1))
					d := dB(peak) - dB(a*a)
					worst = max(worst, math.Abs(d))
					if math.Abs(d) > tolToneDB {
						t.Errorf("dec %d pad %d %s offset %.2f bin: peak %.5g Vpk^2 (%+.3f dB), want %g", dec, pad, w, off, peak, d, a*a)
					}
					if df := math.Abs(p.Frequencies(nil)[at] - f0); df > p.SampleRate()/n {
						t.Errorf("%s: peak at %g Hz, tone at %g Hz", w, p.Frequencies(nil)[at], f0)
					}
					an.Release()
				}
			}
		}
	}
}

// TestDecimationFilterTone runs a tone through the scope's boxcar average
// (D clock samples per sample) and checks that the corrected spectrum reads
// its amplitude, while the uncorrected one reads the sinc's loss.
func TestDecimationFilterTone(t *testing.T) {
	const n, d, a = 4096, 64, 0.5
	p := mustPlan(t, spectrum.Settings{Length: n, Window: spectrum.FlatTop, Decimation: d})
	f0 := 1638 * p.SampleRate() / n // 0.4 fs
	x := make([]float64, n)
	for j := range x {
		var s float64
		for m := range d {
			s += a * math.Cos(2*math.Pi*f0*float64(j*d+m)/regmap.Clock+0.3)
		}
		x[j] = s / d
	}
	an := p.NewAnalyzer()
	if err := an.Add(x, x); err != nil {
		t.Fatal(err)
	}
	spec := an.Mean(nil, spectrum.Ch1)
	peak, at := maxOf(spec)
	if e := dB(peak) - dB(a*a); math.Abs(e) > tolToneDB {
		t.Errorf("corrected peak %+.3f dB from A^2", e)
	}
	h := math.Sin(math.Pi*0.4) / (math.Pi * 0.4)
	raw := peak / p.Correction(nil)[at]
	if e := dB(raw) - dB(a*a*h*h); math.Abs(e) > tolToneDB {
		t.Errorf("uncorrected peak %+.3f dB from A^2 sinc^2", e)
	}
}

func TestDecimationCorrection(t *testing.T) {
	for _, dec := range []int{1, 2, 64, spectrum.MaxDecimation} {
		for _, noAvg := range []bool{false, true} {
			p := mustPlan(t, spectrum.Settings{Length: 1024, Window: spectrum.Hamming, Decimation: dec, NoAverage: noAvg})
			corr := p.Correction(nil)
			for k, f := range p.Frequencies(nil) {
				want := 1.0
				if dec > 1 && !noAvg {
					x := math.Pi * float64(dec) * f / regmap.Clock
					h := 1.0
					if x != 0 {
						h = math.Sin(x) / x
					}
					want = 1 / (h * h)
				}
				if dec == 1 || noAvg {
					if corr[k] != 1 {
						t.Fatalf("dec %d noAverage %v: correction[%d] = %g, want exactly 1", dec, noAvg, k, corr[k])
					}
				} else if math.Abs(corr[k]-want) > tolCorrection*want {
					t.Fatalf("dec %d: correction[%d] = %.15g, want 1/sinc^2 = %.15g", dec, k, corr[k], want)
				}
			}
			if dec > 1 && !noAvg {
				// At fs/2 the sinc is 2/π.
				if last, want := corr[len(corr)-1], math.Pi*math.Pi/4; math.Abs(last-want) > tolCorrection*want {
					t.Errorf("dec %d: correction at fs/2 = %g, want π^2/4", dec, last)
				}
			}
		}
	}
}

func TestNoiseDensity(t *testing.T) {
	const sigma, traces, block = 0.1, 200, 512
	r := newRand()
	cases := []spectrum.Settings{}
	for _, w := range spectrum.Windows() {
		cases = append(cases, spectrum.Settings{Length: spectrum.ScopeLength, Window: w, Decimation: 1})
	}
	cases = append(cases, spectrum.Settings{Length: spectrum.ScopeLength, Window: spectrum.Blackman, Decimation: 256, NoAverage: true})
	x, y := make([]float64, spectrum.ScopeLength), make([]float64, spectrum.ScopeLength)
	var worst float64
	defer func() { t.Logf("worst %d-bin block error %.4f dB (tolerance %g dB)", block, worst, tolNoiseDB) }()
	for _, s := range cases {
		an, err := spectrum.NewAnalyzer(s)
		if err != nil {
			t.Fatal(err)
		}
		p := an.Plan()
		for range traces {
			for i := range x {
				x[i], y[i] = sigma*r.NormFloat64(), sigma*r.NormFloat64()
			}
			if err := an.Add(x, y); err != nil {
				t.Fatal(err)
			}
		}
		want := sigma * sigma / (p.SampleRate() / 2)
		for _, c := range []spectrum.Component{spectrum.Ch1, spectrum.Ch2} {
			d := p.Convert(nil, an.Mean(nil, c), spectrum.Vrms2PerHz)
			// Blocks of bins, skipping DC: each block's mean is the density.
			for lo := 1; lo+block <= len(d)-1; lo += block {
				var m float64
				for _, v := range d[lo : lo+block] {
					m += v
				}
				m /= block
				e := dB(m) - dB(want)
				worst = max(worst, math.Abs(e))
				if math.Abs(e) > tolNoiseDB {
					t.Errorf("%s dec %d %v bins %d..: %.4g Vrms^2/Hz (%+.3f dB), want %.4g", s.Window, s.Decimation, c, lo, m, e, want)
					break
				}
			}
		}
		// Independent channels: the cross spectrum averages towards 0.
		cr := an.Mean(nil, spectrum.CrossAbs)
		auto := an.Mean(nil, spectrum.Ch1)
		var sc, sa float64
		for k := 1; k < len(cr)-1; k++ {
			sc += cr[k]
			sa += auto[k]
		}
		if sc > 0.2*sa {
			t.Errorf("%s: cross of independent noise %.3g of auto, want about 1/sqrt(traces)", s.Window, sc/sa)
		}
	}
}

func TestNoiseDensityPadded(t *testing.T) {
	const sigma, traces = 0.02, 8
	r := newRand()
	an, err := spectrum.NewAnalyzer(spectrum.Settings{Length: spectrum.ScopeLength, Window: spectrum.FlatTop, Decimation: 1, Padding: spectrum.PyRPLPadding})
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float64, spectrum.ScopeLength)
	for range traces {
		for i := range x {
			x[i] = sigma * r.NormFloat64()
		}
		if err := an.Add(x, x); err != nil {
			t.Fatal(err)
		}
	}
	d := an.Plan().Convert(nil, an.Mean(nil, spectrum.Ch1), spectrum.Vrms2PerHz)
	var m float64
	for _, v := range d[1 : len(d)-1] {
		m += v
	}
	m /= float64(len(d) - 2)
	want := sigma * sigma / (regmap.Clock / 2)
	if e := dB(m) - dB(want); math.Abs(e) > tolNoiseDB {
		t.Errorf("padded: %.4g Vrms^2/Hz (%+.3f dB), want %.4g", m, e, want)
	}
}

// TestParseval checks, for one trace of an arbitrary signal,
//
//	Σ_k c[k] D[k] Δf = Σ v^2 x^2 / Σ v^2,
//
// with D the density in Vrms^2/Hz (uncorrected: times |H|^2), Δf the bin
// width, c = 1/2 at DC and at fs/2 (when the FFT length is even), 1
// elsewhere; and the same with Re S12 and Σ v^2 x1 x2.
func TestParseval(t *testing.T) {
	r := newRand()
	for _, w := range spectrum.Windows() {
		for _, c := range []struct{ n, pad, dec int }{{spectrum.ScopeLength, 1, 1}, {1000, 3, 8}, {1001, 1, 1}, {1001, 2, 128}} {
			p := mustPlan(t, spectrum.Settings{Length: c.n, Window: w, Decimation: c.dec, Padding: c.pad})
			x1, x2 := make([]float64, c.n), make([]float64, c.n)
			for i := range x1 {
				x1[i] = 0.05 + 0.2*r.NormFloat64() + 0.4*math.Sin(0.3*float64(i))
				x2[i] = 0.5*x1[i] + 0.1*r.NormFloat64()
			}
			an := p.NewAnalyzer()
			if err := an.Add(x1, x2); err != nil {
				t.Fatal(err)
			}
			v := p.Window(nil)
			var v2, m11, m22, m12 float64
			for i, vi := range v {
				v2 += vi * vi
				m11 += vi * vi * x1[i] * x1[i]
				m22 += vi * vi * x2[i] * x2[i]
				m12 += vi * vi * x1[i] * x2[i]
			}
			corr := p.Correction(nil)
			for _, cc := range []struct {
				comp spectrum.Component
				want float64
			}{{spectrum.Ch1, m11 / v2}, {spectrum.Ch2, m22 / v2}, {spectrum.CrossRe, m12 / v2}} {
				spec := an.Mean(nil, cc.comp)
				var sum float64
				for k, s := range spec {
					wk := 1.0
					if k == 0 || (p.FFTLength()%2 == 0 && k == len(spec)-1) {
						wk = 0.5
					}
					sum += wk * s / corr[k] / 2 / p.RBW() * p.BinWidth()
				}
				if math.Abs(sum-cc.want) > tolParseval*math.Abs(cc.want) {
					t.Errorf("%s %+v %v: Σ density Δf = %.15g, want %.15g", w, c, cc.comp, sum, cc.want)
				}
			}
		}
	}
}

func TestCrossOfItself(t *testing.T) {
	r := newRand()
	x := make([]float64, 2048)
	for i := range x {
		x[i] = r.NormFloat64()
	}
	an, err := spectrum.NewAnalyzer(spectrum.Settings{Length: len(x), Window: spectrum.Blackman, Decimation: 4})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := an.Add(x, x); err != nil {
			t.Fatal(err)
		}
	}
	res := an.Result(spectrum.Spectra{})
	abs := an.Mean(nil, spectrum.CrossAbs)
	var mean float64
	for _, v := range res.Ch1 {
		mean += v / float64(len(res.Ch1))
	}
	tol := tolSelfCross * mean
	for k := range res.Ch1 {
		if math.Abs(res.CrossRe[k]-res.Ch1[k]) > tol || math.Abs(res.Ch2[k]-res.Ch1[k]) > tol ||
			math.Abs(res.CrossIm[k]) > tol || math.Abs(abs[k]-res.Ch1[k]) > tol {
			t.Fatalf("bin %d: ch1 %g ch2 %g cross %g%+gi |cross| %g", k, res.Ch1[k], res.Ch2[k], res.CrossRe[k], res.CrossIm[k], abs[k])
		}
	}
}

// TestCrossAgainstDFT checks the transform's sign convention against a
// direct DFT with exp(-2πikn/M), numpy's rfft, and the cross spectrum's
// phase for a channel 2 lagging by 90°.
func TestCrossAgainstDFT(t *testing.T) {
	const n, pad = 256, 2
	p := mustPlan(t, spectrum.Settings{Length: n, Window: spectrum.Hamming, Decimation: 1, Padding: pad})
	fs := p.SampleRate()
	x1 := tone(n, fs, 20*fs/n, 0.8, 0.2)
	x2 := tone(n, fs, 20*fs/n, 0.5, 0.2-math.Pi/2)
	an := p.NewAnalyzer()
	if err := an.Add(x1, x2); err != nil {
		t.Fatal(err)
	}
	re, im := an.Mean(nil, spectrum.CrossRe), an.Mean(nil, spectrum.CrossIm)
	s11 := an.Mean(nil, spectrum.Ch1)
	v := p.Window(nil)
	m := n * pad
	for k := range p.Bins() {
		var f1, f2 complex128
		for i := range n {
			e := complex(math.Cos(2*math.Pi*float64(k*i)/float64(m)), -math.Sin(2*math.Pi*float64(k*i)/float64(m)))
			f1 += complex(v[i]*x1[i], 0) * e
			f2 += complex(v[i]*x2[i], 0) * e
		}
		c := complex(real(f1), -imag(f1)) * f2
		scale := real(f1)*real(f1) + imag(f1)*imag(f1) + 1e-3
		if math.Abs(re[k]-real(c)) > tolCrossAgainst*scale || math.Abs(im[k]-imag(c)) > tolCrossAgainst*scale {
			t.Fatalf("bin %d: cross %g%+gi, DFT %g%+gi", k, re[k], im[k], real(c), imag(c))
		}
		if math.Abs(s11[k]-(real(f1)*real(f1)+imag(f1)*imag(f1))) > tolCrossAgainst*scale {
			t.Fatalf("bin %d: |F1|^2 %g, DFT %g", k, s11[k], real(f1)*real(f1)+imag(f1)*imag(f1))
		}
	}
	// At the tone (bin 40 of the padded transform): arg S12 = φ2 - φ1 = -90°.
	if ph := math.Atan2(im[40], re[40]) * 180 / math.Pi; math.Abs(ph+90) > 0.01 {
		t.Errorf("cross phase at the tone %.4f°, want -90°", ph)
	}
}

func TestUnitConversions(t *testing.T) {
	const rbw = 1234.5
	for _, u := range spectrum.Units() {
		for _, p := range []float64{1e-9, 3.7e-4, 0.25, 1, 42} {
			v := u.From(p, rbw)
			back := u.To(v, rbw)
			if math.Abs(back-p) > tolRoundTrip*p {
				t.Errorf("%s: %g -> %g -> %g", u, p, v, back)
			}
		}
		if !u.Valid() {
			t.Errorf("%s not valid", u)
		}
	}
	// The units against each other.
	for _, p := range []float64{1e-6, 0.5, 3} {
		from := func(u spectrum.Unit) float64 { return u.From(p, rbw) }
		lin := func(db float64) float64 { return math.Pow(10, db/10) - spectrum.Epsilon }
		checks := []struct {
			name      string
			got, want float64
		}{
			{"Vpk^2", from(spectrum.Vpk2), p},
			{"Vpk^2 = Vpk^2", from(spectrum.Vpk) * from(spectrum.Vpk), p},
			{"Vrms^2 = Vpk^2/2", from(spectrum.Vrms2), p / 2},
			{"Vrms^2 = Vrms^2", from(spectrum.Vrms) * from(spectrum.Vrms), from(spectrum.Vrms2)},
			{"Vrms = Vpk/sqrt2", from(spectrum.Vrms), from(spectrum.Vpk) / math.Sqrt2},
			{"Vrms^2/Hz * rbw = Vrms^2", from(spectrum.Vrms2PerHz) * rbw, from(spectrum.Vrms2)},
			{"(Vrms/sqrt(Hz))^2 = Vrms^2/Hz", from(spectrum.VrmsPerSqrtHz) * from(spectrum.VrmsPerSqrtHz), from(spectrum.Vrms2PerHz)},
			{"dB(Vpk^2)", lin(from(spectrum.DBVpk2)), p},
			{"dB(Vrms^2)", lin(from(spectrum.DBVrms2)), p / 2},
			{"dB(Vrms^2/Hz)", lin(from(spectrum.DBVrms2PerHz)), p / 2 / rbw},
		}
		for _, c := range checks {
			if math.Abs(c.got-c.want) > tolRoundTrip*math.Abs(c.want) {
				t.Errorf("P=%g: %s: %.15g, want %.15g", p, c.name, c.got, c.want)
			}
		}
		// dB(Vrms^2) is 3.01 dB below dB(Vpk^2) for values far above eps.
		if d := from(spectrum.DBVpk2) - from(spectrum.DBVrms2); math.Abs(d-10*math.Log10(2)) > 1e-6 {
			t.Errorf("dB(Vpk^2) - dB(Vrms^2) = %g", d)
		}
	}
	// PyRPL's abs and epsilon.
	if got := spectrum.DBVpk2.From(0, rbw); got != 10*math.Log10(spectrum.Epsilon) {
		t.Errorf("dB of 0 = %g, want 10 log10(eps)", got)
	}
	if got := spectrum.Vrms.From(-2, rbw); got != 1 {
		t.Errorf("Vrms of -2 Vpk^2 = %g, want 1 (abs first)", got)
	}
	// Slices, in place.
	src := []float64{0.5, 2, 8}
	got := spectrum.Convert(nil, src, spectrum.Vpk, rbw)
	spectrum.ConvertBack(got, got, spectrum.Vpk, rbw)
	for i := range src {
		if math.Abs(got[i]-src[i]) > tolRoundTrip*src[i] {
			t.Errorf("slice round trip %v -> %v", src, got)
		}
	}
	mustPanic(t, "density without rbw", func() { spectrum.Convert(nil, src, spectrum.Vrms2PerHz, 0) })
	mustPanic(t, "bad unit", func() { spectrum.Convert(nil, src, "dBm", 1) })
	mustPanic(t, "short dst", func() { spectrum.Convert(make([]float64, 2), src, spectrum.Vpk, 1) })
}

func TestNonFinite(t *testing.T) {
	an, err := spectrum.NewAnalyzer(spectrum.Settings{Length: 64, Window: spectrum.Hamming, Decimation: 1})
	if err != nil {
		t.Fatal(err)
	}
	x := tone(64, an.Plan().SampleRate(), an.Plan().SampleRate()/8, 1, 0)
	if err := an.Add(x, x); err != nil {
		t.Fatal(err)
	}
	before := an.Mean(nil, spectrum.Ch1)
	for _, bad := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		y := append([]float64(nil), x...)
		y[5] = bad
		err := an.Add(x, y)
		if rperr.ErrorCode(err) != rperr.EInvalid || !strings.Contains(err.Error(), "ch2[5]") {
			t.Errorf("Add with %v: error %v, want invalid naming ch2[5]", bad, err)
		}
		y32 := make([]float32, len(y))
		for i := range y {
			y32[i] = float32(y[i])
		}
		if err := an.AddFloat32(y32, y32); !strings.Contains(fmt.Sprint(err), "ch1[5]") {
			t.Errorf("AddFloat32 with %v: error %v, want ch1[5]", bad, err)
		}
	}
	if an.Count() != 1 {
		t.Fatalf("count %d after rejected traces, want 1", an.Count())
	}
	after := an.Mean(nil, spectrum.Ch1)
	for k := range before {
		if before[k] != after[k] {
			t.Fatalf("bin %d changed by a rejected trace: %g -> %g", k, before[k], after[k])
		}
	}
}

func TestFloat32MatchesFloat64(t *testing.T) {
	r := newRand()
	p := mustPlan(t, spectrum.Settings{Length: 512, Window: spectrum.Gaussian, Decimation: 2})
	x32, y32 := make([]float32, 512), make([]float32, 512)
	x64, y64 := make([]float64, 512), make([]float64, 512)
	for i := range x32 {
		x32[i], y32[i] = float32(r.NormFloat64()), float32(r.NormFloat64())
		x64[i], y64[i] = float64(x32[i]), float64(y32[i])
	}
	a, b := p.NewAnalyzer(), p.NewAnalyzer()
	if err := a.AddFloat32(x32, y32); err != nil {
		t.Fatal(err)
	}
	if err := b.Add(x64, y64); err != nil {
		t.Fatal(err)
	}
	ra, rb := a.Result(spectrum.Spectra{}), b.Result(spectrum.Spectra{})
	for k := range ra.Ch1 {
		if ra.Ch1[k] != rb.Ch1[k] || ra.CrossIm[k] != rb.CrossIm[k] {
			t.Fatalf("bin %d differs", k)
		}
	}
}

func TestAverageAndLimit(t *testing.T) {
	p := mustPlan(t, spectrum.Settings{Length: 256, Window: spectrum.Blackman, Decimation: 1})
	x := tone(256, p.SampleRate(), 10*p.SampleRate()/256, 1, 0)
	one := p.NewAnalyzer()
	if err := one.Add(x, x); err != nil {
		t.Fatal(err)
	}
	ref := one.Mean(nil, spectrum.Ch1)[10]
	scaled := func(c float64) []float64 {
		y := make([]float64, len(x))
		for i := range y {
			y[i] = c * x[i]
		}
		return y
	}
	scales := []float64{1, 2, 0.5, 3, 1.5, 0.1, 2.5}
	for _, limit := range []int{0, 1, 3} {
		an := p.NewAnalyzer()
		an.SetLimit(limit)
		var mean float64 // PyRPL's data_avg
		cur := 0
		for _, c := range scales {
			if err := an.Add(scaled(c), x); err != nil {
				t.Fatal(err)
			}
			cur++
			if limit > 0 {
				cur = min(cur, limit)
			}
			mean = (mean*float64(cur-1) + c*c) / float64(cur)
			if got := an.Mean(nil, spectrum.Ch1)[10] / ref; math.Abs(got-mean) > 1e-12*mean {
				t.Fatalf("limit %d after scale %g: mean %g, want %g", limit, c, got, mean)
			}
		}
		if an.Count() != cur {
			t.Errorf("limit %d: count %d, want %d", limit, an.Count(), cur)
		}
	}
	// Lowering the limit keeps the mean.
	an := p.NewAnalyzer()
	for _, c := range scales {
		_ = an.Add(scaled(c), x)
	}
	m := an.Mean(nil, spectrum.Ch1)[10]
	an.SetLimit(2)
	if got := an.Mean(nil, spectrum.Ch1)[10]; math.Abs(got-m) > 1e-12*m || an.Count() != 2 {
		t.Errorf("SetLimit(2) changed the mean %g -> %g or count %d", m, got, an.Count())
	}
	an.Reset()
	if an.Count() != 0 {
		t.Errorf("count %d after Reset", an.Count())
	}
	mustPanic(t, "mean of nothing", func() { an.Mean(nil, spectrum.Ch1) })
	mustPanic(t, "negative limit", func() { an.SetLimit(-1) })
}

func TestProgrammerErrorsPanic(t *testing.T) {
	an, err := spectrum.NewAnalyzer(spectrum.Settings{Length: 64, Window: spectrum.Boxcar, Decimation: 1})
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float64, 64)
	mustPanic(t, "short ch2", func() { _ = an.Add(x, x[:63]) })
	_ = an.Add(x, x)
	mustPanic(t, "short dst", func() { an.Mean(make([]float64, 3), spectrum.Ch1) })
	mustPanic(t, "bad component", func() { an.Mean(nil, spectrum.Component(9)) })
	mustPanic(t, "cache size", func() { spectrum.NewCache(0) })
}

func TestAddDoesNotAllocate(t *testing.T) {
	an, err := spectrum.NewAnalyzer(spectrum.Settings{Length: spectrum.ScopeLength, Window: spectrum.FlatTop, Decimation: 8})
	if err != nil {
		t.Fatal(err)
	}
	r := newRand()
	x, y := make([]float64, spectrum.ScopeLength), make([]float64, spectrum.ScopeLength)
	for i := range x {
		x[i], y[i] = r.NormFloat64(), r.NormFloat64()
	}
	dst := make([]float64, an.Plan().Bins())
	if n := testing.AllocsPerRun(20, func() {
		_ = an.Add(x, y)
		an.Mean(dst, spectrum.CrossAbs)
	}); n != 0 {
		t.Errorf("Add+Mean: %v allocations per trace, want 0", n)
	}
}

func TestAnalyzerReuse(t *testing.T) {
	p := mustPlan(t, spectrum.Settings{Length: 128, Window: spectrum.Hamming, Decimation: 1})
	x := tone(128, p.SampleRate(), p.SampleRate()/4, 1, 0)
	a := p.NewAnalyzer()
	a.SetLimit(3)
	_ = a.Add(x, x)
	a.Release()
	b := p.NewAnalyzer()
	if b.Count() != 0 {
		t.Fatalf("reused analyzer has %d traces", b.Count())
	}
	zero := make([]float64, 128)
	_ = b.Add(zero, zero)
	for k, v := range b.Mean(nil, spectrum.Ch1) {
		if v != 0 {
			t.Fatalf("reused analyzer kept bin %d = %g", k, v)
		}
	}
}

func TestCache(t *testing.T) {
	c := spectrum.NewCache(2)
	s := spectrum.Settings{Length: 4096, Window: spectrum.FlatTop, Decimation: 16}
	var wg sync.WaitGroup
	plans := make([]*spectrum.Plan, 16)
	for i := range plans {
		wg.Go(func() {
			p, err := c.Plan(s)
			if err != nil {
				t.Error(err)
				return
			}
			plans[i] = p
			an := p.NewAnalyzer()
			_ = an.Add(make([]float64, 4096), make([]float64, 4096))
			an.Release()
		})
	}
	wg.Wait()
	for _, p := range plans {
		if p != plans[0] {
			t.Fatal("concurrent callers got different plans")
		}
	}
	if p, _ := c.Plan(spectrum.Settings{Length: 4096, Window: "FLATTOP", Decimation: 16, Padding: 1}); p != plans[0] {
		t.Error("equivalent settings got a different plan")
	}
	for _, bad := range invalidSettings {
		if _, err := c.Plan(bad); err == nil {
			t.Errorf("cache accepted %+v", bad)
		}
	}
	if c.Len() != 1 {
		t.Errorf("cache holds %d plans, want 1", c.Len())
	}
	s2, s3 := s, s
	s2.Decimation, s3.Decimation = 32, 64
	_, _ = c.Plan(s2)
	_, _ = c.Plan(s3) // evicts s, the least recently used
	if c.Len() != 2 {
		t.Errorf("cache holds %d plans, want 2", c.Len())
	}
	if p, _ := c.Plan(s); p == plans[0] {
		t.Error("least recently used plan was not evicted")
	}
}
