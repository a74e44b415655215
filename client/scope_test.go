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
