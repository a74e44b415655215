package specan

import (
	"math"
	"strings"
	"time"

	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/client"
	"github.com/rpbus/rpbus/dsp/spectrum"
	"github.com/rpbus/rpbus/regmap"
	"github.com/rpbus/rpbus/rperr"
)

// Defaults and limits of api.SpecanSettings.
const (
	DefaultDecimation = 8
	DefaultWindow     = spectrum.FlatTop
	DefaultUnit       = spectrum.Vpk2
	// MaxTraceAverage bounds trace_average: 10^6 traces at decimation 1
	// are 131 s of acquisition.
	MaxTraceAverage = 1_000_000
	// MaxTimeout bounds timeout, in seconds (one day).
	MaxTimeout = 86400
	// baseTimeout is the default timeout's fixed part, added to twice the
	// hardware time (see DefaultTimeout).
	baseTimeout = 5 * time.Second
)

// Inputs are the signals a scope channel can record, as the scope names
// them.
var Inputs = []string{"in1", "in2", "out1", "out2", "asg0", "asg1", "iq0", "iq1", "iq2", "iq2_2", "pid0", "pid1", "pid2"}

// plan is a validated specan.single request: the settings as applied
// and what the acquisition needs from them.
type plan struct {
	applied api.SpecanSettings // as echoed in the reply
	dec     int
	window  spectrum.Window
	unit    spectrum.Unit
	traces  int
	timeout time.Duration
}

// DecimationForSpan returns the decimation whose sample rate 125 MHz/dec
// is the smallest allowed one at least span (the largest decimation, if
// span is below every sample rate), or an invalid error naming the field.
func DecimationForSpan(span float64) (int, error) {
	if !(span > 0) || span > regmap.Clock || math.IsInf(span, 0) {
		return 0, rperr.Invalidf("span: %v Hz; allowed: 0 < span <= 125e6 (rounded up to 125e6/2^k, k = 0..16)", span)
	}
	for i := len(regmap.Decimations) - 1; i >= 0; i-- {
		d := regmap.Decimations[i]
		if regmap.Clock/float64(d) >= span*(1-1e-12) { // a span read back from a reply maps to itself
			return int(d), nil
		}
	}
	return 1, nil
}

// DefaultTimeout is the timeout of a spectrum of n traces at decimation
// dec when the request gives none: 5 s plus twice the hardware time, each
// trace's acquisition and its readout (client.ReadoutTime).
func DefaultTimeout(dec, n int) time.Duration {
	return baseTimeout + time.Duration(2*float64(n)*(regmap.Duration(uint32(dec))+client.ReadoutTime)*float64(time.Second))
}

// newPlan validates s and fills in the defaults. Every error is a 400 that
// names the field and the allowed values.
func newPlan(s api.SpecanSettings) (plan, error) {
	var p plan
	if err := pyrplNames(&s); err != nil {
		return p, err
	}
	switch {
	case s.Span != 0 && s.Decimation != 0:
		return p, rperr.Invalidf("span, decimation: give at most one (span %v Hz, decimation %d)", s.Span, s.Decimation)
	case s.Span != 0:
		d, err := DecimationForSpan(s.Span)
		if err != nil {
			return p, err
		}
		p.dec = d
	case s.Decimation != 0:
		if s.Decimation < 0 || !regmap.ValidDecimation(uint32(s.Decimation)) {
			return p, rperr.Invalidf("decimation: %d; allowed: 1, 2, 4, ... 65536 (powers of two)", s.Decimation)
		}
		p.dec = s.Decimation
	default:
		p.dec = DefaultDecimation
	}
	var err error
	if s.Input1, err = input("input1", s.Input1, "in1"); err != nil {
		return p, err
	}
	if s.Input2, err = input("input2", s.Input2, "in2"); err != nil {
		return p, err
	}
	p.window = DefaultWindow
	if s.Window != "" {
		if p.window, err = spectrum.ParseWindow(s.Window); err != nil {
			return p, rperr.Invalidf("window: %q; allowed: %s", s.Window, joinWindows())
		}
	}
	p.unit = DefaultUnit
	if s.Unit != "" {
		if p.unit, err = spectrum.ParseUnit(s.Unit); err != nil {
			return p, rperr.Invalidf("unit: %q; allowed: %s", s.Unit, joinUnits())
		}
	}
	p.traces = s.TraceAverage
	switch {
	case p.traces == 0:
		p.traces = 1
	case p.traces < 0 || p.traces > MaxTraceAverage:
		return p, rperr.Invalidf("trace_average: %d; allowed: 1..%d (0 means 1)", s.TraceAverage, MaxTraceAverage)
	}
	switch {
	case s.Timeout == 0:
		p.timeout = DefaultTimeout(p.dec, p.traces)
	case !(s.Timeout > 0) || s.Timeout > MaxTimeout:
		return p, rperr.Invalidf("timeout: %v s; allowed: 0 < timeout <= %d s (0: 5 s + 2 x the acquisition and readout time)", s.Timeout, MaxTimeout)
	default:
		p.timeout = time.Duration(s.Timeout * float64(time.Second))
	}
	s.Span = regmap.Clock / float64(p.dec)
	s.Decimation = p.dec
	s.Window = string(p.window)
	s.Unit = string(p.unit)
	s.TraceAverage = p.traces
	s.Timeout = p.timeout.Seconds()
	p.applied = s
	return p, nil
}

