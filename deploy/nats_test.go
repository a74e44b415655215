package deploy_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/client"
	"github.com/rpbus/rpbus/rperr"
)

// composeServer starts the NATS server of docker-compose.yml, its
// configuration read as the container reads it.
func composeServer(t *testing.T) (*server.Server, composeFile) {
	t.Helper()
	path := filepath.Join(repoRoot, "docker-compose.yml")
	f := readCompose(t, path)
	nss := natsServices(t, path, f)
	if len(nss) != 1 {
		t.Fatalf("docker-compose.yml: %d NATS services, want 1", len(nss))
	}
	return startServer(t, loadConfig(t, nss[0].conf)), f
}

// TestPermissions shows the users of the example accounts doing their
// jobs and nothing else: the bridge serves hw.txn, the instruments call
// it, the operator drives generators but not registers, the observer only
// watches events.
func TestPermissions(t *testing.T) {
	t.Parallel()
	ns, f := composeServer(t)
	url := ns.ClientURL()

	bridge := connectAs(t, url, "hwbridge")
	startBridge(t, bridge.Conn, "sim", 1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// The instrument services may drive the registers and publish events.
	inst := connectAs(t, url, "instruments")
	ic, _ := client.New(inst.Conn)
	_, err := ic.Board("sim").HW.Read(ctx, 0x40100000, 2)
	must(t, err, "instruments: hw.txn")

	// The operator: generators and hw.info yes, raw registers no.
	op := connectAs(t, url, "operator")
	oc, _ := client.New(op.Conn)
	_, err = oc.Board("sim").Info(ctx)
	must(t, err, "operator: hw.info")
	applied, err := oc.Board("sim").ASG0.Setup(ctx, api.ASGSetup{Waveform: ptr("sin"), Frequency: ptr(1e6)})
	must(t, err, "operator: asg0.setup")
	if applied.Waveform != "sin" {
		t.Errorf("operator: asg0.setup applied %+v", applied)
	}
	expectPublishRefused(t, op, "rp.sim.hw.txn")
	expectPublishRefused(t, op, "rp.sim.hw.cancel")
	expectSubscribeRefused(t, op, "rp.sim.hw.txn")

	// The observer: events and traces yes, any request or serving no.
	obs := connectAs(t, url, "observer")
	events, err := obs.SubscribeSync("rp.*.scope.done")
	must(t, err, "observer: subscribe")
	traces, err := obs.SubscribeSync("rp.sim.scope.trace")
	must(t, err, "observer: subscribe")
	must(t, obs.Flush(), "observer: flush")
	must(t, inst.Publish("rp.sim.scope.done", []byte(`{"id":"scope-1"}`)), "instruments: publish done")
	must(t, inst.Publish("rp.sim.scope.trace", []byte(`{"id":"scope-2"}`)), "instruments: publish trace")
	for _, sub := range []*nats.Subscription{events, traces} {
		if _, err := sub.NextMsg(2 * time.Second); err != nil {
			t.Errorf("observer: %s: %v", sub.Subject, err)
		}
	}
	expectPublishRefused(t, obs, "rp.sim.hw.txn")
	expectPublishRefused(t, obs, "rp.sim.scope.single")
	expectPublishRefused(t, obs, "rp.sim.asg0.setup")
	expectSubscribeRefused(t, obs, "rp.*.hw.txn")
	expectSubscribeRefused(t, obs, "_INBOX.>")

	// Only the bridge serves hw.txn.
	expectSubscribeRefused(t, inst, "rp.sim.hw.txn")
	// Nobody but instruments may pose as one.
	expectPublishRefused(t, op, "rp.sim.scope.done")

	// The compose healthcheck of the bridge passes with the container's
	// own user, and fails for a board nobody serves.
	br := f.Services["hwbridge"]
	if out, err := runHealth(t, br, url); err != nil {
		t.Errorf("hwbridge healthcheck: %v\n%s", err, out)
	}
	other := br
	other.Healthcheck = &struct{ Test []string }{Test: []string{"CMD", "/rpbus", "health", "--service", "hwbridge", "--metadata", "board=nope", "--timeout", "300ms"}}
	if out, err := runHealth(t, other, url); err == nil {
		t.Errorf("healthcheck of an unserved board passed:\n%s", out)
	}
}

// TestExampleUsers shows each example password matches its hash, and a
// wrong one is refused.
func TestExampleUsers(t *testing.T) {
	t.Parallel()
	ns, _ := composeServer(t)
	for user := range examplePasswords {
		connectAs(t, ns.ClientURL(), user).Close()
	}
	_, err := nats.Connect(ns.ClientURL(), nats.UserInfo("operator", "wrong"), nats.NoReconnect())
	if err == nil || !strings.Contains(strings.ToLower(err.Error()), "authorization") {
		t.Errorf("wrong password: %v, want an authorization error", err)
	}
	// Browsers (the dashboard) come in over the websocket block, with the
	// same users; nobody gets in without one.
	ws := ns.WebsocketURL()
	if !strings.HasPrefix(ws, "ws://127.0.0.1:") {
		t.Fatalf("websocket URL %q: the configuration has no websocket block", ws)
	}
	connectAs(t, ws, "operator").Close()
	_, err = nats.Connect(ws, nats.NoReconnect())
	if err == nil || !strings.Contains(strings.ToLower(err.Error()), "authorization") {
		t.Errorf("anonymous WebSocket client: %v, want an authorization error", err)
	}
}

// startCluster starts n1, n2 and n3 of deploy/cluster on loopback. The
// configured routes name the compose hosts; here every node lists all
// three at free loopback ports, chosen beforehand because a JetStream
// cluster wants its routes configured from the start, with the
// configured route credentials (checked against the bcrypt hash).
func startCluster(t *testing.T) []*server.Server {
	t.Helper()
	dir := clusterDir(t)
	var opts []*server.Options
	var ports []int
	for i := 1; i <= 3; i++ {
		o := loadConfig(t, filepath.Join(dir, fmt.Sprintf("n%d.conf", i)))
		if len(o.Routes) != 3 {
			t.Fatalf("n%d: %d routes, want all 3 nodes", i, len(o.Routes))
		}
		ports = append(ports, freePort(t))
		opts = append(opts, o)
	}
	var nodes []*server.Server
	for i, o := range opts {
		configured := o.Routes[0]
		o.Cluster.Port = ports[i]
		o.Routes = nil
		for _, p := range ports {
			o.Routes = append(o.Routes, retarget(configured, fmt.Sprintf("127.0.0.1:%d", p)))
		}
		nodes = append(nodes, startServer(t, o))
	}
	waitFor(t, 20*time.Second, "a full mesh of routes", func() bool {
		for _, n := range nodes {
			if n.NumRoutes() < 2 {
				return false
			}
		}
		return true
	})
	return nodes
}

// freePort returns a loopback port nobody listened on a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err, "listen")
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// outcome of one request in the failover test.
type outcome struct {
	err     error
	elapsed time.Duration
	at      time.Time
}

// TestClusterFailover runs the bridge on n1 and clients on n3, stops n3
// (the clients' node) and then n1 (the services' node) while requests
// run, and shows the clients and the bridge reconnect to the nodes left,
// requests succeed again, and every request ends with a reply or a clear
// error within its timeout: none hangs.
func TestClusterFailover(t *testing.T) {
	t.Parallel()
	nodes := startCluster(t)
	urls := func(order ...int) string {
		var s []string
		for _, i := range order {
			s = append(s, nodes[i].ClientURL())
		}
		return strings.Join(s, ",")
	}
	// Services on n1, clients on n3; each knows every node, as the
	// cluster compose file gives them.
	bridge := connectAs(t, urls(0, 1, 2), "hwbridge", nats.DontRandomize())
	startBridge(t, bridge.Conn, "a", 1)
	op := connectAs(t, urls(2, 1, 0), "operator", nats.DontRandomize())
	inst := connectAs(t, urls(2, 1, 0), "instruments", nats.DontRandomize())
	oc, _ := client.New(op.Conn)
	ic, _ := client.New(inst.Conn)
	waitFor(t, 10*time.Second, "the bridge seen from n3", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		_, err := oc.Board("a").Info(ctx)
		return err == nil
	})

	const (
		workers    = 4
		reqTimeout = 2 * time.Second
		maxTest    = 40 * time.Second // hard bound on the request loops
	)
	var (
		mu       sync.Mutex
		outcomes []outcome
		stop     atomic.Bool
		wg       sync.WaitGroup
	)
	deadline := time.Now().Add(maxTest)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; !stop.Load() && time.Now().Before(deadline) && n < 100000; n++ {
				ctx, cancel := context.WithTimeout(context.Background(), reqTimeout)
				start := time.Now()
				var err error
				switch (w + n) % 3 {
				case 0:
					_, err = oc.Board("a").Info(ctx)
				case 1:
					_, err = oc.Board("a").ASG1.Setup(ctx, api.ASGSetup{Frequency: ptr(float64(1000 + n))})
				default:
					_, err = ic.Board("a").HW.Read(ctx, 0x40100000, 1)
				}
				cancel()
				mu.Lock()
				outcomes = append(outcomes, outcome{err, time.Since(start), start})
				mu.Unlock()
				time.Sleep(2 * time.Millisecond)
			}
		}()
	}
	// okSince waits until requests started after t0 succeed again.
	okSince := func(what string, t0 time.Time) {
		waitFor(t, 15*time.Second, what, func() bool {
			mu.Lock()
			defer mu.Unlock()
			ok := 0
			for _, o := range outcomes {
				if o.at.After(t0) && o.err == nil {
					ok++
				}
			}
			return ok >= 10
		})
	}
	okSince("requests before any failure", time.Now())

	// The clients' node goes away.
	t0 := time.Now()
	nodes[2].Shutdown()
	waitFor(t, 10*time.Second, "clients reconnected", func() bool {
		return op.Stats().Reconnects > 0 && op.IsConnected() && inst.Stats().Reconnects > 0 && inst.IsConnected()
	})
	okSince("requests after n3 stopped", t0)

	// The services' node goes away.
	t1 := time.Now()
	nodes[0].Shutdown()
	waitFor(t, 10*time.Second, "bridge reconnected", func() bool {
		return bridge.Stats().Reconnects > 0 && bridge.IsConnected()
	})
	okSince("requests after n1 stopped", t1)
	stop.Store(true)
	wg.Wait()

	counts := map[string]int{}
	for _, o := range outcomes {
		if o.elapsed > reqTimeout+time.Second {
			t.Errorf("a request took %v, past its %v timeout: it hung", o.elapsed, reqTimeout)
		}
		if o.err == nil {
			counts["ok"]++
			continue
		}
		// A clear error: the client's codes for a lost reply, a lost
		// connection, or no responder while the bridge moves.
		switch code := rperr.ErrorCode(o.err); code {
		case rperr.ETimeout, rperr.EUnavailable, rperr.ENotFound:
			counts[code]++
		default:
			t.Errorf("unclear error %q (code %s)", o.err, code)
		}
	}
	t.Logf("%d requests: %v; reconnects: operator %d, instruments %d, bridge %d",
		len(outcomes), counts, op.Stats().Reconnects, inst.Stats().Reconnects, bridge.Stats().Reconnects)
}

