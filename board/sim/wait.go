package sim

import (
	"context"
	"time"

	"github.com/rpbus/rpbus/board"
	"github.com/rpbus/rpbus/regmap"
)

const (
	// spinWindow: the last stretch before a predicted instant is spent
	// spinning instead of sleeping, for microsecond precision; the learned
	// oversleep of preciseSleep is added to it.
	spinWindow = 30 * time.Microsecond
	// spinPoll: while spinning the register is re-read this often, which
	// also materialises scope samples as they are written, so the work
	// overlaps the acquisition instead of following it.
	spinPoll = 10 * time.Microsecond
	// pollPeriod is the gentle polling period when the instant is unknown.
	pollPeriod = 250 * time.Microsecond
	// staleAfter: a prediction this far in the past without the expected
	// change is treated as unknown (polled gently, not spun on).
	staleAfter = 50 * time.Microsecond
	// maxSleep bounds one sleep towards a known instant so that writes by
	// others are noticed.
	maxSleep = 2 * time.Millisecond
	// scopeSleep is maxSleep for the scope: a long acquisition's samples
	// are made a slice at a time while it runs (every wake re-reads the
	// register) rather than all at its end, where the reading of the
	// buffer would wait for them.
	scopeSleep = 250 * time.Microsecond
	// lastSlice is the scope's last sleep before the spin: the samples
	// written during a sleep are made after it (at decimation 8, 50 us of
	// work per 250 us slice), so the last one is kept short. Measured in
	// a decimation-8 spectrum: the end of a trace was seen 50 us late at
	// the median with 250 us slices, 21-25 us with a last one of 40 us.
	lastSlice = 40 * time.Microsecond
	// maxSlack caps the learned oversleep added to spinWindow. Wakes
	// later than this come from busy CPUs, where spinning longer would
	// take CPU time from the work that keeps them busy.
	maxSlack = 250 * time.Microsecond
)

// WaitFor returns true as soon as the condition holds, false when its
// timeout passes first, and ctx.Err() when ctx ends first; it predicts
// the end itself, so it needs no c.Earliest. For the scope
// control word and the NA sum words it sleeps until the predicted instant
// minus a margin (spinWindow plus the learned oversleep), in slices of at
// most maxSleep (scopeSleep for the scope), then spins and re-reads every
// spinPoll until the instant; otherwise it polls every pollPeriod. A wait
// that is already late (the value is there, or the deadline has passed)
// returns at once. The read that sees the outcome costs one read's bus
// time: a wait on the board ends with the poll that saw it.
func (b *Board) WaitFor(ctx context.Context, c board.Cond) (bool, error) {
	ok, err := b.waitFor(ctx, c)
	if err == nil {
		err = b.access(&b.bus.reads, 1, b.bus.read, func() error { return nil })
	}
	return ok, err
}

func (b *Board) waitFor(ctx context.Context, c board.Cond) (bool, error) {
	addr, mask, value := c.Addr, c.Mask, c.Value
	if err := regmap.CheckRange(addr, 1); err != nil {
		return false, err
	}
	deadline := time.Now().Add(c.Timeout)
	var timer *time.Timer // one per wait, reset for every sleep
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		// The probe brings the board up to its start, which can take a
		// while (making the samples written since the last look); its
		// prediction is of that same instant, so it is stale only if it
		// was due well before the probe began.
		tested := time.Now()
		ok, t, err := b.probe(addr, mask, value)
		if ok || err != nil {
			return ok, err
		}
		if err := ctx.Err(); err != nil {
			return false, err
		}
		now := time.Now()
		if !now.Before(deadline) {
			return false, nil
		}
		next, known := now.Add(pollPeriod), false
		if t >= 0 {
			if p := b.start.Add(time.Duration(t * 8)); p.After(tested.Add(-staleAfter)) {
				next, known = p, true
			}
		}
		if deadline.Before(next) {
			next = deadline
		}
		margin := spinWindow + time.Duration(b.slack.Load())
		d := next.Sub(now)
		if known && d > margin {
			// towards a known instant: a short precise sleep (the
			// runtime's timers wake a millisecond late when idle)
			sleep := min(d-margin, maxSleep)
			scope := addr == regmap.ScopeBase+regmap.ScopeControl
			if scope {
				sleep = min(sleep, scopeSleep)
				// The probe after the last sleep makes the samples
				// written during it, after the instant if the wake is
				// late: keep that slice short.
				if rest := d - margin; rest <= scopeSleep && rest > 2*lastSlice {
					sleep = rest - lastSlice
				}
			}
			preciseSleep(sleep, scope)
			b.noteOversleep(time.Since(now) - sleep)
			continue
		}
		if !known {
			if timer == nil {
				timer = time.NewTimer(d)
			} else {
				timer.Reset(d)
			}
			select {
			case <-ctx.Done():
				return false, ctx.Err()
			case <-timer.C:
			}
			continue
		}
		// Spin until the instant, re-reading now and then. It does not
		// yield: runtime.Gosched puts the goroutine on the global queue,
		// which wakes the other P to take it, and on a VM whose idle vCPU
		// takes 0.1 to 2 ms to wake that made waits several times longer.
		// The spin is bounded by the margin; others on this P are stolen.
		poll := now
		for now.Before(next) {
			if err := ctx.Err(); err != nil {
				return false, err
			}
			if now.Sub(poll) >= spinPoll {
				if ok, _, err := b.probe(addr, mask, value); ok || err != nil {
					return ok, err
				}
				poll = now
			}
			now = time.Now()
		}
	}
}

// probe reads the word at addr under one lock: whether it matches, and if
// not, the board cycle at which it is expected to change (-1 if unknown).
func (b *Board) probe(addr, mask, value uint32) (ok bool, at int64, err error) {
	var w [1]uint32
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := readInto(b, addr, w[:]); err != nil {
		return false, -1, err
	}
	if w[0]&mask == value {
		return true, -1, nil
	}
	return false, b.predictLocked(addr), nil
}

// noteOversleep tracks how late preciseSleep wakes (the kernel's timer
// slack, 60 to 90 us on a VM): the margin grows to 5/4 of the latest
// oversleep and decays by 1/16 per sleep. One very late wake (a VM
// hiccup of milliseconds) at most doubles it, so it cannot make the
// following waits spin for milliseconds.
func (b *Board) noteOversleep(over time.Duration) {
	old := time.Duration(b.slack.Load())
	over = min(max(over, 0)*5/4, max(2*old, spinWindow), maxSlack)
	b.slack.Store(int64(max(over, old*15/16)))
}

// predictLocked returns the board cycle at which the register at addr is
// expected to change (scope done, NA point done), or -1 if unknown. b.mu
// is held and the board has just been read (so brought up to now).
func (b *Board) predictLocked(addr uint32) int64 {
	switch {
	case addr == regmap.ScopeBase+regmap.ScopeControl:
		if !b.scope.armed {
			return -1
		}
		return b.scopePredictDone()
	case addr >= regmap.Slot(regmap.SlotIQ0) && addr < regmap.Slot(regmap.SlotIQ2+1):
		off := addr & (regmap.SlotSize - 1)
		if off >= regmap.IQNAISumLow && off <= regmap.IQNAQSumHigh {
			k := int(addr-regmap.Slot(regmap.SlotIQ0)) / int(regmap.SlotSize)
			return b.naDoneAt(k)
		}
	}
	return -1
}
