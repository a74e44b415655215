package scope

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/rpbus/rpbus/acq"
	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/regmap"
	"github.com/rpbus/rpbus/rperr"
	"github.com/rpbus/rpbus/services/curves"
	"github.com/rpbus/rpbus/svc"
	"github.com/rpbus/rpbus/wire"
)

// continuous is one board's continuous run in this instance.
type continuous struct {
	id     string
	p      *plan
	ctx    context.Context // ends when the run is stopped or replaced
	cancel context.CancelFunc
	out    chan *raw // worker -> publisher
	txn    uint64    // transactions issued, for unique txn ids
	// interval is the longest gap between two traces the run keeps while
	// singles share the board (api.ContinuousReply.Interval).
	interval time.Duration

	// owned by the worker
	next  time.Time // when the next trace is due
	armed bool      // rolling mode: armed, and no single ran since
}

// continuousInterval is the gap a run keeps between traces: the rolling
// read interval, or for triggered traces the longer of that and two
// traces' time, so singles keep at least half the board.
func (s *Service) continuousInterval(p *plan) time.Duration {
	if p.rolling() {
		return s.cfg.RollingInterval
	}
	return max(s.cfg.RollingInterval, time.Duration(2*float64(p.n)*p.acqTime()*float64(time.Second)))
}

// fill is how long a rolling run is armed before a read that follows a
// single: the single's reset emptied the buffer, and the read should
// find samples.
func (c *continuous) fill() time.Duration { return c.interval / 2 }

// dueAt is when the worker must turn to the run: at its next trace, or,
// in rolling mode after a single, fill before it to re-arm.
func (c *continuous) dueAt() time.Time {
	if c.p.rolling() && !c.armed {
		return c.next.Add(-c.fill())
	}
	return c.next
}

// due says whether the run's turn has come: no further single starts.
func (c *continuous) due() bool { return !time.Now().Before(c.dueAt()) }

// dueTimer fires at the run's turn; nil (never) without a run.
func (c *continuous) dueTimer() (<-chan time.Time, func()) {
	if c == nil {
		return nil, func() {}
	}
	t := time.NewTimer(time.Until(c.dueAt()))
	return t.C, func() { t.Stop() }
}

// singleRan notes that a single used the scope: its reset disarmed a
// rolling run.
func (c *continuous) singleRan() {
	if c != nil {
		c.armed = false
	}
}

func (s *Service) handleContinuous(ctx context.Context, req *svc.Request) (any, error) {
	var set api.ScopeSettings
	if err := req.Decode(&set); err != nil {
		return nil, err
	}
	p, err := newPlan(set)
	if err != nil {
		return nil, err
	}
	if p.rolling() && p.n > 1 {
		return nil, rperr.Invalidf("trace_average: %d, but durations above %g s run in rolling mode, which takes 1", p.n, RollingDuration)
	}
	if len(set.ID) > acqMaxID {
		return nil, rperr.Invalidf("id: %d characters, at most %d", len(set.ID), acqMaxID)
	}
	name := req.Board()
	// Answer "no such board" now rather than publish nothing for ever.
	ictx, icancel := context.WithTimeout(ctx, 2*time.Second)
	_, err = s.c.Board(name).Info(ictx)
	icancel()
	if err != nil {
		return nil, err
	}
	if p.set.Save || p.set.SaveEvery > 0 {
		if err := s.saver.Check(ctx); err != nil {
			return nil, err
		}
	}
	id := set.ID
	if id == "" {
		id = "scope-continuous-" + acq.RandomID()
	}
	p.set.ID = id
	// The run outlives its request; its saves still say who started it.
	cctx, cancel := context.WithCancel(svc.WithUser(s.ctx, req.User()))
	c := &continuous{id: id, p: p, ctx: cctx, cancel: cancel, out: make(chan *raw, 2), interval: s.continuousInterval(p)}
	c.next = time.Now()
	if p.rolling() {
		c.next = c.next.Add(c.interval)
	}

	s.mu.Lock()
	b, err := s.boardLocked(name)
	if err != nil {
		s.mu.Unlock()
		cancel()
		return nil, err
	}
	if b.pending != nil {
		b.pending.cancel() // announced, not yet started: replaced before it began
	}
	b.pending = c
	s.mu.Unlock()
	// The run starts when this announcement comes back (see announced).
	if err := s.nc.Publish(replaceSubject+"."+name, []byte(s.instance+" "+id)); err != nil {
		cancel()
		return nil, rperr.Errorf(rperr.EUnavailable, "scope: announcing the continuous run: %v", err)
	}
	s.wg.Add(1)
	go s.publish(name, c)
	return api.ContinuousReply{ID: id, Subject: api.Subject(name, "scope", "trace"), Settings: p.set, Interval: c.interval.Seconds()}, nil
}

// acqMaxID mirrors acq.MaxIDLength for continuous ids.
const acqMaxID = 128

// stopContinuous ends continuous mode on board, a run announced and not
// yet started included (scope.stop); it reports whether one ran.
func (s *Service) stopContinuous(name string) bool {
	return s.endContinuous(name, true)
}

// endContinuous ends the board's running continuous run, and with pending
// the one announced and not yet started too. Another instance's
// announcement leaves the pending run alone: its own announcement comes
// later in the board's order, so it wins.
func (s *Service) endContinuous(name string, pending bool) bool {
	s.mu.Lock()
	b := s.boards[name]
	var c, p *continuous
	if b != nil {
		c, b.continuous = b.continuous, nil
		if pending {
			p, b.pending = b.pending, nil
		}
	}
	s.mu.Unlock()
	if p != nil {
		p.cancel()
	}
	if c == nil {
		return p != nil
	}
	c.cancel()
	return true
}

