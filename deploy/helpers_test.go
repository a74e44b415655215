package deploy_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/rpbus/rpbus/board/sim"
	"github.com/rpbus/rpbus/services/hwbridge"
)

// The example users of deploy/nats/accounts.example.conf and of
// cluster-secrets.example.conf. Their passwords are published examples;
// TestExampleUsers proves the hashes match.
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

// generated is what `rpbus secrets` wrote for the tests: the compose
// files run with it, as they would in a lab.
type generated struct {
	dir       string
	passwords map[string]string // users.txt
	env       map[string]string // .env
}

var (
	secretsOnce sync.Once
	secretsGen  generated
	secretsErr  string
)

// secrets runs the built `rpbus secrets` once per test binary.
func secrets(tb testing.TB) generated {
	tb.Helper()
	c := buildRPBus(tb)
	secretsOnce.Do(func() {
		dir, err := os.MkdirTemp("", "rpbus-secrets")
		if err != nil {
			secretsErr = err.Error()
			return
		}
		if out, err := exec.Command(c.path, "secrets", dir).CombinedOutput(); err != nil {
			secretsErr = fmt.Sprintf("rpbus secrets: %v\n%s", err, out)
			return
		}
		g := generated{dir: dir, passwords: map[string]string{}, env: map[string]string{}}
		g.passwords = readPairs(tb, filepath.Join(dir, "users.txt"), " ")
		g.env = readPairs(tb, filepath.Join(dir, ".env"), "=")
		secretsGen = g
	})
	if secretsErr != "" {
		tb.Fatal(secretsErr)
	}
	return secretsGen
}

// readPairs reads "key<sep>value" lines, skipping comments.
func readPairs(tb testing.TB, path, sep string) map[string]string {
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	m := map[string]string{}
	for _, l := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(l, sep); ok && !strings.HasPrefix(l, "#") {
			m[k] = v
		}
	}
	return m
}

// copyFile copies src to dst, creating dst's directory.
func copyFile(tb testing.TB, src, dst string) {
	tb.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		tb.Fatal(err)
	}
	writeFile(tb, dst, string(data))
}

func writeFile(tb testing.TB, dst, data string) {
	tb.Helper()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(dst, []byte(data), 0o644); err != nil {
		tb.Fatal(err)
	}
}

// clusterDir lays out deploy/cluster/ as a node's container sees it: the
// node files, and the generated secrets and accounts beside them.
func clusterDir(tb testing.TB) string {
	tb.Helper()
	g := secrets(tb)
	dir := tb.TempDir()
	for _, f := range []string{"cluster-common.conf", "n1.conf", "n2.conf", "n3.conf"} {
		copyFile(tb, filepath.Join("cluster", f), filepath.Join(dir, f))
	}
	copyFile(tb, g.env["RPBUS_CLUSTER_SECRETS"], filepath.Join(dir, "cluster-secrets.conf"))
	copyFile(tb, g.env["RPBUS_NATS_ACCOUNTS"], filepath.Join(dir, "accounts.conf"))
	return dir
}

// node is a NATS server process (`rpbus server`), as the containers run
// one: the tests can kill it, and its bcrypt runs without the race
// detector (cost 11 takes seconds with it).
type node struct {
	name    string
	url     string // client URL
	monitor string // http://host:port, when it has monitoring
	cluster string // host:port of its route listener, when it has one
	ws      string // ws://host:port, when it serves NATS over WebSocket
	cmd     *exec.Cmd
	done    chan struct{}
}

