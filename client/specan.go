package client

import (
	"context"

	"github.com/nats-io/nuid"

	"github.com/rpbus/rpbus/api"
)

// Specan is a board's spectrum analyzer (rp.<board>.specan.*).
type Specan struct{ b *Board }

// Specan returns the board's spectrum analyzer.
func (b *Board) Specan() *Specan { return &Specan{b: b} }

// Single asks for one averaged spectrum and waits for it: SpecanWait(s),
// or until ctx ends. s.ID is filled in when empty; ending ctx
// sends specan.cancel for it and waits for the service's answer, so the
// scope is no longer busy with this spectrum when Single returns.
func (sa *Specan) Single(ctx context.Context, s api.SpecanSettings) (api.Spectrum, error) {
	if s.ID == "" {
		s.ID = nuid.Next()
	}
	return await[api.Spectrum](ctx, sa.b.c, sa.b.subject("specan", "single"), s, SpecanWait(s), func(cctx context.Context) {
		_, _ = sa.Cancel(cctx, s.ID)
	}, sa.b.c.servicePing("specan"))
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
