package scope_test

import (
	"context"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/internal/natstest"
	"github.com/rpbus/rpbus/rperr"
	"github.com/rpbus/rpbus/services/hwbridge"
	"github.com/rpbus/rpbus/services/scope"
	"github.com/rpbus/rpbus/wire"
)

// A continuous run keeps the rate its reply states, within 20%, while a
// client takes singles back to back on the same board, and the singles
// progress. Rolling mode (duration 0.5 s: a read every 50 ms) got no trace
// at all in 5 s while singles came; a triggered run keeps one trace per
// interval too.
func TestContinuousKeepsItsRateBesideSingles(t *testing.T) {
	for _, set := range []api.ScopeSettings{{Duration: 0.5}, {Decimation: 64}} {
		t.Run(map[bool]string{true: "rolling", false: "triggered"}[set.Duration > 0], func(t *testing.T) {
			// An interval of 200 ms: a single (131 us on the board) takes
			// tens of ms through the services under -race on a loaded
			// machine, and must fit between two traces.
			e := newEnv(t, 0)
			e.addScopeWith(t, scope.Config{RollingInterval: 200 * time.Millisecond})
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			sc := e.board.Scope()
			traces, err := sc.Traces(ctx)
			if err != nil {
				t.Fatal(err)
			}
			r, err := sc.Continuous(ctx, set)
			if err != nil {
				t.Fatal(err)
			}
			if r.Interval <= 0 {
				t.Fatalf("the reply states no interval: %+v", r)
			}
			// Singles back to back for 2 s from another goroutine.
			var singles atomic.Int64
			stop := make(chan struct{})
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					if _, err := sc.Single(ctx, api.ScopeSettings{}); err != nil {
						t.Errorf("single: %v", err)
						return
					}
					singles.Add(1)
				}
			}()
			const window = 3 * time.Second
			var got []api.ScopeTrace
			deadline := time.After(window + time.Duration(r.Interval*float64(time.Second)))
		collect:
			for {
				select {
				case tr := <-traces:
					got = append(got, tr)
				case <-deadline:
					break collect
				}
			}
			close(stop)
			wg.Wait()
			_, _ = sc.Stop(ctx)
			// The rate over the traces that came after the singles began.
			var span []api.ScopeTrace
			for _, tr := range got {
				if len(span) > 0 || tr.Seq > 1 {
					span = append(span, tr)
				}
			}
			if len(span) < 3 {
				t.Fatalf("%d traces in %v beside %d singles: the run starved", len(got), window, singles.Load())
			}
			first, last := span[0], span[len(span)-1]
			rate := float64(len(span)-1) / (last.Started - first.Started)
			// Singles go back to back, so a run that yielded to them would
			// get next to nothing; half its rate leaves a loaded machine's
			// per-trace overhead room without letting starvation pass.
			if want := 1 / r.Interval; rate < 0.5*want {
				t.Errorf("%.1f traces/s beside singles, want at least half of %.1f", rate, want)
			}
			if n := singles.Load(); n < 10 {
				t.Errorf("%d singles in %v: the singles starved", n, window)
			}
			if set.Duration > 0 {
				for _, tr := range span {
					if valid := countValid(tr.Ch1); valid == 0 {
						t.Errorf("trace %d holds no sample: re-armed too late", tr.Seq)
						break
					}
				}
			}
			t.Logf("%d traces at %.1f/s (interval %g s), %d singles", len(span), rate, r.Interval, singles.Load())
		})
	}
}

func countValid(ch []float32) int {
	n := 0
	for _, v := range ch {
		if !math.IsNaN(float64(v)) {
			n++
		}
	}
	return n
}

