package client

import (
	"context"

	"github.com/nats-io/nuid"

	"github.com/rpbus/rpbus/api"
)

// NA is the network analyzer of one board (rp.<board>.na.*).
type NA struct{ b *Board }

// NA returns the board's network analyzer.
func (b *Board) NA() *NA { return &NA{b: b} }

// Single runs one sweep and returns the trace. It waits NAWait(s) unless
// ctx ends first: then it sends na.cancel for the sweep (the id is chosen
// here when s.ID is empty), so the IQ module is freed at once.
func (n *NA) Single(ctx context.Context, s api.NASettings) (api.NATrace, error) {
	if s.ID == "" {
		s.ID = nuid.Next()
	}
	return await[api.NATrace](ctx, n.b.c, n.b.subject("na", "single"), s, NAWait(s), func(cctx context.Context) {
		_, _ = n.Cancel(cctx, s.ID)
	}, n.b.c.servicePing("na"))
}

// Cancel cancels the running sweep id (404 if none runs).
func (n *NA) Cancel(ctx context.Context, id string) (api.CancelReply, error) {
	var r api.CancelReply
	err := n.b.c.Request(ctx, n.b.subject("na", "cancel"), api.Cancel{ID: id}, &r)
	return r, err
}

// Stop cancels every sweep of the board.
func (n *NA) Stop(ctx context.Context) (api.StopReply, error) {
	var r api.StopReply
	err := n.b.c.Request(ctx, n.b.subject("na", "stop"), nil, &r)
	return r, err
}

// Progress delivers the board's na.progress events until ctx ends; the
// channel is then closed.
func (n *NA) Progress(ctx context.Context) (<-chan api.Progress, error) {
	return events[api.Progress](ctx, n.b, "na", "progress")
}

// Done delivers the board's na.done events, failed sweeps included (Err
// set, Value holding their id, board and settings), until ctx ends; the
// channel is then closed.
func (n *NA) Done(ctx context.Context) (<-chan Done[api.NATrace], error) {
	return doneEvents[api.NATrace](ctx, n.b, "na")
}
