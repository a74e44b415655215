package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/rpbus/rpbus/internal/lanproxy"
)

func init() {
	register("lanproxy", "a LAN stand-in: a TCP proxy that delays each direction by --lan-delay and carries at most --lan-mbps", func(stdout, stderr io.Writer) command {
		return &lanproxyCmd{stdout: stdout}
	})
}

type lanproxyCmd struct {
	stdout io.Writer
	listen string
	cfg    lanproxy.Config
	mbps   float64

	proxy *lanproxy.Proxy
	ready chan struct{} // closed once the proxy listens
}

func (c *lanproxyCmd) ParseFlags(args []string) error {
	fs := flag.NewFlagSet("rpbus lanproxy", flag.ContinueOnError)
	c.ready = make(chan struct{})
	fs.StringVar(&c.listen, "listen", "127.0.0.1:0", "address to accept connections on")
	fs.StringVar(&c.cfg.Target, "target", "", "host:port every connection is proxied to (a NATS server, `rpbus simboard`, ...)")
	fs.DurationVar(&c.cfg.Delay, "lan-delay", lanproxy.DefaultDelay, "one-way delay added to each direction")
	fs.Float64Var(&c.mbps, "lan-mbps", lanproxy.DefaultRate/1e6, "line rate of each direction in Mbit/s (0: no limit)")
	if err := parseWithEnv(fs, args, nil); err != nil {
		return err
	}
	if !(c.mbps == 0 || c.mbps >= 1 && c.mbps <= 1e5) {
		return usageError{fmt.Sprintf("--lan-mbps %g: want 0 (no limit) or 1..100000", c.mbps)}
	}
	c.cfg.Rate = c.mbps * 1e6
	if c.cfg.Target == "" {
		return usageError{"rpbus lanproxy needs --target HOST:PORT"}
	}
	return nil
}

// Addr is where the proxy listens; it waits until Run listens.
func (c *lanproxyCmd) Addr() string {
	<-c.ready
	return c.proxy.Addr()
}

func (c *lanproxyCmd) Run(ctx context.Context) error {
	p, err := lanproxy.Listen(c.listen, c.cfg)
	if err != nil {
		return err
	}
	c.proxy = p
	close(c.ready)
	rate := "no rate limit"
	if c.cfg.Rate > 0 {
		rate = fmt.Sprintf("%g Mbit/s", c.cfg.Rate/1e6)
	}
	fmt.Fprintf(c.stdout, "lanproxy: %s -> %s, %v each way, %s\n", p.Addr(), c.cfg.Target, c.cfg.Delay, rate)
	<-ctx.Done()
	return nil
}

func (c *lanproxyCmd) Close() error {
	if c.proxy != nil {
		return c.proxy.Close()
	}
	return nil
}
