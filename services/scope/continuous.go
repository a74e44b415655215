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

	// rolling mode, owned by the worker
	armed    bool
	nextRead time.Time
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
	id := set.ID
	if id == "" {
		id = "scope-continuous-" + acq.RandomID()
	}
	p.set.ID = id
	cctx, cancel := context.WithCancel(s.ctx)
	c := &continuous{id: id, p: p, ctx: cctx, cancel: cancel, out: make(chan *raw, 2)}

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
	return api.ContinuousReply{ID: id, Subject: api.Subject(name, "scope", "trace"), Settings: p.set}, nil
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
		c, b.cont = b.cont, nil
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
	txnID := ""
	if c.p.rolling() {
		r, err = s.roll(b, c)
	} else {
		c.txn++
		txnID = fmt.Sprintf("%s.%d", c.id, c.txn)
		r, err = acquire(c.ctx, b.cb, c.p, txnID)
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
		s.disarm(b, txnID) // stop: no more writing, nothing left armed
	}
}

// roll runs rolling mode: arm once, then read the buffer every
// RollingInterval. It returns early (nil, nil) when a single request
// arrives, which then runs between two reads; its reset disarms the
// scope, and the next read notices and re-arms.
func (s *Service) roll(b *board, c *continuous) (*raw, error) {
	ctx, cancel := context.WithTimeout(c.ctx, 2*time.Second)
	defer cancel()
	if !c.armed {
		if _, err := b.cb.HW.Txn(ctx, c.p.rollStartOps()...); err != nil {
			return nil, err
		}
		c.armed = true
		c.nextRead = time.Now().Add(s.cfg.RollingInterval)
	}
	if wait := time.Until(c.nextRead); wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-c.ctx.Done():
			t.Stop()
			return nil, nil
		case <-b.wake:
			t.Stop()
			b.signal() // for the worker's loop
			return nil, nil
		}
	}
	started := time.Now()
	c.nextRead = started.Add(s.cfg.RollingInterval)
	tr, err := b.cb.HW.Txn(ctx, rollOps()...)
	if err != nil {
		return nil, err
	}
	res := tr.Results
	if res[rollControl].Words[0]&regmap.ScopeArm == 0 {
		c.armed = false // a single (ours or another instance's) ran meanwhile
		return nil, nil
	}
	written := int(min(res[rollWritten].Words[0], N))
	wp0, wp1 := res[rollWP0].Words[0], res[rollWP1].Words[0]
	overwritten := int((wp1 - wp0) & (N - 1)) // written while the buffers were read
	r := getRaw()
	r.valid = max(0, min(written, N-overwritten))
	start := (wp0 + 1) & (N - 1)
	for ch, op := range [2]int{rollCh1, rollCh2} {
		w := res[op].Halves
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
		mp, err := encodeMsgpack(&tr, 1)
		if err == nil {
			err = s.nc.PublishMsg(&nats.Msg{Subject: subject, Data: mp.data, Header: wire.Msgpack.Header()})
			mp.release()
		}
		if err != nil {
			seq-- // nothing went out under this number
		}
	}
}
