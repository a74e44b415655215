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
	mbps   lanMbps

	proxy *lanproxy.Proxy
	ready chan struct{} // closed once the proxy listens
}

func (c *lanproxyCmd) ParseFlags(args []string) error {
	fs := flag.NewFlagSet("rpbus lanproxy", flag.ContinueOnError)
	c.ready = make(chan struct{})
	fs.StringVar(&c.listen, "listen", "127.0.0.1:0", "address to accept connections on")
	fs.StringVar(&c.cfg.Target, "target", "", "host:port every connection is proxied to (a NATS server, `rpbus simboard`, ...)")
	fs.DurationVar(&c.cfg.Delay, "lan-delay", lanproxy.DefaultDelay, "one-way delay added to each direction")
	c.mbps.register(fs, "line rate of each direction in Mbit/s (0: no limit)")
	if err := parseWithEnv(fs, args, nil); err != nil {
		return err
	}
	if err := c.mbps.check(); err != nil {
		return err
	}
	c.cfg.Rate = c.mbps.bitsPerSecond()
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
	fmt.Fprintf(c.stdout, "lanproxy: %s -> %s, %v each way, %s\n", p.Addr(), c.cfg.Target, c.cfg.Delay, c.mbps)
	<-ctx.Done()
	return nil
}

func (c *lanproxyCmd) Close() error {
	if c.proxy != nil {
		return c.proxy.Close()
	}
	return nil
}

// lanMbps is a --lan-mbps flag: a LAN stand-in's line rate in Mbit/s,
// each direction (0: no limit).
type lanMbps float64

func (m *lanMbps) register(fs *flag.FlagSet, usage string) {
	*m = lanproxy.DefaultRate / 1e6
	fs.Float64Var((*float64)(m), "lan-mbps", float64(*m), usage)
}

func (m lanMbps) check() error {
	if !(m == 0 || m >= 1 && m <= 1e5) {
		return usageError{fmt.Sprintf("--lan-mbps %g: want 0 (no limit) or 1..100000", float64(m))}
	}
	return nil
}

func (m lanMbps) bitsPerSecond() float64 { return float64(m) * 1e6 }

func (m lanMbps) String() string {
	if m == 0 {
		return "no rate limit"
	}
	return fmt.Sprintf("%g Mbit/s", float64(m))
}
