package chaos

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"
)

// Options size a run; Short is what CI runs.
type Options struct {
	// Exe is the rpbus binary whose subcommands the suite starts.
	Exe string
	// Parts to run: fuzz, load, faults, security (all when empty).
	Parts []string
	// Payloads per endpoint and encoding (at least 300 for a full run).
	Payloads int
	// Conns and Requests: the load's connections and requests on each.
	Conns, Requests int
	// Timeout bounds the whole run.
	Timeout time.Duration
	// Log gets a line per row as it finishes (nil: none).
	Log io.Writer
}

// Full and Short are the two sizes scripts/reliability runs.
var (
	Full  = Options{Payloads: 300, Conns: 50, Requests: 100, Timeout: 30 * time.Minute}
	Short = Options{Payloads: 30, Conns: 10, Requests: 20, Timeout: 10 * time.Minute}
)

// Suite is one run.
type Suite struct {
	opts Options
	rows []*Row
}

// Run starts the deployments the parts need in a temporary directory,
// runs the parts, stops everything and returns the rows.
func Run(ctx context.Context, opts Options) ([]*Row, error) {
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	s := &Suite{opts: opts}
	dir, err := os.MkdirTemp("", "rpbus-chaos")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)

	if s.part("fuzz") || s.part("load") || s.part("faults") || s.part("security") {
		d, err := start(ctx, opts.Exe, dir+"/single", 1)
		if err != nil {
			return nil, fmt.Errorf("starting the deployment: %w", err)
		}
		if s.part("security") {
			s.rows = append(s.rows, s.security(d)...)
		}
		if s.part("fuzz") {
			s.rows = append(s.rows, s.fuzz(d, opts.Payloads)...)
		}
		if s.part("load") {
			s.rows = append(s.rows, s.load(d, opts.Conns, opts.Requests))
		}
		if s.part("faults") {
			s.rows = append(s.rows, s.faults(ctx, d)...)
		}
		d.close()
	}
	if s.part("faults") && ctx.Err() == nil {
		d, err := start(ctx, opts.Exe, dir+"/cluster", 3)
		if err != nil {
			return s.rows, fmt.Errorf("starting the cluster: %w", err)
		}
		s.rows = append(s.rows, s.nodeLoss(ctx, d))
		d.close()
	}
	if ctx.Err() != nil {
		return s.rows, fmt.Errorf("the run took longer than %v", opts.Timeout)
	}
	return s.rows, nil
}

func (s *Suite) part(name string) bool {
	if len(s.opts.Parts) == 0 {
		return true
	}
	for _, p := range s.opts.Parts {
		if p == name {
			return true
		}
	}
	return false
}

func (s *Suite) progress(r *Row) {
	if s.opts.Log != nil {
		fmt.Fprintf(s.opts.Log, "chaos: %s: %d tries, %d answered, %d hung, %d dup, %d crashed\n", r.Name, r.Tries, r.Answered, r.Hung, r.Dup, r.Crashed)
	}
}

// checkCrashes counts the processes that ended on their own.
func (s *Suite) checkCrashes(d *deployment, r *Row) {
	for _, c := range d.crashes() {
		r.Crashed++
		r.problem("%s", c)
	}
}

// Failed says whether any row missed a goal: a request hung or was
// answered twice, a process crashed, or a row recorded a problem.
func Failed(rows []*Row) bool {
	for _, r := range rows {
		if r.Hung > 0 || r.Dup > 0 || r.Crashed > 0 || len(r.Problems) > 0 {
			return true
		}
	}
	return false
}

// Print writes the table, then every problem under its row's name.
func Print(w io.Writer, rows []*Row) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\ttries\tanswered\tby code\thung\tdup\tcrashed\trecovered s\tnote")
	var t Row
	for _, r := range rows {
		rec := "-"
		if r.Recovered >= 0 {
			rec = fmt.Sprintf("%.2f", r.Recovered)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%d\t%d\t%d\t%s\t%s\n", r.Name, r.Tries, r.Answered, r.codes(), r.Hung, r.Dup, r.Crashed, rec, r.Note)
		t.Tries += r.Tries
		t.Answered += r.Answered
		t.Hung += r.Hung
		t.Dup += r.Dup
		t.Crashed += r.Crashed
	}
	fmt.Fprintf(tw, "total\t%d\t%d\t\t%d\t%d\t%d\t\t\n", t.Tries, t.Answered, t.Hung, t.Dup, t.Crashed)
	tw.Flush()
	for _, r := range rows {
		if len(r.Problems) > 0 {
			fmt.Fprintf(w, "\n%s:\n  %s\n", r.Name, strings.Join(r.Problems, "\n  "))
		}
	}
}
