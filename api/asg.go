package api

// ASGSetup is the body of rp.<board>.asg0.setup and asg1.setup, with
// PyRPL's names and units. Absent fields keep their current value.
type ASGSetup struct {
	Waveform           *string  `json:"waveform,omitempty"`             // sin, cos, ramp, halframp, square, dc, noise
	Frequency          *float64 `json:"frequency,omitempty"`            // Hz
	Amplitude          *float64 `json:"amplitude,omitempty"`            // V, 0..1
	Offset             *float64 `json:"offset,omitempty"`               // V, -1..1
	StartPhase         *float64 `json:"start_phase,omitempty"`          // degrees
	OutputDirect       *string  `json:"output_direct,omitempty"`        // off, out1, out2, both
	TriggerSource      *string  `json:"trigger_source,omitempty"`       // off, immediately, ext_positive_edge, ext_negative_edge, ext_raw, high
	CyclesPerBurst     *int64   `json:"cycles_per_burst,omitempty"`     // 0 means continuous; int64: the register is 32-bit unsigned
	Bursts             *int     `json:"bursts,omitempty"`               // number of bursts
	DelayBetweenBursts *float64 `json:"delay_between_bursts,omitempty"` // s
}

// ASGSettings is a generator's state as applied, after rounding to the
// hardware's steps.
type ASGSettings struct {
	Generator          string  `json:"generator"`
	Waveform           string  `json:"waveform"`
	Frequency          float64 `json:"frequency"`
	Amplitude          float64 `json:"amplitude"`
	Offset             float64 `json:"offset"`
	StartPhase         float64 `json:"start_phase"`
	OutputDirect       string  `json:"output_direct"`
	TriggerSource      string  `json:"trigger_source"`
	CyclesPerBurst     int64   `json:"cycles_per_burst"`
	Bursts             int     `json:"bursts"`
	DelayBetweenBursts float64 `json:"delay_between_bursts"`
}
