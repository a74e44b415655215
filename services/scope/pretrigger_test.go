package scope_test

import (
	"testing"

	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/client"
	"github.com/rpbus/rpbus/regmap"
)

// TestFirstEdgeTraceAfterAGeneratorSetup is the dashboard's report: the
// first edge-triggered trace of a generator just set up held zeros and a
// jump before the trigger (the simulated board's first noisy sample built
// its noise tapes, 20 ms during which the trigger search fell behind and
// skipped writing the pre-trigger samples). Every sample of every trace,
// before the trigger too, is the generator's output at its cycle, as the
// FPGA writes it from the arm on.
func TestFirstEdgeTraceAfterAGeneratorSetup(t *testing.T) {
	e := newEnv(t, 1)
	e.sine(t, "asg0", 1e5, 0.5, "out1")
	for i := range 3 {
		tr := e.single(t, api.ScopeSettings{Input1: "asg0", TriggerSource: "ch1_positive_edge",
			Duration: 1e-4, Average: client.Ptr(false)})
		// matchTruth counts cycles from the trace's first sample
		at := tr
		at.TriggerTime += tr.T0
		if worst, lag := e.matchTruth(at, tr.Ch1, regmap.SlotASG0); worst > 0 {
			t.Errorf("trace %d: worst error %g V against the generator (best lag %d cycles), want exact", i+1, worst, lag)
		}
	}
}