// startNode runs `rpbus server --config conf` with every listener moved
// to 127.0.0.1 (the client and monitoring ports free ones) and the
// JetStream store in a temporary directory, plus args. Everything else
// (accounts, users, permissions, cluster, leaf and TLS settings) is
// read from the file as written.
func startNode(tb testing.TB, conf string, args ...string) *node {
	tb.Helper()
	c := buildRPBus(tb)
	o, err := server.ProcessConfigFile(conf)
	if err != nil {
		tb.Fatalf("%s: %v", conf, err)
	}
	full := []string{"server", "--config", conf, "--listen", "127.0.0.1:0"}
	if o.HTTPPort != 0 {
		full = append(full, "--http", "127.0.0.1:0")
	}
	if o.JetStream {
		full = append(full, "--store", tb.TempDir())
	}
	if o.Websocket.Port != 0 {
		full = append(full, "--websocket", "127.0.0.1:0")
	}
	full = append(full, args...)
	cmd := exec.Command(c.path, full...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	n := &node{name: o.ServerName, cmd: cmd, done: make(chan struct{})}
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	go func() { _ = cmd.Wait(); close(n.done) }()
	tb.Cleanup(func() { n.kill() })
	timeout := time.After(30 * time.Second)
	for n.url == "" || (o.HTTPPort != 0 && n.monitor == "") || (o.Websocket.Port != 0 && n.ws == "") {
		select {
		case l, ok := <-lines:
			if !ok {
				tb.Fatalf("rpbus server %v exited: %s", full, stderr.String())
			}
			if _, u, ok := strings.Cut(l, " clients "); ok {
				n.url = u
			}
			if _, u, ok := strings.Cut(l, " monitoring "); ok {
				n.monitor = u
			}
			if _, u, ok := strings.Cut(l, " routes "); ok {
				n.cluster = u
			}
			if _, u, ok := strings.Cut(l, " websocket "); ok {
				n.ws = u
			}
		case <-timeout:
			tb.Fatalf("rpbus server %v: not ready in 30 s: %s", full, stderr.String())
		}
	}
	go func() {
		for range lines {
		}
	}()
	return n
}

// ClientURL is where clients connect.
func (n *node) ClientURL() string { return n.url }

// Name is the server's name (server_name).
func (n *node) Name() string { return n.name }

// kill ends the server at once, as kill -9 does.
func (n *node) kill() {
	_ = n.cmd.Process.Signal(syscall.SIGKILL)
	<-n.done
}

// get reads a monitoring endpoint.
func (n *node) get(tb testing.TB, path string) string {
	tb.Helper()
	resp, err := http.Get(n.monitor + path)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
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

func (e *errs) all() []error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]error(nil), e.list...)
}

// conn is a connection as one of the users.
type conn struct {
	*nats.Conn
	errs *errs
}

// connectAs connects user, with the password `rpbus secrets` made, to
// the servers at urls (comma separated), with the reconnect behaviour of
// the rpbus command and its inbox prefix _INBOX_<user>.
func connectAs(tb testing.TB, urls, user string, opts ...nats.Option) *conn {
	tb.Helper()
	pw, ok := secrets(tb).passwords[user]
	if !ok {
		tb.Fatalf("no user %q", user)
	}
	return connectWith(tb, urls, user, pw, opts...)
}

// logins serialises the tests' logins (see connectWith).
var logins sync.Mutex

// connectWith connects user with password pw.
func connectWith(tb testing.TB, urls, user, pw string, opts ...nats.Option) *conn {
	tb.Helper()
	e := &errs{}
	opts = append([]nats.Option{
		nats.Name("test-" + user),
		nats.UserInfo(user, pw),
		nats.CustomInboxPrefix("_INBOX_" + user),
		nats.ErrorHandler(e.handler),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(100 * time.Millisecond),
		nats.PermissionErrOnSubscribe(true),
		nats.Timeout(10 * time.Second),
	}, opts...)
	// A login checks a bcrypt hash of cost 11 in the server: 0.15 s on an
	// idle core, seconds when several tests log in at once on a loaded
	// machine, and past 2 s the server's first PING overtakes the
	// handshake's PONG ("expected 'PONG', got 'PING'"). Try again then,
	// as the services' own reconnect loop does; and log in one at a
	// time, so the tests do not slow each other's logins past that.
	var nc *nats.Conn
	var err error
	logins.Lock()
	for try := 0; try < 10; try++ {
		if nc, err = nats.Connect(urls, opts...); err == nil || !strings.Contains(err.Error(), "PONG") {
			break
		}
		// The server still checks the hash of the try it gave up on.
		time.Sleep(time.Duration(try+1) * 500 * time.Millisecond)
	}
	logins.Unlock()
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

// freePort returns a loopback port nobody listened on a moment ago.
func freePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(tb, err, "listen")
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
