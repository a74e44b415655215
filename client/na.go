package client

import (
	"context"
	"math"
	"time"

	"github.com/nats-io/nuid"

	"github.com/rpbus/rpbus/api"
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
	return await[api.NATrace](ctx, n.b.c, n.b.subject("na", "single"), s, time.Duration(timeout*float64(time.Second))+naGrace, func(cctx context.Context) {
		_, _ = n.Cancel(cctx, s.ID)
	}, n.b.c.servicePing("na"))
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

// Progress delivers the board's na.progress events until ctx ends; the
// channel is then closed.
func (n *NA) Progress(ctx context.Context) (<-chan api.Progress, error) {
	return events[api.Progress](ctx, n.b, "na", "progress")
}

// Done delivers the board's na.done events, failed sweeps included (Err
// set, Value holding their id, board and settings), until ctx ends; the
// channel is then closed.
func (n *NA) Done(ctx context.Context) (<-chan Done[api.NATrace], error) {
	return doneEvents[api.NATrace](ctx, n.b, "na")
}
