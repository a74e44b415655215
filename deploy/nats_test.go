package deploy_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
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
// configuration read as the container reads it, with the credentials
// `rpbus secrets` made.
func composeServer(t *testing.T) (*node, composeFile) {
	t.Helper()
	path := filepath.Join(repoRoot, "docker-compose.yml")
	f := readCompose(t, path)
	nss := natsServices(t, path, f)
	if len(nss) != 1 {
		t.Fatalf("docker-compose.yml: %d NATS services, want 1", len(nss))
	}
	return startNode(t, nss[0].conf), f
}

// TestPermissions shows the users of the example accounts doing their
// jobs and nothing else: the bridge serves hw.txn, the instruments call
// it, the operator drives generators but not registers, the observer only
// watches events.
func TestPermissions(t *testing.T) {
	t.Parallel()
	ns, f := composeServer(t)
	url := ns.url

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
	expectSubscribeRefused(t, obs, "_INBOX_operator.>")

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
	other.Healthcheck = &struct{ Test []string }{Test: []string{"CMD", "/rpbus", "health", "--board", "nope", "--timeout", "300ms"}}
	if out, err := runHealth(t, other, url); err == nil {
		t.Errorf("healthcheck of an unserved board passed:\n%s", out)
	}
}

// TestExampleUsers shows each example password matches its hash (cost
// 11 or more, as every hash in deploy/), and a wrong one is refused.
func TestExampleUsers(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	copyFile(t, filepath.Join("nats", "nats.conf"), filepath.Join(dir, "nats.conf"))
	copyFile(t, filepath.Join("nats", "accounts.example.conf"), filepath.Join(dir, "accounts.conf"))
	n := startNode(t, filepath.Join(dir, "nats.conf"))
	for user, pw := range examplePasswords {
		connectWith(t, n.url, user, pw).Close()
	}
	_, err := nats.Connect(n.url, nats.UserInfo("operator", "wrong"), nats.NoReconnect())
	if err == nil || !strings.Contains(strings.ToLower(err.Error()), "authorization") {
		t.Errorf("wrong password: %v, want an authorization error", err)
	}
	// Browsers (the dashboard) come in over the websocket block, with the
	// same users; nobody gets in without one.
	if !strings.HasPrefix(n.ws, "ws://127.0.0.1:") {
		t.Fatalf("websocket URL %q: the configuration has no websocket block", n.ws)
	}
	connectWith(t, n.ws, "operator", examplePasswords["operator"]).Close()
	// The server refuses and closes: the client reads the refusal, or
	// finds the connection closed before it does.
	_, err = nats.Connect(n.ws, nats.NoReconnect())
	if err == nil || !regexp.MustCompile(`authorization|broken pipe|EOF|reset`).MatchString(strings.ToLower(err.Error())) {
		t.Errorf("anonymous WebSocket client: %v, want it refused", err)
	}
	checkHashCosts(t, ".")
}

// usersIn lists the users of a configuration.
func usersIn(t *testing.T, o *server.Options) []string {
	t.Helper()
	var users []string
	for _, u := range o.Users {
		users = append(users, u.Username)
	}
	if len(users) < 5 {
		t.Fatalf("only %v", users)
	}
	return users
}

// checkHashCosts wants every bcrypt hash under dir at cost 11 or more.
func checkHashCosts(t *testing.T, dir string) {
	t.Helper()
	hash := regexp.MustCompile(`\$2[aby]\$(\d\d)\$`)
	n := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(path, "_test.go") {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range hash.FindAllStringSubmatch(string(data), -1) {
			n++
			if cost, _ := strconv.Atoi(m[1]); cost < 11 {
				t.Errorf("%s: a bcrypt hash of cost %d; want 11 or more", path, cost)
			}
		}
		return nil
	})
	must(t, err, "walk %s", dir)
	if n == 0 {
		t.Errorf("no bcrypt hash under %s", dir)
	}
}

