package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/report"
)

// outputFlags say where a client verb (scope single, na single, specan
// single) puts what it got: a summary on stdout by default, the whole
// reply as JSON with --json, a CSV or JSON file with --out, a PNG plot
// with --png, and a progress bar on stderr with --progress.
type outputFlags struct {
	out      string
	png      string
	asJSON   bool
	progress bool
	stored   bool // the reply came from the curve store: no "saved as" line
}

func (o *outputFlags) register(fs *flag.FlagSet, withProgress bool) {
	fs.StringVar(&o.out, "out", "", "write the reply to this file: .csv or .json")
	fs.StringVar(&o.png, "png", "", "plot the reply to this PNG file")
	fs.BoolVar(&o.asJSON, "json", false, "print the whole reply as JSON instead of a summary")
	if withProgress {
		fs.BoolVar(&o.progress, "progress", false, "show a progress bar on stderr, fed by the progress events")
	}
}

func (o *outputFlags) check() error {
	switch strings.ToLower(filepath.Ext(o.out)) {
	case "", ".csv", ".json":
	default:
		return usageError{fmt.Sprintf("--out %q: the file must end in .csv or .json", o.out)}
	}
	if o.png != "" && strings.ToLower(filepath.Ext(o.png)) != ".png" {
		return usageError{fmt.Sprintf("--png %q: the file must end in .png", o.png)}
	}
	return nil
}

// write puts v where the flags say; summary prints the default view.
func (o *outputFlags) write(stdout io.Writer, v any, summary func(io.Writer)) error {
	if o.out != "" {
		if err := writeFile(o.out, v); err != nil {
			return err
		}
	}
	if o.png != "" {
		if err := report.WritePNG(o.png, v); err != nil {
			return err
		}
	}
	if o.asJSON {
		return report.WriteJSON(stdout, v)
	}
	summary(stdout)
	if id := savedCurve(v); id != "" && !o.stored {
		fmt.Fprintf(stdout, "saved as curve %s (rpbus curves get %s)\n", id, id)
	}
	for _, f := range []string{o.out, o.png} {
		if f != "" {
			fmt.Fprintf(stdout, "wrote %s\n", f)
		}
	}
	return nil
}

func writeFile(path string, v any) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if strings.ToLower(filepath.Ext(path)) == ".json" {
		err = report.WriteJSON(f, v)
	} else {
		err = report.WriteCSV(f, v)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// showProgress draws a progress bar on w from the events subscribe
// delivers, until the returned finish is called (once or more): it draws
// the final count it is given (done of total; 0 of 0 keeps the last one)
// and ends the line. Events may lag the reply, so the last one is often
// not there when the acquisition has answered.
func showProgress(ctx context.Context, w io.Writer, what string, subscribe func(context.Context) (<-chan api.Progress, error)) (finish func(done, total int), err error) {
	pctx, cancel := context.WithCancel(ctx)
	ch, err := subscribe(pctx)
	if err != nil {
		cancel()
		return nil, err
	}
	bar := &progressBar{w: w, what: what}
	over := make(chan struct{})
	go func() {
		defer close(over)
		for p := range ch {
			bar.update(p.Done, p.Total)
		}
	}()
	var once sync.Once
	return func(done, total int) {
		once.Do(func() {
			cancel()
			<-over
			bar.update(done, total)
			bar.finish()
		})
	}, nil
}

// progressBar draws "[#####-----]  50/100 what" on one terminal line.
type progressBar struct {
	w    io.Writer
	what string

	mu    sync.Mutex
	drawn bool
	last  int
}

func (p *progressBar) update(done, total int) {
	if total <= 0 {
		return
	}
	const width = 30
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn && done == p.last {
		return
	}
	p.drawn, p.last = true, done
	n := min(width, done*width/total)
	fmt.Fprintf(p.w, "\r[%s%s] %d/%d %s", strings.Repeat("#", n), strings.Repeat("-", width-n), done, total, p.what)
}

// finish ends the bar's line.
func (p *progressBar) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		fmt.Fprintln(p.w)
	}
}
