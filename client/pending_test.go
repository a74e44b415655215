package client_test

import (
	"context"
	"testing"
	"time"

	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/regmap"
)

// A reply decoded into one that held a larger one reuses its buffers and
// keeps nothing of it.
func TestPendingWaitIntoReuses(t *testing.T) {
	b, _ := scopeBoard(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	buf := regmap.ScopeBase + regmap.ScopeCh1Data
	ctrl := regmap.ScopeBase + regmap.ScopeControl
	var r api.TxnReply
	p, err := b.HW.Start(ctx, api.Txn{Ops: []api.Op{api.Read16(buf, regmap.ScopeBufferLen), api.Wait(ctrl, 1, 0, 1)}})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.WaitInto(&r); err != nil || len(r.Results) != 2 || len(r.Results[0].Halves) != regmap.ScopeBufferLen {
		t.Fatalf("first reply %v: %d results", err, len(r.Results))
	}
	mem := &r.Results[0].Halves[0]
	p, err = b.HW.Start(ctx, api.Txn{Ops: []api.Op{api.Read16(buf, 8), api.Read(ctrl, 1)}})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.WaitInto(&r); err != nil {
		t.Fatal(err)
	}
	res := r.Results
	if len(res) != 2 || len(res[0].Halves) != 8 || &res[0].Halves[0] != mem || len(res[1].Words) != 1 || res[1].Waited != 0 || len(res[1].Halves) != 0 {
		t.Fatalf("second reply: %+v", res)
	}
}
