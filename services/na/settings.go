package na

import (
	"math"
	"slices"

	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/internal/num"
	"github.com/rpbus/rpbus/regmap"
	"github.com/rpbus/rpbus/rperr"
)

// Defaults of the zero-valued settings (api.NASettings).
const (
	DefaultStartFreq    = 1e3
	DefaultStopFreq     = 10e6
	DefaultPoints       = 1001
	DefaultRBW          = 1e3
	DefaultAmplitude    = 0.1
	DefaultInput        = "in1"
	DefaultOutputDirect = "out1"
	DefaultQFactorMin   = 10
	// MaxQFactorMin bounds q_factor_min: above 62.5 MHz / 1.186 Hz (5e7)
	// every point already gets the narrowest filter.
	MaxQFactorMin   = 1e8
	MaxPoints       = 100000
	MaxTraceAverage = 10000
	MaxTimeout      = 7 * 24 * 3600.0 // s
	// SleepTimes is PyRPL's settling wait before each point, in units of
	// 1/rbw (network_analyzer.sleeptimes); the first point of a trace
	// lasts FirstPointFactor points.
	SleepTimes       = 0.5
	FirstPointFactor = 3
	// minAutoRBW is PyRPL's floor of the automatic rbw (auto_rbw_value).
	minAutoRBW = 1.186
)

// Inputs the IQ module's input select accepts, as for the scope.
var Inputs = []string{"in1", "in2", "out1", "out2", "asg0", "asg1", "iq0", "iq1", "iq2", "iq2_2", "pid0", "pid1", "pid2"}

// outputDirects maps output_direct names to register codes.
var outputDirects = map[string]uint32{
	"off": regmap.OutputOff, "out1": regmap.OutputOut1, "out2": regmap.OutputOut2, "both": regmap.OutputBoth,
}

// freqStep is the IQ frequency register's resolution [Hz]: 125 MHz / 2^32.
var freqStep = regmap.RegToFreq(1, regmap.IQPhaseBits)

// filterOptions lists the bandwidths one filter stage of spec makes, as
// PyRPL's FilterRegister.valid_frequencies: shifts 0 .. MaxShift-3.
func filterOptions(spec regmap.FilterSpec) []float64 {
	var out []float64
	for sh := 0; sh < spec.MaxShift()-2; sh++ {
		out = append(out, spec.DecodeFilter(uint32(sh) | regmap.FilterOn)[0])
	}
	return out
}

var (
	rbwOptions = filterOptions(regmap.IQQuadFilterSpec)
	acOptions  = filterOptions(regmap.IQInputFilterSpec)
)

// nearest returns the option closest to v (PyRPL's FilterProperty).
func nearest(opts []float64, v float64) float64 {
	best := opts[0]
	for _, o := range opts {
		if math.Abs(o-v) < math.Abs(best-v) {
			best = o
		}
	}
	return best
}

// point is one NA point as the hardware runs it.
type point struct {
	freq    float64 // applied frequency [Hz]
	freqReg uint32
	bw      float64 // quadrature filter bandwidth (rbw) [Hz]
	bwReg   uint32
	avg     uint32 // na_averages [cycles]
	sleep   uint32 // na_sleepcycles [cycles] (the first point of a trace sleeps longer)
	tf      complex128
}

// cycles is the point's hardware time in 125 MHz cycles.
func (p point) cycles() int64 { return int64(p.sleep) + int64(p.avg) }

// plan is a validated sweep: the applied settings and every point.
type plan struct {
	s         api.NASettings
	zeroSpan  bool
	points    []point // one trace
	input     uint32  // input select signal number
	outDirect uint32
	inFilter  uint32
	ampReg    uint32
	amp       float64 // V, as applied
	hwTime    float64 // s, all traces
}

