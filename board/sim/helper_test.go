package sim

import (
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// share runs each of its two functions exactly once, whether the helper
// takes the second or not, and the helper stops once its time is up.
func TestHelperShare(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("the helper needs two Ps")
	}
	var h helper
	var mine, theirs atomic.Int64
	run := func() { h.share(func() { mine.Add(1) }, func() { theirs.Add(1); time.Sleep(time.Microsecond) }) }
	run() // no helper awake: both here
	h.keepAwake(time.Now().Add(50 * time.Millisecond))
	for range 2000 {
		run()
	}
	if mine.Load() != 2001 || theirs.Load() != 2001 {
		t.Fatalf("ran mine %d and theirs %d times, want 2001 each", mine.Load(), theirs.Load())
	}
	deadline := time.Now().Add(2 * time.Second)
	for h.awake() && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if h.awake() {
		t.Fatal("the helper still spins 2 s after its time was up")
	}
}
