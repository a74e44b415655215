package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"syscall"

	"github.com/rpbus/rpbus/dashboard"
	"github.com/rpbus/rpbus/natsserver"
)

// defaultHTTP is where the dashboard is served; when that port is taken
// and the address was not asked for, a free port is used instead.
const defaultHTTP = "127.0.0.1:4280"

// deployWebSocketPort is the WebSocket port of deploy/'s NATS configs.
const deployWebSocketPort = "8080"

func init() {
	register("dashboard", "serve the browser dashboard for a NATS deployment with WebSocket enabled", func(stdout, stderr io.Writer) command {
		return &dashboardCmd{stdout: stdout}
	})
}

type dashboardCmd struct {
	stdout io.Writer
	nats   string
	http   string
	auth   bool
	page   *dashboard.Server
	ready  chan struct{} // closed once the page is served
}

func (c *dashboardCmd) ParseFlags(args []string) error {
	fs := flag.NewFlagSet("rpbus dashboard", flag.ContinueOnError)
	fs.StringVar(&c.nats, "nats", "ws://127.0.0.1:"+deployWebSocketPort, "the deployment's NATS WebSocket URL(s), comma separated, as the browser reaches them (ws:// or wss://; a nats:// URL stands for ws:// on port "+deployWebSocketPort+", deploy/'s websocket block)")
	fs.StringVar(&c.http, "http", defaultHTTP, "address to serve the page on")
	c.ready = make(chan struct{})
	fs.BoolVar(&c.auth, "auth", false, "the server asks for credentials: the page asks the user for them (it also asks when the server refuses it)")
	return parseWithEnv(fs, args, natsAliases)
}

func (c *dashboardCmd) Run(ctx context.Context) error {
	urls, notes, err := webSocketURLs(c.nats)
	if err != nil {
		return usageError{err.Error()}
	}
	ln, err := listenHTTP(c.http)
	if err != nil {
		return err
	}
	if ln == nil {
		return usageError{"--http: give an address to serve the page on"}
	}
	c.page, err = dashboard.Serve(ln, dashboard.Config{NATS: urls, Auth: c.auth})
	if err != nil {
		ln.Close()
		return err
	}
	for _, n := range notes {
		fmt.Fprintln(c.stdout, "rpbus dashboard:", n)
	}
	fmt.Fprintf(c.stdout, "rpbus dashboard: %s (NATS over WebSocket: %s)\n", c.page.URL(), strings.Join(urls, ", "))
	close(c.ready)
	<-ctx.Done()
	return nil
}

func (c *dashboardCmd) Close() error {
	if c.page != nil {
		return c.page.Close()
	}
	return nil
}

// webSocketURLs turns --nats into the WebSocket URLs the page dials.
func webSocketURLs(list string) (urls, notes []string, err error) {
	for _, s := range strings.Split(list, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !strings.Contains(s, "://") {
			s = "nats://" + s
		}
		u, err := url.Parse(s)
		if err != nil {
			return nil, nil, fmt.Errorf("--nats %q: %v", s, err)
		}
		switch u.Scheme {
		case "ws", "wss":
		case "nats", "tls":
			was := u.Redacted()
			u.Scheme = map[string]string{"nats": "ws", "tls": "wss"}[u.Scheme]
			u.Host = net.JoinHostPort(u.Hostname(), deployWebSocketPort)
			notes = append(notes, fmt.Sprintf("a browser speaks NATS over WebSocket only: %s is taken as %s (deploy/'s websocket block); give the ws:// URL if yours differs", was, u.Redacted()))
		default:
			return nil, nil, fmt.Errorf("--nats %q: want ws://host:port or wss://host:port", s)
		}
		if u.Port() == "" {
			return nil, nil, fmt.Errorf("--nats %q: give the WebSocket listener's port", s)
		}
		if u.User != nil {
			return nil, nil, fmt.Errorf("--nats %q: the page asks its user for credentials; leave them out of the URL", u.Redacted())
		}
		urls = append(urls, u.String())
	}
	if len(urls) == 0 {
		return nil, nil, errors.New("--nats: give the deployment's WebSocket URL (ws://host:" + deployWebSocketPort + ")")
	}
	return urls, notes, nil
}

// listenHTTP listens on addr for the dashboard (nil for ""); the default
// address falls back to a free port on the same host when taken, so a
// second `rpbus up` still serves its page.
func listenHTTP(addr string) (net.Listener, error) {
	if addr == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil && addr == defaultHTTP && errors.Is(err, syscall.EADDRINUSE) {
		host, _, _ := net.SplitHostPort(addr)
		ln, err = net.Listen("tcp", net.JoinHostPort(host, "0"))
	}
	if err != nil {
		return nil, fmt.Errorf("dashboard: cannot listen on %s (%v): choose another address with --http", addr, err)
	}
	return ln, nil
}

// wsListen is the embedded server's WebSocket address: --ws, else the
// page's host on a free port (the page is told where), else none.
func (c *upCmd) wsListen() string {
	if c.ws != "" || c.http == "" {
		return c.ws
	}
	host, _, err := net.SplitHostPort(c.http)
	if err != nil {
		return "127.0.0.1:0"
	}
	return net.JoinHostPort(host, "0")
}

// serveDashboard serves the page on ln for the embedded server. A page
// beyond loopback needs a server that asks for credentials, as its
// WebSocket listener does (natsserver refuses one that does not).
func (c *upCmd) serveDashboard(ln net.Listener) (*dashboard.Server, error) {
	vz, err := c.ns.Varz(nil)
	if err != nil {
		return nil, err
	}
	auth := vz.AuthRequired && vz.Websocket.NoAuthUser == ""
	host, _, _ := net.SplitHostPort(ln.Addr().String())
	if !natsserver.IsLoopback(host) && !auth {
		return nil, fmt.Errorf("--http %s reaches beyond loopback and the NATS server lets anyone in: give --nats-config with authorization (the accounts of deploy/nats/accounts.example.conf), or serve on 127.0.0.1", ln.Addr())
	}
	if vz.Websocket.Port <= 0 {
		return nil, errors.New("--http: the page needs a WebSocket listener: give --ws, or a --nats-config with a websocket block")
	}
	return dashboard.Serve(ln, dashboard.Config{NATS: []string{c.ns.WebsocketURL()}, Auth: auth})
}
