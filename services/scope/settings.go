package scope

import (
	"math"
	"strings"

	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/client"
	"github.com/rpbus/rpbus/internal/num"
	"github.com/rpbus/rpbus/regmap"
	"github.com/rpbus/rpbus/rperr"
	"github.com/rpbus/rpbus/services/curves"
)

// N is the number of samples per channel in one trace.
const N = regmap.ScopeBufferLen

// Ranges of the settings.
const (
	MaxDuration     = N * 65536 / regmap.Clock // 8.589934592 s, decimation 65536
	MaxTriggerDelay = 8e-9 * (1 << 30)         // s, PyRPL's limit
	MaxTraceAverage = 1024
	MaxTimeout      = 3600.0 // s
	// RollingDuration: longer traces run in rolling mode in continuous.
	RollingDuration = 0.1
)

// Inputs are the signals an input select chooses, in PyRPL's names.
var Inputs = []string{"in1", "in2", "out1", "out2", "asg0", "asg1", "iq0", "iq1", "iq2", "iq2_2", "pid0", "pid1", "pid2"}

// TriggerSources are the scope's trigger sources ("off" is internal to
// rolling mode).
var TriggerSources = []string{"immediately", "ch1_positive_edge", "ch1_negative_edge", "ch2_positive_edge",
	"ch2_negative_edge", "ext_positive_edge", "ext_negative_edge", "asg0", "asg1", "dsp"}

// plan is a validated request in register terms.
type plan struct {
	set        api.ScopeSettings // as applied
	in1, in2   uint32            // DSP signal numbers
	dec        uint32
	avg        bool
	trig       uint32
	threshold  uint32 // register words
	hysteresis uint32
	delay      uint32 // samples written after the trigger
	n          int    // traces averaged
	timeout    float64
}

// dt is the sampling time in seconds.
func (p *plan) dt() float64 { return regmap.SamplingTime(p.dec) }

// t0 is the time of the first sample relative to the trigger: 0 for
// "immediately", else trigger_delay - duration/2 (PyRPL's scope.times).
func (p *plan) t0() float64 {
	if p.trig == regmap.TrigImmediately {
		return 0
	}
	return p.set.TriggerDelay - regmap.Duration(p.dec)/2
}

// rolling reports whether continuous mode reads this plan as a rolling
// buffer (durations above RollingDuration, as PyRPL).
func (p *plan) rolling() bool { return regmap.Duration(p.dec) > RollingDuration }

// AcquisitionTime is the hardware time of one trace after arming, without
// waiting for the trigger: 16384 samples, or the trigger delay when it is
// longer (the pretrigger part is then already written).
func AcquisitionTime(s api.ScopeSettings) float64 {
	p, err := newPlan(s)
	if err != nil {
		return 0
	}
	return p.acqTime()
}

func (p *plan) acqTime() float64 {
	return float64(max(uint32(N), p.delay)) * p.dt()
}

// Normalize validates s and returns it with every default filled in and
// every value as the hardware applies it (duration and decimation
// consistent, trigger_delay, threshold and hysteresis rounded to their
// register steps). Bad input gives an *rperr.Error with code rperr.EInvalid
// naming the field and the allowed values.
func Normalize(s api.ScopeSettings) (api.ScopeSettings, error) {
	p, err := newPlan(s)
	if err != nil {
		return s, err
	}
	return p.set, nil
}

