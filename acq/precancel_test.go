package acq_test

import (
	"context"
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/rpbus/rpbus/acq"
	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/rperr"
)

func TestPrecancelsExpire(t *testing.T) {
	const ttl = 50 * time.Millisecond
	p := acq.NewPrecancels(ttl, 8)
	p.Add("a")
	p.Add("b")
	if !p.Take("a") {
		t.Fatal("a fresh pre-cancel was not taken")
	}
	if p.Take("a") {
		t.Fatal("a pre-cancel was taken twice")
	}
	time.Sleep(ttl + 20*time.Millisecond) // past the stated time
	if p.Take("b") {
		t.Fatalf("a pre-cancel older than %v still cancelled", ttl)
	}
}

func TestPrecancelsBounded(t *testing.T) {
	p := acq.NewPrecancels(time.Hour, 8)
	for i := range 100 {
		p.Add(fmt.Sprint(i))
	}
	kept := 0
	for i := range 100 {
		if p.Take(fmt.Sprint(i)) {
			kept++
			if i < 92 {
				t.Fatalf("pre-cancel %d kept; want only the newest 8", i)
			}
		}
	}
	if kept != 8 {
		t.Fatalf("%d pre-cancels kept, want 8", kept)
	}
}

// Ids the service makes cannot be guessed from the ones seen before; a
// pre-cancel is scoped to its board.
func TestIDsUnguessableAndScopedToBoard(t *testing.T) {
	ts, c := instances(t, 1)
	ids := map[string]bool{}
	shape := regexp.MustCompile(`^scope-[0-9a-f]{24}$`)
	for range 50 {
		a, err := ts[0].Start(context.Background(), "sim", "")
		if err != nil {
			t.Fatal(err)
		}
		if !shape.MatchString(a.ID) || ids[a.ID] {
			t.Fatalf("id %q: want scope- and 96 random bits, never repeated", a.ID)
		}
		ids[a.ID] = true
		a.End()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// A cancel sent on board other before the request: it does not reach
	// the same id on board sim, and does on other.
	if err := c.Request(ctx, "rp.other.scope.cancel", api.Cancel{ID: "mine"}, nil); rperr.ErrorCode(err) != rperr.ENotFound {
		t.Fatalf("pre-cancel: %v", err)
	}
	onSim, err := ts[0].Start(context.Background(), "sim", "mine")
	if err != nil {
		t.Fatal(err)
	}
	defer onSim.End()
	if onSim.Context().Err() != nil {
		t.Fatal("a pre-cancel on board other cancelled the same id on board sim")
	}
	onOther, err := ts[0].Start(context.Background(), "other", "mine")
	if err != nil {
		t.Fatalf("the same id on another board: %v", err)
	}
	defer onOther.End()
	if rperr.ErrorCode(onOther.Err()) != rperr.ECancelled {
		t.Fatalf("pre-cancelled id on its board: %v, want cancelled", onOther.Err())
	}
}
