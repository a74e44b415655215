package specan

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/rpbus/rpbus/acq"
	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/client"
	"github.com/rpbus/rpbus/dsp/spectrum"
	"github.com/rpbus/rpbus/regmap"
	"github.com/rpbus/rpbus/rperr"
)

type result struct {
	tr  *api.ScopeTrace // from tracePool
	err error
	f   *inflight
}

// tracePool holds decoded scope traces: each is decoded into one whose
// sample arrays are reused, so a spectrum allocates no sample memory per
// trace.
var tracePool = sync.Pool{New: func() any { return new(api.ScopeTrace) }}

// inflight is one scope request.
type inflight struct {
	cancel context.CancelFunc
	done   chan struct{} // closed when the request's goroutine has returned
}

// deadline is ctx's deadline (run's context always has one).
func deadline(ctx context.Context) time.Time {
	d, _ := ctx.Deadline()
	return d
}

// run acquires p.traces scope traces with cfg.InFlight requests in flight
// and adds each to an as it arrives. Ending a's context (cancel, stop,
// shutdown) or the timeout ends the scope requests in flight too; run
// returns only after they have.
func (s *Service) run(a *acq.Handle, board string, p plan, an *spectrum.Analyzer) (api.Spectrum, error) {
	sp := api.Spectrum{ID: a.ID, Board: board}
	ctx, cancel := context.WithTimeout(a.Context(), p.timeout)
	defer cancel()
	scopeSet := api.ScopeSettings{
		Input1:        p.applied.Input1,
		Input2:        p.applied.Input2,
		Decimation:    p.dec,
		TriggerSource: "immediately",
		Average:       client.Ptr(true), // the boxcar the |H|^2 correction assumes
		TraceAverage:  1,
	}
	scope := s.c.Board(board).Scope()
	// Buffered for every request in flight, so a sender never blocks
	// after run has returned.
	results := make(chan result, s.cfg.InFlight)
	// The requests' contexts are not children of ctx: when the spectrum
	// ends early they are cancelled youngest first, each after the one
	// before has answered, so the scope has dropped the queued ones before
	// the running one ends and never starts a trace that is about to be
	// cancelled.
	var pending []*inflight // in send order
	defer func() {
		for i := len(pending) - 1; i >= 0; i-- {
			pending[i].cancel()
			<-pending[i].done
		}
	}()
	send := func() {
		// A little beyond ctx's deadline, so that run's own timeout
		// cancels them in order too.
		rctx, rcancel := context.WithDeadline(context.WithoutCancel(ctx), deadline(ctx).Add(time.Second))
		f := &inflight{cancel: rcancel, done: make(chan struct{})}
		pending = append(pending, f)
		go func() {
			defer close(f.done)
			tr := tracePool.Get().(*api.ScopeTrace)
			err := scope.SingleInto(rctx, scopeSet, tr)
			results <- result{tr, err, f}
		}()
	}
	total := p.traces
	sent := min(s.cfg.InFlight, total)
	for range sent {
		send()
	}
	tick := time.NewTicker(ProgressInterval)
	defer tick.Stop()
	for done := 0; done < total; {
		select {
		case res := <-results:
			res.f.cancel()
			pending = slices.DeleteFunc(pending, func(f *inflight) bool { return f == res.f })
			if res.err != nil {
				tracePool.Put(res.tr)
				return sp, s.failure(ctx, a, p, done, res.err)
			}
			err := addTrace(an, p, res.tr)
			if done == 0 || res.tr.Started < sp.Started {
				sp.Started = res.tr.Started
			}
			sp.Ended = max(sp.Ended, res.tr.Ended)
			tracePool.Put(res.tr)
			if err != nil {
				return sp, errDetail(a.ID, done, total, err)
			}
			done++
			if sent < total {
				send()
				sent++
			}
			if done == total {
				_ = s.tracker.Publish(board, "progress", api.Progress{ID: a.ID, Done: done, Total: total})
			}
		case <-tick.C:
			_ = s.tracker.Publish(board, "progress", api.Progress{ID: a.ID, Done: done, Total: total})
		case <-ctx.Done():
			return sp, s.failure(ctx, a, p, done, ctx.Err())
		}
	}
	return sp, nil
}

// addTrace checks a scope trace against what was asked and adds it.
func addTrace(an *spectrum.Analyzer, p plan, tr *api.ScopeTrace) error {
	n := regmap.ScopeBufferLen
	switch {
	case len(tr.Ch1) != n || len(tr.Ch2) != n:
		return rperr.Errorf(rperr.EInternal, "the scope sent %d and %d samples, want %d per channel", len(tr.Ch1), len(tr.Ch2), n)
	case tr.Settings.Decimation != p.dec:
		return rperr.Errorf(rperr.EInternal, "the scope applied decimation %d, want %d", tr.Settings.Decimation, p.dec)
	}
	if err := an.AddFloat32(tr.Ch1, tr.Ch2); err != nil {
		return rperr.Errorf(rperr.EInternal, "%s", rperr.ErrorMessage(err))
	}
	return nil
}

// failure says why a spectrum ended early: cancelled or stopped (499), the
// timeout (408), or the scope's error with its code.
func (s *Service) failure(ctx context.Context, a *acq.Handle, p plan, done int, err error) error {
	if aerr := a.Err(); aerr != nil {
		return aerr
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return rperr.Errorf(rperr.ETimeout, "spectrum %s: %d of %d traces in the timeout of %g s", a.ID, done, p.traces, p.timeout.Seconds())
	}
	return errDetail(a.ID, done, p.traces, err)
}
