package client

import (
	"context"
	"time"

	"github.com/nats-io/nuid"

	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/regmap"
)

// Specan is a board's spectrum analyzer (rp.<board>.specan.*).
type Specan struct{ b *Board }

// Specan returns the board's spectrum analyzer.
func (b *Board) Specan() *Specan { return &Specan{b: b} }

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
	return await[api.Spectrum](ctx, sa.b.c, sa.b.subject("specan", "single"), s, SpecanTimeout(s), func(cctx context.Context) {
		_, _ = sa.Cancel(cctx, s.ID)
	}, sa.b.c.servicePing("specan"))
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
		for dec < 1<<16 && regmap.Clock/float64(2*dec) >= s.Span {
			dec *= 2
		}
	}
	n := max(s.TraceAverage, 1)
	acq := float64(n) * 16384 * float64(dec) / regmap.Clock
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
	return events[api.Progress](ctx, sa.b, "specan", "progress")
}

// Done delivers the board's specan.done events until ctx ends; the channel
// is then closed.
func (sa *Specan) Done(ctx context.Context) (<-chan Done[api.Spectrum], error) {
	return doneEvents[api.Spectrum](ctx, sa.b, "specan")
}
