//go:build !linux

package sim

import "time"

// preciseSleep sleeps for d; elsewhere than Linux with the runtime's
// timer.
func preciseSleep(d time.Duration) { time.Sleep(d) }
