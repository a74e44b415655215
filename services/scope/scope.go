package scope

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nuid"

	"github.com/rpbus/rpbus/acq"
	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/client"
	"github.com/rpbus/rpbus/rperr"
	"github.com/rpbus/rpbus/services/curves"
	"github.com/rpbus/rpbus/svc"
	"github.com/rpbus/rpbus/wire"
)

// ErrConfigValidation is wrapped by every configuration error of Start.
var ErrConfigValidation = errors.New("scope: invalid configuration")

// Config configures the scope service.
type Config struct {
	Name    string // micro service name; default "scope"
	Version string // default "0.1.0"
	// RollingInterval is how often continuous mode reads the buffer in
	// rolling mode (durations above 0.1 s); default 50 ms.
	RollingInterval time.Duration
	// MaxInFlight bounds the requests handled at once (svc); 0 means 256.
	MaxInFlight int
	// Heard, when set, tells whether a message published now on a subject
	// would reach a subscriber; done events nobody would receive are then
	// not sent. Each is a 64 KiB trip through the server, which costs a
	// lone single about 20 us of latency and each trace of a spectrum
	// about 77 us of CPU. natsserver.Interest gives it for a server in this process
	// (rpbus up); without it every event is sent.
	Heard func(subject string) bool
}

// idleExit is how long a board's worker lives without work.
const idleExit = 30 * time.Second

// Service is a running scope service serving every board.
type Service struct {
	nc       *nats.Conn
	c        *client.Client
	svc      *svc.Service
	tracker  *acq.Tracker
	saver    *curves.Saver
	cfg      Config
	instance string
	sub      *nats.Subscription

	ctx    context.Context // ends at Stop: workers exit
	cancel context.CancelFunc
	wg     sync.WaitGroup

	events chan event // done events, published in order by one goroutine

	mu     sync.Mutex
	boards map[string]*board
	closed bool
}

// board is one board's FIFO of acquisitions in this instance.
type board struct {
	name       string
	cb         *client.Board
	wake       chan struct{} // cap 1: work arrived
	queue      []*job        // guarded by Service.mu
	busy       int           // singles taken from the queue, not yet answered; guarded by Service.mu
	continuous *continuous   // the run in progress; guarded by Service.mu
	// pending is a continuous run announced by this instance and not yet
	// seen back on replaceSubject; guarded by Service.mu.
	pending *continuous
}

// job is one scope.single request waiting for, or on, the hardware.
type job struct {
	a    *acq.Handle
	p    *plan
	done chan result // cap 1: the worker never blocks on it
}

type result struct {
	r   *raw
	err error
}

// Start serves rp.*.scope.single, .continuous, .cancel and .stop on nc.
// It never touches registers: acquisitions are transactions on the
// board's hardware bridge (rp.<board>.hw.txn).
func Start(nc *nats.Conn, cfg Config) (*Service, error) {
	if nc == nil {
		return nil, fmt.Errorf("%w: nil connection", ErrConfigValidation)
	}
	if cfg.RollingInterval < 0 {
		return nil, fmt.Errorf("%w: RollingInterval %v < 0", ErrConfigValidation, cfg.RollingInterval)
	}
	if cfg.Name == "" {
		cfg.Name = "scope"
	}
	if cfg.Version == "" {
		cfg.Version = "0.1.0"
	}
	if cfg.RollingInterval == 0 {
		cfg.RollingInterval = 50 * time.Millisecond
	}
	c, err := client.New(nc)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Service{nc: nc, c: c, cfg: cfg, instance: nuid.Next(), ctx: ctx, cancel: cancel,
		boards: map[string]*board{}, tracker: acq.New(nc, "scope"), saver: curves.NewSaver(nc, api.InstrumentScope), events: make(chan event, 64)}
	s.tracker.OnStop(s.stopContinuous)
	// A continuous request taken by another instance replaces ours.
	s.sub, err = nc.Subscribe(replaceSubject+".*", func(m *nats.Msg) {
		s.announced(m.Subject[len(replaceSubject)+1:], string(m.Data))
	})
	if err != nil {
		cancel()
		return nil, err
	}
	s.svc, err = svc.New(nc, svc.Config{
		Name: cfg.Name, Version: cfg.Version, MaxInFlight: cfg.MaxInFlight,
		Description: "oscilloscope of every board: awaitable acquisitions, continuous traces, done events",
		Metadata:    map[string]string{"module": "scope", "boards": "all (rp.*.scope.*)"},
	})
	if err != nil {
		_ = s.sub.Unsubscribe()
		cancel()
		return nil, err
	}
	if err := s.addEndpoints(); err != nil {
		_ = s.svc.Stop(context.Background())
		_ = s.sub.Unsubscribe()
		cancel()
		return nil, err
	}
	go s.publishEvents()
	return s, nil
}

