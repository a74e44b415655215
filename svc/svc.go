package svc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
	"github.com/nats-io/nuid"

	"github.com/rpbus/rpbus/rperr"
	"github.com/rpbus/rpbus/wire"
)

// ErrConfigValidation is wrapped by every configuration error of New.
var ErrConfigValidation = errors.New("svc: invalid configuration")

// Handler answers one request: the returned value is encoded with the
// request's codec; a returned error becomes the error reply. A handler must
// return when ctx ends: on a hard stop, or when the requester is gone
// (ErrRequesterGone).
type Handler func(ctx context.Context, req *Request) (any, error)

// Raw is a reply already encoded; svc sends it as it is, then calls
// Release (when set) so the handler can reuse the bytes.
type Raw struct {
	Data    []byte
	Header  nats.Header
	Release func()
}

// ReplyFirst is a reply value whose Then runs once Reply has been sent:
// an event that repeats the result (a done event) goes out behind the
// requester's bytes instead of holding them up.
type ReplyFirst struct {
	Reply any
	Then  func()
}

// Releaser is a reply value that lends pooled memory: svc calls Release
// once the reply has been encoded and sent.
type Releaser interface {
	Release()
}

// replyBufs recycles the buffers replies are encoded into: nats.go copies
// a message into its own write buffer, so the bytes are free again once
// PublishMsg returns.
var replyBufs = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledReply keeps rare huge buffers out of the pool.
const maxPooledReply = 4 << 20

// Request is one incoming request.
type Request struct {
	// Codec is the encoding the requester asked for.
	Codec wire.Codec
	// Subject is the subject it was sent to, rp.<board>.<module>.<verb>.
	Subject string
	// Received is when svc took it from the subscription.
	Received time.Time
	// Prepared is what the endpoint's Prepare step returned.
	Prepared any

	msg     *nats.Msg
	prepErr error
	ctx     context.Context
	cancel  context.CancelCauseFunc
	watch   *time.Timer // checks that the requester still waits (requester.go)
	svc     *Service
	// owned by check: the checks in a row that found nobody, and the
	// connection's reconnects when it last looked
	misses     int
	reconnects uint64
	detached   atomic.Bool // see Detach
}

// Send sends a message to the requester's reply subject ahead of the
// reply: a part of a streamed answer (api.Txn.Stream), for a requester
// that asked for parts and so takes several messages there.
func (r *Request) Send(data []byte, h nats.Header) error {
	if r.msg.Reply == "" {
		return nil // nobody to send to, as for the reply itself
	}
	return r.svc.reply(r, data, h)
}

// Data returns the raw payload.
func (r *Request) Data() []byte { return r.msg.Data }

// Headers returns the request headers.
func (r *Request) Headers() nats.Header { return r.msg.Header }

// Decode reads the payload into v (empty payloads leave v as it is).
func (r *Request) Decode(v any) error { return r.Codec.Unmarshal(r.msg.Data, v) }

// Board returns the board token of an rp.<board>.<module>.<verb> subject.
func (r *Request) Board() string {
	parts := strings.Split(r.Subject, ".")
	if len(parts) >= 2 {
		return parts[1]
	}
	return ""
}

// Config describes a service.
type Config struct {
	Name        string            // micro service name (letters, digits, - and _)
	Version     string            // semantic version
	Description string            // one line for `nats micro ls`
	Metadata    map[string]string // service metadata (board, backend, ...)
	// MaxInFlight bounds the requests handled at once; 0 means 256.
	MaxInFlight int
	// QueueGroup overrides micro's default queue group "q".
	QueueGroup string
	// Logger receives what the requester must not see, such as a
	// handler's panic with its stack; nil means slog.Default().
	Logger *slog.Logger
}

// Service is a running service whose endpoints are svc Handlers, known
// to `nats micro` (see discovery.go).
type Service struct {
	nc      *nats.Conn
	cfg     Config
	id      string
	started time.Time
	log     *slog.Logger
	sem     chan struct{}
	work    chan func() // hands a request to an idle worker
	ctx     context.Context
	stop    context.CancelFunc
	control []*nats.Subscription // the discovery subjects

	mu        sync.Mutex
	endpoints []*endpoint
	inFlight  int       // requests taken and not yet answered
	lastIn    time.Time // when the last request was taken
	stopped   bool
}

// DefaultQueueGroup is the queue group of every endpoint unless
// Config.QueueGroup says otherwise (micro's default).
const DefaultQueueGroup = "q"

