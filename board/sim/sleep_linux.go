package sim

import (
	"runtime"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// preciseSleep sleeps for d with nanosleep. The runtime's timers are
// coarse for short sleeps (an idle runtime waits in epoll with a timeout
// in whole milliseconds), and nanosleep is late by the thread's timer
// slack, 50 us by default; the slack is set to 1 us first, which keeps
// the wake within about 10-20 us here.
//
// With keepP the goroutine keeps its P (the runtime's right to run Go
// code) through the sleep, as the runtime does for calls that do not
// block: the scope's short slices then wake straight into running. A
// plain blocking call lets the runtime hand the P to another thread after
// 20 us and take a free one back on return; with none free (a spectrum's
// DSP on the other CPU) the waiting goroutine queued behind the running
// ones, and each slice cost thread wake-ups, about 150 us of CPU per
// decimation-8 trace. Only with more than one P: the only P would stop
// every other goroutine for the sleep.
func preciseSleep(d time.Duration, keepP bool) {
	_ = unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(time.Microsecond), 0, 0, 0)
	ts := unix.NsecToTimespec(int64(d))
	if keepP && runtime.GOMAXPROCS(0) > 1 {
		p := uintptr(unsafe.Pointer(&ts))
		for {
			if _, _, e := unix.RawSyscall(unix.SYS_NANOSLEEP, p, p, 0); e != unix.EINTR {
				return
			}
		}
	}
	for unix.Nanosleep(&ts, &ts) == unix.EINTR {
	}
}
