package sim

import (
	"syscall"
	"time"
)

// preciseSleep sleeps for d with nanosleep, which wakes within the
// kernel's timer slack (50 us by default). The runtime's timers are
// coarser for short sleeps: an idle runtime waits in epoll with a
// timeout in whole milliseconds.
func preciseSleep(d time.Duration) {
	ts := syscall.NsecToTimespec(int64(d))
	for syscall.Nanosleep(&ts, &ts) == syscall.EINTR {
	}
}