// New registers a service on nc. It does not dial: the caller owns the
// connection.
func New(nc *nats.Conn, cfg Config) (*Service, error) {
	if nc == nil {
		return nil, fmt.Errorf("%w: nil connection", ErrConfigValidation)
	}
	if !nameRE.MatchString(cfg.Name) {
		return nil, fmt.Errorf("%w: name %q: want letters, digits, - and _", ErrConfigValidation, cfg.Name)
	}
	if !versionRE.MatchString(cfg.Version) {
		return nil, fmt.Errorf("%w: version %q is not a semantic version", ErrConfigValidation, cfg.Version)
	}
	if cfg.MaxInFlight < 0 {
		return nil, fmt.Errorf("%w: MaxInFlight %d < 0", ErrConfigValidation, cfg.MaxInFlight)
	}
	if cfg.MaxInFlight == 0 {
		cfg.MaxInFlight = 256
	}
	if cfg.QueueGroup == "" {
		cfg.QueueGroup = DefaultQueueGroup
	}
	if cfg.Metadata == nil {
		cfg.Metadata = map[string]string{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Service{
		nc:      nc,
		cfg:     cfg,
		id:      nuid.Next(),
		started: time.Now().UTC(),
		log:     cfg.Logger,
		sem:     make(chan struct{}, cfg.MaxInFlight),
		work:    make(chan func()),
		ctx:     ctx,
		stop:    cancel,
	}
	if err := s.discover(); err != nil {
		s.unsubscribe()
		cancel()
		return nil, err
	}
	return s, nil
}

// Conn returns the connection the service runs on.
func (s *Service) Conn() *nats.Conn { return s.nc }

// Context ends when the service is hard-stopped.
func (s *Service) Context() context.Context { return s.ctx }

// GCPercent is the collector's target the rpbus binary sets when GOGC is
// not set. Every trace moves a few hundred KiB through buffers that die at
// once while the live heap stays at a few MB, so the default (100)
// collects every few traces; 400 collects a quarter as often for a heap of
// tens of MB. Measured side by side with rpbus bench scope: scope.single
// p90 2.3-3.0 ms -> 1.9 ms.
const GCPercent = 400

// Prepare runs in the subscription callback, in the order requests
// arrive, before the handler's goroutine starts: a quick step (decode,
// validate, take a place in a queue) whose result becomes the request's
// Prepared value; an error becomes the reply and the handler is skipped.
type Prepare func(req *Request) (any, error)

// Add serves subject with h under the endpoint name (no dots allowed).
// Metadata values describe the endpoint for `nats micro info`.
func (s *Service) Add(name, subject string, h Handler, metadata map[string]string) error {
	return s.AddPrepared(name, subject, nil, h, metadata)
}

// AddPrepared is Add with a Prepare step run in arrival order.
func (s *Service) AddPrepared(name, subject string, prep Prepare, h Handler, metadata map[string]string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("%w: endpoint name %q: want letters, digits, - and _", ErrConfigValidation, name)
	}
	if metadata == nil {
		metadata = map[string]string{}
	}
	e := &endpoint{info: micro.EndpointInfo{Name: name, Subject: subject, QueueGroup: s.cfg.QueueGroup, Metadata: metadata},
		data: endpointData{Errors: map[string]int{}}}
	sub, err := s.nc.QueueSubscribe(subject, s.cfg.QueueGroup, func(m *nats.Msg) {
		req := &Request{Codec: wire.CodecOf(m.Header), Subject: m.Subject, Received: time.Now(), msg: m, svc: s}
		s.begin(req)
		if prep != nil {
			req.Prepared, req.prepErr = prep(req)
		}
		s.sem <- struct{}{}
		s.mu.Lock()
		s.inFlight++
		s.lastIn = req.Received
		e.data.InFlight++
		s.mu.Unlock()
		s.dispatch(func() {
			defer func() { <-s.sem }()
			s.serve(e, req, h)
		})
	})
	if err != nil {
		return err
	}
	_ = sub.SetPendingLimits(1<<16, 256<<20)
	e.sub = sub
	s.mu.Lock()
	s.endpoints = append(s.endpoints, e)
	s.mu.Unlock()
	// Make sure the server has the subscription before Add returns, so a
	// request sent right after Start finds a responder.
	return s.nc.Flush()
}

// workerIdle is how long a worker waits for another request before it
// exits.
const workerIdle = 10 * time.Second

// dispatch runs f on an idle worker, or on a new one when none is idle.
// Workers outlive their requests because a fresh goroutine starts with a
// small stack and grows it, copying, on every request, and the bridge's
// and the scope's handlers run deep: a worker's stack has already grown.
func (s *Service) dispatch(f func()) {
	select {
	case s.work <- f:
	default:
		go s.worker(f)
	}
}

func (s *Service) worker(f func()) {
	idle := time.NewTimer(workerIdle)
	defer idle.Stop()
	for {
		f()
		idle.Reset(workerIdle)
		select {
		case f = <-s.work:
		case <-idle.C:
			return
		case <-s.ctx.Done():
			return
		}
	}
}

func (s *Service) serve(e *endpoint, req *Request, h Handler) {
	defer req.end()
	v, err := s.call(req, h)
	if err == nil {
		err = s.respond(req, v)
	}
	if err != nil {
		code, desc := wire.ErrorHeaders(err)
		h := req.Codec.Header()
		h.Set(micro.ErrorHeader, desc)
		h.Set(micro.ErrorCodeHeader, code)
		if rerr := s.reply(req, nil, h); rerr != nil {
			err = rerr
		}
	}
	elapsed := time.Since(req.Received)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inFlight--
	e.data.InFlight--
	e.requests++
	e.processing += elapsed
	if err != nil {
		code, _ := wire.ErrorHeaders(err)
		e.errors++
		e.data.Errors[code]++
		e.lastError = err.Error()
	}
}

// call runs h, turning a panic into an internal error so the requester
// still gets its one reply.
func (s *Service) call(req *Request, h Handler) (v any, err error) {
	defer func() {
		if p := recover(); p != nil {
			// The stack is for the log; the requester learns that it was a
			// bug and where to look, not the service's insides.
			s.log.Error("svc: handler panicked", "subject", req.Subject, "panic", p, "stack", string(debug.Stack()))
			err = rperr.Errorf(rperr.EInternal, "the %s handler failed (a bug; the service's log has the details)", req.Subject)
		}
	}()
	if req.prepErr != nil {
		return nil, req.prepErr
	}
	return h(req.Context(), req)
}

// reply publishes the one reply.
func (s *Service) reply(req *Request, data []byte, h nats.Header) error {
	return s.nc.PublishMsg(&nats.Msg{Subject: req.msg.Reply, Data: data, Header: h})
}

func (s *Service) respond(req *Request, v any) error {
	if rf, ok := v.(ReplyFirst); ok {
		if rf.Then != nil {
			defer rf.Then()
		}
		v = rf.Reply
	}
	if raw, ok := v.(Raw); ok {
		err := s.reply(req, raw.Data, raw.Header)
		if raw.Release != nil {
			raw.Release()
		}
		return err
	}
	if r, ok := v.(Releaser); ok {
		defer r.Release()
	}
	bp := replyBufs.Get().(*[]byte)
	data, err := req.Codec.Append((*bp)[:0], v)
	defer func() {
		if cap(data) <= maxPooledReply {
			*bp = data[:0]
		}
		replyBufs.Put(bp)
	}()
	if err != nil {
		return rperr.Errorf(rperr.EInternal, "encoding reply: %v", err)
	}
	if max := s.nc.MaxPayload(); max > 0 && int64(len(data)) > max {
		return rperr.Invalidf("reply of %d bytes exceeds the server's max payload of %d bytes: ask for less data, or use msgpack", len(data), max)
	}
	return s.reply(req, data, req.Codec.Header())
}

// Stop stops taking requests (micro drains the subscriptions), lets the
// requests in flight finish until ctx ends, then cancels the rest (their
// handlers see Context end and answer "cancelled") and waits for their
// replies.
func (s *Service) Stop(ctx context.Context) error {
	err := s.unsubscribe()
	// A drain is asynchronous: requests already delivered still reach the
	// callback after it returns. Wait until none is in flight and none has
	// arrived for a short quiet spell.
	const quiet = 20 * time.Millisecond
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	deadline := ctx.Done()
	for {
		s.mu.Lock()
		idle := s.inFlight == 0 && time.Since(s.lastIn) > quiet
		s.mu.Unlock()
		if idle {
			break
		}
		select {
		case <-tick.C:
		case <-deadline:
			s.stop() // hard stop: handlers answer "cancelled"
			deadline = nil
		}
	}
	s.stop()
	return err
}

// unsubscribe drains the endpoints' subscriptions (the requests already
// delivered are still served) and drops the discovery subjects, once.
func (s *Service) unsubscribe() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return nil
	}
	s.stopped = true
	var errs []error
	for _, e := range s.endpoints {
		if err := e.sub.Drain(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
			errs = append(errs, fmt.Errorf("svc: draining %s: %w", e.info.Subject, err))
		}
	}
	for _, sub := range s.control {
		_ = sub.Unsubscribe()
	}
	return errors.Join(errs...)
}
