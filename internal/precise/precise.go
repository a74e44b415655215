package precise

import (
	"context"
	"time"
)

// Coarse is the longest stretch left to the nanosleep: what the runtime's
// timer may wake late by on an idle machine, and a little more.
const Coarse = 2 * time.Millisecond

// Sleep pauses for d, or until ctx ends first, which it then returns
// (ctx is noticed within Coarse). d <= 0 returns at once.
func Sleep(ctx context.Context, d time.Duration) error {
	return Until(ctx, time.Now().Add(d))
}

// Until pauses until t, or until ctx ends first (see Sleep).
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
	if d := time.Until(t); d > 0 {
		nanosleep(d)
	}
	return ctx.Err()
}
