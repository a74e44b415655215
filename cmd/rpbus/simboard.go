package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"

	"github.com/rpbus/rpbus/board/monitor"
	"github.com/rpbus/rpbus/board/sim"
)

func init() {
	register("simboard", "serve the simulated board over PyRPL's monitor_server protocol (TCP)", func(stdout, stderr io.Writer) command {
		return &simboardCmd{stdout: stdout}
	})
}

type simboardCmd struct {
	stdout io.Writer
	listen string
	board  boardFlags

	sim   *sim.Board
	srv   *monitor.Server
	ln    net.Listener
	ready chan struct{} // closed once ln listens
}

func (c *simboardCmd) ParseFlags(args []string) error {
	fs := flag.NewFlagSet("rpbus simboard", flag.ContinueOnError)
	c.ready = make(chan struct{})
	fs.StringVar(&c.listen, "listen", "127.0.0.1:2222", "address to serve the monitor_server protocol on")
	c.board.registerSim(fs)
	return parseWithEnv(fs, args, nil)
}

// Addr is where the board listens; it waits until Run listens.
func (c *simboardCmd) Addr() string {
	<-c.ready
	return c.ln.Addr().String()
}

func (c *simboardCmd) Run(ctx context.Context) error {
	cfg, err := c.board.simConfigFromFlags()
	if err != nil {
		return err
	}
	if c.sim, err = sim.New(cfg); err != nil {
		return err
	}
	if c.ln, err = net.Listen("tcp", c.listen); err != nil {
		return err
	}
	if c.srv, err = monitor.NewServer(c.sim); err != nil {
		return err
	}
	close(c.ready)
	fmt.Fprintf(c.stdout, "simboard: simulated Red Pitaya on %s (monitor_server protocol)\n", c.ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- c.srv.Serve(c.ln) }()
	select {
	case <-ctx.Done():
		return nil
	case err := <-errc:
		return err
	}
}

func (c *simboardCmd) Close() error {
	if c.srv != nil {
		_ = c.srv.Close()
	}
	if c.sim != nil {
		return c.sim.Close()
	}
	return nil
}
