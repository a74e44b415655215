package client

import (
	"context"

	"github.com/nats-io/nuid"

	"github.com/rpbus/rpbus/api"
)

// Scope is a board's oscilloscope (the scope service).
type Scope struct{ b *Board }

// Scope returns the board's oscilloscope.
func (b *Board) Scope() *Scope { return &Scope{b: b} }

// Single acquires one trace and returns it when it is done. Unless ctx
// ends sooner, it waits ScopeWait(s). It names the acquisition
// (s.ID, a new unique id when empty) so that when ctx ends first it can
// send scope.cancel: the service then stops waiting for the trigger and
// frees the board at once.
func (sc *Scope) Single(ctx context.Context, s api.ScopeSettings) (api.ScopeTrace, error) {
	var tr api.ScopeTrace
	err := sc.SingleInto(ctx, s, &tr)
	return tr, err
}

// SingleInto is Single decoding the trace into *tr: its Ch1 and Ch2 are
// reused when they have room for 16384 samples, so a caller that takes
// trace after trace allocates no sample memory per trace.
func (sc *Scope) SingleInto(ctx context.Context, s api.ScopeSettings, tr *api.ScopeTrace) error {
	if s.ID == "" {
		s.ID = nuid.Next()
	}
	*tr = api.ScopeTrace{Ch1: tr.Ch1[:0], Ch2: tr.Ch2[:0]} // nothing stale survives
	return awaitInto(ctx, sc.b.c, sc.b.subject("scope", "single"), s, ScopeWait(s), func(cctx context.Context) {
		_ = sc.Cancel(cctx, s.ID)
	}, sc.b.c.servicePing("scope"), tr)
}

// Continuous starts continuous mode on the board: traces follow on
// rp.<board>.scope.trace (see Traces) until Stop.
func (sc *Scope) Continuous(ctx context.Context, s api.ScopeSettings) (api.ContinuousReply, error) {
	var r api.ContinuousReply
	err := sc.b.c.Request(ctx, sc.b.subject("scope", "continuous"), s, &r)
	return r, err
}

// Cancel cancels the acquisition id; its requester gets rperr.ECancelled. An
// id that is not running gives rperr.ENotFound.
func (sc *Scope) Cancel(ctx context.Context, id string) error {
	return sc.b.c.Request(ctx, sc.b.subject("scope", "cancel"), api.Cancel{ID: id}, nil)
}

// Stop ends continuous mode and cancels the board's queued and running
// acquisitions.
func (sc *Scope) Stop(ctx context.Context) (api.StopReply, error) {
	var r api.StopReply
	err := sc.b.c.Request(ctx, sc.b.subject("scope", "stop"), nil, &r)
	return r, err
}

// Traces subscribes to the continuous traces of the board. The channel
// closes when ctx ends. Seq numbers tell a consumer when it missed a
// trace; a consumer that falls behind by more than the buffer holds up
// the subscription, and NATS then drops messages (a gap in Seq).
func (sc *Scope) Traces(ctx context.Context) (<-chan api.ScopeTrace, error) {
	return events[api.ScopeTrace](ctx, sc.b, "scope", "trace")
}

// Done subscribes to the board's finished single acquisitions
// (rp.<board>.scope.done). The channel closes when ctx ends.
func (sc *Scope) Done(ctx context.Context) (<-chan Done[api.ScopeTrace], error) {
	return doneEvents[api.ScopeTrace](ctx, sc.b, "scope")
}
