package monitor

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/rpbus/rpbus/board"
	"github.com/rpbus/rpbus/rperr"
)

// A predicted wait sees a condition another client makes true, and the
// reads of its burst still in flight are taken by the next exchange: the
// runs after it get their own answers.
func TestWaitForBurstThenRuns(t *testing.T) {
	mem := newMem()
	_, addr := startServer(t, mem)
	c := dial(t, addr)
	other := dial(t, addr)
	const flag = base + 0x800
	for round := range 20 {
		if err := c.Write(flag, []uint32{0}); err != nil {
			t.Fatal(err)
		}
		// The condition comes true a little after the prediction.
		t0 := time.Now()
		time.AfterFunc(2*time.Millisecond, func() { other.Write(flag, []uint32{uint32(round + 1)}) })
		ok, err := c.WaitFor(context.Background(), board.Cond{Addr: flag, Mask: 0xff, Value: uint32(round + 1),
			Earliest: time.Millisecond, Timeout: 5 * time.Second})
		if !ok || err != nil {
			t.Fatalf("round %d: WaitFor %v %v", round, ok, err)
		}
		// The polls' sleeps must not hold back the runtime's timers (the
		// AfterFunc above): they once did for seconds.
		if d := time.Since(t0); d > time.Second {
			t.Fatalf("round %d: a wait for a 2 ms AfterFunc took %v", round, d)
		}
		run := []board.Access{
			{Addr: base + 0x900, Write: true, Words: []uint32{uint32(round), 7}},
			{Addr: base + 0x900, Words: make([]uint32, 2)},
		}
		if k, err := c.Batch(run); err != nil {
			t.Fatalf("round %d: the run after the wait: access %d: %v", round, k, err)
		}
		if got := fmt.Sprint(run[1].Words); got != fmt.Sprint([]uint32{uint32(round), 7}) {
			t.Fatalf("round %d: the run after the wait read %s", round, got)
		}
		if c.slots[0].skip > burstPolls {
			t.Fatalf("%d answers to skip, more than a burst sends", c.slots[0].skip)
		}
	}
}

// A wait that outlasts its burst goes on polling and ends at its timeout;
// one that is cancelled ends with the context's error.
func TestWaitForTimeoutAndCancel(t *testing.T) {
	_, addr := startServer(t, newMem())
	c := dial(t, addr)
	ok, err := c.WaitFor(context.Background(), board.Cond{Addr: base, Mask: 1, Value: 1, Earliest: time.Millisecond, Timeout: 30 * time.Millisecond})
	if ok || err != nil {
		t.Fatalf("WaitFor past its timeout: %v %v, want false, nil", ok, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	ok, err = c.WaitFor(ctx, board.Cond{Addr: base, Mask: 1, Value: 1, Earliest: time.Millisecond, Timeout: time.Hour})
	if ok || err != context.Canceled {
		t.Fatalf("WaitFor cancelled: %v %v, want false, context.Canceled", ok, err)
	}
	// A cancel during the predicted sleep ends it too: a long trace's
	// wait is not sat out.
	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	t0 := time.Now()
	ok, err = c.WaitFor(ctx, board.Cond{Addr: base, Mask: 1, Value: 1, Earliest: time.Hour, Timeout: 2 * time.Hour})
	if ok || err != context.Canceled {
		t.Fatalf("WaitFor cancelled in its predicted sleep: %v %v, want false, context.Canceled", ok, err)
	}
	if waited := time.Since(t0); waited > 2*time.Second {
		t.Fatalf("WaitFor noticed its cancel after %v", waited)
	}
	// The connection is still in step.
	got := make([]uint32, 1)
	if err := c.Read(base, got); err != nil {
		t.Fatal(err)
	}
}

// A server that answers the burst's reads with a wrong echo fails the
// wait as unavailable and drops the connection.
func TestWaitForEchoMismatch(t *testing.T) {
	c := dial(t, fakeServer(t))
	ok, err := c.WaitFor(context.Background(), board.Cond{Addr: base, Mask: 1, Value: 0, Earliest: time.Microsecond, Timeout: time.Second})
	if ok || rperr.ErrorCode(err) != rperr.EUnavailable {
		t.Fatalf("WaitFor against a wrong echo: %v %v, want unavailable", ok, err)
	}
	if c.slots[0].c != nil || c.slots[0].skip != 0 {
		t.Fatalf("connection kept after an echo mismatch")
	}
}
