package hwbridge

import (
	"fmt"
	"sync"
	"time"

	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/regmap"
	"github.com/rpbus/rpbus/rperr"
)

// boardCheckWait bounds how long hw.info waits for the board to answer
// its check: an unreachable board (a monitor_server whose host is down)
// makes hw.info say so promptly instead of making it late.
const boardCheckWait = 500 * time.Millisecond

// boardCheck reads the board's ID register, one read at a time: hw.info
// callers arriving while a read is out share its answer.
type boardCheck struct {
	mu      sync.Mutex
	running chan struct{} // closed when the read in flight ends
	last    api.Liveness
}

// liveness checks that the board answers a register read, and names
// this bridge.
func (b *Bridge) liveness() api.Liveness {
	c := &b.check
	c.mu.Lock()
	done := c.running
	if done == nil {
		done = make(chan struct{})
		c.running = done
		go func() {
			t0 := time.Now()
			var w [1]uint32
			err := b.cfg.FPGA.Read(regmap.HKBase, w[:])
			l := api.Liveness{Reachable: err == nil, ReadTime: time.Since(t0).Seconds()}
			if err != nil {
				l.BoardError = rperr.ErrorMessage(err)
			}
			c.mu.Lock()
			c.last, c.running = l, nil
			c.mu.Unlock()
			close(done)
		}()
	}
	c.mu.Unlock()
	t := time.NewTimer(boardCheckWait)
	defer t.Stop()
	var l api.Liveness
	select {
	case <-done:
		c.mu.Lock()
		l = c.last
		c.mu.Unlock()
	case <-t.C:
		l = api.Liveness{BoardError: fmt.Sprintf("the board did not answer a register read within %v", boardCheckWait)}
	}
	l.Instance = b.instance
	return l
}
