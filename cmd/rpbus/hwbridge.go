package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/rpbus/rpbus/board"
	"github.com/rpbus/rpbus/services/hwbridge"
)

func init() {
	register("hwbridge", "serve one board's registers and generators (the only process that touches the FPGA)", func(stdout, stderr io.Writer) command {
		return &hwbridgeCmd{stdout: stdout}
	})
}

// drainTimeout bounds how long a stopping service keeps answering the
// requests it already took.
const drainTimeout = 10 * time.Second

type hwbridgeCmd struct {
	stdout io.Writer
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
	f, model, err := c.board.open(ctx)
	if err != nil {
		return err
	}
	c.fpga = f
	if c.nc, err = c.nats.connect("rpbus-hwbridge-" + c.board.name); err != nil {
		return err
	}
	c.bridge, err = hwbridge.Start(c.nc, hwbridge.Config{
		Board: c.board.name, Backend: c.board.backend, Address: c.board.boardAddr, FPGA: f, Model: model,
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "hwbridge: board %q on backend %s, NATS %s\n", c.board.name, c.board.backend, c.nats.url)
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
