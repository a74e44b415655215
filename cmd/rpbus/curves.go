package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/client"
	"github.com/rpbus/rpbus/report"
	"github.com/rpbus/rpbus/services/curves"
)

func init() {
	register("curves", "the curve store service; `curves ls|get|rm|tag` list, fetch, delete and label saved curves", func(stdout, stderr io.Writer) command {
		return &curvesCmd{stdout: stdout}
	})
}

// curvesCmd runs the curve store (`rpbus curves`), or with a verb works
// on the curves it holds: ls, get ID, rm ID..., tag ID.
type curvesCmd struct {
	stdout io.Writer
	nats   natsFlags
	verb   string
	ids    []string

	// serve
	maxBytes byteSize
	replicas int

	// ls
	query  api.CurveQuery
	since  timeFlag
	until  timeFlag
	keep   string
	all    bool
	asJSON bool

	// get
	outputs outputFlags

	// tag
	update           api.CurveUpdate
	addTags, rmTags  listFlag
	setTags          listFlag
	keepSet, keepVal bool

	nc  *nats.Conn
	svc stopper
}

var curvesVerbs = []string{"ls", "get", "rm", "tag"}

func (c *curvesCmd) ParseFlags(args []string) error {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		c.verb, args = args[0], args[1:]
	}
	fs := flag.NewFlagSet("rpbus curves", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: rpbus curves [flags]                  run the curve store\n"+
			"       rpbus curves ls [flags]               list saved curves, newest first\n"+
			"       rpbus curves get ID [flags]           print one; --out file.csv|json, --png file.png\n"+
			"       rpbus curves tag ID [flags]           rename, retag, annotate, keep\n"+
			"       rpbus curves rm ID...                 delete\n"+
			"flags of rpbus curves %s:\n", c.verb)
		fs.PrintDefaults()
	}
	c.nats.register(fs)
	switch c.verb {
	case "":
		c.maxBytes = curves.DefaultMaxBytes
		fs.Var(&c.maxBytes, "max-bytes", "the store's size (traces and metadata), e.g. 512MiB, 2GB: when full, the oldest curves not marked keep go first")
		fs.IntVar(&c.replicas, "replicas", 1, "JetStream replicas of the store: 1, or 3 (or 5) in a cluster")
	case "ls":
		fs.StringVar(&c.query.Board, "board", "", "only this board's curves")
		fs.StringVar(&c.query.Instrument, "instrument", "", "only scope, na or specan curves")
		fs.StringVar(&c.query.NamePrefix, "name", "", "only names that start with this")
		fs.StringVar(&c.query.Tag, "tag", "", "only curves with this tag")
		fs.StringVar(&c.query.User, "by", "", "only curves this user saved (the user of the client that asked for them)")
		fs.StringVar(&c.query.Acquisition, "acquisition", "", "only the curves of this acquisition id")
		fs.Var(&c.since, "since", "only curves saved at or after: RFC 3339 time, Unix seconds, or a duration ago (2h)")
		fs.Var(&c.until, "until", "only curves saved before (as -since)")
		fs.StringVar(&c.keep, "keep", "", "true: only curves marked keep; false: only the others")
		fs.IntVar(&c.query.Limit, "limit", 0, "curves per page (default 100)")
		fs.BoolVar(&c.all, "all", false, "every page, not only the first")
		fs.BoolVar(&c.asJSON, "json", false, "print the replies as JSON")
	case "get":
		c.outputs.register(fs, false)
		c.outputs.stored = true
	case "rm":
	case "tag":
		fs.Func("name", "the new name", func(v string) error { c.update.Name = &v; return nil })
		fs.Func("note", "the new note", func(v string) error { c.update.Note = &v; return nil })
		fs.Var(&c.setTags, "tags", "replace the tags: a,b,c (empty: none)")
		fs.Var(&c.addTags, "add", "add tags: a,b")
		fs.Var(&c.rmTags, "remove", "remove tags: a,b")
		fs.Func("keep", "true: never evict the curve; false: it may go when the store is full", func(v string) error {
			b, err := strconv.ParseBool(v)
			c.keepSet, c.keepVal = true, b
			return err
		})
	default:
		return usageError{fmt.Sprintf("rpbus curves: unknown verb %q; `rpbus curves` runs the store, with %s it works on the curves", c.verb, strings.Join(curvesVerbs, ", "))}
	}
	// IDs may come before, between or after the flags.
	for {
		if err := fs.Parse(args); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		c.ids = append(c.ids, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if err := parseWithEnv(fs, nil, natsAliases); err != nil {
		return err
	}
	switch {
	case c.verb == "" || c.verb == "ls":
		if len(c.ids) > 0 {
			return usageError{fmt.Sprintf("rpbus curves %s: unexpected %q", c.verb, strings.Join(c.ids, " "))}
		}
	case c.verb == "rm":
		if len(c.ids) == 0 {
			return usageError{"rpbus curves rm ID...: which curves?"}
		}
	case len(c.ids) != 1:
		return usageError{fmt.Sprintf("rpbus curves %s ID: give one curve id", c.verb)}
	}
	switch c.keep {
	case "":
	case "true", "false":
		k := c.keep == "true"
		c.query.Keep = &k
	default:
		return usageError{fmt.Sprintf("--keep %q: true or false", c.keep)}
	}
	c.query.Since, c.query.Until = float64(c.since), float64(c.until)
	return c.outputs.check()
}

func (c *curvesCmd) Run(ctx context.Context) error {
	var err error
	if c.verb == "" {
		if c.nc, err = c.nats.connect("rpbus-curves"); err != nil {
			return err
		}
		s, err := curves.Start(c.nc, curves.Config{MaxBytes: int64(c.maxBytes), Replicas: c.replicas})
		if err != nil {
			return err
		}
		c.svc = s
		st := s.Stats()
		fmt.Fprintf(c.stdout, "curves: serving rp.curves.* on NATS %s: %d curves, %s of %s\n", c.nats.url, st.Curves, byteSize(st.Bytes), c.maxBytes)
		<-ctx.Done()
		return nil
	}
	if c.nc, err = c.nats.connect("rpbus-curves-client"); err != nil {
		return err
	}
	cl, err := client.New(c.nc)
	if err != nil {
		return err
	}
	cs := cl.Curves()
	switch c.verb {
	case "ls":
		return c.list(ctx, cs)
	case "get":
		return c.get(ctx, cs)
	case "rm":
		for _, id := range c.ids {
			if err := cs.Delete(ctx, id); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "deleted %s\n", id)
		}
		return nil
	}
	return c.tag(ctx, cs)
}

