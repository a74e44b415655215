package hwbridge_test

import (
	"testing"
	"time"

	"github.com/rpbus/rpbus/acq"
	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/client"
	"github.com/rpbus/rpbus/regmap"
	"github.com/rpbus/rpbus/rperr"
)

// TestPrecancelExpiresInRealTime runs past the stated lifetime of a
// cancel that overtook its transaction (acq.PrecancelTTL, 10 s): a
// transaction that comes later than that runs, one within it does not.
func TestPrecancelExpiresInRealTime(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out the 10 s lifetime of a pre-cancel")
	}
	t.Parallel()
	e := startSim(t)
	ctx := ctxT(t)
	cl, _ := client.New(e.nc)
	read := api.Read(regmap.Slot(5)+regmap.IQNAISumLow, 1)
	var r api.TxnCancelReply
	for _, id := range []string{"stale", "fresh"} {
		if err := cl.Request(ctx, "rp.sim.hw.cancel", api.TxnCancel{ID: id}, &r); err != nil || r.Cancelled {
			t.Fatalf("pre-cancel of %s: %+v %v", id, r, err)
		}
		if id == "stale" {
			time.Sleep(acq.PrecancelTTL - 2*time.Second)
		}
	}
	time.Sleep(2*time.Second + 300*time.Millisecond) // stale: past its lifetime; fresh: 2.3 s old
	if _, err := e.bridge.Exec(ctx, api.Txn{ID: "stale", Ops: []api.Op{read}}); err != nil {
		t.Errorf("a transaction %v after its cancel answered %v, want it to run", acq.PrecancelTTL+300*time.Millisecond, err)
	}
	if _, err := e.bridge.Exec(ctx, api.Txn{ID: "fresh", Ops: []api.Op{read}}); rperr.ErrorCode(err) != rperr.ECancelled {
		t.Errorf("a transaction 2.3 s after its cancel answered %v, want cancelled", err)
	}
}
