package precise

import (
	"context"
	"sync/atomic"
	"time"
)

// Coarse is the longest stretch left to the nanosleep: what the runtime's
// timer may wake late by on an idle machine, and a little more.
const Coarse = 2 * time.Millisecond

// maxSlack caps the learned lateness of a nanosleep. Wakes later than this
// come from busy CPUs, where spinning longer would only take CPU time from
// the work that keeps them busy.
const maxSlack = 200 * time.Microsecond

// slack is how late a nanosleep wakes (the kernel's timer and scheduling
// latency, 20 to 30 us on this project's VMs), learned from every sleep.
var slack atomic.Int64

// Sleep pauses for d, or until ctx ends first, which it then returns
// (ctx is noticed within Coarse). d <= 0 returns at once.
func Sleep(ctx context.Context, d time.Duration) error {
	return Until(ctx, time.Now().Add(d))
}

// Until pauses until t, or until ctx ends first (see Sleep). It never
// returns before t: the nanosleep ends a learned slack early and the rest
// is spun, so it is late by a few microseconds rather than by the
// kernel's wake-up latency.
func Until(ctx context.Context, t time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d := time.Until(t) - Coarse; d > 0 {
		timer := time.NewTimer(d)
		select {
		case <-ctx.Done():
			timer.Stop()
			return ctx.Err()
		case <-timer.C:
		}
	}
	s := time.Duration(slack.Load())
	if d := time.Until(t) - s; d > 0 {
		nanosleep(d)
		noteOversleep(time.Until(t)-s, s)
	}
	for time.Now().Before(t) {
	}
	return ctx.Err()
}

// noteOversleep learns from a nanosleep that was meant to end early by
// old and ended early by early (negative: late): the slack grows to 5/4 of
// the latest lateness and decays by 1/16 per sleep.
func noteOversleep(early, old time.Duration) {
	over := old - early
	next := max(min(max(over, 0)*5/4, maxSlack), old*15/16)
	slack.Store(int64(next))
}
