//go:build !unix

package cputime

import "time"

// Process is the process's CPU time; 0 where it is not known.
func Process() time.Duration { return 0 }
