package precise

import (
	"testing"
	"time"
)

// The kernel timer is waited on through the runtime's poller (a blocking
// read would fail on its non-blocking descriptor and fall back to a
// nanosleep).
func TestKernelTimerIsPolled(t *testing.T) {
	tm := timers.Get().(*timer)
	if tm == nil {
		t.Fatal("no timerfd")
	}
	defer timers.Put(tm)
	for _, d := range []time.Duration{0, 10 * time.Microsecond, time.Millisecond} {
		t0 := time.Now()
		if !tm.wait(d) {
			t.Fatalf("wait(%v) failed", d)
		}
		if got := time.Since(t0); got < d {
			t.Fatalf("wait(%v) returned after %v", d, got)
		}
	}
}
