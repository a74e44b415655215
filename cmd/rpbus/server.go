package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

func init() {
	register("server", "a NATS server alone, from a nats-server configuration file (deploy/), as the compose files run it", func(stdout, stderr io.Writer) command {
		return &serverCmd{stdout: stdout}
	})
}

// serverCmd runs the nats-server that rpbus embeds, from a configuration
// file such as deploy/nats/nats.conf, with the listen overrides of
// nats-server's own command line. The reliability suite and the deploy
// tests run nodes this way so that they can kill one (kill -9) and so
// that bcrypt runs in a process built without the race detector.
type serverCmd struct {
	stdout  io.Writer
	config  string
	listen  string
	http    string
	cluster string
	routes  string
	leaf    string
	ws      string
	store   string
	log     bool

	ns *server.Server
}

func (c *serverCmd) ParseFlags(args []string) error {
	fs := flag.NewFlagSet("rpbus server", flag.ContinueOnError)
	fs.StringVar(&c.config, "config", "", "nats-server configuration file (empty: no authentication, client port only)")
	fs.StringVar(&c.listen, "listen", "", "HOST:PORT for clients over the file's (port 0: a free one)")
	fs.StringVar(&c.http, "http", "", "HOST:PORT for monitoring over the file's (port 0: a free one)")
	fs.StringVar(&c.cluster, "cluster-listen", "", "HOST:PORT for routes over the file's")
	fs.StringVar(&c.routes, "routes", "", "route URLs over the file's, comma separated (nats-route://user:password@host:port)")
	fs.StringVar(&c.leaf, "leaf-listen", "", "HOST:PORT for leaf nodes over the file's")
	fs.StringVar(&c.ws, "websocket", "", "HOST:PORT for NATS over WebSocket over the file's")
	fs.StringVar(&c.store, "store", "", "JetStream store directory over the file's")
	fs.BoolVar(&c.log, "log", false, "log the server's events to stderr")
	return parseWithEnv(fs, args, nil)
}

func (c *serverCmd) options() (*server.Options, error) {
	o := &server.Options{Host: "127.0.0.1", Port: server.DEFAULT_PORT}
	if c.config != "" {
		var err error
		if o, err = server.ProcessConfigFile(c.config); err != nil {
			return nil, err
		}
	}
	var err error
	set := func(hostport string, host *string, port *int) {
		if hostport == "" || err != nil {
			return
		}
		h, p, e := net.SplitHostPort(hostport)
		n, e2 := strconv.Atoi(p)
		if e != nil || e2 != nil || n < 0 || n > 65535 {
			err = fmt.Errorf("%q: want HOST:PORT", hostport)
			return
		}
		if n == 0 {
			n = server.RANDOM_PORT
		}
		*host, *port = h, n
	}
	set(c.listen, &o.Host, &o.Port)
	set(c.http, &o.HTTPHost, &o.HTTPPort)
	set(c.cluster, &o.Cluster.Host, &o.Cluster.Port)
	set(c.leaf, &o.LeafNode.Host, &o.LeafNode.Port)
	set(c.ws, &o.Websocket.Host, &o.Websocket.Port)
	if err != nil {
		return nil, err
	}
	if c.routes != "" {
		o.Routes = nil
		for _, r := range strings.Split(c.routes, ",") {
			u, err := url.Parse(strings.TrimSpace(r))
			if err != nil {
				return nil, fmt.Errorf("--routes %q: %v", r, err)
			}
			o.Routes = append(o.Routes, u)
		}
	}
	if c.store != "" {
		o.StoreDir = c.store
	}
	o.NoSigs = true // the command's context handles SIGINT and SIGTERM
	o.NoLog = !c.log
	return o, nil
}

func (c *serverCmd) Run(ctx context.Context) error {
	o, err := c.options()
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	if c.ns, err = server.NewServer(o); err != nil {
		return fmt.Errorf("server: %w", err)
	}
	if c.log {
		c.ns.ConfigureLogger()
	}
	go c.ns.Start()
	if !c.ns.ReadyForConnections(30 * time.Second) {
		return fmt.Errorf("server: not ready for connections after 30 s (is the port taken?)")
	}
	// One line per listener, for people and for the programs that start
	// this one (they read the ports chosen).
	fmt.Fprintf(c.stdout, "server: %s clients %s\n", o.ServerName, c.ns.ClientURL())
	if a := c.ns.ClusterAddr(); a != nil {
		fmt.Fprintf(c.stdout, "server: %s routes %s\n", o.ServerName, a)
	}
	if a := c.ns.MonitorAddr(); a != nil {
		fmt.Fprintf(c.stdout, "server: %s monitoring http://%s\n", o.ServerName, a)
	}
	if o.Websocket.Port != 0 {
		fmt.Fprintf(c.stdout, "server: %s websocket %s\n", o.ServerName, c.ns.WebsocketURL())
	}
	<-ctx.Done()
	return nil
}

func (c *serverCmd) Close() error {
	if c.ns != nil {
		c.ns.Shutdown()
		c.ns.WaitForShutdown()
	}
	return nil
}