// TestLeafGateway runs a lab gateway (deploy/leaf/gateway.conf) joined to
// a cluster node as a leaf: the lab's bridge connects to the gateway, the
// instruments and the operator to the cluster, and the permissions hold
// across the leaf connection.
func TestLeafGateway(t *testing.T) {
	t.Parallel()
	dir := clusterDir(t)
	ho := loadConfig(t, filepath.Join(dir, "n1.conf"))
	// One hub node is enough here; alone it cannot run clustered
	// JetStream, which this test does not need.
	ho.Routes, ho.JetStream = nil, false
	hub := startServer(t, ho)

	gdir := t.TempDir()
	copyFile(t, filepath.Join("leaf", "gateway.conf"), filepath.Join(gdir, "gateway.conf"))
	copyFile(t, filepath.Join("nats", "accounts.example.conf"), filepath.Join(gdir, "accounts.conf"))
	gw := loadConfig(t, filepath.Join(gdir, "gateway.conf"))
	if len(gw.LeafNode.Remotes) != 1 || len(gw.LeafNode.Remotes[0].URLs) != 3 {
		t.Fatalf("gateway: want one remote with the 3 cluster nodes, got %+v", gw.LeafNode.Remotes)
	}
	r := gw.LeafNode.Remotes[0]
	r.URLs = []*url.URL{retarget(r.URLs[0], fmt.Sprintf("127.0.0.1:%d", ho.LeafNode.Port))}
	gateway := startServer(t, gw)
	waitFor(t, 10*time.Second, "the gateway's leaf connection", func() bool {
		return hub.NumLeafNodes() == 1 && gateway.NumLeafNodes() == 1
	})

	bridge := connectAs(t, gateway.ClientURL(), "hwbridge")
	startBridge(t, bridge.Conn, "lab1", 1)
	inst := connectAs(t, hub.ClientURL(), "instruments")
	op := connectAs(t, hub.ClientURL(), "operator")
	ic, _ := client.New(inst.Conn)
	oc, _ := client.New(op.Conn)
	waitFor(t, 10*time.Second, "the lab's bridge seen from the cluster", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		_, err := ic.Board("lab1").HW.Read(ctx, 0x40100000, 1)
		return err == nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := oc.Board("lab1").ASG0.Setup(ctx, api.ASGSetup{Waveform: ptr("square")})
	must(t, err, "operator on the cluster: lab1 asg0.setup through the gateway")
	expectPublishRefused(t, op, "rp.lab1.hw.txn")
	if err := ctx.Err(); errors.Is(err, context.DeadlineExceeded) {
		t.Fatal("ran out of time")
	}
}

func ptr[T any](v T) *T { return &v }
