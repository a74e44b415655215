package client

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nuid"

	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/rp"
	"github.com/rpbus/rpbus/wire"
)

// Specan is a board's spectrum analyzer (rp.<board>.specan.*).
type Specan struct{ b *Board }

// Specan returns the board's spectrum analyzer.
func (b *Board) Specan() *Specan { return &Specan{b: b} }

// specanGrace is how long Single waits beyond the service's own timeout,
// and how long it waits for the service's answer after a cancel.
const specanGrace = 2 * time.Second

// Single asks for one averaged spectrum and waits for it. It waits as long
// as the service may take (s.Timeout, or the service's default of 5 s plus
// twice the acquisition time, 16384 * decimation * trace_average / 125 MHz)
// plus a grace, or until ctx ends. s.ID is filled in when empty; ending ctx
// sends specan.cancel for it and waits for the service's answer, so the
// scope is no longer busy with this spectrum when Single returns.
func (sa *Specan) Single(ctx context.Context, s api.SpecanSettings) (api.Spectrum, error) {
	if s.ID == "" {
		s.ID = nuid.Next()
	}
	// The request outlives ctx's cancellation by specanGrace, so the
	// service's 499 (or a late success) still arrives.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), SpecanTimeout(s)+specanGrace)
	defer cancel()
	type result struct {
		sp  api.Spectrum
		err error
	}
	done := make(chan result, 1)
	go func() {
		var sp api.Spectrum
		err := sa.b.c.Request(rctx, sa.b.subject("specan", "single"), s, &sp)
		done <- result{sp, err}
	}()
	select {
	case res := <-done:
		return res.sp, res.err
	case <-ctx.Done():
	}
	cctx, ccancel := context.WithTimeout(context.WithoutCancel(ctx), specanGrace)
	defer ccancel()
	_, _ = sa.Cancel(cctx, s.ID)
	select {
	case res := <-done:
		if res.err == nil {
			return res.sp, nil // it finished before the cancel reached it
		}
	case <-cctx.Done():
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return api.Spectrum{}, rp.Errorf(rp.ETimeout, "spectrum %s: no reply in time", s.ID)
	}
	return api.Spectrum{}, rp.Errorf(rp.ECancelled, "spectrum %s cancelled", s.ID)
}

// SpecanTimeout is how long the service may take for s: s.Timeout, or its
// default 5 s + 2 x trace_average x 16384 x decimation / 125 MHz.
func SpecanTimeout(s api.SpecanSettings) time.Duration {
	if s.Timeout > 0 {
		return time.Duration(s.Timeout * float64(time.Second))
	}
	dec := 8
	switch {
	case s.Decimation > 0:
		dec = s.Decimation
	case s.Span > 0:
		// as the service: the smallest sample rate 125 MHz/2^k >= span
		dec = 1
		for dec < 1<<16 && rp.Clock/float64(2*dec) >= s.Span {
			dec *= 2
		}
	}
	n := max(s.TraceAverage, 1)
	acq := float64(n) * 16384 * float64(dec) / rp.Clock
	return 5*time.Second + time.Duration(2*acq*float64(time.Second))
}

// Cancel cancels the running spectrum id; its requester gets 499.
func (sa *Specan) Cancel(ctx context.Context, id string) (api.CancelReply, error) {
	var r api.CancelReply
	err := sa.b.c.Request(ctx, sa.b.subject("specan", "cancel"), api.Cancel{ID: id}, &r)
	return r, err
}

// Stop cancels every spectrum running on the board.
func (sa *Specan) Stop(ctx context.Context) (api.StopReply, error) {
	var r api.StopReply
	err := sa.b.c.Request(ctx, sa.b.subject("specan", "stop"), struct{}{}, &r)
	return r, err
}

// Progress delivers the board's specan.progress events (at least every
// 100 ms while a spectrum runs) until ctx ends; the channel is then closed.
func (sa *Specan) Progress(ctx context.Context) (<-chan api.Progress, error) {
	return specanEvents[api.Progress](ctx, sa.b, "progress")
}

// Done delivers the board's finished spectra (specan.done) until ctx ends;
// the channel is then closed. Failed spectra publish no done event.
func (sa *Specan) Done(ctx context.Context) (<-chan api.Spectrum, error) {
	return specanEvents[api.Spectrum](ctx, sa.b, "done")
}

// specanEventBuffer is how many decoded events a channel holds before the
// subscription waits for the reader.
const specanEventBuffer = 64

func specanEvents[T any](ctx context.Context, b *Board, verb string) (<-chan T, error) {
	subject := b.subject("specan", verb)
	ch := make(chan T, specanEventBuffer)
	done := make(chan struct{})
	var mu sync.Mutex // held by the callback while it may send on ch
	closed := false
	sub, err := b.c.nc.Subscribe(subject, func(m *nats.Msg) {
		var v T
		if wire.CodecOf(m.Header).Unmarshal(m.Data, &v) != nil {
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
	if err := b.c.nc.Flush(); err != nil { // subscribed before the caller starts a spectrum
		_ = sub.Unsubscribe()
		return nil, rp.Errorf(rp.EUnavailable, "subscribing to %s: %v", subject, err)
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