// TestSecrets shows what `rpbus secrets` writes: private files, new
// passwords of cost 11 that log in, the example's users with exactly the
// example's permissions, and a .env whose paths are the files.
func TestSecrets(t *testing.T) {
	t.Parallel()
	g := secrets(t)
	for _, f := range []string{"accounts.conf", "cluster-secrets.conf", "leaf-secrets.conf", "users.txt", ".env"} {
		st, err := os.Stat(filepath.Join(g.dir, f))
		must(t, err, "stat %s", f)
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", f, st.Mode().Perm())
		}
	}
	checkHashCosts(t, g.dir)
	for user, pw := range g.passwords {
		if len(pw) < 32 || pw == examplePasswords[user] {
			t.Errorf("%s: password %q is short or the example's", user, pw)
		}
	}
	example, err := server.ProcessConfigFile(filepath.Join("nats", "accounts.example.conf"))
	must(t, err, "example accounts")
	real, err := server.ProcessConfigFile(g.env["RPBUS_NATS_ACCOUNTS"])
	must(t, err, "generated accounts")
	perms := func(o *server.Options) map[string]string {
		m := map[string]string{}
		for _, u := range o.Users {
			b, _ := json.Marshal(u.Permissions)
			m[u.Username] = u.Account.Name + " " + string(b)
		}
		return m
	}
	if a, b := perms(example), perms(real); len(a) != len(usersIn(t, example)) || !reflect.DeepEqual(a, b) {
		t.Errorf("generated users and permissions differ from the example's:\n%v\n%v", b, a)
	}
	dir := t.TempDir()
	copyFile(t, filepath.Join("nats", "nats.conf"), filepath.Join(dir, "nats.conf"))
	copyFile(t, g.env["RPBUS_NATS_ACCOUNTS"], filepath.Join(dir, "accounts.conf"))
	n := startNode(t, filepath.Join(dir, "nats.conf"))
	for _, user := range []string{"operator", "admin"} {
		connectAs(t, n.url, user).Close()
		if _, err := nats.Connect(n.url, nats.UserInfo(user, examplePasswords[user]), nats.NoReconnect()); err == nil {
			t.Errorf("%s logs in with the example password", user)
		}
	}
}

// startCluster starts n1, n2 and n3 of deploy/cluster as processes on
// loopback. The configured routes name the compose hosts; here every
// node lists all three at free loopback ports, chosen beforehand because
// a JetStream cluster wants its routes configured from the start, with
// the configured route credentials (checked against the bcrypt hash).
func startCluster(t *testing.T) []*node {
	t.Helper()
	return startNodes(t, clusterDir(t), "n1.conf", "n2.conf", "n3.conf")
}