// bandPoint returns the registers of a point at frequency f with
// quadrature bandwidth bw and average_per_point avgPer; first marks the
// first point of a trace.
func bandPoint(f, bw float64, avgPer int, first bool) point {
	bwReg := regmap.IQQuadFilterSpec.EncodeFilter(bw, bw)
	p := point{freq: f, freqReg: regmap.FreqToReg(f, regmap.IQPhaseBits), bw: bw, bwReg: bwReg}
	p.avg = uint32(math.Round(regmap.Clock / bw * float64(avgPer)))
	p.sleep = uint32(math.Round(regmap.Clock / bw * SleepTimes))
	if first {
		// The first point lasts FirstPointFactor points: its sleep absorbs
		// the extra time, so the settling after setup is longest.
		p.sleep = uint32(FirstPointFactor*(int64(p.sleep)+int64(p.avg)) - int64(p.avg))
	}
	return p
}

// newPlan validates s, fills the defaults and builds the plan. maxReply
// is the largest reply the connection carries (bytes), jsonReply whether
// the reply is JSON (larger than msgpack).
func newPlan(s api.NASettings, maxReply int64, jsonReply bool) (*plan, error) {
	avgName, err := defaults(&s)
	if err != nil {
		return nil, err
	}
	if err := validate(&s, avgName); err != nil {
		return nil, err
	}
	if err := checkReplySize(s, maxReply, jsonReply); err != nil {
		return nil, err
	}
	return buildPlan(s, avgName)
}

// defaults refuses numbers that are not finite and fills the zero
// values with the defaults; it returns the name the user gave the
// averaging per point (PyRPL's older avg_per_point, or
// average_per_point), which later errors name.
func defaults(s *api.NASettings) (avgName string, err error) {
	avgName = "average_per_point"
	if s.AvgPerPoint != 0 {
		if s.AveragePerPoint != 0 && s.AveragePerPoint != s.AvgPerPoint {
			return "", rperr.Invalidf("avg_per_point, average_per_point: %d and %d; give one (avg_per_point is PyRPL's older name)", s.AvgPerPoint, s.AveragePerPoint)
		}
		s.AveragePerPoint, s.AvgPerPoint, avgName = s.AvgPerPoint, 0, "avg_per_point"
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"start_freq", s.StartFreq}, {"stop_freq", s.StopFreq}, {"rbw", s.RBW}, {"amplitude", s.Amplitude},
		{"acbandwidth", s.ACBandwidth}, {"q_factor_min", s.QFactorMin}, {"timeout", s.Timeout}} {
		if !num.Finite(f.v) {
			return "", rperr.Invalidf("%s: %g is not a finite number", f.name, f.v)
		}
	}
	if s.StartFreq == 0 {
		s.StartFreq = DefaultStartFreq
	}
	if s.StopFreq == 0 {
		s.StopFreq = DefaultStopFreq
	}
	if s.Logscale == nil {
		t := true
		s.Logscale = &t
	}
	if s.Points == 0 {
		s.Points = DefaultPoints
	}
	if s.RBW == 0 {
		s.RBW = DefaultRBW
	}
	if s.AveragePerPoint == 0 {
		s.AveragePerPoint = 1
	}
	if s.Amplitude == 0 {
		s.Amplitude = DefaultAmplitude
	}
	if s.Input == "" {
		s.Input = DefaultInput
	}
	if s.OutputDirect == "" {
		s.OutputDirect = DefaultOutputDirect
	}
	if s.QFactorMin == 0 {
		s.QFactorMin = DefaultQFactorMin
	}
	if s.TraceAverage == 0 {
		s.TraceAverage = 1
	}
	return avgName, nil
}

