package svc

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/rpbus/rpbus/rperr"
)

// Requests still running after requesterCheckAfter check, every
// requesterCheckEvery, that their requester still waits for the reply;
// when it has not for requesterMisses checks in a row, the request's
// context ends (cause: ErrRequesterGone), so a queued acquisition is
// dropped before it starts and a running one is cancelled instead of
// holding the board for nobody. Three checks, and none while the
// service's own connection has just come back, so that a requester
// reconnecting to another node, or everyone after a server restart, is
// not taken for gone.
const (
	requesterCheckAfter = time.Second
	requesterCheckEvery = time.Second
	requesterMisses     = 3
	requesterProbeWait  = 300 * time.Millisecond
)

// ErrRequesterGone is the cause of a request's context when nobody waits
// for its reply any more.
var ErrRequesterGone = rperr.Errorf(rperr.ECancelled, "the requester is gone: nobody waits for the reply")

// Context ends when the requester is gone (see ErrRequesterGone), when
// the service is hard-stopped, or once the request is answered.
func (r *Request) Context() context.Context {
	if r.ctx == nil {
		return context.Background()
	}
	return r.ctx
}

// Detach keeps r running when its requester goes: its result outlives
// the requester (an acquisition saved to the curve store is found later
// by its id), so the requester check stops.
func (r *Request) Detach() {
	if r.watch != nil {
		r.detached.Store(true)
		r.watch.Stop()
	}
}

// begin gives r its context and starts watching its requester.
func (s *Service) begin(r *Request) {
	r.ctx, r.cancel = context.WithCancelCause(WithUser(s.ctx, r.User()))
	if probeable(r.msg.Reply) {
		r.reconnects = s.nc.Stats().Reconnects
		// Armed after the fields are set: check reads them.
		r.watch = time.AfterFunc(time.Hour, r.check)
		r.watch.Reset(requesterCheckAfter)
	}
}

// check cancels r when its requester is gone, and checks again later.
func (r *Request) check() {
	if r.ctx.Err() != nil || r.detached.Load() {
		return
	}
	if n := r.svc.nc.Stats().Reconnects; n != r.reconnects {
		r.reconnects, r.misses = n, 0 // interest is being rebuilt: no verdict yet
	} else if r.svc.requesterGone(r.ctx, r.msg.Reply) {
		if r.misses++; r.misses >= requesterMisses && !r.detached.Load() {
			r.svc.log.Info("svc: the requester is gone; cancelling", "subject", r.Subject)
			r.cancel(ErrRequesterGone)
			return
		}
	} else {
		r.misses = 0
	}
	r.watch.Reset(requesterCheckEvery) // end stops it
}

// end releases r's context once it is answered.
func (r *Request) end() {
	if r.watch != nil {
		r.watch.Stop()
	}
	if r.cancel != nil {
		r.cancel(context.Canceled)
	}
}

// probeable says whether reply is an inbox whose requester can be asked
// after: nats.go, nats-py, nats.js and natscli reply to
// <prefix>.<id>.<token> and listen on <prefix>.<id>.*, with a prefix
// that begins with _INBOX (_INBOX_<user> in deploy/).
func probeable(reply string) bool {
	return strings.HasPrefix(reply, "_INBOX") && strings.Count(reply, ".") >= 2
}

// requesterGone asks the server whether anyone listens beside reply: a
// message to a sibling subject (<prefix>.<id>.rpbus-probe, which the
// requester's reply subscription receives and ignores) that nobody
// receives comes back as a no-responders status. It works through
// routes and leaf nodes, whose interest a server knows. Any doubt (a
// timeout, a refused publish, a lost connection) counts as "still there".
func (s *Service) requesterGone(ctx context.Context, reply string) bool {
	if !s.nc.IsConnected() {
		return false
	}
	sibling := reply[:strings.LastIndexByte(reply, '.')] + ".rpbus-probe"
	ctx, cancel := context.WithTimeout(ctx, requesterProbeWait)
	defer cancel()
	_, err := s.nc.RequestMsgWithContext(ctx, &nats.Msg{Subject: sibling})
	return errors.Is(err, nats.ErrNoResponders)
}
