package sim

import (
	"runtime"
	"sync/atomic"
	"time"
)

// helper is a second goroutine that makes scope samples beside the one
// holding the board. At decimation 1 and 2 making both channels is slower
// than the board writes them, so one goroutine ends well after the
// acquisition; two halve that. The helper is woken when such an
// acquisition starts and spins until shortly after its predicted end,
// because a goroutine started or woken at the moment the work is there
// waits for a CPU to wake: 0.1 to 2 ms on a VM, longer than the work.
type helper struct {
	job     atomic.Pointer[helperJob] // offered work, nil when none
	until   atomic.Int64              // spin until then [Unix ns]
	running atomic.Bool
}

// helperJob is one piece of work; whoever takes it first runs it.
type helperJob struct {
	run   func()
	taken atomic.Bool
	done  atomic.Bool
}

// helperYield: the spinning helper yields this often, so that it only
// takes a CPU nothing else wants.
const helperYield = 20 * time.Microsecond

// helperBusy: a yield that kept the helper from its CPU this long means
// the CPUs are busy, and the helper stops spinning.
const helperBusy = 50 * time.Microsecond

// helperGrace bounds how long the helper spins past the predicted end of
// an acquisition, for the samples made after it; it stops as soon as the
// last one is made (release), so that it never keeps a CPU awake for the
// trace's way back, which a real board does not do for the host either.
const helperGrace = 300 * time.Microsecond

// keepAwake makes sure a helper spins until at least t (no-op with one P,
// where it could only take turns with the goroutine it should help).
func (h *helper) keepAwake(t time.Time) {
	if runtime.GOMAXPROCS(0) < 2 {
		return
	}
	for {
		old := h.until.Load()
		if t.UnixNano() <= old || h.until.CompareAndSwap(old, t.UnixNano()) {
			break
		}
	}
	if h.running.CompareAndSwap(false, true) {
		go h.loop()
	}
}

// release ends the spin: the work it was kept awake for is done.
func (h *helper) release() { h.until.Store(0) }

// awake reports whether a helper is spinning for work.
func (h *helper) awake() bool { return h.running.Load() }

func (h *helper) loop() {
	yielded := time.Now()
	for {
		if j := h.job.Load(); j != nil && j.taken.CompareAndSwap(false, true) {
			j.run()
			j.done.Store(true)
			continue
		}
		now := time.Now()
		if now.Sub(yielded) > helperYield {
			// Let whatever else is runnable have this CPU. If that took
			// a while, the CPUs are busy (a stream of acquisitions):
			// spinning would only take time from the pipeline, so stop.
			runtime.Gosched()
			yielded = time.Now()
			if yielded.Sub(now) > helperBusy {
				h.until.Store(0)
			}
		}
		if now.UnixNano() > h.until.Load() {
			h.running.Store(false)
			// a keepAwake between the check and the store saw it running
			if time.Now().UnixNano() > h.until.Load() || !h.running.CompareAndSwap(false, true) {
				return
			}
		}
	}
}

// share runs mine here and theirs on the helper if it takes it first,
// else here too; it returns when both have run.
func (h *helper) share(mine, theirs func()) {
	j := &helperJob{run: theirs}
	h.job.Store(j)
	mine()
	if j.taken.CompareAndSwap(false, true) {
		theirs()
	} else {
		// the helper is running it: wait without giving up the CPU,
		// yielding now and then in case the helper lost its CPU
		for start := time.Now(); !j.done.Load(); {
			if time.Since(start) > 50*time.Microsecond {
				runtime.Gosched()
				start = time.Now()
			}
		}
	}
	h.job.CompareAndSwap(j, nil)
}
