package precise

import (
	"time"

	"golang.org/x/sys/unix"
)

// nanosleep blocks the calling thread for d; the runtime lets another
// thread run the goroutines meanwhile. The timer slack (50 us by default)
// is per thread, so it is set on whichever thread this goroutine is on.
func nanosleep(d time.Duration) {
	_ = unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(time.Microsecond), 0, 0, 0)
	ts := unix.NsecToTimespec(int64(d))
	for unix.Nanosleep(&ts, &ts) == unix.EINTR {
	}
}
