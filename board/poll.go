package board

import (
	"context"
	"time"

	"github.com/rpbus/rpbus/internal/precise"
)

// Polling steps of Poll.
const (
	// MinPollStep is the shortest time from one read to the next.
	MinPollStep = 20 * time.Microsecond
	// maxPollStep bounds the back-off of a wait whose end nobody predicted.
	maxPollStep = time.Millisecond
	// backoffShare: an unpredicted wait backs off to at most this share of
	// the time it has waited so far, so it ends at most that much late.
	backoffShare = 8
)

// Poll waits for c on any backend by reading the word. It sleeps through
// c.Earliest first, then starts a read every step, where a step is
// MinPollStep or the time one read takes (a round trip on a remote
// backend), whichever is longer: reads follow each other without a pause
// once a read takes longer than MinPollStep, and a condition that holds
// is seen at most one step late. When nobody predicted the end (Earliest
// 0) the step grows from there towards 1 ms, but never beyond an eighth
// of the time already waited. Its sleeps are precise to microseconds
// (package precise), not to the runtime timers' millisecond. It returns as
// WaitFor does.
func Poll(ctx context.Context, f FPGA, c Cond) (bool, error) {
	start := time.Now()
	deadline := start.Add(c.Timeout)
	if c.Earliest > 0 {
		if err := precise.Until(ctx, start.Add(min(c.Earliest, c.Timeout))); err != nil {
			return false, err
		}
	}
	backoff := MinPollStep
	var word [1]uint32
	for {
		t0 := time.Now()
		if err := f.Read(c.Addr, word[:]); err != nil {
			return false, err
		}
		now := time.Now()
		if word[0]&c.Mask == c.Value {
			return true, nil
		}
		if !now.Before(deadline) {
			return false, nil
		}
		step := max(MinPollStep, now.Sub(t0))
		if c.Earliest == 0 {
			step = max(step, backoff)
			backoff = min(2*backoff, maxPollStep, max(MinPollStep, now.Sub(start)/backoffShare))
		}
		next := t0.Add(step)
		if deadline.Before(next) {
			next = deadline
		}
		if err := precise.Until(ctx, next); err != nil {
			return false, err
		}
	}
}
