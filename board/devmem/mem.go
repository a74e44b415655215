package devmem

import (
	"context"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rpbus/rpbus/board"
	"github.com/rpbus/rpbus/regmap"
	"github.com/rpbus/rpbus/rperr"
)

// The mapped register space: the PyRPL design's five blocks, hk to ams.
const (
	Base uint32 = regmap.HKBase
	Size        = int(regmap.AMSBase + regmap.BlockSize - regmap.HKBase) // bytes
)

// DevMem is the path of the physical memory device on the board.
const DevMem = "/dev/mem"

// Mem is the register space mapped into this process. It implements
// board.FPGA, board.HalfReader and board.Waiter and is safe for
// concurrent use; Close waits for the accesses in progress.
type Mem struct {
	path string

	mu    sync.RWMutex // held for reading by every access, for writing by Close
	words []uint32     // the mapping; nil once closed
	unmap func() error
}

var (
	_ board.FPGA       = (*Mem)(nil)
	_ board.HalfReader = (*Mem)(nil)
	_ board.Waiter     = (*Mem)(nil)
)

// Path returns the mapped device or file.
func (m *Mem) Path() string { return m.path }

// Read fills dst with the words at addr, one 32-bit load each.
func (m *Mem) Read(addr uint32, dst []uint32) error {
	return m.access("read", addr, len(dst), func(w []uint32) {
		for i := range dst {
			dst[i] = atomic.LoadUint32(&w[i])
		}
	})
}

// ReadHalves fills dst with the low halves of the words at addr: one
// 32-bit load per word, never a 16-bit access on the bus.
func (m *Mem) ReadHalves(addr uint32, dst []uint16) error {
	return m.access("read", addr, len(dst), func(w []uint32) {
		for i := range dst {
			dst[i] = uint16(atomic.LoadUint32(&w[i]))
		}
	})
}

// Write stores src at addr, one 32-bit store each, in order.
func (m *Mem) Write(addr uint32, src []uint32) error {
	return m.access("write", addr, len(src), func(w []uint32) {
		for i, v := range src {
			atomic.StoreUint32(&w[i], v)
		}
	})
}

// Close unmaps the register space once the accesses in progress are
// done; later calls fail with rperr.EUnavailable.
func (m *Mem) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.words == nil {
		return nil
	}
	m.words = nil
	return m.unmap()
}

// isFault tells a fault of the mapping from a bug: under
// debug.SetPanicOnFault the runtime panics with a runtime.Error that has
// the faulting address, or, when the signal carries no usable address
// (qemu-user's SIGBUS), with the nil-dereference error, which code that
// only indexes its slices cannot otherwise raise.
func isFault(p any) bool {
	e, ok := p.(runtime.Error)
	if !ok {
		return false
	}
	if _, ok := e.(interface{ Addr() uintptr }); ok {
		return true
	}
	return strings.Contains(e.Error(), "invalid memory address")
}

// access checks n words at addr and runs f on their slice of the mapping.
func (m *Mem) access(what string, addr uint32, n int, f func(w []uint32)) (err error) {
	if err := regmap.CheckRange(addr, n); err != nil {
		return err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.words == nil {
		return rperr.Errorf(rperr.EUnavailable, "devmem: %s is closed", m.path)
	}
	off := (addr - Base) / 4
	w := m.words[off : off+uint32(n)]
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			if !isFault(p) {
				panic(p)
			}
			err = rperr.Errorf(rperr.EUnavailable, "devmem: %s of %d words at %#08x faulted (%v): the register space of %s did not answer; is an FPGA design loaded, and is the mapping intact?", what, n, addr, p, m.path)
		}
	}()
	f(w)
	return nil
}

// Polling of WaitFor.
const (
	// maxPollStep bounds the pause between two reads of a wait that runs
	// past its prediction: at most 1000 wake-ups a second.
	maxPollStep = time.Millisecond
	// backoffShare: past the prediction, a wait sleeps at most this share
	// of its overrun between reads, so it ends at most that much late.
	backoffShare = 8
	// coarseSleep: sleeps longer than this go through the runtime's timer
	// (cancellable) down to this remainder, which nanosleep finishes.
	coarseSleep = 2 * time.Millisecond
)

// WaitFor waits for the word at c.Addr, masked with c.Mask, to equal
// c.Value: it sleeps through c.Earliest, then polls (see the package
// doc). It returns true when the condition holds, false when c.Timeout
// passes first, and ctx.Err() when ctx ends first.
func (m *Mem) WaitFor(ctx context.Context, c board.Cond) (bool, error) {
	if err := regmap.CheckRange(c.Addr, 1); err != nil {
		return false, err
	}
	start := time.Now()
	deadline := start.Add(c.Timeout)
	predicted := start.Add(min(max(c.Earliest, 0), c.Timeout))
	if err := sleepUntil(ctx, predicted); err != nil {
		return false, err
	}
	var word [1]uint32
	for {
		if err := m.Read(c.Addr, word[:]); err != nil {
			return false, err
		}
		if word[0]&c.Mask == c.Value {
			return true, nil
		}
		now := time.Now()
		if !now.Before(deadline) {
			return false, nil
		}
		step := min(max(board.MinPollStep, now.Sub(predicted)/backoffShare), maxPollStep)
		if err := sleepUntil(ctx, minTime(now.Add(step), deadline)); err != nil {
			return false, err
		}
	}
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// sleepUntil sleeps until t, or until ctx ends: through the runtime's
// timer while more than coarseSleep is left, then with preciseSleep.
func sleepUntil(ctx context.Context, t time.Time) error {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		d := time.Until(t)
		if d <= 0 {
			return nil
		}
		if d <= coarseSleep {
			preciseSleep(d)
			return ctx.Err()
		}
		if timer == nil {
			timer = time.NewTimer(d - coarseSleep)
		} else {
			timer.Reset(d - coarseSleep)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
		}
	}
}
