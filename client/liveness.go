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
//
// A killed process is certain news: the server drops its subscriptions
// and the check gets "no responders". A check that merely goes unanswered
// is not: a loaded machine (a board's two small cores busy, a PC building)
// can delay a live service's answer past probeTimeout. Such silence ends
// the call only once it has lasted probeSilence, which still catches a
// hung process or a board whose link died without a close long before
// the server's own pings would, yet never takes a slow service for dead.
const (
	probeAfter   = 500 * time.Millisecond
	probeEvery   = 500 * time.Millisecond
	probeTimeout = time.Second
	probeMisses  = 2
	probeSilence = 10 * time.Second
)

// silence marks a check that got no answer in time, as opposed to one
// that learned the dependency is gone.
type silence struct{ error }

func (s silence) Unwrap() error { return s.error }

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

	silentSince time.Time // the first unanswered check of a run of them; owned by fire

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
	err := w.p(ctx)
	var quiet silence
	switch {
	case err == nil || ctx.Err() != nil:
		w.misses, w.silentSince = 0, time.Time{}
	case errors.As(err, &quiet):
		w.misses = 0
		if w.silentSince.IsZero() {
			w.silentSince = time.Now().Add(-probeTimeout)
		}
		if time.Since(w.silentSince) >= probeSilence {
			w.gone(err)
			return
		}
	default:
		w.silentSince = time.Time{}
		if w.misses++; w.misses >= probeMisses {
			w.gone(err)
			return
		}
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
			return silence{rperr.Errorf(rperr.EUnavailable, "the %s service has not answered %s for %v", name, subject, probeSilence)}
		}
		return nil
	}
}

// heldProbe asks the board's bridge whether it still holds transaction
// id (hw.held): it is gone when nobody answers or it does not answer
// within probeTimeout, and it lost the transaction (it restarted) when it
// answers that it does not hold it. A reply on its way when the bridge
// answers "not held" arrives before the next check: only two misses in a
// row count.
func (b *Board) heldProbe(id string) probe {
	return func(ctx context.Context) error {
		if err := b.c.connLost(); err != nil || !b.c.nc.IsConnected() {
			return err
		}
		subject := b.subject("hw", "held")
		pctx, cancel := context.WithTimeout(ctx, probeTimeout)
		defer cancel()
		var r api.TxnHeldReply
		err := b.c.Request(pctx, subject, api.TxnCancel{ID: id}, &r)
		switch code := rperr.ErrorCode(err); {
		case err == nil && !r.Held:
			return rperr.Errorf(rperr.EUnavailable, "the hardware bridge of board %s no longer holds transaction %s: it restarted, and the transaction is lost", b.Name, id)
		case err == nil:
			return nil
		case code == rperr.ENotFound:
			return rperr.Errorf(rperr.EUnavailable, "the hardware bridge of board %s is gone: nobody answers %s", b.Name, subject)
		case ctx.Err() == nil && b.c.nc.IsConnected() && code == rperr.ETimeout:
			return silence{rperr.Errorf(rperr.EUnavailable, "the hardware bridge of board %s has not answered %s for %v", b.Name, subject, probeSilence)}
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
