package main

import (
	"encoding/json"
	"math"
	"testing"
)

// TestBenchScope: bench scope measures against its own simulated board,
// whose bus tells the words a trace reads: the limit is 1/(acquisition +
// their bus time), and with the bus time off the figures say they are the
// simulator's only.
func TestBenchScope(t *testing.T) {
	for _, c := range []struct {
		args    []string
		simOnly bool
		limit   float64 // traces/s
	}{
		// 32772 reads of 200 ns and 10 writes of 250 ns after 131.072 us
		{nil, false, 1 / (131.072e-6 + 32772*200e-9 + 10*250e-9)},
		{[]string{"--bus-read", "0", "--bus-write", "0"}, true, 1 / 131.072e-6},
	} {
		out, err := rpbus(t, append([]string{"bench", "scope", "--count", "10", "--rates=false", "--json"}, c.args...)...)
		if err != nil {
			t.Fatalf("bench scope %v: %v", c.args, err)
		}
		var r struct {
			SimulatorOnly bool `json:"simulator_only"`
			Limit         struct {
				Reads  float64 `json:"reads_per_trace"`
				Writes float64 `json:"writes_per_trace"`
				PerS   float64 `json:"limit_per_s"`
			} `json:"limit"`
			OfLimit float64 `json:"one_requester_of_limit"`
		}
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("%v: %v in %q", c.args, err, out)
		}
		if r.SimulatorOnly != c.simOnly || r.Limit.Reads != 32772 || r.Limit.Writes != 10 || math.Abs(r.Limit.PerS/c.limit-1) > 1e-9 {
			t.Errorf("bench scope %v: %+v, want simulator only %v and a limit of %.2f traces/s", c.args, r, c.simOnly, c.limit)
		}
		if !c.simOnly && (r.OfLimit <= 0 || r.OfLimit > 1) {
			t.Errorf("one requester at %.3f of the limit: a board cannot pass it", r.OfLimit)
		}
	}
}
