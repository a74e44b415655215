package precise

import (
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// nanosleep blocks the calling thread for d. The timer slack (50 us by
// default) is per thread, so it is set on whichever thread this goroutine
// is on. The runtime does not hand the goroutine's P to another thread
// for a syscall this short while others are idle, and that P's timers
// (time.AfterFunc, context deadlines) wait for it: a loop of sleeps and
// reads delayed a 2 ms AfterFunc by 1 to 3 s here (the monitor package's
// TestWaitForBurstThenRuns). Yielding after each sleep runs them (worst
// 3 to 13 ms).
func nanosleep(d time.Duration) {
	_ = unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(time.Microsecond), 0, 0, 0)
	ts := unix.NsecToTimespec(int64(d))
	for unix.Nanosleep(&ts, &ts) == unix.EINTR {
	}
	runtime.Gosched()
}
