package api

import "github.com/rpbus/rpbus/wire"

// NASettings is the body of rp.<board>.na.single, with PyRPL's names and
// units. Zero values take the defaults given.
type NASettings struct {
	// ID optionally names the acquisition (unique while it runs), so the
	// requester can cancel it before the reply arrives; empty: the
	// service picks one.
	ID              string  `json:"id,omitempty"`
	StartFreq       float64 `json:"start_freq,omitempty"`        // Hz (default 1 kHz)
	StopFreq        float64 `json:"stop_freq,omitempty"`         // Hz (default 10 MHz); equal to start_freq: zero span, x axis is time
	Points          int     `json:"points,omitempty"`            // 1..100000 (default 1001)
	RBW             float64 `json:"rbw,omitempty"`               // Hz, resolution bandwidth (default 1 kHz)
	AveragePerPoint int     `json:"average_per_point,omitempty"` // default 1
	AvgPerPoint     int     `json:"avg_per_point,omitempty"`     // PyRPL's older name of average_per_point (give one)
	Amplitude       float64 `json:"amplitude,omitempty"`         // V, 0..1 (default 0.1)
	Input           string  `json:"input,omitempty"`             // in1 (default), in2, out1, ... as for the scope
	OutputDirect    string  `json:"output_direct,omitempty"`     // off, out1 (default), out2, both
	ACBandwidth     float64 `json:"acbandwidth,omitempty"`       // Hz, input high-pass (default 0: off)
	Logscale        *bool   `json:"logscale,omitempty"`          // default true
	AutoBandwidth   bool    `json:"auto_bandwidth,omitempty"`    // narrow rbw near resonances
	QFactorMin      float64 `json:"q_factor_min,omitempty"`      // with auto_bandwidth
	TraceAverage    int     `json:"trace_average,omitempty"`     // sweeps averaged (default 1)
	Timeout         float64 `json:"timeout,omitempty"`           // s; default: the sweep's hardware time x 2 + 5 s
	NoWait          bool    `json:"no_wait,omitempty"`           // answer 409 instead of waiting for a free IQ module
	// Save stores the sweep in the curve store before the reply, which
	// then carries its curve id; Name and Tags label it there.
	Save bool     `json:"save,omitempty"`
	Name string   `json:"name,omitempty"`
	Tags []string `json:"tags,omitempty"`
}

// NATrace answers na.single and is published on na.done.
type NATrace struct {
	ID          string     `json:"id"`
	Board       string     `json:"board"`
	IQ          string     `json:"iq"` // the IQ module the sweep borrowed
	Settings    NASettings `json:"settings"`
	Frequencies wire.F64   `json:"frequencies"`    // Hz
	Time        wire.F64   `json:"time,omitempty"` // zero span: s since the first point
	Re          wire.F64   `json:"re"`             // transfer function, V/V
	Im          wire.F64   `json:"im"`
	// HardwareTime is the sweep's time on the FPGA alone:
	// sum over points of (sleep + averages) / 125 MHz.
	HardwareTime float64 `json:"hardware_time"`
	Curve        string  `json:"curve,omitempty"` // the stored curve's id, when saved
	Timing
}
