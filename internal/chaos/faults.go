package chaos

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/client"
	"github.com/rpbus/rpbus/rperr"
)

// traffic is calls made one after another through the rpbus Go client,
// as a user's program makes them, by a few workers while a fault
// happens; each outcome is kept with the time the call began. The
// client's own answers are marked: 503c when it found the service it
// waited for gone, 408c when no reply came in its time, nr when no
// service answered at all.
type traffic struct {
	row  *Row
	stop atomic.Bool
	wg   sync.WaitGroup

	mu   sync.Mutex
	outs []outcome
}

type outcome struct {
	verb string
	sent time.Time
	code string
}

// call is one kind of call of the traffic.
type call struct {
	verb string
	do   func(ctx context.Context, b *client.Board) error
}

// callBound is how long a call may take before it counts as hung: every
// call here has a timeout of its own far below it.
const callBound = time.Minute

// run starts one worker per kind of call, each on its own connection.
func (tr *traffic) run(d *deployment, first int, kinds []call) error {
	for _, k := range kinds {
		nc, err := d.connect("operator", first)
		if err != nil {
			return err
		}
		c, err := client.New(nc)
		if err != nil {
			return err
		}
		b := c.Board(Board)
		tr.wg.Add(1)
		go func() {
			defer tr.wg.Done()
			defer nc.Close()
			for i := 0; !tr.stop.Load() && i < 100000; i++ {
				ctx, cancel := context.WithTimeout(context.Background(), callBound)
				sent := time.Now()
				err := k.do(ctx, b)
				hung := ctx.Err() != nil
				cancel()
				code := outcomeCode(err)
				tr.mu.Lock()
				tr.row.Tries++
				if hung {
					tr.row.Hung++
					tr.row.problem("%s: no answer in %v: %v", k.verb, callBound, err)
				} else {
					tr.row.Answered++
					tr.row.Codes[code]++
				}
				tr.outs = append(tr.outs, outcome{k.verb, sent, code})
				tr.mu.Unlock()
				// A user's pace, not a busy loop.
				time.Sleep(5 * time.Millisecond)
				if code != "200" {
					time.Sleep(50 * time.Millisecond)
				}
			}
		}()
	}
	return nil
}

// outcomeCode is a call's outcome: the service's status, or the client's
// own answer marked as such.
func outcomeCode(err error) string {
	if err == nil {
		return "200"
	}
	msg := rperr.ErrorMessage(err)
	switch code := rperr.ErrorCode(err); {
	case code == rperr.ETimeout && strings.Contains(msg, "no reply in time"):
		return "408c"
	case code == rperr.EUnavailable && (strings.Contains(msg, "is gone") || strings.Contains(msg, "restarted") || strings.Contains(msg, "has not answered")):
		return "503c"
	case code == rperr.ENotFound && strings.Contains(msg, "no service answers"):
		return "nr"
	default:
		return strconv.Itoa(rperr.Status(code))
	}
}

// timeline logs the outcomes by half second around t, in verbose runs.
func (s *Suite) timeline(tr *traffic, t time.Time) {
	if s.opts.Log == nil {
		return
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	buckets := map[int]map[string]int{}
	lo, hi := 0, 0
	for _, o := range tr.outs {
		k := int(o.sent.Sub(t) / (500 * time.Millisecond))
		if buckets[k] == nil {
			buckets[k] = map[string]int{}
		}
		buckets[k][o.verb+" "+o.code]++
		lo, hi = min(lo, k), max(hi, k)
	}
	for k := lo; k <= hi; k++ {
		fmt.Fprintf(s.opts.Log, "  %+5.1f s %v\n", float64(k)/2, buckets[k])
	}
}

func (tr *traffic) end() {
	tr.stop.Store(true)
	tr.wg.Wait()
}

// okSince waits (up to within) until a request of verb sent after t
// succeeds, and returns how long after t it was sent.
func (tr *traffic) okSince(verb string, t time.Time, within time.Duration) (time.Duration, bool) {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		tr.mu.Lock()
		for _, o := range tr.outs {
			if o.verb == verb && o.code == "200" && o.sent.After(t) {
				tr.mu.Unlock()
				return o.sent.Sub(t), true
			}
		}
		tr.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	return 0, false
}

// firstError is how long after t the first request of verb answered
// anything but 200.
func (tr *traffic) firstError(verb string, t time.Time) (time.Duration, bool) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for _, o := range tr.outs {
		if o.verb == verb && o.code != "200" && o.code != "" && !o.sent.Before(t.Add(-30*time.Second)) {
			return max(0, o.sent.Sub(t)), true
		}
	}
	return 0, false
}

