package sim

import (
	"fmt"
	"math"
	"testing"

	"github.com/rpbus/rpbus/dsp/spectrum"
	"github.com/rpbus/rpbus/regmap"
)

// tolFloorDB: the averaged noise floor of the simulated traces against
// the derived density (ScopeNoiseDensity). With floorTraces traces of
// about 8000 bins each the mean's statistical error is about 0.03 dB.
const tolFloorDB = 0.2

// floorTraces is the number of traces averaged per decimation.
const floorTraces = 8

func dB(x float64) float64 { return 10 * math.Log10(x) }

// virtualScope acquires traces on a board whose clock is virtual (a trace
// takes no real time) and whose bus is free.
type virtualScope struct {
	b   *Board
	now int64
}

func newVirtualScope(t testing.TB, cfg Config) *virtualScope {
	t.Helper()
	cfg.BusRead, cfg.BusWrite = 0, 0
	b, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	v := &virtualScope{b: b, now: 1000}
	b.nowFn = func() int64 { return v.now }
	return v
}

// trace acquires one trace of both inputs at decimation dec, trigger
// immediately (PyRPL's way: delay 16384, so all samples follow the
// trigger), and returns it in volts, oldest sample first.
func (v *virtualScope) trace(t testing.TB, dec uint32, avg bool) (ch1, ch2 []float32) {
	t.Helper()
	s := regmap.ScopeBase
	wr(t, v.b, s+regmap.ScopeControl, regmap.ScopeReset)
	wr(t, v.b, s+regmap.ScopeDecimation, dec)
	wr(t, v.b, s+regmap.ScopeAverage, map[bool]uint32{false: 0, true: 1}[avg])
	wr(t, v.b, s+regmap.ScopeDelay, bufLen)
	wr(t, v.b, s+regmap.ScopeControl, regmap.ScopeArm)
	wr(t, v.b, s+regmap.ScopeTriggerSource, regmap.TrigImmediately)
	v.now += (bufLen+2)*int64(dec) + 16
	if c := rd(t, v.b, s+regmap.ScopeControl); c&(regmap.ScopeArm|regmap.ScopeDelayRunning) != 0 {
		t.Fatalf("decimation %d: acquisition not done (control %#x)", dec, c)
	}
	start := (rd(t, v.b, s+regmap.ScopeTriggerPointer) + bufLen + 1) % bufLen
	var out [2][]float32
	h := make([]uint16, bufLen)
	for ch := range out {
		if err := v.b.ReadHalves(s+regmap.ScopeCh1Data+uint32(ch)*0x10000, h); err != nil {
			t.Fatal(err)
		}
		out[ch] = make([]float32, bufLen)
		for i := range out[ch] {
			out[ch][i] = float32(fromCode14(h[(int(start)+i)%bufLen])) / regmap.VoltsNorm
		}
	}
	v.now += 1000 * int64(dec) // a gap: the next trace is another stretch of noise
	return out[0], out[1]
}

// floorRatio is the mean over the bins from 16 up (the lowest carry the
// window's leakage of the mean) of the measured density, the boxcar
// correction undone, over want.
func floorRatio(a *spectrum.Analyzer, c spectrum.Component, want float64) float64 {
	p := a.Plan()
	mean := a.Mean(nil, c)
	corr := p.Correction(nil)
	var sum float64
	for k := 16; k < len(mean); k++ {
		sum += mean[k] / corr[k] / 2 / p.RBW() / want
	}
	return sum / float64(len(mean)-16)
}

// TestScopeNoiseFloor: the spectral density of in1 and in2 without a
// signal, averaged as the spectrum analyzer does it (blackman and flattop
// windows alternately), matches the density derived from the physics
// (ScopeNoiseDensity: white input noise, 14-bit conversion, boxcar sum and
// its truncation) within tolFloorDB at every decimation, with and without
// the average.
func TestScopeNoiseFloor(t *testing.T) {
	cfg := DefaultConfig()
	v := newVirtualScope(t, cfg)
	nd2 := cfg.NoiseDensity * cfg.NoiseDensity
	t.Logf("%9s %4s %13s %13s %9s %9s", "dec", "avg", "derived", "measured", "meas/der", "der/nd^2")
	for _, c := range []struct {
		dec uint32
		avg bool
	}{{1, true}, {8, true}, {64, true}, {1024, true}, {8192, true}, {65536, true}, {8, false}, {1024, false}} {
		var an [2]*spectrum.Analyzer
		for i, w := range []spectrum.Window{spectrum.Blackman, spectrum.FlatTop} {
			a, err := spectrum.NewAnalyzer(spectrum.Settings{Length: bufLen, Window: w, Decimation: int(c.dec)})
			if err != nil {
				t.Fatal(err)
			}
			an[i] = a
		}
		for i := range floorTraces {
			ch1, ch2 := v.trace(t, c.dec, c.avg)
			if err := an[i%2].AddFloat32(ch1, ch2); err != nil {
				t.Fatal(err)
			}
		}
		want := cfg.ScopeNoiseDensity(c.dec, c.avg, 0)
		for ch, comp := range []spectrum.Component{spectrum.Ch1, spectrum.Ch2} {
			r := (floorRatio(an[0], comp, want) + floorRatio(an[1], comp, want)) / 2
			name := fmt.Sprintf("in%d decimation %d average %v", ch+1, c.dec, c.avg)
			t.Logf("%9d %4v %13.4g %13.4g %+8.3f %+8.2f  in%d", c.dec, c.avg, want, want*r, dB(r), dB(want/nd2), ch+1)
			if math.Abs(dB(r)) > tolFloorDB {
				t.Errorf("%s: floor %+.3f dB from the derived %.4g V^2/Hz", name, dB(r), want)
			}
		}
	}
}