// stepContinuous acquires (or, in rolling mode, reads) one continuous
// trace and hands it to the publisher.
func (s *Service) stepContinuous(b *board, c *continuous) {
	if c.ctx.Err() != nil {
		return
	}
	var r *raw
	var err error
	tid := ""
	if c.p.rolling() {
		r, err = s.roll(b, c)
	} else {
		c.txn++
		tid = fmt.Sprintf("%s.%d", txnID(c.id), c.txn)
		c.next = time.Now().Add(c.interval)
		r, err = acquire(c.ctx, b.cb, c.p, tid)
	}
	switch {
	case r != nil:
		select {
		case c.out <- r:
		case <-c.ctx.Done():
			putRaw(r)
		}
	case err != nil && c.ctx.Err() == nil && rperr.ErrorCode(err) != rperr.ETimeout:
		// The bridge is gone or failing: retry gently until stopped.
		select {
		case <-time.After(100 * time.Millisecond):
		case <-c.ctx.Done():
		case <-b.wake:
			b.signal()
		}
	}
	if c.ctx.Err() != nil {
		s.disarm(b, tid) // stop: no more writing, nothing left armed
	}
}

// roll runs rolling mode: arm (after a single, or at the start), then
// read the buffer at the run's due times, every RollingInterval. Before
// the run's turn it returns early (nil, nil) when a single arrives, which
// then runs between two reads; its reset disarms the scope, and the run
// re-arms fill before its next read. Within that window singles wait.
func (s *Service) roll(b *board, c *continuous) (*raw, error) {
	ctx, cancel := context.WithTimeout(c.ctx, 2*time.Second)
	defer cancel()
	if !c.armed {
		if _, err := b.cb.HW.Txn(ctx, c.p.rollStartOps()...); err != nil {
			return nil, err
		}
		c.armed = true
	}
	woken := false
	for wait := time.Until(c.next); wait > 0; wait = time.Until(c.next) {
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-c.ctx.Done():
			t.Stop()
			return nil, nil
		case <-b.wake:
			t.Stop()
			if time.Until(c.next) > c.fill() {
				b.signal() // for the worker's loop: a single runs first
				return nil, nil
			}
			woken = true // within the run's window: the single waits
		}
	}
	if woken {
		b.signal()
	}
	c.next = c.next.Add(c.interval)
	if now := time.Now(); c.next.Before(now) {
		c.next = now.Add(c.interval) // fell behind: no burst
	}
	started := time.Now()
	tr, err := b.cb.HW.Txn(ctx, rollOps()...)
	if err != nil {
		return nil, err
	}
	res := tr.Results
	if res[rollControl].Words[0]&regmap.ScopeArm == 0 {
		// Another instance's single, or a raw hw.txn, reset the scope.
		c.armed = false
		c.next = time.Now().Add(c.fill())
		return nil, nil
	}
	written := int(min(res[rollWritten].Words[0], N))
	wp0, wp1 := res[rollWP0].Words[0], res[rollWP1].Words[0]
	overwritten := int((wp1 - wp0) & (N - 1)) // written while the buffers were read
	data, err := channelData(res[rollData])
	if err != nil {
		return nil, err
	}
	r := getRaw()
	r.valid = max(0, min(written, N-overwritten))
	start := (wp0 + 1) & (N - 1)
	for ch, w := range data {
		k := int(start)
		for i := range r.sum[ch] {
			r.sum[ch][i] = adc(w[k])
			k = (k + 1) & (N - 1)
		}
	}
	tt := res[rollTime].Words
	r.trigTime = float64(uint64(tt[1])<<32|uint64(tt[0])) / regmap.Clock
	r.traces = 1
	r.started, r.ended = started, time.Now()
	return r, nil
}

// publish sends the run's traces on rp.<board>.scope.trace with Seq 1, 2,
// ... until the run ends.
func (s *Service) publish(name string, c *continuous) {
	defer s.wg.Done()
	subject := api.Subject(name, "scope", "trace")
	f := getSamples()
	defer putSamples(f)
	var seq uint64
	every := uint64(max(c.p.set.SaveEvery, 1))
	save := c.p.set.Save || c.p.set.SaveEvery > 0
	for {
		var r *raw
		select {
		case r = <-c.out:
		case <-c.ctx.Done():
			return
		}
		seq++
		tr := makeTrace(name, c.id, c.p, r, f, r.started)
		tr.Seq = seq
		if c.p.rolling() {
			tr.T0 = -(N - 1) * c.p.dt() // the newest sample is "now"
		}
		putRaw(r)
		if save && (seq-1)%every == 0 {
			tr.Curve = curves.NewID()
		}
		mp, err := encodeMsgpack(&tr, 1)
		h := wire.Msgpack.Header()
		if err == nil && tr.Curve != "" {
			mp, h, err = s.saveContinuous(c, &tr, mp, h)
		}
		if err == nil {
			err = s.nc.PublishMsg(&nats.Msg{Subject: subject, Data: mp.data, Header: h})
			mp.release()
		}
		if err != nil {
			seq-- // nothing went out under this number
		}
	}
}

// saveContinuous stores a continuous trace before it is published. One
// that cannot be stored is published all the same, without its curve id
// and with the reason in the curves.ErrorHeader header.
func (s *Service) saveContinuous(c *continuous, tr *traceOut, mp *encoded, h nats.Header) (*encoded, nats.Header, error) {
	err := s.saver.Save(c.ctx, mp.data, tr.Curve, c.p.set.Name, c.p.set.Tags)
	if err == nil {
		return mp, h, nil
	}
	mp.release()
	tr.Curve = ""
	h.Set(curves.ErrorHeader, err.Error())
	mp, err = encodeMsgpack(tr, 1)
	return mp, h, err
}