// replaceSubject.<board> announces a continuous run ("<instance> <id>").
// Every instance sees the announcements of a board in the same order, and
// the last one wins: an instance starts its run only when its own
// announcement comes back, and ends its run on anyone else's.
const replaceSubject = "_RPBUS.scope.continuous"

// announced handles one announcement of a continuous run on board.
func (s *Service) announced(board, data string) {
	instance, id, _ := strings.Cut(data, " ")
	if instance != s.instance {
		s.endContinuous(board, false)
		return
	}
	s.mu.Lock()
	b := s.boards[board]
	if b == nil || b.pending == nil || b.pending.id != id {
		s.mu.Unlock()
		return // a run of ours that a newer one of ours replaced
	}
	c, old := b.pending, b.continuous
	b.continuous, b.pending = c, nil
	b.signal()
	s.mu.Unlock()
	if old != nil {
		old.cancel()
	}
}

func (s *Service) addEndpoints() error {
	fields := "input1/input2 " + joinNames(Inputs) + "; duration s (0, 8.59] rounded up to 16384 x 8 ns x 2^k, or decimation 1..65536 (powers of two); " +
		"trigger_source " + joinNames(TriggerSources) + "; threshold V -1..1; hysteresis V 0..1; trigger_delay s; average bool; trace_average 1..1024; timeout s 0..3600"
	if err := s.svc.AddPrepared("single", "rp.*.scope.single", s.prepareSingle, s.handleSingle, map[string]string{
		"request": `{"duration":0.001,"input1":"in1","input2":"in2","trigger_source":"immediately"}`,
		"reply":   `{"id":"...","settings":{...},"t0":0,"dt":8e-9,"ch1":[16384 V],"ch2":[16384 V],"trigger_time":1.5,"requested":...,"started":...,"ended":...}`,
		"fields":  fields,
		"events":  "rp.<board>.scope.done (msgpack ScopeTrace)",
	}); err != nil {
		return err
	}
	if err := s.svc.Add("continuous", "rp.*.scope.continuous", s.handleContinuous, map[string]string{
		"request": `{"duration":0.001}`,
		"reply":   `{"id":"...","subject":"rp.<board>.scope.trace","settings":{...}}`,
		"fields":  fields,
		"events":  "rp.<board>.scope.trace (msgpack ScopeTrace with seq 1, 2, ...)",
	}); err != nil {
		return err
	}
	return s.tracker.AddEndpoints(s.svc)
}

func joinNames(names []string) string {
	var b bytes.Buffer
	for i, n := range names {
		if i > 0 {
			b.WriteByte('|')
		}
		b.WriteString(n)
	}
	return b.String()
}

// Stop stops taking requests, answers those in flight until ctx ends
// (then cancels them, 499), ends continuous mode and the workers.
func (s *Service) Stop(ctx context.Context) error {
	err := s.svc.Stop(ctx)
	_ = s.sub.Unsubscribe()
	s.tracker.Close()
	s.mu.Lock()
	s.closed = true
	for _, b := range s.boards {
		if b.continuous != nil {
			b.continuous.cancel()
			b.continuous = nil
		}
	}
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
	close(s.events)
	return err
}

// event is a message for the events goroutine, the earliest time to send
// it, and what to do once it is sent.
type event struct {
	msg   *nats.Msg
	after time.Time
	done  func()
}

// eventDelay holds a done event back this long after its reply: its 64
// KiB then cross the connection and the server after the reply's, not
// while the reply is on its way (about 25 us of a single's latency here).
// Under load events are older than this and go at once.
const eventDelay = 200 * time.Microsecond

