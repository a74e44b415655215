package board

import (
	"context"
	"time"
)

// Polling steps of Poll.
const (
	// MinPollStep is the shortest pause between two reads.
	MinPollStep = 20 * time.Microsecond
	// maxPollStep bounds the back-off of a wait whose end nobody predicted.
	maxPollStep = time.Millisecond
	// backoffShare: an unpredicted wait backs off to at most this share of
	// the time it has waited so far, so it ends at most that much late.
	backoffShare = 8
)

// Poll waits for c on any backend by reading the word. It sleeps through
// c.Earliest first, then reads it every step, where a step is MinPollStep
// or the time one read takes (a round trip on a remote backend), whichever
// is longer: a condition that holds is seen at most one step late. When
// nobody predicted the end (Earliest 0) the step grows from there towards
// 1 ms, but never beyond an eighth of the time already waited. It returns
// as WaitFor does.
func Poll(ctx context.Context, f FPGA, c Cond) (bool, error) {
	start := time.Now()
	deadline := start.Add(c.Timeout)
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C
	sleep := func(d time.Duration) error {
		timer.Reset(d)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
			return nil
		}
	}
	if c.Earliest > 0 {
		if err := sleep(min(c.Earliest, c.Timeout)); err != nil {
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
		left := deadline.Sub(now)
		if left <= 0 {
			return false, nil
		}
		step := max(MinPollStep, now.Sub(t0))
		if c.Earliest == 0 {
			step = max(step, backoff)
			backoff = min(2*backoff, maxPollStep, max(MinPollStep, now.Sub(start)/backoffShare))
		}
		if err := sleep(min(step, left)); err != nil {
			return false, err
		}
	}
}