func (c *curvesCmd) list(ctx context.Context, cs *client.Curves) error {
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	if !c.asJSON {
		fmt.Fprintln(tw, "ID\tSAVED\tINSTRUMENT\tBOARD\tUSER\tNAME\tTAGS\tKEEP\tSIZE")
	}
	shown := 0
	q := c.query
	for {
		l, err := cs.List(ctx, q)
		if err != nil {
			return err
		}
		if c.asJSON {
			if err := report.WriteJSON(c.stdout, l); err != nil {
				return err
			}
		}
		for _, cv := range l.Curves {
			if !c.asJSON {
				keep := ""
				if cv.Keep {
					keep = "keep"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", cv.ID, api.UnixTime(cv.Saved).Format("2006-01-02 15:04:05"),
					cv.Instrument, cv.Board, cv.User, cv.Name, strings.Join(cv.Tags, ","), keep, byteSize(cv.Bytes))
			}
			shown++
		}
		if l.Next == "" || !c.all {
			if !c.asJSON {
				tw.Flush()
				st := l.Store
				more := ""
				if l.Next != "" {
					more = " (more: --all)"
				}
				noun := "curves"
				if st.Curves == 1 {
					noun = "curve"
				}
				fmt.Fprintf(c.stdout, "%d shown%s; the store holds %d %s (%d kept), %s of %s\n",
					shown, more, st.Curves, noun, st.Kept, byteSize(st.Bytes), byteSize(st.MaxBytes))
			}
			return nil
		}
		q.Cursor = l.Next
	}
}

func (c *curvesCmd) get(ctx context.Context, cs *client.Curves) error {
	d, err := cs.Get(ctx, c.ids[0])
	if err != nil {
		return err
	}
	var v any
	switch {
	case d.Scope != nil:
		v = *d.Scope
	case d.NA != nil:
		v = *d.NA
	case d.Specan != nil:
		v = *d.Specan
	default:
		return fmt.Errorf("curve %s: the reply holds no trace", c.ids[0])
	}
	if c.outputs.asJSON {
		v = d // the whole reply: metadata and trace
	}
	return c.outputs.write(c.stdout, v, func(w io.Writer) {
		cv := d.Curve
		fmt.Fprintf(w, "curve %s: %s on %s, acquisition %s, saved %s\n", cv.ID, cv.Instrument, cv.Board, cv.Acquisition,
			api.UnixTime(cv.Saved).Format(time.RFC3339))
		if cv.Name != "" || len(cv.Tags) > 0 || cv.Keep {
			fmt.Fprintf(w, "  name %q, tags %s, keep %v\n", cv.Name, strings.Join(cv.Tags, ","), cv.Keep)
		}
		if cv.Note != "" {
			fmt.Fprintf(w, "  note: %s\n", cv.Note)
		}
		for _, a := range cv.Arrays {
			fmt.Fprintf(w, "  %s: %s %v\n", a.Name, a.Dtype, a.Shape)
		}
	})
}

