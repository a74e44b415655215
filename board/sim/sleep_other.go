//go:build !linux

package sim

import "time"

// preciseSleep sleeps for d; elsewhere than Linux with the runtime's
// timer (keepP is a Linux refinement).
func preciseSleep(d time.Duration, keepP bool) { time.Sleep(d) }
