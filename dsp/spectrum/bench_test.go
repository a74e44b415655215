package spectrum_test

import (
	"testing"

	"github.com/rpbus/rpbus/dsp/spectrum"
)

func benchAdd(b *testing.B, s spectrum.Settings) {
	an, err := spectrum.NewAnalyzer(s)
	if err != nil {
		b.Fatal(err)
	}
	r := newRand()
	x, y := make([]float64, s.Length), make([]float64, s.Length)
	for i := range x {
		x[i], y[i] = r.NormFloat64(), r.NormFloat64()
	}
	b.ReportAllocs()
	b.SetBytes(int64(2 * 8 * s.Length))
	for b.Loop() {
		if err := an.Add(x, y); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAdd is one scope trace, two channels of 16384 samples: window,
// one complex FFT of ch1 + i ch2, separation, auto and cross accumulation.
func BenchmarkAdd(b *testing.B) {
	benchAdd(b, spectrum.Settings{Length: spectrum.ScopeLength, Window: spectrum.FlatTop, Decimation: 8})
}

// BenchmarkAddPyRPLPadding is the same with PyRPL's 16-fold zero padding.
func BenchmarkAddPyRPLPadding(b *testing.B) {
	benchAdd(b, spectrum.Settings{Length: spectrum.ScopeLength, Window: spectrum.FlatTop, Decimation: 8, Padding: spectrum.PyRPLPadding})
}

// BenchmarkMeanConvert reads one averaged component and converts it to
// dB(Vrms^2/Hz) in place.
func BenchmarkMeanConvert(b *testing.B) {
	an, err := spectrum.NewAnalyzer(spectrum.Settings{Length: spectrum.ScopeLength, Window: spectrum.Blackman, Decimation: 8})
	if err != nil {
		b.Fatal(err)
	}
	x := make([]float64, spectrum.ScopeLength)
	_ = an.Add(x, x)
	dst := make([]float64, an.Plan().Bins())
	b.ReportAllocs()
	for b.Loop() {
		an.Plan().Convert(dst, an.Mean(dst, spectrum.Ch1), spectrum.DBVrms2PerHz)
	}
}

// BenchmarkNewAnalyzerCached is a request's setup with a warm cache and
// analyzers given back by Release.
func BenchmarkNewAnalyzerCached(b *testing.B) {
	s := spectrum.Settings{Length: spectrum.ScopeLength, Window: spectrum.Hamming, Decimation: 1}
	b.ReportAllocs()
	for b.Loop() {
		an, err := spectrum.NewAnalyzer(s)
		if err != nil {
			b.Fatal(err)
		}
		an.Release()
	}
}

// BenchmarkNewPlan is the cost a cache saves.
func BenchmarkNewPlan(b *testing.B) {
	s := spectrum.Settings{Length: spectrum.ScopeLength, Window: spectrum.Gaussian, Decimation: 64}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := spectrum.NewPlan(s); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAddFloat32 is BenchmarkAdd with the scope's float32 samples, as
// the spectrum analyzer service feeds them.
func BenchmarkAddFloat32(b *testing.B) {
	an, err := spectrum.NewAnalyzer(spectrum.Settings{Length: spectrum.ScopeLength, Window: spectrum.FlatTop, Decimation: 8})
	if err != nil {
		b.Fatal(err)
	}
	r := newRand()
	x, y := make([]float32, spectrum.ScopeLength), make([]float32, spectrum.ScopeLength)
	for i := range x {
		x[i], y[i] = float32(r.NormFloat64()), float32(r.NormFloat64())
	}
	b.ReportAllocs()
	b.SetBytes(int64(2 * 4 * spectrum.ScopeLength))
	for b.Loop() {
		if err := an.AddFloat32(x, y); err != nil {
			b.Fatal(err)
		}
	}
}
