package deploy_test

import (
	"context"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/client"
	"github.com/rpbus/rpbus/services/scope"
)

func startScope(t *testing.T, c *conn) {
	t.Helper()
	s, err := scope.Start(c.Conn, scope.Config{})
	must(t, err, "scope.Start")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Stop(ctx)
	})
}

// TestScopePermissions: the operator may ask the scope for a trace, the
// observer may not, but sees the done event.
func TestScopePermissions(t *testing.T) {
	t.Parallel()
	ns, f := composeServer(t)
	url := ns.url
	startBridge(t, connectAs(t, url, "hwbridge").Conn, "sim", 1)
	inst := connectAs(t, url, "instruments")
	startScope(t, inst)

	obs := connectAs(t, url, "observer")
	done, err := obs.SubscribeSync("rp.sim.scope.done")
	must(t, err, "observer: subscribe done")
	must(t, obs.Flush(), "flush")

	op := connectAs(t, url, "operator")
	oc, _ := client.New(op.Conn)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var tr api.ScopeTrace
	must(t, oc.Request(ctx, "rp.sim.scope.single", api.ScopeSettings{}, &tr), "operator: scope.single")
	if tr.Board != "sim" || len(tr.Ch1) == 0 {
		t.Errorf("operator: trace of board %q with %d samples", tr.Board, len(tr.Ch1))
	}
	if _, err := done.NextMsg(5 * time.Second); err != nil {
		t.Errorf("observer: scope.done: %v", err)
	}
	expectPublishRefused(t, obs, "rp.sim.scope.single")

	// The scope container's healthcheck passes against this service.
	if out, err := runHealth(t, f.Services["scope"], url); err != nil {
		t.Errorf("scope healthcheck: %v\n%s", err, out)
	}
}

// TestTwoBoards: one scope service serves two simulated boards at once;
// each trace comes from the board it was asked of. The boards' generators
// output different DC levels, which the scope reads back (input asg0).
func TestTwoBoards(t *testing.T) {
	t.Parallel()
	ns, _ := composeServer(t)
	url := ns.url
	startBridge(t, connectAs(t, url, "hwbridge").Conn, "a", 1)
	startBridge(t, connectAs(t, url, "hwbridge").Conn, "b", 2)
	startScope(t, connectAs(t, url, "instruments"))
	oc, _ := client.New(connectAs(t, url, "operator").Conn)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	level := map[string]float64{"a": 0.5, "b": -0.25}
	for b, v := range level {
		_, err := oc.Board(b).ASG0.Setup(ctx, api.ASGSetup{Waveform: ptr("dc"), Offset: ptr(v), Amplitude: ptr(0.0)})
		must(t, err, "board %s: asg0.setup", b)
	}
	const perBoard = 5
	const tol = 0.02 // V: far below the 0.75 V between the boards
	var wg sync.WaitGroup
	for b := range level {
		for range perBoard {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var tr api.ScopeTrace
				if err := oc.Request(ctx, "rp."+b+".scope.single", api.ScopeSettings{Input1: "asg0"}, &tr); err != nil {
					t.Errorf("board %s: %v", b, err)
					return
				}
				var sum float64
				for _, x := range tr.Ch1 {
					sum += float64(x)
				}
				mean := sum / float64(len(tr.Ch1))
				if tr.Board != b || math.Abs(mean-level[b]) > tol {
					t.Errorf("asked board %s: got board %q, mean %.4f V, want %.4f V", b, tr.Board, mean, level[b])
				}
			}()
		}
	}
	wg.Wait()
}
