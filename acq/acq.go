package acq

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/rperr"
	"github.com/rpbus/rpbus/svc"
	"github.com/rpbus/rpbus/wire"
)

// gatherIdle is how long stop waits for one more instance's answer, and
// cancelIdle how long a cancel that no instance has claimed yet waits;
// gatherMax bounds the whole gather.
const (
	gatherIdle = 50 * time.Millisecond
	cancelIdle = 250 * time.Millisecond
	gatherMax  = time.Second
)

// Tracker tracks one instrument's acquisitions in one service instance.
type Tracker struct {
	nc     *nats.Conn
	module string

	mu      sync.Mutex
	running map[string]*Handle // by runKey(board, id)
	early   *Precancels        // by runKey(board, id)
	onStop  []func(board string) bool
	subs    []*nats.Subscription
}

// runKey scopes an acquisition id to its board: the same id may run on
// two boards, and a cancel on one board never reaches the other.
func runKey(board, id string) string { return board + "\x00" + id }

// New returns a tracker for module ("scope", "na", "specan") on nc.
func New(nc *nats.Conn, module string) *Tracker {
	return &Tracker{nc: nc, module: module, running: map[string]*Handle{}, early: NewDefaultPrecancels()}
}

// newID is an acquisition id nobody can guess ahead, so nobody can cancel
// an acquisition before its reply names it.
func (t *Tracker) newID() string { return t.module + "-" + RandomID() }

// RandomID is 96 random bits in hex: an id part nobody can guess from the
// ids seen before.
func RandomID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Module returns the instrument's module name.
func (t *Tracker) Module() string { return t.module }

// Handle is one acquisition in progress as the tracker holds it: its id,
// its board, and its context, which cancel and stop end.
type Handle struct {
	ID    string
	Board string

	ctx    context.Context
	cancel context.CancelCauseFunc
	t      *Tracker
}

// MaxIDLength bounds a client-chosen acquisition id.
const MaxIDLength = 128

// Start registers a new acquisition on board under id, or under a new id
// when id is "". A client chooses the id itself when it wants to cancel
// before the reply arrives; an id already running here is a 400. The
// context ends when parent does, when the acquisition is cancelled or
// stopped, or when End is called.
func (t *Tracker) Start(parent context.Context, board, id string) (*Handle, error) {
	if len(id) > MaxIDLength {
		return nil, rperr.Invalidf("id: %d characters, at most %d", len(id), MaxIDLength)
	}
	if id == "" {
		id = t.newID()
	}
	ctx, cancel := context.WithCancelCause(parent)
	a := &Handle{ID: id, Board: board, ctx: ctx, cancel: cancel, t: t}
	key := runKey(board, id)
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, dup := t.running[key]; dup {
		cancel(nil)
		return nil, rperr.Invalidf("id: acquisition %q is already running on board %s", id, board)
	}
	t.running[key] = a
	if t.early.Take(key) {
		cancel(rperr.Errorf(rperr.ECancelled, "acquisition %s cancelled by %s.cancel", id, t.module))
	}
	return a, nil
}

// Context is the acquisition's context.
func (a *Handle) Context() context.Context { return a.ctx }

// Err is why the acquisition's context ended, as an *rperr.Error (nil while
// it runs).
func (a *Handle) Err() error {
	if a.ctx.Err() == nil {
		return nil
	}
	cause := context.Cause(a.ctx)
	var re *rperr.Error
	if errors.As(cause, &re) {
		return re
	}
	if errors.Is(cause, context.DeadlineExceeded) {
		return rperr.Errorf(rperr.ETimeout, "acquisition %s timed out", a.ID)
	}
	return rperr.Errorf(rperr.ECancelled, "acquisition %s cancelled: %v", a.ID, cause)
}

