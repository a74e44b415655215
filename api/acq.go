package api

// Cancel is the body of rp.<board>.<module>.cancel: the acquisition to
// cancel, by the id its reply or its done event carries.
type Cancel struct {
	ID string `json:"id"`
}

// CancelReply answers cancel.
type CancelReply struct {
	ID        string `json:"id"`
	Cancelled bool   `json:"cancelled"`
}

// StopReply answers rp.<board>.<module>.stop: continuous mode ended and
// the queued or running acquisitions of that board cancelled (each
// answered 499).
type StopReply struct {
	Cancelled  int  `json:"cancelled"`  // acquisitions cancelled
	Continuous bool `json:"continuous"` // whether continuous mode was running
}

// Progress is published on rp.<board>.<module>.progress while an
// acquisition runs.
type Progress struct {
	ID    string `json:"id"`
	Done  int    `json:"done"`  // points or traces done
	Total int    `json:"total"` // points or traces in all
	// NA only: the latest point.
	Frequency float64 `json:"frequency,omitempty"`
	Re        float64 `json:"re,omitempty"`
	Im        float64 `json:"im,omitempty"`
}

// Timing says when an acquisition ran, in Unix seconds (host clock).
type Timing struct {
	Requested float64 `json:"requested"` // request received
	Started   float64 `json:"started"`   // hardware work began
	Ended     float64 `json:"ended"`     // hardware work ended
}