// validate checks every setting against its range (the defaults filled),
// answering 400 naming the field, and rounds rbw and acbandwidth to the
// filters the hardware makes.
func validate(s *api.NASettings, avgName string) error {
	nyq := regmap.Clock / 2
	for _, f := range []struct {
		name string
		v    float64
	}{{"start_freq", s.StartFreq}, {"stop_freq", s.StopFreq}} {
		if f.v < freqStep || f.v > nyq {
			scale := ""
			if *s.Logscale {
				scale = " (log scale needs positive frequencies)"
			}
			return rperr.Invalidf("%s: %g Hz is outside %.6g .. %g Hz%s", f.name, f.v, freqStep, nyq, scale)
		}
	}
	if s.Points < 1 || s.Points > MaxPoints {
		return rperr.Invalidf("points: %d is outside 1..%d", s.Points, MaxPoints)
	}
	lo, hi := rbwOptions[0], rbwOptions[len(rbwOptions)-1]
	if s.RBW < lo*(1-1e-9) || s.RBW > hi*(1+1e-9) {
		return rperr.Invalidf("rbw: %g Hz: the IQ module's quadrature filters make %.4g .. %.4g Hz", s.RBW, lo, hi)
	}
	s.RBW = nearest(rbwOptions, s.RBW)
	if s.AveragePerPoint < 1 {
		return rperr.Invalidf("%s: %d must be at least 1 (0: the default, 1)", avgName, s.AveragePerPoint)
	}
	if s.Amplitude < 0 || s.Amplitude > 1 {
		return rperr.Invalidf("amplitude: %g V is outside 0..1 V", s.Amplitude)
	}
	if _, ok := regmap.SlotNumber(s.Input); !ok || !slices.Contains(Inputs, s.Input) {
		return rperr.Invalidf("input: %q is not one of %v", s.Input, Inputs)
	}
	if _, ok := outputDirects[s.OutputDirect]; !ok {
		return rperr.Invalidf("output_direct: %q is not one of off, out1, out2, both", s.OutputDirect)
	}
	if s.ACBandwidth < 0 || s.ACBandwidth > acOptions[len(acOptions)-1]*(1+1e-9) {
		return rperr.Invalidf("acbandwidth: %g Hz is outside 0 (off) .. %.4g Hz", s.ACBandwidth, acOptions[len(acOptions)-1])
	}
	if s.ACBandwidth > 0 {
		s.ACBandwidth = nearest(acOptions, s.ACBandwidth)
	}
	if s.QFactorMin < 0 || s.QFactorMin > MaxQFactorMin {
		return rperr.Invalidf("q_factor_min: %g is outside (0, %g] (0: the default %g)", s.QFactorMin, float64(MaxQFactorMin), float64(DefaultQFactorMin))
	}
	if s.TraceAverage < 1 || s.TraceAverage > MaxTraceAverage {
		return rperr.Invalidf("trace_average: %d is outside 1..%d", s.TraceAverage, MaxTraceAverage)
	}
	if s.Timeout < 0 || s.Timeout > MaxTimeout {
		return rperr.Invalidf("timeout: %g s is outside 0 (default) .. %g s", s.Timeout, MaxTimeout)
	}
	return nil
}

// checkReplySize refuses a sweep whose reply would not fit in one message
// of maxReply bytes (0: no limit): 3 float64 arrays, 4 in zero span.
func checkReplySize(s api.NASettings, maxReply int64, jsonReply bool) error {
	if maxReply <= 0 {
		return nil
	}
	arrays := int64(3)
	if s.StartFreq == s.StopFreq {
		arrays = 4
	}
	perPoint := arrays * 8
	if jsonReply {
		perPoint = arrays * 25 // up to 24 characters per number, and a comma
	}
	if most := (maxReply - 4096) / perPoint; int64(s.Points) > most {
		return rperr.Invalidf("points: %d points make a reply larger than the server's max payload of %d bytes: at most %d points (msgpack replies are about 3 times smaller than JSON)", s.Points, maxReply, max(most, 0))
	}
	return nil
}

