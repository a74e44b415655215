package natsserver

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// ErrConfigValidation is wrapped by every configuration error of Start.
var ErrConfigValidation = errors.New("natsserver: invalid configuration")

// Options configures the embedded server.
type Options struct {
	// Listen is host:port; port 0 picks a free one. Default 127.0.0.1:4222.
	Listen string
	// DataDir enables JetStream with its store there; "" leaves it off.
	DataDir string
	// ConfigFile, when set, is read as a nats-server configuration file
	// and Listen applies on top of it only if given explicitly.
	ConfigFile string
	// WebSocket is host:port of a NATS WebSocket listener for browsers
	// (port 0 picks a free one); "" leaves the configuration file's
	// websocket block, if any. It serves plain ws://: put TLS in front of
	// it, or configure it in the file, beyond a trusted network.
	WebSocket string
	// Log turns on the server's own logging to stderr.
	Log bool
	// ReadyTimeout bounds the wait for the server to accept connections.
	ReadyTimeout time.Duration
}

// Start runs a nats-server in this process and returns once it accepts
// connections.
func Start(o Options) (*server.Server, error) {
	opts := &server.Options{}
	if o.ConfigFile != "" {
		fileOpts, err := server.ProcessConfigFile(o.ConfigFile)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrConfigValidation, err)
		}
		opts = fileOpts
	} else if o.Listen == "" {
		o.Listen = "127.0.0.1:4222"
	}
	if o.Listen != "" {
		host, port, err := splitListen("listen", o.Listen)
		if err != nil {
			return nil, err
		}
		if port == 0 {
			port = server.RANDOM_PORT
		}
		opts.Host, opts.Port = host, port
	}
	// The server only logs a failed listen and then never becomes ready;
	// find out now, with a message that says what to do.
	if err := tryListen(opts.Host, opts.Port); err != nil {
		return nil, err
	}
	if err := tryListen(opts.Websocket.Host, opts.Websocket.Port); err != nil {
		return nil, err
	}
	if o.WebSocket != "" {
		host, port, err := splitListen("websocket", o.WebSocket)
		if err != nil {
			return nil, err
		}
		opts.Websocket.Host, opts.Websocket.Port, opts.Websocket.NoTLS = host, port, true
		if opts.Websocket.Port == 0 {
			opts.Websocket.Port = server.RANDOM_PORT
		}
	}
	if err := checkLoopbackOnly(opts); err != nil {
		return nil, err
	}
	release := func() {}
	if o.DataDir != "" {
		var err error
		if release, err = lockDataDir(o.DataDir); err != nil {
			return nil, err
		}
		opts.JetStream = true
		opts.StoreDir = o.DataDir
	}
	opts.NoSigs = true
	opts.NoLog = !o.Log
	if o.ReadyTimeout == 0 {
		o.ReadyTimeout = 10 * time.Second
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		release()
		return nil, fmt.Errorf("%w: %v", ErrConfigValidation, err)
	}
	if o.Log {
		ns.ConfigureLogger()
	}
	go ns.Start()
	if !ns.ReadyForConnections(o.ReadyTimeout) {
		ns.Shutdown()
		ns.WaitForShutdown()
		release()
		return nil, fmt.Errorf("natsserver: not ready for connections after %v", o.ReadyTimeout)
	}
	go func() {
		ns.WaitForShutdown()
		release()
	}()
	return ns, nil
}

func splitListen(what, hostPort string) (string, int, error) {
	host, portStr, err := net.SplitHostPort(hostPort)
	if err != nil {
		return "", 0, fmt.Errorf("%w: %s %q: %v", ErrConfigValidation, what, hostPort, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("%w: %s %q: port must be 0..65535", ErrConfigValidation, what, hostPort)
	}
	return host, port, nil
}

func tryListen(host string, port int) error {
	if port <= 0 {
		return nil
	}
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("natsserver: cannot listen on %s (%v): is another rpbus up or nats-server running there? choose another address", addr, err)
	}
	return ln.Close()
}

// IsLoopback reports whether host (an address to listen on, "" meaning
// every interface) is reachable from this machine only.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// HasAuthorization reports whether the options ask every client,
// WebSocket ones included, to log in.
func HasAuthorization(opts *server.Options) bool {
	ws := opts.Websocket
	if ws.Username != "" || ws.Token != "" {
		return true
	}
	if ws.NoAuthUser != "" || opts.NoAuthUser != "" {
		return false // anyone may connect as that user
	}
	return opts.Username != "" || opts.Authorization != "" || len(opts.Users) > 0 ||
		len(opts.Nkeys) > 0 || len(opts.TrustedOperators) > 0 || len(opts.TrustedKeys) > 0 ||
		opts.CustomClientAuthentication != nil || opts.AuthCallout != nil
}

// checkLoopbackOnly refuses a WebSocket listener beyond loopback on a
// server that lets anyone in: a browser's listener is meant to be reached
// from other machines, where an anonymous client could drive the board.
func checkLoopbackOnly(opts *server.Options) error {
	ws := opts.Websocket
	if ws.Port == 0 || IsLoopback(ws.Host) || HasAuthorization(opts) {
		return nil
	}
	return fmt.Errorf("%w: the WebSocket listener %s reaches beyond loopback and the server lets anyone in: give a configuration with authorization (the accounts of deploy/nats/accounts.example.conf), or listen on 127.0.0.1", ErrConfigValidation, net.JoinHostPort(ws.Host, strconv.Itoa(ws.Port)))
}

// Interest returns a probe of whether a message that nc, connected to ns
// in this process, publishes on a subject now would reach a subscriber.
// It asks nc's account on ns, which holds every subscription that can
// receive it: local ones, and those of route and leaf-node peers, whose
// interest the server is told of. With gateways it is not (they forward
// optimistically), so Interest returns a nil probe there, which callers
// read as "someone may listen".
func Interest(ns *server.Server, nc *nats.Conn) (func(subject string) bool, error) {
	if ns.GatewayAddr() != nil {
		return nil, nil
	}
	cid, err := nc.GetClientID()
	if err != nil {
		return nil, fmt.Errorf("natsserver: interest: %w", err)
	}
	cz, err := ns.Connz(&server.ConnzOptions{CID: cid, Username: true})
	if err != nil {
		return nil, fmt.Errorf("natsserver: interest: %w", err)
	}
	if len(cz.Conns) != 1 {
		return nil, fmt.Errorf("natsserver: interest: connection %d is not on this server", cid)
	}
	acc := ns.GlobalAccount()
	if name := cz.Conns[0].Account; name != "" { // Connz leaves the global account's name out
		if acc, err = ns.LookupAccount(name); err != nil {
			return nil, fmt.Errorf("natsserver: interest: %w", err)
		}
	}
	return acc.SubscriptionInterest, nil
}