func (s *Service) publishEvents() {
	for e := range s.events {
		if d := time.Until(e.after); d > 0 {
			time.Sleep(d)
		}
		_ = s.nc.PublishMsg(e.msg)
		e.done()
	}
}

// Queued returns how many single acquisitions of board this instance
// holds: waiting in its queue or on the hardware.
func (s *Service) Queued(board string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.boards[board]
	if b == nil {
		return 0
	}
	return len(b.queue) + b.busy
}

// enqueue appends j to its board's FIFO, starting the board's worker when
// none runs.
func (s *Service) enqueue(name string, j *job) error {
	s.mu.Lock()
	b, err := s.boardLocked(name)
	if err == nil {
		b.queue = append(b.queue, j)
	}
	s.mu.Unlock()
	if err != nil {
		return err
	}
	// After the unlock: a worker woken with it held would wake only to
	// wait for it, a second thread wake-up on the single's way (about
	// 30 us each here).
	b.signal()
	return nil
}

func (s *Service) boardLocked(name string) (*board, error) {
	if s.closed {
		return nil, rperr.Errorf(rperr.EUnavailable, "scope: the service is stopping")
	}
	b := s.boards[name]
	if b == nil {
		b = &board{name: name, cb: s.c.Board(name), wake: make(chan struct{}, 1)}
		s.boards[name] = b
		s.wg.Add(1)
		go s.worker(b)
	}
	return b, nil
}

func (b *board) signal() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// pipelineDepth is how many single-trace acquisitions of one board a
// worker keeps at the bridge at once: while one runs, the next ones wait
// there, so the board starts each the moment the previous trace is read,
// without a round trip in between. Two would do if the scope's replies
// always came back within a trace; with three, one late reply (a busy
// CPU) still finds the board busy: on a decimation-8 spectrum the board
// idles before about one trace in nine with two, one in sixteen with
// three. Every acquisition begins with a scope reset, so one does
// not depend on how the previous one ended. While a continuous run is on,
// one single at a time goes to the bridge, so the run's next trace waits
// for one single at most.
const pipelineDepth = 3

// worker runs one board's transactions one after the other: queued
// singles in arrival order, and a continuous run's traces both between
// them and at their due times. A continuous run states the longest gap
// between its traces (its interval); when a trace is due, no further
// single starts until it is taken, and singles fill the time between, so
// the run keeps its rate and the singles progress. Without singles a
// triggered run takes its traces back to back. The worker hands each
// single's result to the request's goroutine and starts the next
// transaction at once, so converting and sending trace k overlaps
// acquiring trace k+1.
func (s *Service) worker(b *board) {
	defer s.wg.Done()
	idle := time.NewTimer(idleExit)
	defer idle.Stop()
	var sent []*sentSingle // sent to the bridge, oldest first
	finish := func() {
		s.finish(b, sent[0], len(sent) == 1)
		sent = sent[1:]
	}
	pop := func() *job {
		s.mu.Lock()
		defer s.mu.Unlock()
		j := b.queue[0]
		b.queue[0] = nil
		b.queue = b.queue[1:]
		b.busy = len(sent) + 1
		return j
	}
	for {
		s.mu.Lock()
		var j *job
		if len(b.queue) > 0 {
			j = b.queue[0]
		}
		b.busy = len(sent)
		c := b.continuous
		s.mu.Unlock()
		if c != nil && c.ctx.Err() != nil {
			c = nil
		}
		depth := pipelineDepth
		if c != nil {
			depth = 1
		}
		switch {
		case c != nil && c.due() && len(sent) > 0:
			finish() // the run's trace is due: make room for it
			continue
		case c != nil && c.due():
			s.stepContinuous(b, c)
			continue
		case j != nil && j.p.n == 1 && len(sent) >= depth:
			finish()
			continue
		case j != nil && j.p.n == 1:
			j = pop()
			c.singleRan()
			if f := s.send(b, j, sent); f != nil {
				sent = append(sent, f)
			}
			continue
		case j != nil && len(sent) > 0:
			// Finish the sent singles before anything that is not a
			// pipelined single.
			finish()
			continue
		case j != nil:
			j = pop()
			c.singleRan()
			s.runJob(b, j)
			continue
		case len(sent) > 0:
			// Wait for the oldest answer, but a single that arrives
			// meanwhile goes to the bridge at once: it has to be there
			// before the acquisition running now ends, or the board idles
			// for a reply's round trip. A continuous trace falling due
			// ends the wait too.
			due, stopDue := c.dueTimer()
			select {
			case <-sent[0].pending.Arrived():
			case <-sent[0].pending.Gone():
			case <-sent[0].expired:
			case <-s.ctx.Done():
			case <-due:
				stopDue()
				continue
			case <-b.wake:
				stopDue()
				continue
			}
			stopDue()
			finish()
			continue
		case c != nil:
			s.stepContinuous(b, c)
			continue
		}
		idle.Reset(idleExit)
		select {
		case <-b.wake:
		case <-s.ctx.Done():
			s.mu.Lock()
			q := b.queue
			b.queue = nil
			s.mu.Unlock()
			for _, j := range q {
				j.done <- result{err: rperr.Errorf(rperr.ECancelled, "scope: acquisition %s cancelled: the service is stopping", j.a.ID)}
			}
			return
		case <-idle.C:
			s.mu.Lock()
			if len(b.queue) == 0 && b.continuous == nil && b.pending == nil {
				delete(s.boards, b.name)
				s.mu.Unlock()
				return
			}
			s.mu.Unlock()
		}
	}
}

