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

// late is how late a kernel timer wakes a goroutine at the median (timer
// and scheduling latency, 20 to 30 us on this project's VMs), learned from
// every sleep.
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

// Near pauses until about t: it aims the learned median wake-up latency
// early (at most half the pause), so it returns within a few
// microseconds of t on either side at the median. For paces and delays
// that must be right on average (a LAN's delay, a poll's rhythm), not
// never early.
func Near(t time.Time) { _ = NearContext(context.Background(), t) }

// NearContext is Near that ends early, returning ctx.Err(), when ctx
// ends first (noticed within Coarse).
func NearContext(ctx context.Context, t time.Time) error {
	if err := coarse(ctx, t); err != nil {
		return err
	}
	left := time.Until(t)
	early := min(time.Duration(late.Load()), left/2)
	if d := left - early; d > 0 {
		sleep(d)
		learn(early - time.Until(t))
	}
	return ctx.Err()
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

// learn notes how late a sleep woke. The estimate steps towards each
// observation by lateStep, so it follows the median lateness: the long
// tail of wakes on a busy machine (a tenth of them 100 us late or more
// here) does not drag it up as it would a mean.
func learn(over time.Duration) {
	over = min(max(over, 0), maxLate)
	old := time.Duration(late.Load())
	switch {
	case over > old:
		late.Store(int64(old + lateStep))
	case over < old:
		late.Store(int64(max(old-lateStep, 0)))
	}
}

// lateStep is how far one sleep moves the learned lateness.
const lateStep = time.Microsecond

// UntilSpin is Until that ends within microseconds of t rather than a
// wake-up's latency late: it sleeps to the learned median lateness before
// t (at most spin), then spins the rest. It never returns before t and
// spins at most spin (plus a wake that came early), so a caller pays
// about that much CPU for a punctual instant; a wake that comes late
// anyway does not spin. For instants that recur at a slow pace (an NA
// point's read, once a millisecond), not for a loop.
func UntilSpin(ctx context.Context, t time.Time, spin time.Duration) error {
	if err := coarse(ctx, t); err != nil {
		return err
	}
	lead := min(time.Duration(late.Load()), max(spin, 0))
	if d := time.Until(t) - lead; d > 0 {
		sleep(d)
		learn(-time.Until(t.Add(-lead)))
	}
	for time.Now().Before(t) {
	}
	return ctx.Err()
}
