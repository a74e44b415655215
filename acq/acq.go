package acq

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/rp"
	"github.com/rpbus/rpbus/svc"
	"github.com/rpbus/rpbus/wire"
)

// gatherIdle is how long stop waits for one more instance's answer;
// gatherMax bounds the whole gather.
const (
	gatherIdle = 50 * time.Millisecond
	gatherMax  = time.Second
)

// Tracker tracks one instrument's acquisitions in one service instance.
type Tracker struct {
	nc       *nats.Conn
	module   string
	instance string
	seq      atomic.Uint64

	mu      sync.Mutex
	running map[string]*Acq
	onStop  []func(board string) bool
	subs    []*nats.Subscription
}

// New returns a tracker for module ("scope", "na", "specan") on nc.
func New(nc *nats.Conn, module string) *Tracker {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return &Tracker{nc: nc, module: module, instance: hex.EncodeToString(b[:]), running: map[string]*Acq{}}
}

// Module returns the instrument's module name.
func (t *Tracker) Module() string { return t.module }

// Acq is one acquisition in progress.
type Acq struct {
	ID    string
	Board string

	ctx    context.Context
	cancel context.CancelCauseFunc
	t      *Tracker
}

// Start registers a new acquisition on board. Its context ends when
// parent does, when it is cancelled or stopped, or when End is called.
func (t *Tracker) Start(parent context.Context, board string) *Acq {
	ctx, cancel := context.WithCancelCause(parent)
	a := &Acq{
		ID:     fmt.Sprintf("%s-%s-%d", t.module, t.instance, t.seq.Add(1)),
		Board:  board,
		ctx:    ctx,
		cancel: cancel,
		t:      t,
	}
	t.mu.Lock()
	t.running[a.ID] = a
	t.mu.Unlock()
	return a
}

// Context is the acquisition's context.
func (a *Acq) Context() context.Context { return a.ctx }

// Err is why the acquisition's context ended, as an *rp.Error (nil while
// it runs).
func (a *Acq) Err() error {
	if a.ctx.Err() == nil {
		return nil
	}
	cause := context.Cause(a.ctx)
	var re *rp.Error
	if errors.As(cause, &re) {
		return re
	}
	if errors.Is(cause, context.DeadlineExceeded) {
		return rp.Errorf(rp.ETimeout, "acquisition %s timed out", a.ID)
	}
	return rp.Errorf(rp.ECancelled, "acquisition %s cancelled: %v", a.ID, cause)
}

// End unregisters the acquisition and releases its context.
func (a *Acq) End() {
	a.t.mu.Lock()
	delete(a.t.running, a.ID)
	a.t.mu.Unlock()
	a.cancel(rp.Errorf(rp.ECancelled, "acquisition %s ended", a.ID))
}

// OnStop registers f, called with the board on every stop request; it
// returns whether it ended continuous mode there.
func (t *Tracker) OnStop(f func(board string) bool) {
	t.mu.Lock()
	t.onStop = append(t.onStop, f)
	t.mu.Unlock()
}

// Publish sends an event on rp.<board>.<module>.<verb> in msgpack.
func (t *Tracker) Publish(board, verb string, v any) error {
	data, err := wire.Msgpack.Marshal(v)
	if err != nil {
		return err
	}
	return t.nc.PublishMsg(&nats.Msg{Subject: api.Subject(board, t.module, verb), Data: data, Header: wire.Msgpack.Header()})
}

// AddEndpoints serves cancel and stop for every board on s, and the
// internal subjects other instances forward to.
func (t *Tracker) AddEndpoints(s *svc.Service) error {
	if err := s.Add("cancel", "rp.*."+t.module+".cancel", t.handleCancel, map[string]string{
		"request": `{"id":"` + t.module + `-1a2b3c4d-7"}`, "reply": `{"id":"...","cancelled":true}`,
	}); err != nil {
		return err
	}
	if err := s.Add("stop", "rp.*."+t.module+".stop", t.handleStop, map[string]string{
		"request": "empty", "reply": `{"cancelled":2,"continuous":true}`,
	}); err != nil {
		return err
	}
	sub, err := t.nc.Subscribe(t.internal("cancel", t.instance), func(m *nats.Msg) {
		var c api.Cancel
		_ = wire.CodecOf(m.Header).Unmarshal(m.Data, &c)
		r, err := t.cancelLocal(c.ID)
		respond(m, r, err)
	})
	if err != nil {
		return err
	}
	t.subs = append(t.subs, sub)
	sub, err = t.nc.Subscribe(t.internal("stop", "*"), func(m *nats.Msg) {
		board := m.Subject[strings.LastIndex(m.Subject, ".")+1:]
		respond(m, t.stopLocal(board), nil)
	})
	if err != nil {
		return err
	}
	t.subs = append(t.subs, sub)
	return nil
}

