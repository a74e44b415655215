package client

import (
	"context"
	"errors"
	"math"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nuid"

	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/rp"
	"github.com/rpbus/rpbus/wire"
)

// naGrace is how much longer than the service's own timeout Single waits,
// so the service's 408 arrives rather than a local timeout.
const naGrace = 5 * time.Second

// NA is the network analyzer of one board (rp.<board>.na.*).
type NA struct{ b *Board }

// NA returns the board's network analyzer.
func (b *Board) NA() *NA { return &NA{b: b} }

// NAHardwareTime estimates a sweep's time on the FPGA from its settings
// [s]: per point (0.5 + average_per_point) / rbw, the first point of each
// trace three times that; with auto_bandwidth the narrower rbw of low
// frequencies (not rounded to the filter's steps, so slightly long).
func NAHardwareTime(s api.NASettings) float64 {
	start, stop, points, rbw, avg, q, traces := s.StartFreq, s.StopFreq, s.Points, s.RBW, float64(s.AveragePerPoint), s.QFactorMin, s.TraceAverage
	if start <= 0 {
		start = 1e3
	}
	if stop <= 0 {
		stop = 10e6
	}
	if points <= 0 {
		points = 1001
	}
	if rbw <= 0 {
		rbw = 1e3
	}
	if avg <= 0 {
		avg = 1
	}
	if q <= 0 {
		q = 10
	}
	if traces <= 0 {
		traces = 1
	}
	logscale := s.Logscale == nil || *s.Logscale
	total := 0.0
	for i := 0; i < points; i++ {
		f := start
		if points > 1 && start != stop {
			x := float64(i) / float64(points-1)
			if logscale {
				f = start * math.Pow(stop/start, x)
			} else {
				f = start + x*(stop-start)
			}
		}
		bw := rbw
		if s.AutoBandwidth {
			bw = min(max(f/q, 1.186), rbw)
		}
		t := (0.5 + avg) / bw
		if i == 0 {
			t *= 3
		}
		total += t
	}
	return total * float64(traces)
}

// Single runs one sweep and returns the trace. It waits the service's
// timeout (s.Timeout, default twice the hardware time plus 5 s) and a
// grace, unless ctx ends first: then it sends na.cancel for the sweep (the
// id is chosen here when s.ID is empty), so the IQ module is freed at
// once.
func (n *NA) Single(ctx context.Context, s api.NASettings) (api.NATrace, error) {
	if s.ID == "" {
		s.ID = nuid.Next()
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = 2*NAHardwareTime(s) + 5
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Duration(timeout*float64(time.Second))+naGrace)
	defer cancel()
	type res struct {
		tr  api.NATrace
		err error
	}
	done := make(chan res, 1)
	go func() {
		var tr api.NATrace
		err := n.b.c.Request(rctx, n.b.subject("na", "single"), s, &tr)
		done <- res{tr, err}
	}()
	select {
	case r := <-done:
		return r.tr, r.err
	case <-ctx.Done():
	}
	// The service answers the cancelled sweep with 499 once its module is
	// released; wait for that answer a little.
	cctx, ccancel := context.WithTimeout(context.WithoutCancel(ctx), naGrace)
	defer ccancel()
	_, _ = n.Cancel(cctx, s.ID)
	select {
	case r := <-done:
		if r.err == nil {
			return r.tr, nil // it finished before the cancel reached it
		}
	case <-cctx.Done():
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return api.NATrace{}, rp.Errorf(rp.ETimeout, "na sweep %s: no reply in time", s.ID)
	}
	return api.NATrace{}, rp.Errorf(rp.ECancelled, "na sweep %s cancelled", s.ID)
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

// Progress delivers the board's progress events until ctx ends; the
// channel is then closed. Events that arrive while the channel is full
// are dropped (a newer one follows).
func (n *NA) Progress(ctx context.Context) (<-chan api.Progress, error) {
	ch := make(chan api.Progress, 64)
	err := n.subscribe(ctx, "progress", func(m *nats.Msg) {
		var p api.Progress
		if wire.CodecOf(m.Header).Unmarshal(m.Data, &p) == nil {
			select {
			case ch <- p:
			default:
			}
		}
	}, func() { close(ch) })
	if err != nil {
		return nil, err
	}
	return ch, nil
}

// NADone is one na.done event: the trace, or Err when the sweep failed
// (then Trace holds its id, board and settings).
type NADone struct {
	Trace api.NATrace
	Err   error
}

// Done delivers the board's done events until ctx ends; the channel is
// then closed.
func (n *NA) Done(ctx context.Context) (<-chan NADone, error) {
	ch := make(chan NADone, 16)
	err := n.subscribe(ctx, "done", func(m *nats.Msg) {
		var d NADone
		d.Err = wire.ErrorFromMsg(m)
		if err := wire.CodecOf(m.Header).Unmarshal(m.Data, &d.Trace); err != nil && d.Err == nil {
			d.Err = err
		}
		select {
		case ch <- d:
		case <-ctx.Done():
		}
	}, func() { close(ch) })
	if err != nil {
		return nil, err
	}
	return ch, nil
}

// subscribe runs h for each event of verb until ctx ends, then calls
// closed once no h runs any more.
func (n *NA) subscribe(ctx context.Context, verb string, h nats.MsgHandler, closed func()) error {
	sub, err := n.b.c.nc.Subscribe(n.b.subject("na", verb), h)
	if err != nil {
		return rp.Errorf(rp.EUnavailable, "subscribing to %s: %v", n.b.subject("na", verb), err)
	}
	// The subscription must be known to the server before the caller
	// starts a sweep whose events it wants.
	if err := n.b.c.nc.Flush(); err != nil {
		_ = sub.Unsubscribe()
		return rp.Errorf(rp.EUnavailable, "subscribing to %s: %v", n.b.subject("na", verb), err)
	}
	go func() {
		<-ctx.Done()
		_ = sub.Drain()
		// Drain lets the handler finish the events already received; the
		// channel closes only after that (the handlers never block).
		for i := 0; sub.IsValid(); i++ {
			if i == 10000 {
				return // the connection is stuck: leave the channel open
			}
			time.Sleep(time.Millisecond)
		}
		closed()
	}()
	return nil
}