func (c *curvesCmd) tag(ctx context.Context, cs *client.Curves) error {
	u := c.update
	u.ID = c.ids[0]
	if c.keepSet {
		u.Keep = &c.keepVal
	}
	if c.setTags.set || len(c.addTags.v) > 0 || len(c.rmTags.v) > 0 {
		tags := c.setTags.v
		if !c.setTags.set {
			cur, err := cs.Get(ctx, u.ID)
			if err != nil {
				return err
			}
			tags = cur.Curve.Tags
		}
		out := []string{}
		for _, t := range append(tags, c.addTags.v...) {
			if !slices.Contains(c.rmTags.v, t) && !slices.Contains(out, t) {
				out = append(out, t)
			}
		}
		u.Tags = &out
	}
	cv, err := cs.Update(ctx, u)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "curve %s: name %q, tags %s, keep %v\n", cv.ID, cv.Name, strings.Join(cv.Tags, ","), cv.Keep)
	return nil
}

func (c *curvesCmd) Close() error {
	return stopAndDrain(c.svc, c.nc)
}

// registerSave adds --save, --name and --tag to an instrument's single
// verb, bound to its settings' fields.
func registerSave(fs *flag.FlagSet, save *bool, name *string, tags *[]string) {
	fs.BoolVar(save, "save", false, "store the result in the curve store (rpbus curves ls shows it)")
	fs.StringVar(name, "name", "", "with --save: the curve's name")
	fs.Func("tag", "with --save: a tag of the curve (repeatable)", func(v string) error {
		*tags = append(*tags, v)
		return nil
	})
}

// savedCurve is the curve id a reply carries, when it was saved.
func savedCurve(v any) string {
	switch t := v.(type) {
	case api.ScopeTrace:
		return t.Curve
	case api.NATrace:
		return t.Curve
	case api.Spectrum:
		return t.Curve
	}
	return ""
}

// listFlag is a comma-separated list flag.
type listFlag struct {
	v   []string
	set bool
}

func (l *listFlag) String() string { return strings.Join(l.v, ",") }

func (l *listFlag) Set(s string) error {
	l.set = true
	for _, t := range strings.Split(s, ",") {
		if t = strings.TrimSpace(t); t != "" {
			l.v = append(l.v, t)
		}
	}
	return nil
}

// timeFlag is a time in Unix seconds, given as RFC 3339, Unix seconds
// or a duration before now.
type timeFlag float64

func (t *timeFlag) String() string {
	if *t == 0 {
		return ""
	}
	return api.UnixTime(float64(*t)).Format(time.RFC3339)
}

func (t *timeFlag) Set(s string) error {
	if v, err := strconv.ParseFloat(s, 64); err == nil {
		*t = timeFlag(v)
		return nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		*t = timeFlag(api.Unix(time.Now().Add(-d)))
		return nil
	}
	tt, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return fmt.Errorf("%q: want an RFC 3339 time (2026-05-01T14:00:00Z), Unix seconds, or a duration ago (90m)", s)
	}
	*t = timeFlag(api.Unix(tt))
	return nil
}

// byteSize is a size in bytes, given as 512MiB, 2GB, 1e9 or 4096.
type byteSize int64

var byteUnits = []struct {
	suffix string
	n      float64
}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"B", 1}}

func (b byteSize) String() string {
	switch {
	case b >= 1<<30:
		return strconv.FormatFloat(float64(b)/(1<<30), 'f', 1, 64) + " GiB"
	case b >= 1<<20:
		return strconv.FormatFloat(float64(b)/(1<<20), 'f', 1, 64) + " MiB"
	case b >= 1<<10:
		return strconv.FormatFloat(float64(b)/(1<<10), 'f', 1, 64) + " KiB"
	}
	return strconv.FormatInt(int64(b), 10) + " B"
}

func (b *byteSize) Set(s string) error {
	s = strings.TrimSpace(s)
	mult := 1.0
	for _, u := range byteUnits {
		if strings.HasSuffix(strings.ToUpper(s), strings.ToUpper(u.suffix)) {
			s, mult = strings.TrimSpace(s[:len(s)-len(u.suffix)]), u.n
			break
		}
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v < 0 || v*mult > 1<<62 {
		return fmt.Errorf("%q: want a size such as 512MiB, 2GB or 1048576", s)
	}
	*b = byteSize(v * mult)
	return nil
}