// Close drops the internal subscriptions and cancels what still runs.
func (t *Tracker) Close() {
	for _, s := range t.subs {
		_ = s.Unsubscribe()
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, a := range t.running {
		a.cancel(rp.Errorf(rp.ECancelled, "acquisition %s cancelled: the %s service is stopping", a.ID, t.module))
	}
}

func (t *Tracker) internal(verb, token string) string {
	return "_RPBUS." + t.module + "." + verb + "." + token
}

func respond(m *nats.Msg, v any, err error) {
	if m.Reply == "" {
		return
	}
	if err != nil {
		code, desc := wire.ErrorHeaders(err)
		_ = m.RespondMsg(&nats.Msg{Header: nats.Header{"Nats-Service-Error-Code": {code}, "Nats-Service-Error": {desc}}})
		return
	}
	data, _ := wire.Msgpack.Marshal(v)
	_ = m.RespondMsg(&nats.Msg{Data: data, Header: wire.Msgpack.Header()})
}

func (t *Tracker) cancelLocal(id string) (api.CancelReply, error) {
	t.mu.Lock()
	a := t.running[id]
	t.mu.Unlock()
	if a == nil {
		return api.CancelReply{}, rp.Errorf(rp.ENotFound, "id: no running %s acquisition %q", t.module, id)
	}
	a.cancel(rp.Errorf(rp.ECancelled, "acquisition %s cancelled by %s.cancel", id, t.module))
	return api.CancelReply{ID: id, Cancelled: true}, nil
}

func (t *Tracker) handleCancel(ctx context.Context, req *svc.Request) (any, error) {
	var c api.Cancel
	if err := req.Decode(&c); err != nil {
		return nil, err
	}
	parts := strings.Split(c.ID, "-")
	if len(parts) != 3 || parts[0] != t.module {
		return nil, rp.Invalidf("id: %q is not a %s acquisition id (%s-<instance>-<n>)", c.ID, t.module, t.module)
	}
	if parts[1] == t.instance {
		return t.cancelLocal(c.ID)
	}
	data, _ := wire.Msgpack.Marshal(c)
	rctx, cancel := context.WithTimeout(ctx, gatherMax)
	defer cancel()
	m, err := t.nc.RequestMsgWithContext(rctx, &nats.Msg{Subject: t.internal("cancel", parts[1]), Data: data, Header: wire.Msgpack.Header()})
	if errors.Is(err, nats.ErrNoResponders) {
		return nil, rp.Errorf(rp.ENotFound, "id: no running %s acquisition %q (its service instance is gone)", t.module, c.ID)
	}
	if err != nil {
		return nil, rp.Errorf(rp.EUnavailable, "forwarding cancel of %s: %v", c.ID, err)
	}
	if err := wire.ErrorFromMsg(m); err != nil {
		return nil, err
	}
	var reply api.CancelReply
	if err := wire.Msgpack.Unmarshal(m.Data, &reply); err != nil {
		return nil, rp.Errorf(rp.EInternal, "cancel reply: %v", err)
	}
	return reply, nil
}

func (t *Tracker) stopLocal(board string) api.StopReply {
	t.mu.Lock()
	var r api.StopReply
	for _, a := range t.running {
		if a.Board == board {
			a.cancel(rp.Errorf(rp.ECancelled, "acquisition %s cancelled by %s.stop", a.ID, t.module))
			r.Cancelled++
		}
	}
	hooks := append([]func(string) bool(nil), t.onStop...)
	t.mu.Unlock()
	for _, f := range hooks {
		if f(board) {
			r.Continuous = true
		}
	}
	return r
}

// handleStop asks every instance, this one included, to stop the board
// and sums their answers.
func (t *Tracker) handleStop(ctx context.Context, req *svc.Request) (any, error) {
	board := req.Board()
	inbox := t.nc.NewRespInbox()
	sub, err := t.nc.SubscribeSync(inbox)
	if err != nil {
		return nil, rp.Errorf(rp.EUnavailable, "stop: %v", err)
	}
	defer sub.Unsubscribe()
	if err := t.nc.PublishRequest(t.internal("stop", board), inbox, nil); err != nil {
		return nil, rp.Errorf(rp.EUnavailable, "stop: %v", err)
	}
	var total api.StopReply
	deadline := time.Now().Add(gatherMax)
	for n := 0; ; n++ {
		wait := gatherIdle
		if n == 0 {
			wait = gatherMax // at least this instance answers
		}
		wait = min(wait, time.Until(deadline))
		if wait <= 0 {
			break
		}
		m, err := sub.NextMsg(wait)
		if err != nil {
			break
		}
		var r api.StopReply
		if wire.Msgpack.Unmarshal(m.Data, &r) == nil {
			total.Cancelled += r.Cancelled
			total.Continuous = total.Continuous || r.Continuous
		}
	}
	return total, nil
}