// A single whose requester is gone is dropped before it starts, and
// cancelled if it already runs: it does not hold the board for nobody
// (`nats req ... '{"decimation":65536}' --timeout 1s` must not keep the
// board 8.6 s and the next request waiting behind it).
func TestAbandonedSinglesFreeTheBoard(t *testing.T) {
	e := newEnv(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	sc := e.board.Scope()
	abandon := func(set api.ScopeSettings) {
		nc := natstest.Connect(t, e.ns)
		data, _ := wire.JSON.Marshal(set)
		rctx, rcancel := context.WithTimeout(ctx, 200*time.Millisecond)
		defer rcancel()
		if _, err := nc.RequestWithContext(rctx, "rp.sim.scope.single", data); err == nil {
			t.Fatal("the abandoned single answered at once")
		}
		nc.Close() // the requester goes away, as `nats req` exits
	}
	// Running: a 8.6 s acquisition abandoned at once; the next single
	// starts long before it would have ended.
	t0 := time.Now()
	abandon(api.ScopeSettings{Decimation: 65536})
	next, err := sc.Single(ctx, api.ScopeSettings{})
	if err != nil {
		t.Fatal(err)
	}
	// Noticing the requester gone takes three missed probes a second
	// apart (svc), one more when a probe is slow: well under 8.6 s.
	if started := next.Started - api.Unix(t0); started > 8 {
		t.Errorf("the next single started %.1f s after an abandoned 8.6 s one: it ran to its end", started)
	}
	// Queued: behind a 4.3 s single that someone waits for, an abandoned
	// 8.6 s one, then another single: the last starts when the first
	// ends, the abandoned one never runs.
	errc := make(chan error, 1)
	var first api.ScopeTrace
	go func() {
		var err error
		first, err = sc.Single(ctx, api.ScopeSettings{Decimation: 32768})
		errc <- err
	}()
	natstest.WaitFor(t, 5*time.Second, "the first single queued", func() bool { return e.scopes[0].Queued("sim") == 1 })
	abandon(api.ScopeSettings{Decimation: 65536})
	last, err := sc.Single(ctx, api.ScopeSettings{})
	if err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if gap := last.Started - first.Ended; gap > 5 {
		t.Errorf("the single after the abandoned one started %.1f s after the one before: the abandoned one ran", gap)
	}
}

// longSingleAtTheBridge starts a decimation-65536 single (8.6 s) and
// returns once it holds the board, with its result to come on the
// channel and the bridge's connection, which the caller closes to kill
// the bridge (the server drops its subscriptions, as at a kill -9).
func longSingleAtTheBridge(t *testing.T) (*env, *nats.Conn, <-chan error) {
	t.Helper()
	e := newEnv(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	errc := make(chan error, 1)
	go func() {
		_, err := e.board.Scope().Single(ctx, api.ScopeSettings{Decimation: 65536})
		errc <- err
	}()
	natstest.WaitFor(t, 5*time.Second, "the acquisition at the bridge", func() bool { return e.scopes[0].Queued("sim") == 1 })
	time.Sleep(300 * time.Millisecond)
	return e, e.rig.BridgeConn, errc
}

// wantNoticed wants a 503 saying want within about 2 s of since.
func wantNoticed(t *testing.T, errc <-chan error, since time.Time, want string) {
	t.Helper()
	err := <-errc
	if rperr.ErrorCode(err) != rperr.EUnavailable || !strings.Contains(err.Error(), want) {
		t.Fatalf("got %v, want a 503 saying %q", err, want)
	}
	if d := time.Since(since); d > 4*time.Second {
		t.Errorf("noticed after %v, want about 2 s", d)
	}
}

// A bridge that dies while an acquisition of any length waits on it is
// noticed within about 2 s: the requester gets a 503 that names the
// bridge, not a 408 at the timeout (22 s at decimation 65536).
func TestDeadBridgeIs503(t *testing.T) {
	_, bridge, errc := longSingleAtTheBridge(t)
	killed := time.Now()
	bridge.Close()
	wantNoticed(t, errc, killed, "hardware bridge of board sim")
}

// A client's acquisition id is the scope's: another instrument's
// transaction id, or a cancel at the bridge for the same text, does not
// reach it (the bridge's ids are shared by every instrument of a board).
func TestClientIDScopedToTheScope(t *testing.T) {
	e := newEnv(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// A cancel at the bridge for "mine" is remembered there for 10 s.
	var r api.TxnCancelReply
	if err := e.c.Request(ctx, "rp.sim.hw.cancel", api.TxnCancel{ID: "mine"}, &r); err != nil || r.Cancelled {
		t.Fatalf("hw.cancel: %+v %v", r, err)
	}
	if _, err := e.board.Scope().Single(ctx, api.ScopeSettings{ID: "mine"}); err != nil {
		t.Fatalf("a single with id mine after an hw.cancel of mine: %v", err)
	}
	// A raw transaction with the id "theirs" runs beside a scope single
	// with the same id (the bridge refuses an id already running).
	p, err := e.board.HW.Start(ctx, api.Txn{ID: "theirs", Ops: []api.Op{api.Wait(0x40100000, 1<<31, 1<<31, 0.3)}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.board.Scope().Single(ctx, api.ScopeSettings{ID: "theirs"}); err != nil {
		t.Errorf("a single with the id of a raw transaction: %v", err)
	}
	if _, err := p.Wait(); rperr.ErrorCode(err) != rperr.ETimeout {
		t.Errorf("the raw transaction: %v, want its own 408", err)
	}
}

// A bridge killed and restarted at once (a supervisor's restart) lost the
// acquisition it held; the scope learns it from hw.held within about 2 s
// and answers 503, instead of waiting out the acquisition's timeout.
func TestRestartedBridgeIs503(t *testing.T) {
	e, bridge, errc := longSingleAtTheBridge(t)
	killed := time.Now()
	bridge.Close()
	br, err := hwbridge.Start(natstest.Connect(t, e.ns), hwbridge.Config{Board: "sim", Backend: "sim", FPGA: e.sim})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { br.Stop(context.Background()) })
	wantNoticed(t, errc, killed, "no longer holds")
	// The new bridge serves the next single.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := e.board.Scope().Single(ctx, api.ScopeSettings{}); err != nil {
		t.Errorf("the next single: %v", err)
	}
}