func newPlan(s api.ScopeSettings) (*plan, error) {
	p := &plan{}
	var err error
	if s.Input1 == "" {
		s.Input1 = "in1"
	}
	if s.Input2 == "" {
		s.Input2 = "in2"
	}
	if p.in1, err = input("input1", s.Input1); err != nil {
		return nil, err
	}
	if p.in2, err = input("input2", s.Input2); err != nil {
		return nil, err
	}
	switch {
	case s.Duration != 0 && s.Decimation != 0:
		return nil, rperr.Invalidf("duration, decimation: give one of them, not both (duration %g s, decimation %d)", s.Duration, s.Decimation)
	case s.Decimation != 0:
		if s.Decimation < 1 || !regmap.ValidDecimation(uint32(min(s.Decimation, 1<<20))) {
			return nil, rperr.Invalidf("decimation: %d is not allowed; want a power of two 1, 2, 4, ... 65536", s.Decimation)
		}
		p.dec = uint32(s.Decimation)
	case s.Duration != 0:
		if !num.Finite(s.Duration) || s.Duration < 0 || s.Duration > MaxDuration*(1+1e-12) {
			return nil, rperr.Invalidf("duration: %g s is outside (0, %.10g] s (16384 x 8 ns x decimation 1..65536)", s.Duration, MaxDuration)
		}
		p.dec = regmap.DecimationFor(s.Duration)
	default:
		p.dec = 1
	}
	s.Decimation = int(p.dec)
	s.Duration = regmap.Duration(p.dec)

	if s.TriggerSource == "" {
		s.TriggerSource = "immediately"
	}
	code, ok := regmap.TriggerSourceCode(s.TriggerSource)
	if !ok || code == regmap.TrigOff {
		return nil, rperr.Invalidf("trigger_source: %q is not one of %s", s.TriggerSource, strings.Join(TriggerSources, ", "))
	}
	p.trig = code

	if !num.Finite(s.Threshold) || s.Threshold < -1 || s.Threshold > 1 {
		return nil, rperr.Invalidf("threshold: %g V is outside -1..1 V", s.Threshold)
	}
	p.threshold = regmap.VoltsToReg(s.Threshold)
	s.Threshold = regmap.RegToVolts(p.threshold)

	if !num.Finite(s.Hysteresis) || s.Hysteresis < 0 || s.Hysteresis > 1 {
		return nil, rperr.Invalidf("hysteresis: %g V is outside 0..1 V (0: the hardware default of 20 LSB, 2.4 mV)", s.Hysteresis)
	}
	p.hysteresis = regmap.ScopeDefaultHysteresis
	if s.Hysteresis != 0 {
		p.hysteresis = regmap.VoltsToReg(s.Hysteresis)
	}
	s.Hysteresis = regmap.RegToVolts(p.hysteresis)

	dt := regmap.SamplingTime(p.dec)
	if !num.Finite(s.TriggerDelay) || s.TriggerDelay < -s.Duration/2 || s.TriggerDelay > MaxTriggerDelay {
		return nil, rperr.Invalidf("trigger_delay: %g s is outside %.9g..%.9g s (-duration/2 .. 8 ns x 2^30)", s.TriggerDelay, -s.Duration/2, MaxTriggerDelay)
	}
	if p.trig == regmap.TrigImmediately {
		// PyRPL: the trace runs from the software trigger to duration;
		// trigger_delay is ignored.
		p.delay = N
		s.TriggerDelay = 0
	} else {
		d := math.Round(s.TriggerDelay/dt) + N/2
		p.delay = uint32(min(max(d, 1), math.MaxUint32)) // 0 does not work on the hardware
		s.TriggerDelay = (float64(p.delay) - N/2) * dt
	}

	p.avg = s.Average == nil || *s.Average
	s.Average = &p.avg

	if s.TraceAverage == 0 {
		s.TraceAverage = 1
	}
	if s.TraceAverage < 1 || s.TraceAverage > MaxTraceAverage {
		return nil, rperr.Invalidf("trace_average: %d is outside 1..%d", s.TraceAverage, MaxTraceAverage)
	}
	p.n = s.TraceAverage

	if !num.Finite(s.Timeout) || s.Timeout < 0 || s.Timeout > MaxTimeout {
		return nil, rperr.Invalidf("timeout: %g s is outside 0..%g s (0: 1 s + 2 x (the acquisition time + the readout) x trace_average)", s.Timeout, MaxTimeout)
	}
	if s.Timeout == 0 {
		// Capped: the bridge waits at most MaxTimeout for one trace, and
		// the default only has to outlast a trace without a trigger.
		s.Timeout = min(DefaultTimeout(p.acqTime(), p.n), MaxTimeout)
	}
	p.timeout = s.Timeout
	if err := curves.CheckSaveEvery(s.SaveEvery); err != nil {
		return nil, err
	}
	if err := curves.CheckLabels(s.Save || s.SaveEvery > 0, s.Name, s.Tags); err != nil {
		return nil, err
	}
	p.set = s
	return p, nil
}

// DefaultTimeout is 1 s + 2 x the hardware time of the traces averaged,
// each its acquisition time and its readout (client.ReadoutTime); newPlan
// caps it at MaxTimeout.
func DefaultTimeout(acqTime float64, traces int) float64 {
	return 1 + 2*(acqTime+client.ReadoutTime)*float64(max(traces, 1))
}

func input(field, name string) (uint32, error) {
	for _, in := range Inputs {
		if in == name {
			n, _ := regmap.SlotNumber(name)
			return uint32(n), nil
		}
	}
	return 0, rperr.Invalidf("%s: %q is not one of %s", field, name, strings.Join(Inputs, ", "))
}