// startNodes starts the node files of dir as a cluster (see startCluster).
func startNodes(t *testing.T, dir string, files ...string) []*node {
	t.Helper()
	var confs []string
	var ports []int
	var configured *url.URL
	for _, f := range files {
		conf := filepath.Join(dir, f)
		o, err := server.ProcessConfigFile(conf)
		must(t, err, "%s", f)
		if len(o.Routes) != 3 {
			t.Fatalf("%s: %d routes, want all 3 nodes", f, len(o.Routes))
		}
		configured = o.Routes[0]
		confs = append(confs, conf)
		ports = append(ports, freePort(t))
	}
	var routes []string
	for _, p := range ports {
		routes = append(routes, retarget(configured, fmt.Sprintf("127.0.0.1:%d", p)).String())
	}
	nodes := make([]*node, len(files))
	var wg sync.WaitGroup
	for i, conf := range confs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			nodes[i] = startNode(t, conf, "--cluster-listen", fmt.Sprintf("127.0.0.1:%d", ports[i]),
				"--leaf-listen", "127.0.0.1:0", "--routes", strings.Join(routes, ","))
		}()
	}
	wg.Wait()
	for _, n := range nodes {
		if n == nil {
			t.FailNow()
		}
	}
	waitFor(t, 30*time.Second, "a full mesh of routes", func() bool {
		for _, n := range nodes {
			var rz struct {
				NumRoutes int `json:"num_routes"`
			}
			if json.Unmarshal([]byte(n.get(t, "/routez")), &rz) != nil || rz.NumRoutes < 2 {
				return false
			}
		}
		return true
	})
	return nodes
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
			s = append(s, nodes[i].url)
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
		waitFor(t, 30*time.Second, what, func() bool {
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

	// The clients' node goes away (kill -9). It is n3 unless a login
	// slowed by the machine's load sent a client on to the next node.
	services := nodeOf(t, nodes, bridge)
	clients := nodeOf(t, nodes, op)
	if clients == services {
		clients = 3 - services // one of the other two
	}
	moved := []*conn{}
	for _, c := range []*conn{op, inst} {
		if nodeOf(t, nodes, c) == clients {
			moved = append(moved, c)
		}
	}
	t0 := time.Now()
	nodes[clients].kill()
	waitFor(t, 30*time.Second, "clients reconnected", func() bool {
		for _, c := range moved {
			if c.Stats().Reconnects == 0 || !c.IsConnected() {
				return false
			}
		}
		return true
	})
	okSince("requests after the clients' node stopped", t0)

	// The services' node goes away (kill -9).
	t1 := time.Now()
	nodes[services].kill()
	waitFor(t, 30*time.Second, "bridge reconnected", func() bool {
		return bridge.Stats().Reconnects > 0 && bridge.IsConnected()
	})
	okSince("requests after the services' node stopped", t1)
	stop.Store(true)
	wg.Wait()

	counts := map[string]int{}
	for _, o := range outcomes {
		// nats.go holds a connection's lock through a reconnect's handshake
		// (up to its 2 s connect timeout; a bcrypt login on a loaded machine
		// is slow), and a request made meanwhile waits for it before its own
		// timeout can run: late by that much is not hung.
		if o.elapsed > reqTimeout+nats.DefaultTimeout+time.Second {
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
	// One hub node is enough here; alone it cannot run clustered
	// JetStream, which this test does not need: its routes go nowhere.
	leafPort := freePort(t)
	hub := startNode(t, filepath.Join(dir, "n1.conf"), "--cluster-listen", "127.0.0.1:0", "--routes", "",
		"--leaf-listen", fmt.Sprintf("127.0.0.1:%d", leafPort))

	g := secrets(t)
	gdir := t.TempDir()
	copyFile(t, filepath.Join("leaf", "gateway.conf"), filepath.Join(gdir, "gateway.conf"))
	copyFile(t, g.env["RPBUS_NATS_ACCOUNTS"], filepath.Join(gdir, "accounts.conf"))
	// The generated leaf remotes name the cluster hosts: point them at
	// the hub, as a lab would at its cluster's addresses.
	leaf, err := os.ReadFile(filepath.Join(g.dir, "leaf-secrets.conf"))
	must(t, err, "leaf secrets")
	if n := strings.Count(string(leaf), "nats-leaf://leaf:"+g.passwords["leaf"]+"@"); n != 3 {
		t.Fatalf("leaf-secrets.conf: %d remotes with the generated password, want the 3 nodes", n)
	}
	retargeted := regexp.MustCompile(`@n[123]:7422`).ReplaceAllString(string(leaf), fmt.Sprintf("@127.0.0.1:%d", leafPort))
	writeFile(t, filepath.Join(gdir, "leaf-secrets.conf"), retargeted)
	gateway := startNode(t, filepath.Join(gdir, "gateway.conf"))

	bridge := connectAs(t, gateway.url, "hwbridge")
	startBridge(t, bridge.Conn, "lab1", 1)
	inst := connectAs(t, hub.url, "instruments")
	op := connectAs(t, hub.url, "operator")
	ic, _ := client.New(inst.Conn)
	oc, _ := client.New(op.Conn)
	waitFor(t, 20*time.Second, "the lab's bridge seen from the cluster", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		_, err := ic.Board("lab1").HW.Read(ctx, 0x40100000, 1)
		return err == nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = oc.Board("lab1").ASG0.Setup(ctx, api.ASGSetup{Waveform: ptr("square")})
	must(t, err, "operator on the cluster: lab1 asg0.setup through the gateway")
	expectPublishRefused(t, op, "rp.lab1.hw.txn")
	if err := ctx.Err(); errors.Is(err, context.DeadlineExceeded) {
		t.Fatal("ran out of time")
	}
}

func ptr[T any](v T) *T { return &v }

// nodeOf is the index of the node c is connected to.
func nodeOf(t *testing.T, nodes []*node, c *conn) int {
	t.Helper()
	for i, n := range nodes {
		if n.url == c.ConnectedUrl() {
			return i
		}
	}
	t.Fatalf("%s is connected to %s, none of the nodes", c.Opts.Name, c.ConnectedUrl())
	return -1
}
