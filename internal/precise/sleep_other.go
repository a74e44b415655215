//go:build !linux

package precise

import "time"

func nanosleep(d time.Duration) { time.Sleep(d) }
