package client_test

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/board/sim"
	"github.com/rpbus/rpbus/client"
	"github.com/rpbus/rpbus/internal/testrig"
	"github.com/rpbus/rpbus/regmap"
	"github.com/rpbus/rpbus/rperr"
	"github.com/rpbus/rpbus/services/na"
)

// naBoard serves a simulated board and the NA over an embedded server and
// returns a client's handle on it.
func naBoard(t *testing.T) *client.Board {
	t.Helper()
	cfg := sim.DefaultConfig()
	cfg.Seed = 3
	return testrig.Start(t, &cfg, func(nc *nats.Conn) (testrig.Service, error) { return na.Start(nc, na.Config{}) }).Board
}

func TestNASingleCancelsWhenItsContextEnds(t *testing.T) {
	board := naBoard(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	prog, err := board.NA().Progress(ctx)
	if err != nil {
		t.Fatal(err)
	}
	done, err := board.NA().Done(ctx)
	if err != nil {
		t.Fatal(err)
	}
	long := api.NASettings{ID: "long", StartFreq: 1e5, StopFreq: 1e6, Points: 5000, RBW: 1e3} // 7.5 s
	sctx, scancel := context.WithCancel(ctx)
	res := make(chan error, 1)
	go func() {
		_, err := board.NA().Single(sctx, long)
		res <- err
	}()
	// cancel once the sweep runs
	for p := range prog {
		if p.ID == "long" {
			break
		}
	}
	scancel()
	if err := <-res; rperr.ErrorCode(err) != rperr.ECancelled {
		t.Fatalf("Single after its context was cancelled: %v", err)
	}
	if d := <-done; d.Value.ID != "long" || rperr.ErrorCode(d.Err) != rperr.ECancelled {
		t.Fatalf("done event: %q %v", d.Value.ID, d.Err)
	}
	// The service released the module: every IQ module is free at once.
	for k := 0; k < na.NumIQ; k++ {
		w, err := board.HW.Read(ctx, regmap.Slot(regmap.SlotIQ0+k)+na.MarkerAddrOffset, 1)
		if err != nil || w[0]&na.MarkerHeld != 0 {
			t.Fatalf("iq%d marker %v %v", k, w, err)
		}
	}
	if _, err := board.NA().Cancel(ctx, "long"); rperr.ErrorCode(err) != rperr.ENotFound {
		t.Fatalf("cancel of a finished sweep: %v", err)
	}
	r, err := board.NA().Stop(ctx)
	if err != nil || r.Cancelled != 0 {
		t.Fatalf("stop with nothing running: %+v %v", r, err)
	}
	tr, err := board.NA().Single(ctx, api.NASettings{StartFreq: 1e6, StopFreq: 1e6, Points: 3, RBW: 1e4, NoWait: true})
	if err != nil || len(tr.Re) != 3 || math.IsNaN(tr.Re[0]) {
		t.Fatalf("next sweep: %v", err)
	}
}

// TestBadSettingsReachTheService: a setting the deadline rule cannot use
// (rbw -5) still goes to the service, which answers its 400.
func TestBadSettingsReachTheService(t *testing.T) {
	board := naBoard(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := board.NA().Single(ctx, api.NASettings{RBW: -5}); rperr.ErrorCode(err) != rperr.EInvalid || !strings.Contains(err.Error(), "rbw") {
		t.Fatalf("rbw -5: %v, want the service's 400 naming rbw", err)
	}
}