// End unregisters the acquisition and releases its context.
func (a *Handle) End() {
	a.t.mu.Lock()
	delete(a.t.running, runKey(a.Board, a.ID))
	a.t.mu.Unlock()
	a.cancel(rperr.Errorf(rperr.ECancelled, "acquisition %s ended", a.ID))
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

// PublishFailure sends the done event of an acquisition that failed: what
// is known of it (at least its id) in msgpack, with the error headers of
// an error reply, so a listener learns every end, not only the successes.
func (t *Tracker) PublishFailure(board string, v any, err error) error {
	data, merr := wire.Msgpack.Marshal(v)
	if merr != nil {
		return merr
	}
	h := wire.Msgpack.Header()
	code, desc := wire.ErrorHeaders(err)
	h.Set(micro.ErrorCodeHeader, code)
	h.Set(micro.ErrorHeader, desc)
	return t.nc.PublishMsg(&nats.Msg{Subject: api.Subject(board, t.module, "done"), Data: data, Header: h})
}

// AddEndpoints serves cancel and stop for every board on s, and the
// internal subject every instance answers them on.
func (t *Tracker) AddEndpoints(s *svc.Service) error {
	if err := s.Add("cancel", "rp.*."+t.module+".cancel", t.handleCancel, map[string]string{
		"request": `{"id":"<the acquisition's id>"}`, "reply": `{"id":"...","cancelled":true}`,
	}); err != nil {
		return err
	}
	if err := s.Add("stop", "rp.*."+t.module+".stop", t.handleStop, map[string]string{
		"request": "empty", "reply": `{"cancelled":2,"continuous":true}`,
	}); err != nil {
		return err
	}
	sub, err := t.nc.Subscribe("_RPBUS."+t.module+".*.*", func(m *nats.Msg) {
		parts := strings.Split(m.Subject, ".")
		verb, board := parts[2], parts[3]
		var r api.StopReply
		switch verb {
		case "cancel":
			var c api.Cancel
			if wire.Msgpack.Unmarshal(m.Data, &c) == nil && t.cancelLocal(board, c.ID) {
				r.Cancelled = 1
			}
		case "stop":
			r = t.stopLocal(board)
		default:
			return
		}
		if data, err := wire.Msgpack.Marshal(r); err == nil {
			_ = m.Respond(data)
		}
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
		a.cancel(rperr.Errorf(rperr.ECancelled, "acquisition %s cancelled: the %s service is stopping", a.ID, t.module))
	}
}

func (t *Tracker) cancelLocal(board, id string) bool {
	key := runKey(board, id)
	t.mu.Lock()
	a := t.running[key]
	if a == nil {
		t.early.Add(key)
	}
	t.mu.Unlock()
	if a == nil {
		return false
	}
	a.cancel(rperr.Errorf(rperr.ECancelled, "acquisition %s cancelled by %s.cancel", id, t.module))
	return true
}

func (t *Tracker) handleCancel(ctx context.Context, req *svc.Request) (any, error) {
	var c api.Cancel
	if err := req.Decode(&c); err != nil {
		return nil, err
	}
	if c.ID == "" {
		return nil, rperr.Invalidf("id: the id of the acquisition to cancel is required")
	}
	if len(c.ID) > MaxIDLength {
		return nil, rperr.Invalidf("id: %d characters, at most %d", len(c.ID), MaxIDLength)
	}
	r, err := t.gather(req.Board(), "cancel", c)
	if err != nil {
		return nil, err
	}
	if r.Cancelled == 0 {
		return nil, rperr.Errorf(rperr.ENotFound, "id: no running %s acquisition %q on board %s", t.module, c.ID, req.Board())
	}
	return api.CancelReply{ID: c.ID, Cancelled: true}, nil
}

func (t *Tracker) stopLocal(board string) api.StopReply {
	t.mu.Lock()
	var r api.StopReply
	for _, a := range t.running {
		if a.Board == board {
			a.cancel(rperr.Errorf(rperr.ECancelled, "acquisition %s cancelled by %s.stop", a.ID, t.module))
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

func (t *Tracker) handleStop(ctx context.Context, req *svc.Request) (any, error) {
	if err := req.DecodeEmpty(); err != nil {
		return nil, err
	}
	return t.gather(req.Board(), "stop", nil)
}

// gather asks every instance of the service, this one included, on
// _RPBUS.<module>.<verb>.<board> and sums their answers. It waits until
// no further answer came for gatherIdle.
func (t *Tracker) gather(board, verb string, body any) (api.StopReply, error) {
	var total api.StopReply
	data, err := wire.Msgpack.Marshal(body)
	if err != nil {
		return total, rperr.Errorf(rperr.EInternal, "%s: %v", verb, err)
	}
	inbox := t.nc.NewRespInbox()
	sub, err := t.nc.SubscribeSync(inbox)
	if err != nil {
		return total, rperr.Errorf(rperr.EUnavailable, "%s: %v", verb, err)
	}
	defer sub.Unsubscribe()
	if err := t.nc.PublishRequest("_RPBUS."+t.module+"."+verb+"."+board, inbox, data); err != nil {
		return total, rperr.Errorf(rperr.EUnavailable, "%s: %v", verb, err)
	}
	deadline := time.Now().Add(gatherMax)
	for n := 0; ; n++ {
		wait := gatherIdle
		if verb == "cancel" {
			// An id runs on one instance only: a cancel ends when that one
			// says so, and until then waits longer for a busy owner that
			// answers well after the others.
			if total.Cancelled > 0 {
				break
			}
			wait = cancelIdle
		}
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
