package client_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/board/sim"
	"github.com/rpbus/rpbus/client"
	"github.com/rpbus/rpbus/internal/natstest"
	"github.com/rpbus/rpbus/internal/testrig"
	"github.com/rpbus/rpbus/regmap"
	"github.com/rpbus/rpbus/rperr"
	"github.com/rpbus/rpbus/services/scope"
)

func TestScopeRequestTimeout(t *testing.T) {
	acq := regmap.Duration(1)
	for _, tt := range []struct {
		s    api.ScopeSettings
		want float64 // s
	}{
		// acquisition + (1 s + 2 x acquisition) + 2 s
		{api.ScopeSettings{}, acq + 1 + 2*acq + 2},
		{api.ScopeSettings{Duration: 1}, 1.073741824*3 + 3},
		// the service's timeout bounds each of the 4 traces
		{api.ScopeSettings{Decimation: 8192, TraceAverage: 4}, 4*(1.073741824+1+2*1.073741824*4) + 2},
		{api.ScopeSettings{Timeout: 0.5}, acq + 0.5 + 2},
		// a trigger delay of 1 s keeps writing 1 s after the trigger
		{api.ScopeSettings{TriggerSource: "ch1_positive_edge", TriggerDelay: 1, Timeout: 0.1}, 1 + acq/2 + 0.1 + 2},
	} {
		got := client.ScopeRequestTimeout(tt.s).Seconds()
		if d := got - tt.want; d > 1e-6 || d < -1e-6 {
			t.Errorf("%+v: %g s, want %g s", tt.s, got, tt.want)
		}
	}
}

// scopeBoard serves a simulated board and the scope service and returns
// the client's handle on the board.
func scopeBoard(t *testing.T) (*client.Board, *sim.Board) {
	r := testrig.Start(t, nil, func(nc *nats.Conn) (testrig.Service, error) { return scope.Start(nc, scope.Config{}) })
	return r.Board, r.Sim
}

func TestScopeSingleCancelsWhenItsContextEnds(t *testing.T) {
	b, sb := scopeBoard(t)
	sc := b.Scope()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		_, err := sc.Single(ctx, api.ScopeSettings{ID: "mine", TriggerSource: "ext_positive_edge", Timeout: 60})
		errc <- err
	}()
	// The transaction holds the scope at the bridge: look at the board.
	natstest.WaitFor(t, 5*time.Second, "the acquisition to run", func() bool {
		m := make([]uint32, 1)
		return sb.Read(regmap.ScopeBase+regmap.ScopeTriggerSource, m) == nil && m[0] == regmap.TrigExtPos
	})
	cancel()
	if err := <-errc; rperr.ErrorCode(err) != rperr.ECancelled {
		t.Fatalf("Single after cancel: %v", err)
	}
	// The client sent scope.cancel: the service gave the board up.
	natstest.WaitFor(t, 5*time.Second, "the scope to be disarmed", func() bool {
		m, err := b.HW.Read(context.Background(), regmap.ScopeBase+regmap.ScopeControl, 1)
		return err == nil && m[0]&regmap.ScopeArm == 0
	})
	if err := sc.Cancel(context.Background(), "mine"); rperr.ErrorCode(err) != rperr.ENotFound {
		t.Fatalf("cancel after the end: %v, want not found", err)
	}
	tctx, tcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer tcancel()
	if tr, err := sc.Single(tctx, api.ScopeSettings{}); err != nil || tr.ID == "" || len(tr.Ch2) != 16384 {
		t.Fatalf("next single: %v", err)
	}
}

func TestScopeSubscriptionsCloseWithTheirContext(t *testing.T) {
	b, _ := scopeBoard(t)
	sc := b.Scope()
	ctx, cancel := context.WithCancel(context.Background())
	traces, err := sc.Traces(ctx)
	if err != nil {
		t.Fatal(err)
	}
	done, err := sc.Done(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rctx, rcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer rcancel()
	if _, err := sc.Continuous(rctx, api.ScopeSettings{Decimation: 4}); err != nil {
		t.Fatal(err)
	}
	if tr := <-traces; tr.Seq != 1 || len(tr.Ch1) != 16384 {
		t.Fatalf("first continuous trace: seq %d, %d samples", tr.Seq, len(tr.Ch1))
	}
	if r, err := sc.Stop(rctx); err != nil || !r.Continuous {
		t.Fatalf("stop: %+v %v", r, err)
	}
	tr, err := sc.Single(rctx, api.ScopeSettings{ID: "watched"})
	if err != nil {
		t.Fatal(err)
	}
	if ev := (<-done).Value; ev.ID != "watched" || ev.Ended != tr.Ended {
		t.Fatalf("done event %s", ev.ID)
	}
	cancel()
	for range traces {
	}
	for range done {
	}
}
