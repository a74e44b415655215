package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/rpbus/rpbus/internal/chaos"
)

func init() {
	register("chaos", "the reliability suite: fuzz, load, faults and security against a deployment it starts on loopback; prints one table", func(stdout, stderr io.Writer) command {
		return &chaosCmd{stdout: stdout, stderr: stderr}
	})
}

type chaosCmd struct {
	stdout, stderr io.Writer
	opts           chaos.Options
	short          bool
	parts          string
	verbose        bool
}

func (c *chaosCmd) ParseFlags(args []string) error {
	fs := flag.NewFlagSet("rpbus chaos", flag.ContinueOnError)
	fs.BoolVar(&c.short, "short", false, "the CI size: 30 payloads per endpoint and encoding, load 10x20")
	fs.StringVar(&c.parts, "only", "", "comma separated parts to run: fuzz, load, faults, security (default all)")
	fs.IntVar(&c.opts.Payloads, "payloads", 0, "bad payloads per endpoint and encoding (default 300, 30 with --short)")
	fs.IntVar(&c.opts.Conns, "conns", 0, "load: connections (default 50, 10 with --short)")
	fs.IntVar(&c.opts.Requests, "requests", 0, "load: requests per connection (default 100, 20 with --short)")
	fs.DurationVar(&c.opts.Timeout, "timeout", 0, "bound on the whole run (default 30m, 10m with --short)")
	fs.BoolVar(&c.verbose, "v", false, "a line per scenario as it ends, on stderr")
	if err := parseWithEnv(fs, args, nil); err != nil {
		return err
	}
	size := chaos.Full
	if c.short {
		size = chaos.Short
	}
	for _, v := range []struct {
		p   *int
		def int
	}{{&c.opts.Payloads, size.Payloads}, {&c.opts.Conns, size.Conns}, {&c.opts.Requests, size.Requests}} {
		if *v.p == 0 {
			*v.p = v.def
		}
		if *v.p < 1 || *v.p > 100000 {
			return usageError{fmt.Sprintf("rpbus chaos: %d is outside 1..100000", *v.p)}
		}
	}
	if c.opts.Timeout == 0 {
		c.opts.Timeout = size.Timeout
	}
	if c.parts != "" {
		for _, p := range strings.Split(c.parts, ",") {
			switch p {
			case "fuzz", "load", "faults", "security":
				c.opts.Parts = append(c.opts.Parts, p)
			default:
				return usageError{fmt.Sprintf("rpbus chaos --only: %q is not fuzz, load, faults or security", p)}
			}
		}
	}
	return nil
}

func (c *chaosCmd) Run(ctx context.Context) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	c.opts.Exe = exe
	if c.verbose {
		c.opts.Log = c.stderr
	}
	start := time.Now()
	rows, err := chaos.Run(ctx, c.opts)
	chaos.Print(c.stdout, rows)
	fmt.Fprintf(c.stdout, "\n%d scenarios in %.0f s\n", len(rows), time.Since(start).Seconds())
	if err != nil {
		return err
	}
	if chaos.Failed(rows) {
		return errors.New("chaos: goals missed (see above)")
	}
	return nil
}

func (c *chaosCmd) Close() error { return nil }
