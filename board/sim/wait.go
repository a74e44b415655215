package sim

import (
	"context"
	"runtime"
	"time"

	"github.com/rpbus/rpbus/regmap"
	"github.com/rpbus/rpbus/rp"
)

const (
	// spinWindow: the last stretch before a predicted instant is spent
	// yielding instead of sleeping, for microsecond precision.
	spinWindow = 100 * time.Microsecond
	// pollPeriod is the gentle polling period when the instant is unknown.
	pollPeriod = 250 * time.Microsecond
	// maxSleep bounds one sleep so that writes by others are noticed.
	maxSleep = 20 * time.Millisecond
	// maxSlack caps the learned timer oversleep added to spinWindow.
	maxSlack = 3 * time.Millisecond
)

// WaitFor returns true as soon as Read(addr)&mask == value, false when
// timeout passes first, and ctx.Err() when ctx ends first. For the scope
// control word and the NA sum words it sleeps until just before the
// predicted instant and yields for the last spinWindow; otherwise it polls
// every pollPeriod.
func (b *Board) WaitFor(ctx context.Context, addr, mask, value uint32, timeout time.Duration) (bool, error) {
	if err := regmap.CheckRange(addr, 1); err != nil {
		return false, err
	}
	deadline := time.Now().Add(timeout)
	var w [1]uint32
	for {
		if err := b.Read(addr, w[:]); err != nil {
			return false, err
		}
		if w[0]&mask == value {
			return true, nil
		}
		if err := ctx.Err(); err != nil {
			return false, err
		}
		now := time.Now()
		if !now.Before(deadline) {
			return false, nil
		}
		next := now.Add(pollPeriod)
		if t := b.predict(addr); t >= 0 {
			next = b.start.Add(time.Duration(t * 8))
		}
		if next.After(deadline) {
			next = deadline
		}
		spin := spinWindow + time.Duration(b.slack.Load())
		if d := time.Until(next); d > spin {
			sleep := min(d-spin, maxSleep)
			if d < pollPeriod+spinWindow && b.predict(addr) < 0 {
				sleep = d
			}
			timer := time.NewTimer(sleep)
			t0 := time.Now()
			select {
			case <-ctx.Done():
				timer.Stop()
				return false, ctx.Err()
			case <-timer.C:
			}
			b.noteOversleep(time.Since(t0) - sleep)
			continue
		}
		for time.Now().Before(next) {
			if ctx.Err() != nil {
				return false, ctx.Err()
			}
			runtime.Gosched()
		}
	}
}

// noteOversleep tracks how late the OS wakes sleepers: the spin window
// grows to the worst recent oversleep and decays slowly.
func (b *Board) noteOversleep(over time.Duration) {
	over = min(max(over, 0)*5/4, maxSlack)
	old := time.Duration(b.slack.Load())
	b.slack.Store(int64(max(over, old*15/16)))
}

// predict returns the board cycle at which the register at addr is
// expected to change (scope done, NA point done), or -1 if unknown.
func (b *Board) predict(addr uint32) int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return -1
	}
	switch {
	case addr == regmap.ScopeBase+regmap.ScopeControl:
		b.scopeAdvance(b.nowFn())
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

var _ = rp.Clock