var (
	scopeQuick = call{"scope.single", func(ctx context.Context, b *client.Board) error {
		_, err := b.Scope().Single(ctx, api.ScopeSettings{Decimation: 1, Timeout: 1})
		return err
	}}
	scopeLong = call{"scope.single", func(ctx context.Context, b *client.Board) error {
		_, err := b.Scope().Single(ctx, api.ScopeSettings{Decimation: 16384})
		return err
	}}
	scopeMid = call{"scope.single", func(ctx context.Context, b *client.Board) error {
		_, err := b.Scope().Single(ctx, api.ScopeSettings{Decimation: 1024})
		return err
	}}
	info = call{"hw.info", func(ctx context.Context, b *client.Board) error {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		_, err := b.Info(ctx)
		return err
	}}
	naQuick = call{"na.single", func(ctx context.Context, b *client.Board) error {
		_, err := b.NA().Single(ctx, api.NASettings{StartFreq: 1e5, StopFreq: 2e5, Points: 5, RBW: 1e4, Timeout: 5})
		return err
	}}
	specanQuick = call{"specan.single", func(ctx context.Context, b *client.Board) error {
		_, err := b.Specan().Single(ctx, api.SpecanSettings{Decimation: 8, Timeout: 5})
		return err
	}}
)

// fault kills victim under traffic, restarts it after a while, and
// measures how long after the restart the watched request succeeds.
func (s *Suite) fault(ctx context.Context, d *deployment, name string, victim func() *proc, kinds []call, watched string, restart func(*proc) error) *Row {
	row := newRow("fault: " + name)
	tr := &traffic{row: row}
	if err := tr.run(d, 0, kinds); err != nil {
		row.problem("traffic: %v", err)
		return row
	}
	if _, ok := tr.okSince(watched, time.Now().Add(-time.Minute), 30*time.Second); !ok {
		row.problem("no %s succeeded before the fault", watched)
	}
	time.Sleep(500 * time.Millisecond) // traffic in flight, a long acquisition running
	p := victim()
	killed := time.Now()
	p.kill()
	time.Sleep(2 * time.Second)
	repaired := time.Now()
	if err := restart(p); err != nil {
		row.problem("restarting %s: %v", p.name, err)
	}
	if rec, ok := tr.okSince(watched, repaired, 60*time.Second); ok {
		row.Recovered = rec.Seconds()
	} else {
		row.problem("%s did not succeed again within 60 s of the restart", watched)
	}
	time.Sleep(500 * time.Millisecond)
	tr.end()
	s.timeline(tr, killed)
	if e, ok := tr.firstError(watched, killed); ok {
		row.Note = fmt.Sprintf("first error %.2f s after the kill", e.Seconds())
	}
	s.checkCrashes(d, row)
	if ctx.Err() == nil {
		if err := d.ready(ctx); err != nil {
			row.problem("not ready after the fault: %v", err)
		}
	}
	s.progress(row)
	return row
}

// faults: kill -9 of the bridge, the scope and the simboard under
// traffic, each restarted 2 s later, and a restart of the NATS server.
func (s *Suite) faults(ctx context.Context, d *deployment) []*Row {
	again := func(ready string) func(p *proc) error {
		return func(p *proc) error { return p.start(d.exe, ready) }
	}
	return []*Row{
		s.fault(ctx, d, "kill -9 hwbridge", func() *proc { return d.bridge }, []call{scopeQuick, scopeLong, info, naQuick}, "scope.single", again("hwbridge:")),
		s.fault(ctx, d, "kill -9 scope", func() *proc { return d.services["scope"] }, []call{scopeQuick, scopeLong, specanQuick, info}, "scope.single", again("scope: serving")),
		s.fault(ctx, d, "kill -9 simboard", func() *proc { return d.simboard }, []call{scopeQuick, info, naQuick}, "scope.single", again("")),
		s.fault(ctx, d, "restart nats (kill -9, same port)", func() *proc { return d.nodes[0] }, []call{scopeQuick, info, naQuick, specanQuick}, "scope.single", again(" clients ")),
	}
}

// nodeLoss kills (kill -9) the cluster node the services are connected
// to, while requests from clients on another node run; the node stays
// down. Every request the services took must be answered.
func (s *Suite) nodeLoss(ctx context.Context, d *deployment) *Row {
	row := newRow("fault: kill -9 of the services' cluster node")
	tr := &traffic{row: row}
	if err := tr.run(d, 1, []call{scopeMid, scopeMid, info, naQuick, specanQuick}); err != nil {
		row.problem("traffic: %v", err)
		return row
	}
	if _, ok := tr.okSince("scope.single", time.Now().Add(-time.Minute), 30*time.Second); !ok {
		row.problem("no scope.single succeeded before the fault")
	}
	time.Sleep(time.Second)
	killed := time.Now()
	d.nodes[0].kill()
	if rec, ok := tr.okSince("scope.single", killed, 60*time.Second); ok {
		row.Recovered = rec.Seconds()
	} else {
		row.problem("scope.single did not succeed again within 60 s of the node's loss")
	}
	time.Sleep(2 * time.Second)
	tr.end()
	for _, p := range d.all()[:2] { // simboard, bridge
		row.Crashed += len(p.crashed())
	}
	for _, p := range d.services {
		for _, c := range p.crashed() {
			row.Crashed++
			row.problem("%s", c)
		}
	}
	d.nodes[0].crashed() // killed by us
	row.Note = "the node stays down; recovered: from the kill"
	s.progress(row)
	return row
}