func input(field, v, def string) (string, error) {
	if v == "" {
		return def, nil
	}
	for _, in := range Inputs {
		if strings.EqualFold(v, in) {
			return in, nil
		}
	}
	return "", rperr.Invalidf("%s: %q; allowed: %s", field, v, strings.Join(Inputs, ", "))
}

func joinWindows() string {
	var names []string
	for _, w := range spectrum.Windows() {
		names = append(names, string(w))
	}
	return strings.Join(names, ", ")
}

func joinUnits() string {
	var names []string
	for _, u := range spectrum.Units() {
		names = append(names, string(u))
	}
	return strings.Join(names, ", ")
}

// crossUnit is the unit of cross_re and cross_im for display unit u: its
// power form, so that the signs (the phase) survive.
func crossUnit(u spectrum.Unit) spectrum.Unit {
	switch u {
	case spectrum.Vpk2, spectrum.DBVpk2, spectrum.Vpk:
		return spectrum.Vpk2
	case spectrum.Vrms2, spectrum.DBVrms2, spectrum.Vrms:
		return spectrum.Vrms2
	}
	return spectrum.Vrms2PerHz
}

// crossScale is what a Vpk^2 value is multiplied by to read in crossUnit(u).
func crossScale(u spectrum.Unit, rbw float64) float64 {
	switch crossUnit(u) {
	case spectrum.Vpk2:
		return 1
	case spectrum.Vrms2:
		return 0.5
	}
	return 0.5 / rbw
}

// pyrplNames moves PyRPL's names into ours: display_unit is unit,
// input1_baseband and input2_baseband are input1 and input2 (either name,
// not two different values), baseband must be true. rbw is resolved
// before newPlan (RBWDecimation).
func pyrplNames(s *api.SpecanSettings) error {
	for _, a := range []struct {
		alias, name string
		from, to    *string
	}{{"display_unit", "unit", &s.DisplayUnit, &s.Unit}, {"input1_baseband", "input1", &s.Input1Baseband, &s.Input1}, {"input2_baseband", "input2", &s.Input2Baseband, &s.Input2}} {
		if *a.from == "" {
			continue
		}
		if *a.to != "" && *a.to != *a.from {
			return rperr.Invalidf("%s, %s: %q and %q; give one (%s is PyRPL's name)", a.alias, a.name, *a.from, *a.to, a.alias)
		}
		*a.to, *a.from = *a.from, ""
	}
	if s.Baseband != nil && !*s.Baseband {
		return rperr.Invalidf("baseband: false asks for an IQ-demodulated spectrum around a center frequency, which this spectrum analyzer does not make; only true (the default) is allowed")
	}
	s.Baseband = nil
	return nil
}

// RBWDecimation is the decimation PyRPL's spectrum analyzer picks for a
// resolution bandwidth rbw (Hz) with a window whose equivalent noise
// bandwidth is enbw (a fraction of the sample rate): the one whose rbw,
// enbw x 125 MHz / decimation, is nearest to it.
func RBWDecimation(rbw, enbw float64) (int, error) {
	if !(rbw > 0) || math.IsInf(rbw, 0) {
		return 0, rperr.Invalidf("rbw: %v Hz; allowed: > 0 (it picks the decimation whose rbw, ENBW x 125 MHz / decimation, is nearest, as PyRPL's rbw)", rbw)
	}
	best := 1
	for _, d := range regmap.Decimations {
		if math.Abs(enbw*regmap.Clock/float64(d)-rbw) < math.Abs(enbw*regmap.Clock/float64(best)-rbw) {
			best = int(d)
		}
	}
	return best, nil
}
