package sim

import (
	"time"

	"golang.org/x/sys/unix"
)

// preciseSleep sleeps for d with nanosleep. The runtime's timers are
// coarse for short sleeps (an idle runtime waits in epoll with a timeout
// in whole milliseconds), and nanosleep is late by the thread's timer
// slack, 50 us by default; the slack is set to 1 us first, which keeps
// the wake within about 10-20 us here.
func preciseSleep(d time.Duration) {
	_ = unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(time.Microsecond), 0, 0, 0)
	ts := unix.NsecToTimespec(int64(d))
	for unix.Nanosleep(&ts, &ts) == unix.EINTR {
	}
}
