package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/nats-io/nats.go"

	"github.com/rpbus/rpbus/services/scope"
)

func init() {
	register("scope", "serve the oscilloscope of every board (rp.*.scope.single, continuous, cancel, stop)", func(stdout, stderr io.Writer) command {
		return &scopeCmd{stdout: stdout}
	})
	instruments = append(instruments, instrument{
		name: "scope",
		start: func(nc *nats.Conn) (stopper, error) {
			return scope.Start(nc, scope.Config{})
		},
		examples: func(board string) []string {
			return []string{
				fmt.Sprintf(`req rp.%s.scope.single '{"duration":0.001}'`, board),
				fmt.Sprintf(`req rp.%s.scope.single '{"duration":0.001,"input1":"out1","trigger_source":"ch1_positive_edge","threshold":0.1}'`, board),
				fmt.Sprintf(`sub rp.%s.scope.done`, board),
			}
		},
	})
}

// scopeCmd runs the scope service: `rpbus scope` with no verb.
type scopeCmd struct {
	stdout io.Writer
	nats   natsFlags

	nc  *nats.Conn
	svc *scope.Service
}

func (c *scopeCmd) ParseFlags(args []string) error {
	fs := flag.NewFlagSet("rpbus scope", flag.ContinueOnError)
	c.nats.register(fs)
	if err := parseWithEnv(fs, args, natsAliases); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("rpbus scope: unexpected %q; `rpbus scope [flags]` runs the service", strings.Join(fs.Args(), " "))}
	}
	return nil
}

func (c *scopeCmd) Run(ctx context.Context) error {
	var err error
	if c.nc, err = c.nats.connect("rpbus-scope"); err != nil {
		return err
	}
	if c.svc, err = scope.Start(c.nc, scope.Config{}); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "scope: serving rp.*.scope.* on %s\n", c.nats.url)
	<-ctx.Done()
	return nil
}

func (c *scopeCmd) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), drainTimeout)
	defer cancel()
	if c.svc != nil {
		_ = c.svc.Stop(ctx)
	}
	if c.nc != nil {
		return c.nc.Drain()
	}
	return nil
}