// buildPlan makes the registers of every point of valid settings, and the
// sweep's hardware time and default timeout.
func buildPlan(s api.NASettings, avgName string) (*plan, error) {
	// Amplitude: the DAC sees g2 >> 4 (14 bits), so g2 is a multiple of 16
	// and the normalisation divides by exactly what is sent.
	ampSteps := min(math.Round(s.Amplitude*regmap.VoltsNorm), regmap.VoltsNorm-1)
	if ampSteps < 1 {
		return nil, rperr.Invalidf("amplitude: %g V is below the output's step of %g V", s.Amplitude, 1.0/regmap.VoltsNorm)
	}
	s.Amplitude = ampSteps / regmap.VoltsNorm
	in, _ := regmap.SlotNumber(s.Input)
	var inFilter uint32
	if s.ACBandwidth > 0 {
		inFilter = regmap.IQInputFilterSpec.EncodeFilter(-s.ACBandwidth)
	}
	p := &plan{input: uint32(in), outDirect: outputDirects[s.OutputDirect], inFilter: inFilter, amp: s.Amplitude,
		ampReg: uint32(ampSteps) << 4, zeroSpan: s.StartFreq == s.StopFreq}
	s.StartFreq = regmap.RegToFreq(regmap.FreqToReg(s.StartFreq, regmap.IQPhaseBits), regmap.IQPhaseBits)
	s.StopFreq = regmap.RegToFreq(regmap.FreqToReg(s.StopFreq, regmap.IQPhaseBits), regmap.IQPhaseBits)
	freqs := sweepFrequencies(s.StartFreq, s.StopFreq, s.Points, *s.Logscale)

	// auto_bandwidth as PyRPL's network_analyzer: start at the rbw suited
	// to the first frequency and double it whenever a point wants more.
	autoRBW := func(f float64) float64 {
		return nearest(rbwOptions, min(max(f/s.QFactorMin, minAutoRBW), s.RBW))
	}
	bw := s.RBW
	if s.AutoBandwidth {
		bw = autoRBW(freqs[0])
	}
	p.points = make([]point, len(freqs))
	var cycles int64
	for i, f := range freqs {
		if s.AutoBandwidth && autoRBW(f) > bw+0.001 {
			bw = nearest(rbwOptions, 2*bw)
		}
		// na_averages and the first point's sleep are 32-bit cycle counts.
		if maxAvg := int(float64(math.MaxUint32) / (regmap.Clock / bw) / (FirstPointFactor + 1)); s.AveragePerPoint > maxAvg {
			return nil, rperr.Invalidf("%s: %d is outside 1..%d at rbw %.4g Hz", avgName, s.AveragePerPoint, maxAvg, bw)
		}
		pt := bandPoint(f, bw, s.AveragePerPoint, i == 0)
		pt.freq = regmap.RegToFreq(pt.freqReg, regmap.IQPhaseBits)
		pt.tf = regmap.NATransferFunction(pt.freq, inFilter, 0)
		p.points[i] = pt
		cycles += pt.cycles()
	}
	if p.points[0].avg == 0 {
		return nil, rperr.Invalidf("rbw: %g Hz leaves no cycle to average", s.RBW)
	}
	p.hwTime = float64(cycles) / regmap.Clock * float64(s.TraceAverage)
	if s.Timeout == 0 {
		s.Timeout = math.Round((2*p.hwTime+5)*1000) / 1000
	}
	if s.Timeout > MaxTimeout {
		return nil, rperr.Invalidf("points: the sweep takes %.0f s of hardware time, more than %g s", p.hwTime, MaxTimeout)
	}
	p.s = s
	return p, nil
}

// sweepFrequencies are the points' frequencies before rounding to the
// register: numpy's linspace or logspace with the endpoint; all start in
// zero span.
func sweepFrequencies(start, stop float64, n int, logscale bool) []float64 {
	out := make([]float64, n)
	for i := range out {
		x := 0.0
		if n > 1 {
			x = float64(i) / float64(n-1)
		}
		switch {
		case start == stop:
			out[i] = start
		case logscale:
			out[i] = math.Pow(10, math.Log10(start)+x*(math.Log10(stop)-math.Log10(start)))
		default:
			out[i] = start + x*(stop-start)
		}
	}
	return out
}
