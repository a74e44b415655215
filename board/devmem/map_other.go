//go:build !linux

package devmem

import (
	"runtime"
	"time"

	"github.com/rpbus/rpbus/rperr"
)

// Open fails: the devmem backend runs on the board's Linux.
func Open(path string) (*Mem, error) { return nil, unsupported() }

// OpenFile fails: the devmem backend runs on the board's Linux.
func OpenFile(path string) (*Mem, error) { return nil, unsupported() }

func unsupported() error {
	return rperr.Errorf(rperr.EUnavailable, "devmem: the devmem backend needs Linux (it runs on the Red Pitaya), not %s", runtime.GOOS)
}

func preciseSleep(d time.Duration) { time.Sleep(d) }
