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
	// maxPollStep bounds the step of a wait that runs long past its
	// predicted end, or whose end nobody predicted.
	maxPollStep = time.Millisecond
	// backoffShare: past the predicted end (or from the start, without a
	// prediction) the step grows to at most this share of the time waited
	// since, so the wait ends at most that much late.
	backoffShare = 8
)

// Poll waits for c on any backend by reading the word. It sleeps through
// c.Earliest first, then starts a read every step. A step is MinPollStep
// or the time one read takes (a round trip on a remote backend),
// whichever is longer, so reads follow each other without a pause once a
// read takes longer than MinPollStep; it grows only as the wait outlasts
// its prediction, to an eighth of the time waited since c.Earliest (since
// the start without one) and at most 1 ms. A condition that holds at the
// predicted time is thus seen within a step of it, and one that comes
// late (a trigger that waits for a signal) at most an eighth late. Its
// sleeps are precise to microseconds (package precise), not to the
// runtime timers' millisecond. It returns as WaitFor does.
func Poll(ctx context.Context, f FPGA, c Cond) (bool, error) {
	start := time.Now()
	deadline := start.Add(c.Timeout)
	predicted := start.Add(min(c.Earliest, c.Timeout))
	if err := precise.Until(ctx, predicted); err != nil {
		return false, err
	}
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
		step := max(MinPollStep, now.Sub(t0), min(maxPollStep, now.Sub(predicted)/backoffShare))
		next := t0.Add(step)
		if deadline.Before(next) {
			next = deadline
		}
		if err := precise.Until(ctx, next); err != nil {
			return false, err
		}
	}
}
