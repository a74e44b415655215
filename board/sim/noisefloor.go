package sim

import (
	"math"

	"github.com/rpbus/rpbus/regmap"
)

// ScopeSampleVariance is the variance [V^2] of the random part of one
// scope sample of in1 or in2 at decimation dec (a power of two), with or
// without the boxcar average, for an input whose noiseless level during
// the sample is mean [V]. In ADC steps (LSB), with sa = NoiseStd()/LSB:
//
//   - without averaging (or dec 1) a sample is one conversion,
//     round(mean + n) = floor(mean + 1/2 + n), n ~ N(0, sa^2);
//   - with averaging the Verilog sums dec conversions q_i (each the input
//     plus an independent rounding error of variance 1/12 when sa is more
//     than about half a step) and shifts the sum right by log2(dec):
//     floor(S/dec) with S an integer of mean dec*mean and variance
//     dec*(sa^2 + 1/12), that is floor(mean + 1/(2 dec) + z),
//     z ~ N(0, (sa^2 + 1/12)/dec) (the 1/(2 dec) is S's lattice).
//
// Both are the variance of floor(a + s z), z ~ N(0, 1): s^2 + 1/12 when
// s is more than about half a step; below, the truncation does not
// dither and the variance depends on where a falls within a step (with
// a = 0, the mean of an input at 0 V, it tends to 1/4 as s goes to 0:
// the samples are 0 or -1).
func (c Config) ScopeSampleVariance(dec uint32, avg bool, mean float64) float64 {
	sa := c.NoiseStd() / LSB
	a, s := mean/LSB+0.5, sa
	if avg && dec > 1 {
		d := float64(dec)
		a, s = mean/LSB+0.5/d, math.Sqrt((sa*sa+1.0/12)/d)
	}
	return floorVariance(a, s) * LSB * LSB
}

// ScopeNoiseDensity is the one-sided power spectral density [V^2/Hz] of
// the noise of a scope trace of in1 or in2 (see ScopeSampleVariance): its
// samples are independent (their decimation windows do not overlap), so
// it is white, 2 var / fs with fs = 125 MHz / dec. The spectrum analyzer
// shows it divided by the boxcar's |H(f)|^2 correction.
func (c Config) ScopeNoiseDensity(dec uint32, avg bool, mean float64) float64 {
	fs := regmap.Clock / float64(max(dec, 1))
	return 2 * c.ScopeSampleVariance(dec, avg, mean) / fs
}

// floorVariance is the variance of floor(a + s z), z ~ N(0, 1), summed
// over the steps within 9 s of a; beyond 4 steps of s it is s^2 + 1/12 to
// within exp(-2 pi^2 s^2) (Sheppard's correction).
func floorVariance(a, s float64) float64 {
	if s == 0 {
		return 0
	}
	if s > 4 {
		return s*s + 1.0/12
	}
	// steps counted from floor(a), so that a far from 0 loses no digits
	k0 := math.Floor(a)
	a -= k0
	cdf := func(x float64) float64 { return 0.5 * math.Erfc(-(x-a)/(s*math.Sqrt2)) }
	var m1, m2 float64
	for m := math.Floor(-9 * s); m <= math.Ceil(1+9*s); m++ {
		p := cdf(m+1) - cdf(m)
		m1 += m * p
		m2 += m * m * p
	}
	return m2 - m1*m1
}
