package svc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

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

	msg     micro.Request
	prepErr error
	ctx     context.Context
	cancel  context.CancelCauseFunc
	watch   *time.Timer // checks that the requester still waits (requester.go)
	svc     *Service
	// owned by check: the checks in a row that found nobody, and the
	// connection's reconnects when it last looked
	misses     int
	reconnects uint64
}

// Data returns the raw payload.
func (r *Request) Data() []byte { return r.msg.Data() }

// Headers returns the request headers.
func (r *Request) Headers() micro.Headers { return r.msg.Headers() }

// Decode reads the payload into v (empty payloads leave v as it is).
func (r *Request) Decode(v any) error { return r.Codec.Unmarshal(r.msg.Data(), v) }

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

// Service is a running micro service whose endpoints are svc Handlers.
type Service struct {
	nc   *nats.Conn
	log  *slog.Logger
	ms   micro.Service
	sem  chan struct{}
	work chan func() // hands a request to an idle worker
	ctx  context.Context
	stop context.CancelFunc

	mu       sync.Mutex
	stats    map[string]*endpointStats // by subject
	inFlight int                       // requests taken and not yet answered
	lastIn   time.Time                 // when the last request was taken
}

type endpointStats struct {
	InFlight       int            `json:"in_flight"`
	Requests       int            `json:"requests"`
	Errors         map[string]int `json:"errors,omitempty"` // by wire code
	ProcessingTime time.Duration  `json:"processing_time"`
	LastError      string         `json:"last_error,omitempty"`
}

// New registers a micro service on nc. It does not dial: the caller owns
// the connection.
func New(nc *nats.Conn, cfg Config) (*Service, error) {
	if nc == nil {
		return nil, fmt.Errorf("%w: nil connection", ErrConfigValidation)
	}
	if cfg.MaxInFlight < 0 {
		return nil, fmt.Errorf("%w: MaxInFlight %d < 0", ErrConfigValidation, cfg.MaxInFlight)
	}
	if cfg.MaxInFlight == 0 {
		cfg.MaxInFlight = 256
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Service{
		nc:    nc,
		log:   cfg.Logger,
		sem:   make(chan struct{}, cfg.MaxInFlight),
		work:  make(chan func()),
		ctx:   ctx,
		stop:  cancel,
		stats: map[string]*endpointStats{},
	}
	ms, err := micro.AddService(nc, micro.Config{
		Name:         cfg.Name,
		Version:      cfg.Version,
		Description:  cfg.Description,
		Metadata:     cfg.Metadata,
		QueueGroup:   cfg.QueueGroup,
		StatsHandler: s.endpointStats,
	})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("%w: %v", ErrConfigValidation, err)
	}
	s.ms = ms
	return s, nil
}

// Micro returns the underlying micro service (for Info and Stats).
func (s *Service) Micro() micro.Service { return s.ms }

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
	s.mu.Lock()
	s.stats[subject] = &endpointStats{Errors: map[string]int{}}
	s.mu.Unlock()
	err := s.ms.AddEndpoint(name, micro.HandlerFunc(func(mr micro.Request) {
		req := &Request{Codec: wire.CodecOf(nats.Header(mr.Headers())), Subject: mr.Subject(), Received: time.Now(), msg: mr}
		s.begin(req)
		if prep != nil {
			req.Prepared, req.prepErr = prep(req)
		}
		s.sem <- struct{}{}
		s.mu.Lock()
		s.inFlight++
		s.lastIn = req.Received
		s.stats[subject].InFlight++
		s.mu.Unlock()
		s.dispatch(func() {
			defer func() { <-s.sem }()
			s.serve(subject, req, h)
		})
	}),
		micro.WithEndpointSubject(subject),
		micro.WithEndpointMetadata(metadata),
		micro.WithEndpointPendingLimits(1<<16, 256<<20),
	)
	if err != nil {
		return err
	}
	// Make sure the server has the subscription before Add returns, so a
	// request sent right after Start finds a responder.
	return s.nc.Flush()
}

// workerIdle is how long a worker waits for another request before it
// exits.
const workerIdle = 10 * time.Second

// dispatch runs f on an idle worker, or on a new one when none is idle.
// Workers outlive their requests because a fresh goroutine starts with a
// small stack and grows it, copying, on every request: the bridge's and
// the scope's handlers run deep, and that copying was 4% of the CPU time
// of a decimation-8 spectrum.
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

func (s *Service) serve(subject string, req *Request, h Handler) {
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
	s.account(subject, func(st *endpointStats) {
		s.inFlight--
		st.InFlight--
		st.Requests++
		st.ProcessingTime += elapsed
		if err != nil {
			code, _ := wire.ErrorHeaders(err)
			st.Errors[code]++
			st.LastError = err.Error()
		}
	})
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

// reply publishes the one reply. It does not go through micro's
// Request.Respond: micro reads the request's error state once the
// subscription callback returns, which races with a reply sent from the
// handler's goroutine later.
func (s *Service) reply(req *Request, data []byte, h nats.Header) error {
	return s.nc.PublishMsg(&nats.Msg{Subject: req.msg.Reply(), Data: data, Header: h})
}

func (s *Service) respond(req *Request, v any) error {
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

func (s *Service) account(subject string, f func(*endpointStats)) {
	s.mu.Lock()
	if st := s.stats[subject]; st != nil {
		f(st)
	}
	s.mu.Unlock()
}

func (s *Service) endpointStats(e *micro.Endpoint) any {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats[e.Subject]
	if st == nil {
		return nil
	}
	cp := *st
	cp.Errors = make(map[string]int, len(st.Errors))
	for k, v := range st.Errors {
		cp.Errors[k] = v
	}
	return cp
}

// Stop stops taking requests (micro drains the subscriptions), lets the
// requests in flight finish until ctx ends, then cancels the rest (their
// handlers see Context end and answer "cancelled") and waits for their
// replies.
func (s *Service) Stop(ctx context.Context) error {
	err := s.ms.Stop()
	// micro drains asynchronously: requests already delivered still reach
	// the handler after Stop returns. Wait until none is in flight and none
	// has arrived for a short quiet spell.
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
