package spectrum

import (
	"math"
	"sync"

	"github.com/rpbus/rpbus/regmap"
	"github.com/rpbus/rpbus/rperr"
)

// Limits of Settings.
const (
	// ScopeLength is the Red Pitaya scope's trace length per channel.
	ScopeLength = 16384
	// PyRPLPadding is the zero-padding factor PyRPL uses (its PADDING_FACTOR).
	PyRPLPadding = 16
	// MaxDecimation is the scope's largest decimation, 2^16.
	MaxDecimation = 1 << 16
	// MaxFFTLength bounds Length * Padding, so a request cannot make a
	// plan of unbounded memory (16384 * 256 fits).
	MaxFFTLength = 1 << 22
)

// Settings choose a Plan. The zero values of NoAverage and Padding give
// PyRPL's own behaviour except for the padding (see Padding).
type Settings struct {
	// Length is the number of samples per channel in a trace, at least 2
	// (ScopeLength for a full scope trace).
	Length int
	// Window is the filter window.
	Window Window
	// Decimation is the scope decimation, a power of two in
	// 1..MaxDecimation; the sample rate is fs = regmap.Clock / Decimation.
	Decimation int
	// NoAverage says the scope's average bit was off, so samples were
	// picked, not boxcar-averaged, and no decimation-filter correction
	// applies. PyRPL's spectrum analyzer always sets the bit: leave false.
	NoAverage bool
	// Padding is the zero-padding factor: the FFT length is
	// Length * Padding. 0 means 1 (no padding). PyRPL pads by PyRPLPadding
	// (16), which interpolates the spectrum 16-fold but costs about 16
	// times as much per trace; it does not change rbw or the levels.
	Padding int
}

// normalise returns s with defaults filled in, or an invalid *rperr.Error.
func (s Settings) normalise() (Settings, error) {
	if s.Padding == 0 {
		s.Padding = 1
	}
	w, err := ParseWindow(string(s.Window))
	if err != nil {
		return s, err
	}
	s.Window = w
	switch {
	case s.Length < 2:
		return s, rperr.Invalidf("spectrum: length %d, want at least 2", s.Length)
	case s.Decimation < 1 || s.Decimation > MaxDecimation || s.Decimation&(s.Decimation-1) != 0:
		return s, rperr.Invalidf("spectrum: decimation %d, want a power of two in 1..%d", s.Decimation, MaxDecimation)
	case s.Padding < 1 || s.Padding > MaxFFTLength || s.Length > MaxFFTLength/s.Padding:
		return s, rperr.Invalidf("spectrum: padding %d with length %d, want padding >= 1 and length*padding <= %d", s.Padding, s.Length, MaxFFTLength)
	}
	return s, nil
}

// A Plan holds what depends only on Settings: the normalised window, the
// decimation-filter correction, the frequency axis, ENBW and rbw. It is
// immutable and safe for concurrent use; build it once (or take it from a
// Cache) and make an Analyzer from it per acquisition.
type Plan struct {
	s     Settings
	nfft  int
	fs    float64
	enbw  float64
	win   []float64 // normalised: sum = 2
	corr  []float64 // 1/|H|^2 per bin
	freqs []float64
	pair  *pairFFT // nil unless nfft is a power of two

	pool sync.Pool // of *Analyzer, see NewAnalyzer and Release
}

// NewPlan builds a Plan. Invalid settings give an *rperr.Error with code
// invalid naming the field and what it allows. It costs about as much as
// a few transforms; prefer a Cache when settings repeat.
func NewPlan(s Settings) (*Plan, error) {
	s, err := s.normalise()
	if err != nil {
		return nil, err
	}
	p := &Plan{s: s, nfft: s.Length * s.Padding, fs: regmap.Clock / float64(s.Decimation)}
	p.pair = newPairFFT(p.nfft)

	p.win = s.Window.values(make([]float64, s.Length))
	var sum, sum2 float64
	for _, v := range p.win {
		sum += v
		sum2 += v * v
	}
	if !(sum > 1e-9*float64(s.Length)) { // blackman of length 2 is all zeros
		return nil, rperr.Invalidf("spectrum: %s window of length %d sums to zero; use a longer trace", s.Window, s.Length)
	}
	p.enbw = sum2 / (sum * sum)
	for i := range p.win {
		p.win[i] /= sum / 2
	}

	bins := p.nfft/2 + 1
	p.freqs = make([]float64, bins)
	p.corr = make([]float64, bins)
	for k := range p.freqs {
		p.freqs[k] = float64(k) * p.fs / float64(p.nfft)
		p.corr[k] = 1
		if s.Decimation > 1 && !s.NoAverage {
			h := sinc(float64(s.Decimation) * p.freqs[k] / regmap.Clock)
			p.corr[k] = 1 / (h * h)
		}
	}
	return p, nil
}

// sinc is numpy's normalised sinc: sin(πx)/(πx), 1 at 0.
func sinc(x float64) float64 {
	if x == 0 {
		return 1
	}
	return math.Sin(math.Pi*x) / (math.Pi * x)
}

// Settings returns the plan's settings with defaults filled in.
func (p *Plan) Settings() Settings { return p.s }

// Len returns the trace length per channel that Analyzer.Add takes.
func (p *Plan) Len() int { return p.s.Length }

// FFTLength returns Length * Padding.
func (p *Plan) FFTLength() int { return p.nfft }

// Bins returns the number of frequency bins, FFTLength()/2 + 1.
func (p *Plan) Bins() int { return len(p.freqs) }

// SampleRate returns fs = regmap.Clock / Decimation in Hz.
func (p *Plan) SampleRate() float64 { return p.fs }

// BinWidth returns the bin spacing fs / FFTLength() in Hz.
func (p *Plan) BinWidth() float64 { return p.fs / float64(p.nfft) }

// ENBW returns PyRPL's equivalent noise bandwidth sum(w^2) / sum(w)^2, a
// fraction of the sample rate: the textbook ENBW in bins divided by Length.
func (p *Plan) ENBW() float64 { return p.enbw }

// RBW returns the resolution bandwidth ENBW * fs in Hz, the bandwidth the
// density units divide by.
func (p *Plan) RBW() float64 { return p.enbw * p.fs }

// Window writes the normalised window (sum = 2) to dst (nil: allocate).
func (p *Plan) Window(dst []float64) []float64 {
	dst = makeDst(dst, len(p.win))
	copy(dst, p.win)
	return dst
}

// Frequencies writes the frequency axis k * fs / FFTLength(), k = 0 ..
// Bins()-1, in Hz to dst (nil: allocate). It ends at fs/2 when FFTLength()
// is even.
func (p *Plan) Frequencies(dst []float64) []float64 {
	dst = makeDst(dst, len(p.freqs))
	copy(dst, p.freqs)
	return dst
}

// Correction writes the decimation-filter correction 1/|H(f)|^2 per bin to
// dst (nil: allocate), with |H(f)|^2 = sinc(Decimation * f / regmap.Clock)^2;
// it is 1 at decimation 1 or with NoAverage.
func (p *Plan) Correction(dst []float64) []float64 {
	dst = makeDst(dst, len(p.corr))
	copy(dst, p.corr)
	return dst
}

// Convert is Convert(dst, vpk2, u, p.RBW()).
func (p *Plan) Convert(dst, vpk2 []float64, u Unit) []float64 {
	return Convert(dst, vpk2, u, p.RBW())
}