// TestFloorVariance: the variance of floor(a + s z) is s^2 + 1/12 for a
// wide s, tends to a p(1-p) coin between two steps for a narrow one, and
// matches a direct count.
func TestFloorVariance(t *testing.T) {
	const tol = 1e-9
	for _, c := range []struct{ a, s, want float64 }{
		{0.3, 6.5, 6.5*6.5 + 1.0/12},
		{0.3, 1, -1},      // Sheppard's s^2 + 1/12 is 3e-9 off (exp(-2 pi^2))
		{0.5, 1e-3, 0},    // mid-step: always 0
		{0, 1e-9, 0.25},   // on a step: 0 or -1, half and half
		{1e6, 1e-9, 0.25}, // far from 0 too
		{0.25, 0.5, -1},   // between: counted
	} {
		got := floorVariance(c.a, c.s)
		want := c.want
		if want < 0 { // count: P(floor = m) summed over m
			var m1, m2 float64
			for m := -10.0; m <= 10; m++ {
				p := phi((m+1-c.a)/c.s) - phi((m-c.a)/c.s)
				m1 += m * p
				m2 += m * m * p
			}
			want = m2 - m1*m1
		}
		if math.Abs(got-want) > tol*max(1, want) {
			t.Errorf("floorVariance(%g, %g) = %.12g, want %.12g", c.a, c.s, got, want)
		}
	}
}

// TestBoxcarLattice: the boxcar's shift floors an integer sum, so an
// averaged sample of an input at 0 V has the mean 1/(2 dec) - 1/2 steps,
// not -1/2 (at decimation 2, a quarter of a step apart: 20 standard errors
// of the mean of these samples).
func TestBoxcarLattice(t *testing.T) {
	v := newVirtualScope(t, DefaultConfig())
	const dec, traces = 2, 8
	var sum float64
	for range traces {
		ch1, ch2 := v.trace(t, dec, true)
		for i := range ch1 {
			sum += float64(ch1[i]) + float64(ch2[i])
		}
	}
	n := float64(2 * traces * bufLen)
	mean := sum / n * regmap.VoltsNorm
	want := 0.5/dec - 0.5
	se := math.Sqrt(v.b.cfg.ScopeSampleVariance(dec, true, 0) / (LSB * LSB) / n)
	t.Logf("mean %+.4f LSB, want %+.4f +- %.4f", mean, want, se)
	if math.Abs(mean-want) > 6*se {
		t.Errorf("averaged samples at decimation %d: mean %+.4f LSB, want %+.4f (standard error %.4f)", dec, mean, want, se)
	}
}

// TestBoxcarNotPowerOfTwo: at a decimation that is not a power of two
// red_pitaya_scope.v does not divide the boxcar's sum: a sample is the sum
// of the dec conversions (its low 14 bits), so the noise of in1 at 0 V
// has dec times the variance of one conversion.
func TestBoxcarNotPowerOfTwo(t *testing.T) {
	v := newVirtualScope(t, DefaultConfig())
	const dec = 3
	ch1, ch2 := v.trace(t, dec, true)
	var s, s2 float64
	for _, x := range append(ch1, ch2...) {
		s += float64(x)
		s2 += float64(x) * float64(x)
	}
	n := float64(2 * bufLen)
	varLSB := (s2/n - (s/n)*(s/n)) * regmap.VoltsNorm * regmap.VoltsNorm
	sa := v.b.cfg.NoiseStd() / LSB
	want := dec * (sa*sa + 1.0/12)
	t.Logf("sample variance %.1f LSB^2, want %.1f", varLSB, want)
	if math.Abs(varLSB/want-1) > 6*math.Sqrt(2/n) {
		t.Errorf("decimation %d averaged: sample variance %.1f LSB^2, want the sum's %.1f", dec, varLSB, want)
	}
}
