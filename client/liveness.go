package client

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/rperr"
)

// A call that has waited probeAfter checks, every probeEvery, that the
// service it waits for is still there; after probeMisses failed checks in
// a row it ends with a 503 that names what is gone. An acquisition of
// any length thus learns within about 1.5 s that its bridge (or scope)
// was killed, instead of at its timeout. Two misses, not one, so that a
// service reconnecting to another cluster node is not taken for dead.
const (
	probeAfter   = 500 * time.Millisecond
	probeEvery   = 500 * time.Millisecond
	probeTimeout = time.Second
	probeMisses  = 2
)

// probe checks a dependency: nil while it is there, an *rperr.Error of
// code unavailable saying what is gone.
type probe func(ctx context.Context) error

// watch runs p every probeEvery from probeAfter on, until the returned
// stop is called; after probeMisses failures in a row it calls gone with
// the last, once, and stops. Most calls end before probeAfter: until then
// a watch is a timer and little else.
func watch(p probe, gone func(error)) (stop func()) {
	w := &watcher{p: p, gone: gone}
	w.timer = time.AfterFunc(time.Hour, w.fire)
	w.timer.Reset(probeAfter) // armed after the field is set: fire reads it
	return w.stop
}

type watcher struct {
	p      probe
	gone   func(error)
	timer  *time.Timer
	misses int // owned by fire, which runs once at a time

	mu      sync.Mutex
	stopped bool
	ctx     context.Context // made at the first probe; stop cancels it
	cancel  context.CancelFunc
}

func (w *watcher) fire() {
	w.mu.Lock()
	if w.stopped {
		w.mu.Unlock()
		return
	}
	if w.ctx == nil {
		w.ctx, w.cancel = context.WithCancel(context.Background())
	}
	ctx := w.ctx
	w.mu.Unlock()
	if err := w.p(ctx); err != nil && ctx.Err() == nil {
		if w.misses++; w.misses >= probeMisses {
			w.gone(err)
			return
		}
	} else {
		w.misses = 0
	}
	w.timer.Reset(probeEvery)
}

func (w *watcher) stop() {
	w.timer.Stop()
	w.mu.Lock()
	w.stopped = true
	if w.cancel != nil {
		w.cancel()
	}
	w.mu.Unlock()
}

// servicePing probes a micro service by name: it is gone when no instance
// answers $SRV.PING.<name>. With several instances in a queue group, one
// that dies while another lives goes unnoticed (its requests wait for
// their timeout).
func (c *Client) servicePing(name string) probe {
	return func(ctx context.Context) error {
		subject := "$SRV.PING." + name
		if err := c.connLost(); err != nil || !c.nc.IsConnected() {
			return err // a reconnecting connection is no sign of the service: wait
		}
		pctx, cancel := context.WithTimeout(ctx, probeTimeout)
		defer cancel()
		_, err := c.nc.RequestWithContext(pctx, subject, nil)
		switch {
		case errors.Is(err, nats.ErrNoResponders):
			return rperr.Errorf(rperr.EUnavailable, "the %s service is gone: no instance answers %s", name, subject)
		case err != nil && ctx.Err() == nil && c.nc.IsConnected():
			return rperr.Errorf(rperr.EUnavailable, "the %s service did not answer %s within %v", name, subject, probeTimeout)
		}
		return nil
	}
}

// bridges remembers, per board, the bridge instance that last answered:
// every transaction reply and hw.info names it.
type bridges struct {
	mu sync.Mutex
	by map[string]string
}

func (b *bridges) get(board string) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.by[board]
}

func (b *bridges) set(board, instance string) {
	if instance == "" {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.by == nil {
		b.by = map[string]string{}
	}
	b.by[board] = instance
}

// bridgeProbe probes the board's bridge with hw.info: it is gone when
// nobody answers, when it does not answer within probeTimeout, or when a
// bridge answers that is not the one known when the transaction was sent
// (it restarted, and the transaction died with the old one).
func (b *Board) bridgeProbe(known string) probe {
	return func(ctx context.Context) error {
		subject := b.subject("hw", "info")
		if err := b.c.connLost(); err != nil || !b.c.nc.IsConnected() {
			return err
		}
		pctx, cancel := context.WithTimeout(ctx, probeTimeout)
		defer cancel()
		var info api.HWInfo
		err := b.c.Request(pctx, subject, struct{}{}, &info)
		switch code := rperr.ErrorCode(err); {
		case err == nil && known != "" && info.Instance != "" && info.Instance != known:
			return rperr.Errorf(rperr.EUnavailable, "the hardware bridge of board %s restarted (instance %s, was %s): the transaction it held is lost", b.Name, info.Instance, known)
		case err == nil:
			b.c.bridges.set(b.Name, info.Instance)
			return nil
		case code == rperr.ENotFound:
			return rperr.Errorf(rperr.EUnavailable, "the hardware bridge of board %s is gone: nobody answers %s", b.Name, subject)
		case ctx.Err() == nil && b.c.nc.IsConnected() && code == rperr.ETimeout:
			return rperr.Errorf(rperr.EUnavailable, "the hardware bridge of board %s did not answer %s within %v", b.Name, subject, probeTimeout)
		}
		return nil
	}
}

// connLost is an error when the client's own connection is closed for
// good: no reply can come any more.
func (c *Client) connLost() error {
	if c.nc.IsClosed() {
		return rperr.Errorf(rperr.EUnavailable, "the connection to NATS is closed")
	}
	return nil
}

// goneError is what a call ends with when its dependency is gone.
func goneError(subject string, err error) error {
	return rperr.Errorf(rperr.EUnavailable, "%s: %s", subject, fmt.Sprint(rperr.ErrorMessage(err)))
}
