package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/rpbus/rpbus/board"
	"github.com/rpbus/rpbus/client"
	"github.com/rpbus/rpbus/dashboard"
	"github.com/rpbus/rpbus/natsserver"
	"github.com/rpbus/rpbus/rperr"
	"github.com/rpbus/rpbus/services/curves"
	"github.com/rpbus/rpbus/services/hwbridge"
)

func init() {
	register("up", "all in one: embedded NATS, the simulated board's bridge and every instrument service", func(stdout, stderr io.Writer) command {
		return &upCmd{stdout: stdout}
	})
}

// stopper is a running service.
type stopper interface {
	Stop(ctx context.Context) error
}

// stopAndDrain closes a command that serves one service: it stops s, if
// it started, within drainTimeout, then drains nc, if connected.
func stopAndDrain(s stopper, nc *nats.Conn) error {
	ctx, cancel := context.WithTimeout(context.Background(), drainTimeout)
	defer cancel()
	if s != nil {
		_ = s.Stop(ctx)
	}
	if nc != nil {
		return nc.Drain()
	}
	return nil
}

// instrument is an instrument service that `up` starts and the separate
// subcommands run. Each instrument's file registers itself.
type instrument struct {
	name string
	// start serves the instrument on nc. heard tells whether a message
	// published on nc would reach a subscriber (natsserver.Interest).
	start    func(nc *nats.Conn, heard func(subject string) bool) (stopper, error)
	examples func(board string) []string
}

var instruments []instrument

type upCmd struct {
	stdout     io.Writer
	listen     string
	data       string
	natsConfig string
	natsLog    bool
	http       string
	ws         string
	creds      credFlags
	board      boardFlags
	curvesMax  byteSize

	ns       *server.Server
	conns    []*nats.Conn // every service's, the bridge's first
	fpga     board.FPGA
	services []stopper
	page     *dashboard.Server
	ready    chan struct{}
}

func (c *upCmd) ParseFlags(args []string) error {
	fs := flag.NewFlagSet("rpbus up", flag.ContinueOnError)
	fs.StringVar(&c.listen, "listen", "127.0.0.1:4222", "address the embedded NATS server listens on (port 0 picks a free one)")
	fs.StringVar(&c.data, "data", defaultDataDir(), "JetStream store directory of the embedded server, with the saved curves; one rpbus up at a time (empty: JetStream and the curve store off)")
	c.curvesMax = curves.DefaultMaxBytes
	fs.Var(&c.curvesMax, "curves-max-bytes", "the curve store's size, e.g. 512MiB, 2GB: when full, the oldest curves not marked keep go first")
	fs.StringVar(&c.natsConfig, "nats-config", "", "nats-server configuration file for the embedded server (accounts, cluster, ...)")
	fs.BoolVar(&c.natsLog, "nats-log", false, "log the embedded NATS server's events")
	fs.StringVar(&c.http, "http", defaultHTTP, "address the dashboard page is served on (empty: none); beyond loopback the server must ask for credentials")
	fs.StringVar(&c.ws, "ws", "", "address of the embedded server's NATS WebSocket listener, for the page (default: the --http host, a free port; empty with --http '': none)")
	c.creds.register(fs) // what the services log in with when --nats-config asks for authorization
	c.board.register(fs)
	c.ready = make(chan struct{})
	return parseWithEnv(fs, args, nil)
}

// URL is the embedded server's client URL once Run has started it.
func (c *upCmd) URL() string { return c.ns.ClientURL() }

func (c *upCmd) Run(ctx context.Context) error {
	var err error
	httpLn, err := listenHTTP(c.http)
	if err != nil {
		return err
	}
	if httpLn != nil {
		defer func() {
			if c.page == nil {
				httpLn.Close()
			}
		}()
	}
	c.ns, err = natsserver.Start(natsserver.Options{Listen: c.listen, DataDir: c.data, ConfigFile: c.natsConfig, Log: c.natsLog, WebSocket: c.wsListen()})
	if err != nil {
		return err
	}
	if err := c.checkAuth(); err != nil {
		return err
	}
	if httpLn != nil {
		if c.page, err = c.serveDashboard(httpLn); err != nil {
			return err
		}
	}
	// Every service has an in-process connection of its own: no TCP hop
	// between the instruments and the bridge, and no service waits while
	// another's 64 KiB reply goes through a shared connection (nats.go's
	// flusher holds the connection's lock while it writes).
	bnc, err := c.connect("hwbridge")
	if err != nil {
		return err
	}
	cfg, err := c.board.open(ctx, c.stdout)
	if err != nil {
		return err
	}
	c.fpga = cfg.FPGA
	bridge, err := hwbridge.Start(bnc, cfg)
	if err != nil {
		return err
	}
	if err := bridge.Ready(); err != nil {
		fmt.Fprintf(c.stdout, "rpbus up: the bridge does not serve the FPGA, every request answers 503 until this is fixed: %s\n", rperr.ErrorMessage(err))
	}
	c.services = append(c.services, bridge)
	names := []string{"hwbridge (" + c.board.backend + ")"}
	if c.ns.JetStreamEnabled() {
		// Before the instruments that save into it, so stopped after them.
		nc, err := c.connect("curves")
		if err != nil {
			return err
		}
		// Without it everything else still works; saving answers 503.
		if s, err := curves.Start(nc, curves.Config{MaxBytes: int64(c.curvesMax)}); err != nil {
			fmt.Fprintf(c.stdout, "rpbus up: the curve store did not start (saves will answer 503): %v\n", err)
		} else {
			c.services = append(c.services, s)
			names = append(names, "curves")
		}
	}
	for _, in := range instruments {
		nc, err := c.connect(in.name)
		if err != nil {
			return err
		}
		heard, err := natsserver.Interest(c.ns, nc)
		if err != nil {
			return err
		}
		s, err := in.start(nc, heard)
		if err != nil {
			return fmt.Errorf("%s: %w", in.name, err)
		}
		c.services = append(c.services, s)
		names = append(names, in.name)
	}
	c.banner(names)
	close(c.ready)
	<-ctx.Done()
	return nil
}

