package precise

import (
	"context"
	"sync/atomic"
	"time"
)

// Coarse is the longest stretch left to the kernel timer: what the
// runtime's timer may wake late by on an idle machine, and a little more.
const Coarse = 2 * time.Millisecond

// maxLate caps the learned lateness of a sleep. Wakes later than this
// come from busy CPUs and say nothing about the next one.
const maxLate = 200 * time.Microsecond

// late is how late a kernel timer wakes a goroutine (timer and scheduling
// latency, 20 to 30 us on this project's VMs), learned from every sleep.
var late atomic.Int64

// Sleep pauses for d, or until ctx ends first, which it then returns
// (ctx is noticed within Coarse). d <= 0 returns at once.
func Sleep(ctx context.Context, d time.Duration) error {
	return Until(ctx, time.Now().Add(d))
}

// Until pauses until t, or until ctx ends first (see Sleep). It never
// returns before t; it returns late by the kernel's wake-up latency, tens
// of microseconds, rather than by the runtime's millisecond. It does not
// spin: on a busy machine a spinning thread takes the CPU from the work
// it waits for.
func Until(ctx context.Context, t time.Time) error {
	if err := coarse(ctx, t); err != nil {
		return err
	}
	if d := time.Until(t); d > 0 {
		sleep(d)
		learn(-time.Until(t))
	}
	return ctx.Err()
}

// Near pauses until about t: it aims a learned wake-up latency early, so
// it returns within a few microseconds of t on either side. For paces
// and delays that must be right on average (a LAN's delay, a poll's
// rhythm), not never early.
func Near(t time.Time) {
	_ = coarse(context.Background(), t)
	lat := time.Duration(late.Load())
	if d := time.Until(t) - lat; d > 0 {
		sleep(d)
		learn(lat - time.Until(t))
	}
}

// coarse sleeps on a runtime timer until Coarse before t.
func coarse(ctx context.Context, t time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d := time.Until(t) - Coarse; d > 0 {
		timer := time.NewTimer(d)
		defer timer.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
		}
	}
	return nil
}

// learn notes how late a sleep woke: the estimate moves an eighth of
// the way towards each observation.
func learn(over time.Duration) {
	over = min(max(over, 0), maxLate)
	old := time.Duration(late.Load())
	late.Store(int64(old + (over-old)/8))
}