// sentSingle is a single-trace acquisition whose transaction was sent to
// the bridge, not yet answered.
type sentSingle struct {
	j       *job
	pending *client.Pending
	cancel  context.CancelFunc
	expired <-chan struct{} // the transaction's context ended
}

// send sends job j's one transaction and returns at once (nil when the
// job is already over: it has then been answered). It waits at the bridge
// behind the singles sent ahead of it.
func (s *Service) send(b *board, j *job, ahead []*sentSingle) *sentSingle {
	ctx := j.a.Context()
	if ctx.Err() != nil {
		j.done <- result{err: j.a.Err()}
		return nil
	}
	// The transaction may outlive the wait by the reads and two round
	// trips, after those ahead of it have taken as long (one waiting for
	// a trigger that never comes takes its whole timeout); the bridge's
	// own 408 is what normally ends it.
	limit := j.p.timeout + txnGrace
	for _, f := range ahead {
		limit += f.j.p.timeout + txnGrace
	}
	tctx, cancel := context.WithTimeout(ctx, time.Duration(limit*float64(time.Second)))
	f := &sentSingle{j: j, cancel: cancel, expired: tctx.Done()}
	var err error
	if f.pending, err = b.cb.HW.Start(tctx, api.Txn{ID: txnID(j.a.ID), Ops: j.p.acqOps(j.p.timeout), Stream: true}); err != nil {
		cancel()
		j.done <- result{err: err}
		return nil
	}
	return f
}

// finish waits for a sent single's answer and hands it to its requester;
// after a timeout or cancel it disarms the scope when no sent single
// follows (last).
func (s *Service) finish(b *board, f *sentSingle, last bool) {
	tr := txnPool.Get().(*api.TxnReply)
	err := f.pending.WaitInto(tr)
	f.cancel()
	ctx := f.j.a.Context()
	var r *raw
	switch {
	case err == nil:
		// The hardware started when the bridge gave the transaction the
		// scope, which may be after it was sent: it waited there behind
		// the previous one.
		r = getRaw()
		r.started, r.ended = bridgeTimes(*tr)
		if err = r.addTrace(*tr, f.j.p.delay, true); err != nil {
			putRaw(r)
			r = nil
			break
		}
		r.txn, tr = tr, nil // r's words are tr's: it goes back with r
	case rperr.ErrorCode(err) == rperr.ETimeout && ctx.Err() == nil:
		err = timeoutError(f.j.p, 0)
	case ctx.Err() != nil:
		err = f.j.a.Err()
	}
	if tr != nil {
		txnPool.Put(tr)
	}
	f.j.done <- result{r: r, err: err}
	// The next sent single's transaction resets the scope first anyway, and a
	// reset sent now would wait at the bridge behind it.
	if code := rperr.ErrorCode(err); last && (code == rperr.ETimeout || code == rperr.ECancelled) {
		s.disarm(b, txnID(f.j.a.ID))
	}
}