// connect opens an in-process connection for service name, with the
// credentials given when the server's configuration asks for them; Close
// drains it.
func (c *upCmd) connect(name string) (*nats.Conn, error) {
	opts, err := c.creds.c.Options()
	if err != nil {
		return nil, err
	}
	nc, err := nats.Connect("", append(opts, nats.InProcessServer(c.ns), nats.Name("rpbus-up-"+name), nats.Timeout(client.DialTimeout))...)
	if err != nil {
		return nil, rperr.Errorf(rperr.EUnavailable, "%s: in-process connection %s: %v", name, c.creds.c, err)
	}
	c.conns = append(c.conns, nc)
	return nc, nil
}

// checkAuth makes sure the services can log in before they try: a server
// whose configuration asks for authorization closes an in-process
// connection with wrong credentials without a word, and only after its
// write deadline (10 s); over loopback TCP it says why at once.
func (c *upCmd) checkAuth() error {
	vz, err := c.ns.Varz(nil)
	if err != nil || !vz.AuthRequired {
		return err
	}
	if c.creds.c.Empty() {
		return rperr.Errorf(rperr.EUnavailable, "the configuration %s asks for authorization: give the credentials rpbus up's own services log in with (--user and --password, --token, --creds or --nkey)", c.natsConfig)
	}
	nc, err := client.Dial(c.ns.ClientURL(), c.creds.c, nats.Name("rpbus-up-check"))
	if err != nil {
		return fmt.Errorf("rpbus up's services cannot log in: %w", err)
	}
	nc.Close()
	return nil
}

func (c *upCmd) banner(names []string) {
	url := c.ns.ClientURL()
	b := c.board.name
	w := c.stdout
	fmt.Fprintf(w, "rpbus up: NATS listening on %s\n", url)
	if c.data != "" {
		fmt.Fprintf(w, "  JetStream store: %s\n", c.data)
	}
	fmt.Fprintf(w, "  board %q, services: %s\n\n", b, strings.Join(names, ", "))
	if c.page != nil {
		fmt.Fprintf(w, "Dashboard: %s (NATS over WebSocket on %s)\n\n", c.page.URL(), c.ns.WebsocketURL())
	}
	if !c.creds.c.Empty() {
		fmt.Fprintf(w, "The server asks for authorization: the services log in %s; add a client's credentials to these commands (--user and --password, --creds, ...).\n", c.creds.c)
	}
	fmt.Fprintf(w, "Try (natscli):\n")
	fmt.Fprintf(w, "  nats -s %s micro ls\n", url)
	fmt.Fprintf(w, "  nats -s %s req rp.%s.hw.info ''\n", url, b)
	fmt.Fprintf(w, "  nats -s %s req rp.%s.hw.txn '{\"ops\":[{\"op\":\"read\",\"addr\":\"0x40100000\",\"n\":2}]}'\n", url, b)
	fmt.Fprintf(w, "  nats -s %s req rp.%s.asg0.setup '{\"waveform\":\"sin\",\"frequency\":1e6,\"amplitude\":0.5,\"output_direct\":\"out1\"}'\n", url, b)
	// The scope and the spectrum analyzer look at the tone; then it stops,
	// before the network analyzer drives out1 itself.
	order := map[string]int{"scope": 0, "specan": 1, "na": 2}
	ins := slices.Clone(instruments)
	slices.SortStableFunc(ins, func(x, y instrument) int { return order[x.name] - order[y.name] })
	for _, in := range ins {
		if in.name == "na" {
			fmt.Fprintf(w, "  nats -s %s req rp.%s.asg0.setup '{\"output_direct\":\"off\"}'\n", url, b)
		}
		for _, ex := range in.examples(b) {
			if subject, ok := strings.CutPrefix(ex, "sub "); ok {
				fmt.Fprintf(w, "  rpbus --nats %s watch %s      (events as JSON lines)\n", url, subject)
				continue
			}
			fmt.Fprintf(w, "  nats -s %s %s\n", url, ex)
		}
	}
	if c.ns.JetStreamEnabled() {
		fmt.Fprintf(w, "  nats -s %s req rp.%s.scope.single '{\"duration\":0.001,\"save\":true,\"name\":\"first\"}'\n", url, b)
		fmt.Fprintf(w, "  nats -s %s req rp.curves.list '{}'\n", url)
	}
	fmt.Fprintln(w, "\nCtrl-C stops, after answering the requests in flight.")
}

func (c *upCmd) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), drainTimeout)
	defer cancel()
	if c.page != nil {
		_ = c.page.Close()
	}
	// Instruments first: they still need the bridge to finish their work.
	for i := len(c.services) - 1; i >= 0; i-- {
		_ = c.services[i].Stop(ctx)
	}
	for i := len(c.conns) - 1; i >= 0; i-- {
		_ = c.conns[i].Drain()
	}
	if c.fpga != nil {
		_ = c.fpga.Close()
	}
	if c.ns != nil {
		c.ns.Shutdown()
		c.ns.WaitForShutdown()
	}
	return nil
}
