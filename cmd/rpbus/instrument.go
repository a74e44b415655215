package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/nats-io/nats.go"

	"github.com/rpbus/rpbus/client"
)

// instrumentCmd is what `rpbus scope`, `rpbus na` and `rpbus specan`
// share: with no verb the service runs until a signal; with the verb
// "single" it asks the service for one acquisition and shows it.
type instrumentCmd struct {
	name   string
	stdout io.Writer
	stderr io.Writer

	nats    natsFlags
	single  bool
	board   string
	outputs outputFlags

	// serve starts the service on nc; acquire does the single verb.
	serve   func(nc *nats.Conn) (stopper, error)
	acquire func(ctx context.Context, b *client.Board) error

	nc  *nats.Conn
	svc stopper
}

// flags takes the verb off args and returns the flag set, with the flags
// every mode has; the caller adds its own and calls parse.
func (c *instrumentCmd) flags(args []string) (*flag.FlagSet, []string) {
	if len(args) > 0 && args[0] == "single" {
		c.single = true
		args = args[1:]
	}
	fs := flag.NewFlagSet("rpbus "+c.name+" [single]", flag.ContinueOnError)
	c.nats.register(fs)
	if c.single {
		fs.StringVar(&c.board, "board", "sim", "board name")
	}
	return fs, args
}

// parse parses args and checks what is left over.
func (c *instrumentCmd) parse(fs *flag.FlagSet, args []string) error {
	if err := parseWithEnv(fs, args, natsAliases); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("rpbus %s: unexpected %q; `rpbus %s [flags]` runs the service, `rpbus %s single [flags]` asks it once",
			c.name, strings.Join(fs.Args(), " "), c.name, c.name)}
	}
	return c.outputs.check()
}

func (c *instrumentCmd) Run(ctx context.Context) error {
	var err error
	if c.single {
		if c.nc, err = c.nats.dial("rpbus-" + c.name + "-client"); err != nil {
			return err
		}
		cl, err := client.New(c.nc)
		if err != nil {
			return err
		}
		return c.acquire(ctx, cl.Board(c.board))
	}
	if c.nc, err = c.nats.connect("rpbus-" + c.name); err != nil {
		return err
	}
	if c.svc, err = c.serve(c.nc); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "%s: serving rp.*.%s.* on NATS %s\n", c.name, c.name, c.nats.shown())
	<-ctx.Done()
	return nil
}

func (c *instrumentCmd) Close() error {
	return stopAndDrain(c.svc, c.nc)
}