func (s *Service) runJob(b *board, j *job) {
	ctx := j.a.Context()
	if ctx.Err() != nil {
		j.done <- result{err: j.a.Err()}
		return
	}
	r, err := acquire(ctx, b.cb, j.p, txnID(j.a.ID))
	if err != nil && ctx.Err() != nil {
		err = j.a.Err()
	}
	j.done <- result{r: r, err: err}
	if code := rperr.ErrorCode(err); code == rperr.ETimeout || code == rperr.ECancelled {
		s.disarm(b, txnID(j.a.ID))
	}
}

// disarm resets the scope after a trigger that never came or a cancel, so
// it is idle and ready. Between two transactions it cannot disturb another
// instance's acquisition: each holds the scope for its whole sequence.
//
// A cancel can overtake its transaction at the bridge (hw.cancel finds
// nothing, and the transaction then waits out its whole timeout holding
// the scope). So when the reset does not get the scope promptly, the
// acquisition's transaction txnID is cancelled again, a few times.
func (s *Service) disarm(b *board, txnID string) {
	const tries, wait = 5, 200 * time.Millisecond
	for i := 0; i < tries; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		_, err := b.cb.HW.Do(ctx, api.Txn{Ops: resetOps()})
		cancel()
		if err == nil || txnID == "" || rperr.ErrorCode(err) == rperr.ENotFound {
			return
		}
		cctx, ccancel := context.WithTimeout(context.Background(), time.Second)
		_ = s.c.Request(cctx, api.Subject(b.name, "hw", "cancel"), api.TxnCancel{ID: txnID}, nil)
		ccancel()
	}
}

// prepareSingle runs in the subscription callback: it validates the
// settings and queues the acquisition there, so singles queue in the exact
// order they arrive and the board's worker starts on one before the
// handler's goroutine does.
func (s *Service) prepareSingle(req *svc.Request) (any, error) {
	var set api.ScopeSettings
	if err := req.Decode(&set); err != nil {
		return nil, err
	}
	p, err := newPlan(set)
	if err != nil {
		return nil, err
	}
	if set.SaveEvery != 0 {
		return nil, rperr.Invalidf("save_every: %d, but only continuous runs take it; a single saves with \"save\": true", set.SaveEvery)
	}
	name := req.Board()
	// The request's context ends when its requester is gone: a single
	// nobody waits for any more is dropped before it starts, or cancelled;
	// unless it is saved, and so found later by its id.
	if set.Save {
		req.Detach()
	}
	a, err := s.tracker.Start(req.Context(), name, set.ID)
	if err != nil {
		return nil, err
	}
	p.set.ID = a.ID
	j := &job{a: a, p: p, done: make(chan result, 1)}
	if err := s.enqueue(name, j); err != nil {
		a.End()
		return nil, err
	}
	return j, nil
}

// handleSingle waits for the single prepareSingle queued and answers it.
func (s *Service) handleSingle(ctx context.Context, req *svc.Request) (any, error) {
	j := req.Prepared.(*job)
	a, p, name := j.a, j.p, req.Board()
	defer a.End()
	var res result
	select {
	case res = <-j.done:
	case <-a.Context().Done():
		res.err = a.Err()
	}
	if res.err != nil {
		s.publishFailure(name, api.ScopeTrace{ID: a.ID, Board: name, Settings: p.set,
			Timing: api.Timing{Requested: api.Unix(req.Received)}}, res.err)
		return nil, res.err
	}
	defer putRaw(res.r)
	bufs := getSamples()
	defer putSamples(bufs)
	tr := makeTrace(name, a.ID, p, res.r, bufs, req.Received)
	if p.set.Save {
		tr.Curve = curves.NewID()
	}
	mp, err := encodeMsgpack(&tr, 2)
	if err != nil {
		return nil, rperr.Errorf(rperr.EInternal, "scope: encoding the trace: %v", err)
	}
	if p.set.Save {
		// Stored as the msgpack reply carries it, before the reply.
		if err := s.saver.Save(ctx, mp.data, tr.Curve, p.set.Name, p.set.Tags); err != nil {
			mp.release()
			mp.release()
			failed := tr.ScopeTrace // without its samples, as other failures
			failed.Curve = ""
			s.publishFailure(name, failed, err)
			return nil, err
		}
	}
	// The done event carries the same bytes as a msgpack reply. It goes
	// out from the events goroutine after the reply (see eventDelay), so
	// the requester's bytes never queue behind the event's.
	done := func() {
		subject := api.Subject(name, "scope", "done")
		if s.cfg.Heard != nil && !s.cfg.Heard(subject) {
			mp.release()
			return
		}
		s.events <- event{msg: &nats.Msg{Subject: subject, Data: mp.data, Header: wire.Msgpack.Header()},
			after: time.Now().Add(eventDelay), done: mp.release}
	}
	if req.Codec == wire.Msgpack {
		return svc.Raw{Data: mp.data, Header: wire.Msgpack.Header(), Release: func() { mp.release(); done() }}, nil
	}
	done()
	mp.release()
	// JSON is read by people: the fields in api.ScopeTrace's order, the
	// samples as volts.
	js, err := wire.JSON.Marshal(tr.volts(bufs))
	if err != nil {
		return nil, rperr.Errorf(rperr.EInternal, "scope: encoding the trace: %v", err)
	}
	return svc.Raw{Data: js, Header: wire.JSON.Header()}, nil
}

