package acq_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rpbus/rpbus/acq"
	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/client"
	"github.com/rpbus/rpbus/internal/natstest"
	"github.com/rpbus/rpbus/rperr"
	"github.com/rpbus/rpbus/svc"
)

// instances starts n service instances of module "scope" in one queue
// group, each with its own connection and tracker.
func instances(t *testing.T, n int) ([]*acq.Tracker, *client.Client) {
	ns := natstest.Server(t)
	var ts []*acq.Tracker
	for i := 0; i < n; i++ {
		nc := natstest.Connect(t, ns)
		s, err := svc.New(nc, svc.Config{Name: "scope", Version: "0.1.0"})
		if err != nil {
			t.Fatal(err)
		}
		tr := acq.New(nc, "scope")
		if err := tr.AddEndpoints(s); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Stop(context.Background()); tr.Close() })
		ts = append(ts, tr)
	}
	c, _ := client.New(natstest.Connect(t, ns))
	return ts, c
}

func TestCancelReachesTheOwningInstance(t *testing.T) {
	ts, c := instances(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Enough rounds that the queue group delivers to both instances.
	for i := 0; i < 10; i++ {
		a, err := ts[i%2].Start(context.Background(), "sim", "")
		if err != nil {
			t.Fatal(err)
		}
		var r api.CancelReply
		if err := c.Request(ctx, "rp.sim.scope.cancel", api.Cancel{ID: a.ID}, &r); err != nil || !r.Cancelled {
			t.Fatalf("cancel %s: %+v %v", a.ID, r, err)
		}
		<-a.Context().Done()
		if rperr.ErrorCode(a.Err()) != rperr.ECancelled {
			t.Fatalf("Err = %v", a.Err())
		}
		a.End()
		err = c.Request(ctx, "rp.sim.scope.cancel", api.Cancel{ID: a.ID}, &r)
		if rperr.ErrorCode(err) != rperr.ENotFound {
			t.Fatalf("second cancel of %s: %v, want not found", a.ID, err)
		}
	}
	if err := c.Request(ctx, "rp.sim.scope.cancel", api.Cancel{}, nil); rperr.ErrorCode(err) != rperr.EInvalid {
		t.Fatalf("empty id: %v", err)
	}
	// A client-chosen id, cancelled before any reply could carry it.
	a, err := ts[1].Start(context.Background(), "sim", "my-own-id")
	if err != nil {
		t.Fatal(err)
	}
	defer a.End()
	if _, err := ts[1].Start(context.Background(), "sim", "my-own-id"); rperr.ErrorCode(err) != rperr.EInvalid {
		t.Fatalf("duplicate id: %v", err)
	}
	if err := c.Request(ctx, "rp.other.scope.cancel", api.Cancel{ID: "my-own-id"}, nil); rperr.ErrorCode(err) != rperr.ENotFound {
		t.Fatalf("cancel on the wrong board: %v", err)
	}
	if err := c.Request(ctx, "rp.sim.scope.cancel", api.Cancel{ID: "my-own-id"}, nil); err != nil || a.Context().Err() == nil {
		t.Fatalf("client-chosen id: %v", err)
	}
}

func TestStopCancelsTheBoardOnEveryInstance(t *testing.T) {
	ts, c := instances(t, 2)
	stopped := 0
	ts[1].OnStop(func(board string) bool { stopped++; return board == "x" })
	a, _ := ts[0].Start(context.Background(), "x", "")
	b, _ := ts[1].Start(context.Background(), "x", "")
	other, _ := ts[1].Start(context.Background(), "y", "")
	defer a.End()
	defer b.End()
	defer other.End()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var r api.StopReply
	if err := c.Request(ctx, "rp.x.scope.stop", nil, &r); err != nil {
		t.Fatal(err)
	}
	if r.Cancelled != 2 || !r.Continuous || stopped != 1 {
		t.Fatalf("stop: %+v, hooks run %d", r, stopped)
	}
	if a.Context().Err() == nil || b.Context().Err() == nil {
		t.Fatal("acquisitions on x still running")
	}
	if other.Context().Err() != nil {
		t.Fatal("stop of board x cancelled an acquisition on y")
	}
}

func TestCancelThatOvertakesItsRequest(t *testing.T) {
	ts, c := instances(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := c.Request(ctx, "rp.sim.scope.cancel", api.Cancel{ID: "late-request"}, nil)
	if rperr.ErrorCode(err) != rperr.ENotFound {
		t.Fatalf("cancel before the request: %v, want not found", err)
	}
	for _, tr := range ts {
		a, err := tr.Start(context.Background(), "sim", "late-request")
		if err != nil {
			t.Fatal(err)
		}
		if rperr.ErrorCode(a.Err()) != rperr.ECancelled {
			t.Errorf("request overtaken by its cancel still runs: %v", a.Err())
		}
		a.End()
	}
}

// stop takes no body and cancel bounds its id: anything else is a 400
// naming what was wrong, not silently ignored.
func TestStopAndCancelBodies(t *testing.T) {
	_, c := instances(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, tc := range []struct {
		subject string
		body    any
		want    string
	}{
		{"rp.sim.scope.stop", map[string]any{"board": "sim"}, `unknown field "board"`},
		{"rp.sim.scope.stop", "everything", "takes no body"},
		{"rp.sim.scope.cancel", api.Cancel{ID: strings.Repeat("x", 129)}, "id: 129 characters, at most 128"},
		{"rp.sim.scope.cancel", map[string]any{"Id": "x"}, `unknown field "Id"`},
	} {
		err := c.Request(ctx, tc.subject, tc.body, nil)
		if rperr.ErrorCode(err) != rperr.EInvalid || !strings.Contains(rperr.ErrorMessage(err), tc.want) {
			t.Errorf("%s %v: %v, want a 400 saying %q", tc.subject, tc.body, err, tc.want)
		}
	}
	var r api.StopReply
	if err := c.Request(ctx, "rp.sim.scope.stop", nil, &r); err != nil {
		t.Errorf("stop with no body: %v", err)
	}
}
