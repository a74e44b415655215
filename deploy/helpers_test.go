package deploy_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/rpbus/rpbus/board/sim"
	"github.com/rpbus/rpbus/services/hwbridge"
)

// The example users of deploy/nats/accounts.example.conf. Their
// passwords are published examples; the tests prove the hashes match.
var examplePasswords = map[string]string{
	"hwbridge":    "example-hwbridge-password",
	"instruments": "example-instruments-password",
	"operator":    "example-operator-password",
	"observer":    "example-observer-password",
	"curves":      "example-curves-password",
	"admin":       "example-admin-password",
}

// repoRoot is the repository root: tests run in deploy/.
const repoRoot = ".."

// copyFile copies src to dst, creating dst's directory.
func copyFile(tb testing.TB, src, dst string) {
	tb.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(dst, data, 0o644); err != nil {
		tb.Fatal(err)
	}
}

// clusterDir lays out deploy/cluster/ as a node's container sees it: the
// node files and the accounts file beside them.
func clusterDir(tb testing.TB) string {
	tb.Helper()
	dir := tb.TempDir()
	for _, f := range []string{"cluster-common.conf", "n1.conf", "n2.conf", "n3.conf"} {
		copyFile(tb, filepath.Join("cluster", f), filepath.Join(dir, f))
	}
	copyFile(tb, filepath.Join("nats", "accounts.example.conf"), filepath.Join(dir, "accounts.conf"))
	return dir
}

// loadConfig reads a nats-server configuration file as the deployment
// has it, then moves every listener to 127.0.0.1 and a random port and
// the JetStream store to a temporary directory: the tests must run in
// parallel on a CI machine and reach nothing but loopback. Everything
// else (accounts, users, permissions, cluster and leaf-node auth) stays
// as written. Routes and leaf remotes name the compose hosts (n1, n2,
// ...); the callers point them at the test servers, keeping their
// credentials.
func loadConfig(tb testing.TB, file string) *server.Options {
	tb.Helper()
	o, err := server.ProcessConfigFile(file)
	if err != nil {
		tb.Fatalf("%s: %v", file, err)
	}
	o.Host, o.Port = "127.0.0.1", server.RANDOM_PORT
	if o.HTTPPort != 0 {
		o.HTTPHost, o.HTTPPort = "127.0.0.1", server.RANDOM_PORT
	}
	if o.JetStream {
		o.StoreDir = tb.TempDir()
	}
	if o.Cluster.Port != 0 {
		o.Cluster.Host, o.Cluster.Port = "127.0.0.1", server.RANDOM_PORT
	}
	if o.LeafNode.Port != 0 {
		o.LeafNode.Host, o.LeafNode.Port = "127.0.0.1", server.RANDOM_PORT
	}
	if o.Websocket.Port != 0 {
		o.Websocket.Host, o.Websocket.Port = "127.0.0.1", server.RANDOM_PORT
	}
	o.NoLog, o.NoSigs = true, true
	return o
}

// startServer runs a server with o until the test ends.
func startServer(tb testing.TB, o *server.Options) *server.Server {
	tb.Helper()
	ns, err := server.NewServer(o)
	if err != nil {
		tb.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(20 * time.Second) {
		ns.Shutdown()
		tb.Fatalf("server %s not ready", o.ServerName)
	}
	tb.Cleanup(func() {
		ns.Shutdown()
		ns.WaitForShutdown()
	})
	return ns
}

// retarget keeps u's scheme and credentials and points it at host:port.
func retarget(u *url.URL, hostport string) *url.URL {
	v := *u
	v.Host = hostport
	return &v
}

// errs collects a connection's asynchronous errors (permission
// violations arrive that way, not as the request's error).
type errs struct {
	mu   sync.Mutex
	list []error
}

func (e *errs) handler(_ *nats.Conn, _ *nats.Subscription, err error) {
	e.mu.Lock()
	e.list = append(e.list, err)
	e.mu.Unlock()
}

// has reports whether an error mentioning every part has arrived.
func (e *errs) has(parts ...string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, err := range e.list {
		msg := strings.ToLower(err.Error())
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(msg, strings.ToLower(p))
		}
		if ok {
			return true
		}
	}
	return false
}

// conn is a connection as one of the example users.
type conn struct {
	*nats.Conn
	errs *errs
}

// connectAs connects user to the servers at urls (comma separated), with
// the reconnect behaviour of the rpbus command (cmd/rpbus/connect.go).
func connectAs(tb testing.TB, urls, user string, opts ...nats.Option) *conn {
	tb.Helper()
	pw, ok := examplePasswords[user]
	if !ok {
		tb.Fatalf("no example user %q", user)
	}
	e := &errs{}
	opts = append([]nats.Option{
		nats.Name("test-" + user),
		nats.UserInfo(user, pw),
		nats.ErrorHandler(e.handler),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(100 * time.Millisecond),
		nats.PermissionErrOnSubscribe(true),
		nats.Timeout(5 * time.Second),
	}, opts...)
	nc, err := nats.Connect(urls, opts...)
	if err != nil {
		tb.Fatalf("connect as %s to %s: %v", user, urls, err)
	}
	tb.Cleanup(nc.Close)
	return &conn{Conn: nc, errs: e}
}

// waitFor polls cond until it holds, failing the test after timeout.
func waitFor(tb testing.TB, timeout time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// startBridge serves a simulated board called board on nc, as
// `rpbus hwbridge --backend sim` does.
func startBridge(tb testing.TB, nc *nats.Conn, board string, seed uint64) *hwbridge.Bridge {
	tb.Helper()
	cfg := sim.DefaultConfig()
	cfg.Seed = seed
	b, err := sim.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	br, err := hwbridge.Start(nc, hwbridge.Config{Board: board, Backend: "sim", FPGA: b, Model: cfg})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = br.Stop(ctx)
		_ = b.Close()
	})
	return br
}

// expectPublishRefused shows that the server refuses nc's request to
// subject: the request gets no reply (the server drops it: nobody is
// asked), and the connection is told it violated its permissions.
func expectPublishRefused(tb testing.TB, c *conn, subject string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := c.RequestWithContext(ctx, subject, []byte("{}"))
	if err == nil {
		tb.Fatalf("request to %s answered, want refused", subject)
	}
	waitFor(tb, 2*time.Second, "permissions violation for publish to "+subject, func() bool {
		return c.errs.has("permissions violation", "publish", `"`+subject+`"`)
	})
}

// expectSubscribeRefused shows that the server refuses nc's subscription.
func expectSubscribeRefused(tb testing.TB, c *conn, subject string) {
	tb.Helper()
	sub, err := c.SubscribeSync(subject)
	if err != nil {
		tb.Fatal(err)
	}
	defer sub.Unsubscribe()
	_, err = sub.NextMsg(2 * time.Second)
	if !errors.Is(err, nats.ErrPermissionViolation) {
		tb.Fatalf("subscribe %s: got %v, want a permissions violation", subject, err)
	}
}

// must fails the test on err.
func must(tb testing.TB, err error, what string, args ...any) {
	tb.Helper()
	if err != nil {
		tb.Fatalf("%s: %v", fmt.Sprintf(what, args...), err)
	}
}

var _ = io.Discard

// serverConfig reads a configuration as written, ports and all.
func serverConfig(file string) (*server.Options, error) { return server.ProcessConfigFile(file) }