// publishFailure sends the done event of a single that failed (what is
// known of it, with the error headers), unless nobody would hear it.
func (s *Service) publishFailure(board string, tr api.ScopeTrace, err error) {
	if s.cfg.Heard != nil && !s.cfg.Heard(api.Subject(board, "scope", "done")) {
		return
	}
	_ = s.tracker.PublishFailure(board, tr, err)
}

// traceOut is api.ScopeTrace as the service encodes it: each channel is a
// wire.Q16 or a wire.F32 (see raw.channels), and either decodes into the
// F32 that api.ScopeTrace declares. Its own Ch1 and Ch2 shadow the
// embedded ones in both encodings.
type traceOut struct {
	Ch1            any `json:"ch1,omitempty"`
	Ch2            any `json:"ch2,omitempty"`
	api.ScopeTrace `msgpack:",inline"`
}

// volts is t as an api.ScopeTrace with float32 volts, in s's memory.
func (t *traceOut) volts(s *samples) *api.ScopeTrace {
	tr := t.ScopeTrace
	tr.Ch1, tr.Ch2 = asVolts(t.Ch1, s.volts[0][:]), asVolts(t.Ch2, s.volts[1][:])
	return &tr
}

// asVolts is one channel of a traceOut as float32 volts: codes are
// converted into dst, volts returned as they are.
func asVolts(v any, dst []float32) wire.F32 {
	switch v := v.(type) {
	case wire.Q16:
		f := dst[:len(v.Codes)]
		for i, c := range v.Codes {
			f[i] = float32(c) * v.Scale
		}
		return f
	case wire.F32:
		return v
	}
	return nil
}

func makeTrace(board, id string, p *plan, r *raw, s *samples, requested time.Time) traceOut {
	ch1, ch2 := r.channels(s)
	return traceOut{Ch1: ch1, Ch2: ch2, ScopeTrace: api.ScopeTrace{
		ID: id, Board: board, Settings: p.set,
		T0: p.t0(), Dt: p.dt(),
		TriggerTime: r.trigTime,
		Timing:      api.Timing{Requested: api.Unix(requested), Started: api.Unix(r.started), Ended: api.Unix(r.ended)},
	}}
}

// encoded is a msgpack trace in a pooled buffer, shared by the reply and
// the done event: the last of them to be sent gives the buffer back.
type encoded struct {
	data []byte
	refs atomic.Int32
	buf  *[]byte
}

var traceBufs = sync.Pool{New: func() any { b := make([]byte, 0, 2*4*N+4096); return &b }}

// encodeMsgpack encodes v into a pooled buffer held by refs users.
func encodeMsgpack(v any, refs int32) (*encoded, error) {
	bp := traceBufs.Get().(*[]byte)
	data, err := wire.Msgpack.Append((*bp)[:0], v)
	if err != nil {
		traceBufs.Put(bp)
		return nil, err
	}
	e := &encoded{data: data, buf: bp}
	e.refs.Store(refs)
	return e, nil
}

// release drops one user; the last one recycles the buffer.
func (e *encoded) release() {
	if e.refs.Add(-1) == 0 {
		*e.buf = e.data[:0]
		traceBufs.Put(e.buf)
	}
}
