package api

import "github.com/rpbus/rpbus/wire"

// ScopeSettings is the body of rp.<board>.scope.single and
// scope.continuous, with PyRPL's names and units. Zero values take the
// defaults given; the reply's Settings holds every value as applied.
type ScopeSettings struct {
	// ID optionally names the acquisition (unique while it runs), so the
	// requester can cancel it before the reply arrives; empty: the
	// service picks one.
	ID     string `json:"id,omitempty"`
	Input1 string `json:"input1,omitempty"` // in1 (default), in2, out1, out2, asg0, asg1, iq0, iq1, iq2, iq2_2, pid0, pid1, pid2
	Input2 string `json:"input2,omitempty"` // as input1, default in2
	// Duration (s) rounds up to the next allowed value 16384*8ns*2^k, as
	// PyRPL does; Decimation (1, 2, 4, ... 65536) sets it directly. Give
	// at most one; neither means decimation 1 (131.072 us).
	Duration      float64 `json:"duration,omitempty"`
	Decimation    int     `json:"decimation,omitempty"`
	TriggerSource string  `json:"trigger_source,omitempty"` // immediately (default), ch1_positive_edge, ch1_negative_edge, ch2_positive_edge, ch2_negative_edge, ext_positive_edge, ext_negative_edge, asg0, asg1, dsp
	Threshold     float64 `json:"threshold,omitempty"`      // V, -1..1
	Hysteresis    float64 `json:"hysteresis,omitempty"`     // V, 0..1 (0: the hardware default of 20 LSB, 2.4 mV)
	TriggerDelay  float64 `json:"trigger_delay,omitempty"`  // s: where the trigger sits relative to the trace centre
	Average       *bool   `json:"average,omitempty"`        // boxcar average while decimating (default true)
	TraceAverage  int     `json:"trace_average,omitempty"`  // traces averaged by the service (default 1)
	Timeout       float64 `json:"timeout,omitempty"`        // s until 408; default 1 s + 2 x the acquisition and readout time
	// Save stores the trace in the curve store before the reply, which
	// then carries its curve id; Name and Tags label it there.
	Save bool     `json:"save,omitempty"`
	Name string   `json:"name,omitempty"`
	Tags []string `json:"tags,omitempty"`
	// SaveEvery stores one continuous trace in N (the 1st, N+1th, ...);
	// continuous runs only.
	SaveEvery int `json:"save_every,omitempty"`
}

// ScopeTrace answers scope.single and is published on scope.trace
// (continuous) and scope.done. The time axis is t0 + i*dt, centred on the
// trigger as on the hardware (0 .. duration for "immediately").
type ScopeTrace struct {
	ID       string        `json:"id"`
	Board    string        `json:"board"`
	Seq      uint64        `json:"seq,omitempty"` // continuous: 1, 2, ... so gaps show
	Settings ScopeSettings `json:"settings"`
	T0       float64       `json:"t0"`            // s
	Dt       float64       `json:"dt"`            // s
	Ch1      wire.F32      `json:"ch1,omitempty"` // V, 16384 samples (NaN: not yet written, rolling mode)
	Ch2      wire.F32      `json:"ch2,omitempty"`
	// TriggerTime is the board's clock at the trigger, in seconds since
	// the board started (the 64-bit cycle counter / 125 MHz).
	TriggerTime float64 `json:"trigger_time"`
	Curve       string  `json:"curve,omitempty"` // the stored curve's id, when saved
	Timing
}

// ContinuousReply answers scope.continuous: traces follow on Subject.
type ContinuousReply struct {
	ID       string        `json:"id"`
	Subject  string        `json:"subject"` // rp.<board>.scope.trace
	Settings ScopeSettings `json:"settings"`
	// Interval (s) is the longest gap between traces the run keeps while
	// singles share the board: rolling mode reads every interval;
	// triggered traces come back to back when no single waits, and at
	// least one per interval (the rolling interval, or two traces' time
	// if longer) when singles do. A single longer than the interval
	// delays the run by its own length: the board has one buffer.
	Interval float64 `json:"interval"`
}
