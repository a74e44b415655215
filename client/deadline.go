package client

import (
	"math"
	"time"

	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/internal/num"
	"github.com/rpbus/rpbus/regmap"
)

// How long a client waits for each call's reply, derived from its
// settings: the hardware time, plus the service's own timeout (so its 408,
// which says what did not come, arrives first), plus Margin. The rule is
// in docs/protocol.md (Client deadlines); client/testdata/deadlines.json
// holds its values for a table of settings, checked by the Go, Python
// and JavaScript clients' tests alike. A setting that is absent, 0,
// negative or not finite counts as absent here, so the request still
// reaches the service, which answers 400 at once.

// Margin is what a call waits beyond the service's own timeout: round
// trips, and a while in line behind another acquisition of the board.
const Margin = 4 * time.Second

// ReadoutTime is the board's bus time to read one trace's two buffers,
// 2 x 16384 words at the Zynq's 200 ns a read (docs/simulator.md; the
// simulated board's default), in seconds. Every trace the scope or the
// spectrum analyzer takes is read out before the next can start, so
// their hardware time counts it beside the acquisition.
const ReadoutTime = 2 * regmap.ScopeBufferLen * 200e-9

// maxDecimation and maxPoints bound what the rule uses (more is a 400).
const (
	maxDecimation = 1 << 16
	maxPoints     = 100000
)

func positive(v, def float64) float64 {
	if v > 0 && !math.IsInf(v, 0) {
		return v
	}
	return def
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// pow2AtLeast is the smallest power of two >= x, within 1..65536.
func pow2AtLeast(x float64) int {
	d := 1
	for float64(d) < x && d < maxDecimation {
		d *= 2
	}
	return d
}

// ScopeWait is how long Single waits for s: with dt = 8 ns x decimation
// (decimation, else duration rounded up to 16384 x dt, else 1), one trace
// per = 16384 x dt + R (with a trigger, max(16384, 8192 +
// trigger_delay/dt) x dt + R), R = ReadoutTime, n = trace_average, the
// service's timeout service = timeout or min(1 s + 2 x per x n, 3600 s):
// per x n + service (x n with a trigger: it bounds each trace's wait) +
// Margin.
func ScopeWait(s api.ScopeSettings) time.Duration {
	dec := 1
	switch {
	case s.Decimation >= 1 && s.Decimation <= maxDecimation:
		dec = s.Decimation
	case positive(s.Duration, 0) > 0:
		dec = pow2AtLeast(s.Duration / (regmap.ScopeBufferLen / regmap.Clock) * (1 - 1e-12))
	}
	dt := float64(dec) / regmap.Clock
	samples := float64(regmap.ScopeBufferLen)
	immediate := s.TriggerSource == "" || s.TriggerSource == "immediately"
	if !immediate && num.Finite(s.TriggerDelay) {
		samples = max(samples, regmap.ScopeBufferLen/2+s.TriggerDelay/dt)
	}
	per := samples*dt + ReadoutTime
	n := positive(float64(s.TraceAverage), 1)
	service := positive(s.Timeout, 0)
	if service == 0 {
		service = min(1+2*per*n, 3600)
	}
	waits := n
	if immediate {
		waits = 1
	}
	return seconds(per*n+waits*service) + Margin
}

// minAutoRBW is PyRPL's floor of the automatic rbw [Hz].
const minAutoRBW = 1.186

// NAWait is how long Single waits for s: with the sweep's hardware time H
// = trace_average x the sum over points of (0.5 + average_per_point) /
// rbw_i, the first point three times (rbw_i = rbw, or with auto_bandwidth
// max(min(f_i / q_factor_min, rbw), 1.186 Hz) / 2, as the service may
// lag a factor 2 behind), and the service's timeout service = timeout or
// 2 H + 5 s: H + service + Margin.
func NAWait(s api.NASettings) time.Duration {
	start, stop := positive(s.StartFreq, 1e3), positive(s.StopFreq, 10e6)
	points := min(int(positive(float64(s.Points), 1001)), maxPoints)
	rbw := positive(s.RBW, 1e3)
	avgPer := s.AveragePerPoint
	if avgPer == 0 {
		avgPer = s.AvgPerPoint
	}
	avg := positive(float64(avgPer), 1)
	q := positive(s.QFactorMin, 10)
	logscale := s.Logscale == nil || *s.Logscale
	h := 0.0
	for i := 0; i < points; i++ {
		x := 0.0
		if points > 1 {
			x = float64(i) / float64(points-1)
		}
		f := start + (stop-start)*x
		if logscale {
			f = start * math.Pow(stop/start, x)
		}
		bw := rbw
		if s.AutoBandwidth {
			bw = max(min(f/q, rbw), minAutoRBW) / 2
		}
		t := (0.5 + avg) / bw
		if i == 0 {
			t *= 3
		}
		h += t
	}
	h *= positive(float64(s.TraceAverage), 1)
	service := positive(s.Timeout, 0)
	if service == 0 {
		service = 2*h + 5
	}
	return seconds(h+service) + Margin
}

// SpecanWait is how long Single waits for s: with the hardware time A =
// (16384 x 8 ns x decimation + ReadoutTime) x trace_average (decimation; else from span,
// as the service: the largest with 125 MHz / decimation >= span; else
// from rbw, the smallest power of two >= 8 x 125 MHz / (16384 x rbw), at
// least the one the service picks; else 8) and the service's timeout
// service = timeout or 5 s + 2 A: A + service + Margin.
func SpecanWait(s api.SpecanSettings) time.Duration {
	dec := 8
	switch {
	case s.Decimation >= 1 && s.Decimation <= maxDecimation:
		dec = s.Decimation
	case positive(s.Span, 0) > 0:
		dec = 1
		for dec < maxDecimation && regmap.Clock/float64(2*dec) >= s.Span*(1-1e-12) {
			dec *= 2
		}
	case positive(s.RBW, 0) > 0:
		dec = pow2AtLeast(8 * regmap.Clock / (regmap.ScopeBufferLen * s.RBW))
	}
	a := (regmap.ScopeBufferLen*float64(dec)/regmap.Clock + ReadoutTime) * positive(float64(s.TraceAverage), 1)
	service := positive(s.Timeout, 0)
	if service == 0 {
		service = 5 + 2*a
	}
	return seconds(a+service) + Margin
}

// TxnWait is how long a transaction may take: DefaultTimeout plus each
// wait op's timeout (1 s when it gives none) and each op's after (the
// bridge holds a timed op back that long).
func TxnWait(ops []api.Op) time.Duration {
	t := DefaultTimeout
	for _, op := range ops {
		if op.Op == "wait" {
			t += seconds(positive(op.Timeout, 1))
		}
		t += seconds(positive(op.After, 0))
	}
	return t
}
