package hwbridge

import (
	"context"
	"runtime"
	"sync"

	"github.com/rpbus/rpbus/rperr"
)

// moduleLocks hands FPGA modules to transactions in the order they queued.
// A transaction queues for all its modules at once, under one mutex, so
// every module's queue sees transactions in the same order: the earliest
// transaction is always first in each of its queues, so there is no
// deadlock. It runs when it is first in every queue. The bridge queues a
// transaction in its subscription callback, that is in arrival order, so
// an instrument may keep the next acquisition queued at the bridge while
// the current one runs and know that they run in the order it sent them.
type moduleLocks struct {
	mu     sync.Mutex
	queues map[string][]*turn
}

// turn is one transaction's place in the queues of its modules.
type turn struct {
	modules []string
	ready   chan struct{} // closed when it is first in every queue
	granted bool
}

func newModuleLocks() *moduleLocks { return &moduleLocks{queues: map[string][]*turn{}} }

// queue puts a new turn for modules at the end of their queues.
func (l *moduleLocks) queue(modules []string) *turn {
	t := &turn{modules: modules, ready: make(chan struct{})}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, m := range modules {
		l.queues[m] = append(l.queues[m], t)
	}
	l.grant(t)
	return t
}

// wait blocks until t's modules are all its own, or ctx ends: then t
// leaves the queues.
func (l *moduleLocks) wait(ctx context.Context, t *turn) error {
	select {
	case <-t.ready:
		return nil
	case <-ctx.Done():
		l.leave(t)
		return rperr.Errorf(rperr.ECancelled, "cancelled while waiting for modules %v", t.modules)
	}
}

// leave takes t out of its queues (done, or given up) and hands the
// modules to whoever is next. When that wakes a waiter (an instrument's
// next acquisition) the caller yields its CPU to it, so it starts now
// rather than after the caller's reply is encoded and sent: left to wait,
// it would be taken by the other CPU, whose wake-up takes 0.1 to 2 ms on
// a VM.
func (l *moduleLocks) leave(t *turn) {
	if l.hand(t) {
		runtime.Gosched()
	}
}

// hand is leave without the yield; handed says whether a waiter got its
// turn.
func (l *moduleLocks) hand(t *turn) (handed bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, m := range t.modules {
		q := l.queues[m]
		for i, u := range q {
			if u == t {
				q = append(q[:i], q[i+1:]...)
				break
			}
		}
		if len(q) == 0 {
			delete(l.queues, m)
			continue
		}
		l.queues[m] = q
		handed = l.grant(q[0]) || handed
	}
	return handed
}

// grant closes t.ready when t is first in all its queues, and says
// whether it did so now. l.mu is held.
func (l *moduleLocks) grant(t *turn) bool {
	if t.granted {
		return false
	}
	for _, m := range t.modules {
		if q := l.queues[m]; len(q) == 0 || q[0] != t {
			return false
		}
	}
	t.granted = true
	close(t.ready)
	return true
}

// lock queues for modules and waits: the release is the returned func.
func (l *moduleLocks) lock(ctx context.Context, modules []string) (func(), error) {
	t := l.queue(modules)
	if err := l.wait(ctx, t); err != nil {
		return nil, err
	}
	return func() { l.leave(t) }, nil
}
