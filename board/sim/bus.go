package sim

import (
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// bus is the board CPU's way to the FPGA, the Zynq's AXI GP0 port: every
// 32-bit word read or written takes Config.BusRead or BusWrite, and the
// port carries one word at a time. An access is a Read, ReadHalves or
// Write call (n words), or the read that ends a WaitFor.
//
// Long accesses (buffer and table transfers) take their turn in order
// behind each other. A short one (a few registers) does not wait for a
// long one in progress: the two CPUs' loads alternate on the port, so it
// takes its own time at once and pushes the end of every long access in
// progress or queued back by as much. Shorts take turns among themselves.
type bus struct {
	read, write int64 // ns per word

	mu    sync.Mutex
	free  int64      // when the last long access ends [ns since the board's start]
	short int64      // when the last short access ends
	long  []*busSlot // long accesses not yet over, in order

	reads, writes atomic.Uint64 // words carried
	busy          atomic.Int64  // their bus time [ns]
}

// busSlot is one access's time on the bus; a short access pushes long
// ones back (their end, and their start if they wait their turn).
type busSlot struct{ start, end atomic.Int64 }

// busShort is the longest access that interleaves with long ones
// (100 words at 200 ns).
const busShort = 20 * time.Microsecond

// busSpin is the last stretch of a wait for the end of an access that is
// spun rather than slept: all of a short access, and the end of a long
// one. A wake from a sleep is 10 to 60 us late here, so a long access
// ends up to that much late; spinning for the learned lateness instead
// (as WaitFor does) took 0.3 ms of CPU per trace from the rest of the
// pipeline.
const busSpin = 20 * time.Microsecond

func newBus(cfg Config) bus {
	return bus{read: int64(math.Round(cfg.BusRead * 1e9)), write: int64(math.Round(cfg.BusWrite * 1e9))}
}

// elapsed is the time since New [ns], the bus's clock (not board time,
// which tests may replace).
func (b *Board) elapsed() int64 { return time.Since(b.start).Nanoseconds() }

// access runs do, an access of n words of per ns each, in its turn on the
// bus, and returns when its bus time has passed: do runs when the access
// starts, and the caller waits out the rest. words counts the access.
func (b *Board) access(words *atomic.Uint64, n int, per int64, do func() error) error {
	return b.accessParts(words, n, per, do, nil, nil)
}

// accessParts is access that also calls got(k) once the bus has carried
// the first k words, for each k of cuts (below n), while the access goes
// on: the bus keeps its one slot, so a late wake or a slow got delays
// that call, not the words after it.
func (b *Board) accessParts(words *atomic.Uint64, n int, per int64, do func() error, cuts []int, got func(k int) error) error {
	words.Add(uint64(n))
	d := int64(n) * per
	// No bus time (simulator only): every part is there at once.
	wait, end := func(func() int64) {}, func() int64 { return 0 }
	if d > 0 {
		b.bus.busy.Add(d)
		slot := b.bus.claim(b.elapsed(), d)
		defer b.bus.release(slot)
		wait, end = b.waitUntil, slot.end.Load
		wait(slot.start.Load)
	}
	if err := do(); err != nil {
		wait(end)
		return err
	}
	for _, k := range cuts {
		// Counted back from the end, which short accesses may push.
		wait(func() int64 { return end() - int64(n-k)*per })
		if err := got(k); err != nil {
			return err
		}
	}
	wait(end)
	return nil
}

// claim books d ns of bus time for an access that asks at now.
func (u *bus) claim(now, d int64) *busSlot {
	u.mu.Lock()
	defer u.mu.Unlock()
	slot := &busSlot{}
	var s int64
	if d <= int64(busShort) {
		s = max(u.short, now)
		u.short = s + d
		for _, l := range u.long {
			if l.start.Load() > s {
				l.start.Add(d)
			}
			if l.end.Load() > s {
				l.end.Add(d)
			}
		}
		if u.free > s {
			u.free += d
		}
	} else {
		s = max(u.free, u.short, now)
		u.free = s + d
		u.long = append(u.long, slot)
	}
	slot.start.Store(s)
	slot.end.Store(s + d)
	return slot
}

// release forgets a finished access.
func (u *bus) release(slot *busSlot) {
	u.mu.Lock()
	u.long = slices.DeleteFunc(u.long, func(l *busSlot) bool { return l == slot })
	u.mu.Unlock()
}

// waitUntil returns once the bus clock has reached end(), which may move
// later meanwhile: one precise sleep up to busSpin before it, keeping the
// goroutine's P (see preciseSleep) so that the wake runs at once, then a
// spin. A sleep costs CPU on this VM whatever its length (45 us kept, 80 us
// handing the P on and taking one back, 165 us for the two), so a buffer
// read sleeps once; the rest of the process has the other P meanwhile.
func (b *Board) waitUntil(end func() int64) {
	for {
		left := time.Duration(end() - b.elapsed())
		if left <= 0 {
			return
		}
		if left > busSpin {
			t0 := time.Now()
			preciseSleep(left-busSpin, true)
			b.noteOversleep(time.Since(t0) - (left - busSpin))
			continue
		}
		for b.elapsed() < end() {
		}
	}
}

// BusStats is what the bus has carried since New.
type BusStats struct {
	Reads, Writes uint64        // 32-bit words
	Time          time.Duration // their bus time
}

// BusStats returns the words carried so far and their bus time.
func (b *Board) BusStats() BusStats {
	u := &b.bus
	return BusStats{Reads: u.reads.Load(), Writes: u.writes.Load(), Time: time.Duration(u.busy.Load())}
}

// Sub is the traffic between o and s (o taken first).
func (s BusStats) Sub(o BusStats) BusStats {
	return BusStats{Reads: s.Reads - o.Reads, Writes: s.Writes - o.Writes, Time: s.Time - o.Time}
}

// TraceRateLimit is the most traces per second a board gives when each
// takes acq seconds to acquire and the traces carried s over the bus
// between them: 1/(acq + s.Time/traces). The next acquisition would
// overwrite the buffer, so it cannot start before the last word is read.
func TraceRateLimit(acq float64, s BusStats, traces int) float64 {
	return 1 / (acq + s.Time.Seconds()/float64(traces))
}
