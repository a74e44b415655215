package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/rpbus/rpbus/board"
	"github.com/rpbus/rpbus/rperr"
	"github.com/rpbus/rpbus/services/hwbridge"
)

func init() {
	register("hwbridge", "serve one board's registers and generators (the only process that touches the FPGA)", func(stdout, stderr io.Writer) command {
		return &hwbridgeCmd{stdout: stdout, stderr: stderr}
	})
}

// drainTimeout bounds how long a stopping service keeps answering the
// requests it already took.
const drainTimeout = 10 * time.Second

type hwbridgeCmd struct {
	stdout io.Writer
	stderr io.Writer
	nats   natsFlags
	board  boardFlags

	nc     *nats.Conn
	fpga   board.FPGA
	bridge *hwbridge.Bridge
}

func (c *hwbridgeCmd) ParseFlags(args []string) error {
	fs := flag.NewFlagSet("rpbus hwbridge", flag.ContinueOnError)
	c.nats.register(fs)
	c.board.register(fs)
	return parseWithEnv(fs, args, natsAliases)
}

func (c *hwbridgeCmd) Run(ctx context.Context) error {
	cfg, err := c.board.open(ctx, c.stderr)
	if err != nil {
		return err
	}
	c.fpga = cfg.FPGA
	if c.nc, err = c.nats.connect("rpbus-hwbridge-" + c.board.name); err != nil {
		return err
	}
	if c.bridge, err = hwbridge.Start(c.nc, cfg); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "hwbridge: board %q on backend %s, NATS %s\n", c.board.name, c.board.backend, c.nats.shown())
	if err := c.bridge.Ready(); err != nil {
		fmt.Fprintf(c.stderr, "hwbridge: not serving the FPGA, every request answers 503 until this is fixed: %s\n", rperr.ErrorMessage(err))
	}
	<-ctx.Done()
	return nil
}

func (c *hwbridgeCmd) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), drainTimeout)
	defer cancel()
	if c.bridge != nil {
		_ = c.bridge.Stop(ctx)
	}
	if c.nc != nil {
		_ = c.nc.Drain()
	}
	if c.fpga != nil {
		return c.fpga.Close()
	}
	return nil
}
