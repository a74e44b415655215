package client

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/rpbus/rpbus/rperr"
	"github.com/rpbus/rpbus/wire"
)

// cancelGrace is how long a cancelled call waits for the service to
// confirm.
const cancelGrace = 2 * time.Second

// await sends req to subject and waits for the reply until timeout (the
// call's deadline: ScopeWait, NAWait, SpecanWait). When ctx ends first it calls cancel, which tells the
// service (scope.cancel, hw.cancel, ...), and then waits for the service's
// own answer: the hardware is free again when await returns. A cancel
// that overtakes its request is remembered by the service, so one is
// enough.
func await[T any](ctx context.Context, c *Client, subject string, req any, timeout time.Duration, cancel func(context.Context), alive probe) (T, error) {
	var v T
	if err := awaitInto(ctx, c, subject, req, timeout, cancel, alive, &v); err != nil {
		var zero T
		return zero, err
	}
	return v, nil
}

// awaitInto is await decoding the reply into *v, whose arrays are reused
// when they are large enough. While it waits, alive (when not nil)
// checks that the service is still there (see watch): a 503 naming what
// is gone ends the wait early.
func awaitInto[T any](ctx context.Context, c *Client, subject string, req any, timeout time.Duration, cancel func(context.Context), alive probe, v *T) error {
	// The request outlives ctx's cancellation, so the service's 499 (or a
	// late success) still arrives; once the service has been told, it
	// gets cancelGrace to answer. The request runs on this goroutine: a
	// hand-off to another per call costs a CPU wake-up on a quiet host.
	rctx, stop := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer stop()
	var told atomic.Bool
	unhook := context.AfterFunc(ctx, func() {
		told.Store(true)
		time.AfterFunc(cancelGrace, stop)
		cctx, ccancel := context.WithTimeout(context.WithoutCancel(ctx), cancelGrace)
		defer ccancel()
		cancel(cctx)
	})
	defer unhook()
	var gone atomic.Pointer[error]
	if alive != nil {
		defer watch(alive, func(err error) { gone.Store(&err); stop() })()
	}
	err := c.Request(rctx, subject, req, v)
	if g := gone.Load(); g != nil && err != nil && !told.Load() {
		return goneError(subject, *g)
	}
	if !told.Load() || err == nil {
		return err // a success that the cancel did not reach is kept
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return rperr.Errorf(rperr.ETimeout, "%s: no reply in time; the request was cancelled", subject)
	}
	return rperr.Errorf(rperr.ECancelled, "%s: cancelled", subject)
}

// eventBuffer is how many decoded events a subscription channel holds
// before the subscription waits for its reader (and NATS, past its own
// pending limits, drops messages: a gap in a trace's Seq).
const eventBuffer = 64

// subscribe delivers the messages on subject, decoded by decode (false:
// skip), on a channel that closes when ctx ends.
func subscribe[T any](ctx context.Context, c *Client, subject string, decode func(*nats.Msg) (T, bool)) (<-chan T, error) {
	ch := make(chan T, eventBuffer)
	done := make(chan struct{})
	var mu sync.Mutex // held by the callback while it may send on ch
	closed := false
	sub, err := c.nc.Subscribe(subject, func(m *nats.Msg) {
		v, ok := decode(m)
		if !ok {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if closed {
			return
		}
		select {
		case ch <- v:
		case <-done:
		}
	})
	if err != nil {
		return nil, requestError(subject, err)
	}
	// Traces are 128 KiB: allow a second or so of them to queue.
	_ = sub.SetPendingLimits(1<<16, 512<<20)
	// The server must know the subscription before the caller starts the
	// acquisition whose events it wants.
	if err := c.nc.Flush(); err != nil {
		_ = sub.Unsubscribe()
		return nil, rperr.Errorf(rperr.EUnavailable, "subscribing to %s: %v", subject, err)
	}
	go func() {
		<-ctx.Done()
		close(done)
		_ = sub.Unsubscribe()
		mu.Lock()
		closed = true
		close(ch)
		mu.Unlock()
	}()
	return ch, nil
}

// events subscribes to rp.<board>.<module>.<verb> events of type T.
func events[T any](ctx context.Context, b *Board, module, verb string) (<-chan T, error) {
	return subscribe(ctx, b.c, b.subject(module, verb), func(m *nats.Msg) (T, bool) {
		var v T
		err := wire.CodecOf(m.Header).Unmarshal(m.Data, &v)
		return v, err == nil && wire.ErrorFromMsg(m) == nil
	})
}

// Done is a done event: the acquisition's result, or Err when it failed
// (then Value holds what the event carried: at least its id).
type Done[T any] struct {
	Value T
	Err   error
}

// doneEvents subscribes to rp.<board>.<module>.done, failures included.
func doneEvents[T any](ctx context.Context, b *Board, module string) (<-chan Done[T], error) {
	return subscribe(ctx, b.c, b.subject(module, "done"), func(m *nats.Msg) (Done[T], bool) {
		var d Done[T]
		d.Err = wire.ErrorFromMsg(m)
		if err := wire.CodecOf(m.Header).Unmarshal(m.Data, &d.Value); err != nil && d.Err == nil {
			return d, false
		}
		return d, true
	})
}
