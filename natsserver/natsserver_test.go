package natsserver

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

func TestStartWithJetStream(t *testing.T) {
	ns, err := Start(Options{Listen: "127.0.0.1:0", DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Shutdown()
	if !ns.JetStreamEnabled() {
		t.Error("JetStream is off with a data directory")
	}
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	nc.Close()
}

func TestConfigFile(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "nats.conf")
	if err := os.WriteFile(conf, []byte("max_payload: 2MB\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ns, err := Start(Options{ConfigFile: conf, Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Shutdown()
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if nc.MaxPayload() != 2<<20 {
		t.Errorf("max payload %d, want the file's 2 MiB", nc.MaxPayload())
	}
}

func TestBadOptions(t *testing.T) {
	for _, o := range []Options{
		{Listen: "nonsense"},
		{Listen: "127.0.0.1:99999"},
		{ConfigFile: "/nonexistent/nats.conf"},
	} {
		if _, err := Start(o); !errors.Is(err, ErrConfigValidation) {
			t.Errorf("%+v: %v, want ErrConfigValidation", o, err)
		}
	}
}

func TestAddressInUse(t *testing.T) {
	ns, err := Start(Options{Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Shutdown()
	_, err = Start(Options{Listen: ns.Addr().String()})
	if err == nil || !strings.Contains(err.Error(), "cannot listen") {
		t.Fatalf("second server on %s: %v", ns.Addr(), err)
	}
}

// startConf starts a server from configuration text.
func startConf(t *testing.T, conf string) *server.Server {
	t.Helper()
	p := filepath.Join(t.TempDir(), "nats.conf")
	if err := os.WriteFile(p, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	ns, err := Start(Options{ConfigFile: p, Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ns.Shutdown)
	return ns
}

func connect(t *testing.T, ns *server.Server, opts ...nats.Option) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(ns.ClientURL(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// subscribe subscribes on nc and waits until its server has the
// subscription.
func subscribe(t *testing.T, nc *nats.Conn, subject string) *nats.Subscription {
	t.Helper()
	sub, err := nc.SubscribeSync(subject)
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return sub
}

// eventually polls cond for up to 5 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 5 s", what)
		}
	}
}

func TestInterestFollowsSubscriptions(t *testing.T) {
	ns, err := Start(Options{Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Shutdown()
	heard, err := Interest(ns, connect(t, ns))
	if err != nil || heard == nil {
		t.Fatalf("Interest: probe %v, %v", heard != nil, err)
	}
	const subject = "rp.sim.scope.done"
	if heard(subject) {
		t.Fatal("interest before any subscription")
	}
	other := connect(t, ns)
	sub := subscribe(t, other, "rp.*.scope.done") // wildcards count
	if !heard(subject) || heard("rp.sim.na.done") {
		t.Fatalf("with a subscription to rp.*.scope.done: %s %v, rp.sim.na.done %v", subject, heard(subject), heard("rp.sim.na.done"))
	}
	if err := sub.Unsubscribe(); err != nil {
		t.Fatal(err)
	}
	if err := other.Flush(); err != nil {
		t.Fatal(err)
	}
	if heard(subject) {
		t.Fatal("interest after the only subscription ended")
	}
}

// Only the publisher's account counts: a subscriber in another account
// never receives its messages.
func TestInterestIsPerAccount(t *testing.T) {
	ns := startConf(t, `accounts {
  A { users: [{user: a, password: a}, {user: a2, password: a2}] }
  B { users: [{user: b, password: b}] }
}`)
	heard, err := Interest(ns, connect(t, ns, nats.UserInfo("a", "a")))
	if err != nil || heard == nil {
		t.Fatalf("Interest: probe %v, %v", heard != nil, err)
	}
	subscribe(t, connect(t, ns, nats.UserInfo("b", "b")), "x")
	if heard("x") {
		t.Fatal("a subscriber in account B counted for a publisher in A")
	}
	subscribe(t, connect(t, ns, nats.UserInfo("a2", "a2")), "x")
	if !heard("x") {
		t.Fatal("a subscriber in the publisher's account not seen")
	}
}

// A subscriber on another server of a cluster is heard once the route
// has told this server about it.
func TestInterestAcrossRoutes(t *testing.T) {
	n1 := startConf(t, "cluster { name: c, listen: 127.0.0.1:-1 }\n")
	n2 := startConf(t, fmt.Sprintf("cluster { name: c, listen: 127.0.0.1:-1, routes: [nats://%s] }\n", n1.ClusterAddr()))
	eventually(t, "the route", func() bool { return n1.NumRoutes() > 0 && n2.NumRoutes() > 0 })
	heard, err := Interest(n1, connect(t, n1))
	if err != nil || heard == nil {
		t.Fatalf("Interest: probe %v, %v", heard != nil, err)
	}
	subscribe(t, connect(t, n2), "rp.sim.scope.done")
	eventually(t, "interest from the other server", func() bool { return heard("rp.sim.scope.done") })
}

// On a leaf node (a lab gateway joined to a central cluster), a
// subscriber on the hub is heard once the hub has told the leaf about it.
func TestInterestFromTheHubOfALeafNode(t *testing.T) {
	hub := startConf(t, "leafnodes { listen: 127.0.0.1:-1 }\n")
	vz, err := hub.Varz(nil)
	if err != nil || vz.LeafNode.Port <= 0 {
		t.Fatalf("hub's leaf node port: %v, %v", vz.LeafNode.Port, err)
	}
	leaf := startConf(t, fmt.Sprintf("leafnodes { remotes: [{ url: \"nats-leaf://127.0.0.1:%d\" }] }\n", vz.LeafNode.Port))
	eventually(t, "the leaf connection", func() bool { return hub.NumLeafNodes() > 0 && leaf.NumLeafNodes() > 0 })
	heard, err := Interest(leaf, connect(t, leaf))
	if err != nil || heard == nil {
		t.Fatalf("Interest: probe %v, %v", heard != nil, err)
	}
	if heard("rp.sim.scope.done") {
		t.Fatal("interest before any subscription")
	}
	subscribe(t, connect(t, hub), "rp.*.scope.done")
	eventually(t, "interest from the hub", func() bool { return heard("rp.sim.scope.done") })
}

// A gateway forwards without telling its interest, so there is no probe.
func TestNoInterestProbeWithGateways(t *testing.T) {
	ns := startConf(t, "gateway { name: g, listen: 127.0.0.1:-1 }\n")
	heard, err := Interest(ns, connect(t, ns))
	if err != nil || heard != nil {
		t.Fatalf("Interest with a gateway = %v, %v; want no probe", heard != nil, err)
	}
}

// TestDataDirLock: a second server on a data directory in use fails to
// start, naming the holder; once the first shuts down, it starts.
func TestDataDirLock(t *testing.T) {
	dir := t.TempDir()
	first, err := Start(Options{Listen: "127.0.0.1:0", DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Start(Options{Listen: "127.0.0.1:0", DataDir: dir})
	if !errors.Is(err, ErrDataDirInUse) || !strings.Contains(err.Error(), fmt.Sprintf("pid %d", os.Getpid())) || !strings.Contains(err.Error(), "--data") {
		t.Fatalf("second server on %s: %v, want ErrDataDirInUse naming the holder and --data", dir, err)
	}
	first.Shutdown()
	first.WaitForShutdown()
	again, err := Start(Options{Listen: "127.0.0.1:0", DataDir: dir})
	if err != nil {
		t.Fatalf("after the first shut down: %v", err)
	}
	again.Shutdown()
	again.WaitForShutdown()
}

func TestWebSocketOnLoopback(t *testing.T) {
	ns, err := Start(Options{Listen: "127.0.0.1:0", WebSocket: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Shutdown()
	if !strings.HasPrefix(ns.WebsocketURL(), "ws://127.0.0.1:") || strings.HasSuffix(ns.WebsocketURL(), ":-1") {
		t.Fatalf("websocket URL %q", ns.WebsocketURL())
	}
	nc, err := nats.Connect(ns.WebsocketURL())
	if err != nil {
		t.Fatalf("anonymous WebSocket client on loopback: %v", err)
	}
	nc.Close()
}

// A WebSocket listener beyond loopback needs authorization: without it the
// server does not start; with deploy's accounts an anonymous WebSocket
// client is refused and the example operator gets in. The clients dial
// 127.0.0.1 only.
func TestWebSocketBeyondLoopbackNeedsAuthorization(t *testing.T) {
	_, err := Start(Options{Listen: "127.0.0.1:0", WebSocket: "0.0.0.0:0"})
	if !errors.Is(err, ErrConfigValidation) || !strings.Contains(err.Error(), "accounts") {
		t.Fatalf("anonymous server with a WebSocket listener on 0.0.0.0: err %v, want a configuration error naming the accounts", err)
	}

	dir := t.TempDir()
	accounts, err := os.ReadFile(filepath.Join("..", "deploy", "nats", "accounts.example.conf"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "accounts.conf"), accounts, 0o600); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "nats.conf")
	if err := os.WriteFile(conf, []byte("include accounts.conf\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ns, err := Start(Options{ConfigFile: conf, Listen: "127.0.0.1:0", WebSocket: "0.0.0.0:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Shutdown()
	_, port, _ := strings.Cut(strings.TrimPrefix(ns.WebsocketURL(), "ws://"), ":")
	if port == "" || port == "-1" {
		t.Fatalf("websocket URL %q", ns.WebsocketURL())
	}
	url := "ws://127.0.0.1:" + port
	// The server answers an anonymous CONNECT with the violation and
	// closes; a client that writes again first (its PING) may see the
	// closed socket instead of the answer. No attempt may get in, and
	// the server must say why in at least one of a few.
	var errs []string
	said := false
	for range 5 {
		nc, err := nats.Connect(url, nats.Timeout(2*time.Second))
		if err == nil {
			nc.Close()
			t.Fatal("an anonymous WebSocket client got in")
		}
		errs = append(errs, err.Error())
		if strings.Contains(strings.ToLower(err.Error()), "authorization") {
			said = true
			break
		}
	}
	if !said {
		t.Fatalf("anonymous WebSocket clients: %q, want an authorization violation", errs)
	}
	nc, err := nats.Connect(url, nats.UserInfo("operator", "example-operator-password"))
	if err != nil {
		t.Fatalf("operator over WebSocket: %v", err)
	}
	nc.Close()
}
