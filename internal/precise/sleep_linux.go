package precise

import (
	"os"
	"runtime"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// timer is a timerfd the runtime's poller waits on: a goroutine that
// sleeps on it parks like one waiting for a socket, so its thread and P
// serve other goroutines meanwhile, and the kernel wakes the poller at the
// timer's expiry to the microsecond (the runtime's own timers go through
// the poller's millisecond timeout instead). A nanosleep would hold the
// P for the whole sleep: the runtime does not hand a P on for a syscall
// that short while others are idle, and that P's timers (time.AfterFunc,
// context deadlines) wait for it; a loop of such sleeps and reads
// delayed a 2 ms AfterFunc by 1 to 3 s here (the monitor package's
// TestWaitForBurstThenRuns).
type timer struct {
	fd  int
	f   *os.File
	buf [8]byte
}

var timers = sync.Pool{New: func() any {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return (*timer)(nil)
	}
	return &timer{fd: fd, f: os.NewFile(uintptr(fd), "precise-timer")}
}}

// sleep pauses the calling goroutine for d.
func sleep(d time.Duration) {
	t := timers.Get().(*timer)
	if t == nil || !t.wait(d) {
		// No timerfd: a nanosleep of the thread, then a yield so the
		// P's timers run.
		ts := unix.NsecToTimespec(int64(d))
		for unix.Nanosleep(&ts, &ts) == unix.EINTR {
		}
		runtime.Gosched()
		return
	}
	timers.Put(t)
}

func (t *timer) wait(d time.Duration) bool {
	spec := unix.ItimerSpec{Value: unix.NsecToTimespec(int64(max(d, time.Nanosecond)))}
	if unix.TimerfdSettime(t.fd, 0, &spec, nil) != nil {
		return false
	}
	_, err := t.f.Read(t.buf[:])
	return err == nil
}
