package deploy_test

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/client"
	"github.com/rpbus/rpbus/rperr"
	"github.com/rpbus/rpbus/services/curves"
	"github.com/rpbus/rpbus/services/na"
	"github.com/rpbus/rpbus/services/specan"
	"github.com/rpbus/rpbus/wire"
)

// composeReplicas reads the --replicas of a compose file's curves
// container.
func composeReplicas(t *testing.T, path string) int {
	t.Helper()
	s, ok := readCompose(t, path).Services["curves"]
	if !ok {
		t.Fatalf("%s: no curves service", path)
	}
	i := slices.Index(s.Command, "--replicas")
	if i < 0 {
		return 1
	}
	n, err := strconv.Atoi(s.Command[i+1])
	must(t, err, "%s: curves --replicas", path)
	return n
}

// startServices runs what the cluster compose file runs, each as its
// example user and connected to every node (first to the one at
// order[0]): the bridge of board "a", the three instruments, and the
// curve store with the compose file's replicas.
func startServices(t *testing.T, urls string, replicas int) {
	t.Helper()
	startBridge(t, connectAs(t, urls, "hwbridge", nats.DontRandomize()).Conn, "a", 1)
	startScope(t, connectAs(t, urls, "instruments"))
	n, err := na.Start(connectAs(t, urls, "instruments").Conn, na.Config{})
	must(t, err, "na.Start")
	sp, err := specan.Start(connectAs(t, urls, "instruments").Conn, specan.Config{})
	must(t, err, "specan.Start")
	store := connectAs(t, urls, "curves")
	cs, err := curves.Start(store.Conn, curves.Config{Replicas: replicas})
	must(t, err, "curves.Start as the curves user")
	t.Cleanup(func() {
		if store.errs.has("permissions violation") {
			t.Errorf("the curve store was refused: %v", store.errs.list)
		}
	})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = cs.Stop(ctx)
		_ = sp.Stop(ctx)
		_ = n.Stop(ctx)
	})
}

// TestCurvesCluster runs the curve store on the three-node cluster as
// the cluster compose file does (replicated R3, as the curves user),
// saves curves of every instrument, stops the node that leads the
// curves' stream, and reads every curve back bit-exact from the two
// left; saves go on.
func TestCurvesCluster(t *testing.T) {
	t.Parallel()
	replicas := composeReplicas(t, filepath.Join("cluster", "docker-compose.yml"))
	if replicas != 3 {
		t.Fatalf("cluster compose: curves --replicas %d, want 3", replicas)
	}
	if composeReplicas(t, filepath.Join(repoRoot, "docker-compose.yml")) != 1 {
		t.Error("the one-server compose file replicates the curves")
	}
	nodes := startCluster(t)
	var all []string
	for _, n := range nodes {
		all = append(all, n.ClientURL())
	}
	urls := strings.Join(all, ",")
	startServices(t, urls, replicas)
	op := connectAs(t, urls, "operator")

	// save asks an instrument for an acquisition saved in the store and
	// returns its curve id and the msgpack reply.
	requests := []struct {
		subject string
		body    map[string]any
	}{
		{"rp.a.scope.single", map[string]any{"decimation": 1, "save": true}},
		{"rp.a.na.single", map[string]any{"points": 5, "rbw": 10000, "save": true, "name": "bode"}},
		{"rp.a.specan.single", map[string]any{"decimation": 64, "save": true}},
	}
	save := func(i int) (string, []byte, error) {
		r := requests[i%len(requests)]
		body, _ := wire.Msgpack.Marshal(r.body)
		m, err := op.RequestMsg(&nats.Msg{Subject: r.subject, Data: body, Header: wire.Msgpack.Header()}, 15*time.Second)
		if err != nil {
			return "", nil, err
		}
		if err := wire.ErrorFromMsg(m); err != nil {
			return "", nil, err
		}
		var id struct {
			Curve string `msgpack:"curve"`
		}
		if err := msgpack.Unmarshal(m.Data, &id); err != nil || id.Curve == "" {
			return "", nil, errors.New("no curve id in the reply")
		}
		return id.Curve, m.Data, nil
	}
	stored := map[string][]byte{}
	var order []string
	waitFor(t, 30*time.Second, "the first save on the cluster", func() bool {
		id, data, err := save(0)
		if err == nil {
			stored[id], order = data, append(order, id)
		}
		return err == nil
	})
	for i := 1; i < 30; i++ {
		id, data, err := save(i)
		must(t, err, "save %d", i)
		stored[id], order = data, append(order, id)
	}

	// The stream and the bucket are replicated on every node.
	admin := connectAs(t, urls, "curves")
	ajs, _ := jetstream.New(admin.Conn)
	var leader string
	waitFor(t, 20*time.Second, "three current replicas of the curves' stream and bucket", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		for _, name := range []string{curves.TracesStream, "KV_" + curves.MetaBucket} {
			st, err := ajs.Stream(ctx, name)
			if err != nil {
				return false
			}
			info, err := st.Info(ctx)
			if err != nil || info.Config.Replicas != 3 || info.Cluster == nil || info.Cluster.Leader == "" || len(info.Cluster.Replicas) != 2 {
				return false
			}
			for _, r := range info.Cluster.Replicas {
				if !r.Current {
					return false
				}
			}
			if name == curves.TracesStream {
				leader = info.Cluster.Leader
			}
		}
		return true
	})

	// Stop the node that leads the stream.
	var stopped *server.Server
	for _, n := range nodes {
		if n.Name() == leader {
			stopped = n
		}
	}
	if stopped == nil {
		t.Fatalf("stream leader %q is no node", leader)
	}
	stopped.Shutdown()
	stopped.WaitForShutdown()
	t.Logf("stopped %s, the leader of %s", leader, curves.TracesStream)

	oc, _ := client.New(op.Conn)
	get := func(id string) ([]byte, error) {
		body, _ := wire.Msgpack.Marshal(api.CurveID{ID: id})
		m, err := op.RequestMsg(&nats.Msg{Subject: api.CurvesGet, Data: body, Header: wire.Msgpack.Header()}, 5*time.Second)
		if err != nil {
			return nil, err
		}
		if err := wire.ErrorFromMsg(m); err != nil {
			return nil, err
		}
		var d struct {
			Scope  msgpack.RawMessage `msgpack:"scope"`
			NA     msgpack.RawMessage `msgpack:"na"`
			Specan msgpack.RawMessage `msgpack:"specan"`
		}
		if err := msgpack.Unmarshal(m.Data, &d); err != nil {
			return nil, err
		}
		return bytes.Join([][]byte{d.Scope, d.NA, d.Specan}, nil), nil
	}
	waitFor(t, 30*time.Second, "a curve read after the node stopped", func() bool {
		_, err := get(order[0])
		return err == nil
	})
	for _, id := range order {
		raw, err := get(id)
		must(t, err, "get %s with a node down", id)
		if !bytes.Equal(raw, stored[id]) {
			t.Errorf("curve %s: %d bytes read back, %d saved", id, len(raw), len(stored[id]))
		}
	}
	waitFor(t, 30*time.Second, "a save after the node stopped", func() bool {
		id, data, err := save(0)
		if err == nil {
			stored[id], order = data, append(order, id)
		} else if code := rperr.ErrorCode(err); code == rperr.EInvalid || code == rperr.EInternal {
			t.Fatalf("save with a node down: %v", err)
		}
		return err == nil
	})
	for i := 1; i < 9; i++ {
		id, data, err := save(i)
		must(t, err, "save %d with a node down", i)
		stored[id], order = data, append(order, id)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	l, err := oc.Curves().List(ctx, api.CurveQuery{Limit: 1000})
	must(t, err, "list with a node down")
	if len(l.Curves) != len(order) || l.Store.Curves != len(order) {
		t.Errorf("list with a node down: %d curves, %d saved", len(l.Curves), len(order))
	}
}

// TestCurvesPermissions runs the store of the one-server compose file in
// a small size, so that saves fill it: the instruments' saves write the
// store's stream and bucket, take back half-written curves and ask for
// room, all under their example permissions; the operator lists and
// reads; the observer may not.
func TestCurvesPermissions(t *testing.T) {
	t.Parallel()
	ns, _ := composeServer(t)
	url := ns.ClientURL()
	startBridge(t, connectAs(t, url, "hwbridge").Conn, "sim", 1)
	inst := connectAs(t, url, "instruments")
	startScope(t, inst)
	store := connectAs(t, url, "curves")
	cs, err := curves.Start(store.Conn, curves.Config{MaxBytes: curves.MinMaxBytes})
	must(t, err, "curves.Start as the curves user")
	t.Cleanup(func() { _ = cs.Stop(context.Background()) })

	op := connectAs(t, url, "operator")
	oc, _ := client.New(op.Conn)
	sc := oc.Board("sim").Scope()
	var last string
	for i := 0; i < 25; i++ { // a 64 KiB trace each: 1 MiB holds 15
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		tr, err := sc.Single(ctx, api.ScopeSettings{Decimation: 1, Save: true})
		cancel()
		must(t, err, "operator: scope single %d with save", i)
		last = tr.Curve
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	l, err := oc.Curves().List(ctx, api.CurveQuery{})
	must(t, err, "operator: list")
	if len(l.Curves) == 0 || len(l.Curves) >= 25 || l.Curves[0].ID != last {
		t.Errorf("after 25 saves into 1 MiB: %d curves listed, newest %v", len(l.Curves), ids(l.Curves))
	}
	d, err := oc.Curves().Get(ctx, last)
	must(t, err, "operator: get")
	if d.Scope == nil || len(d.Scope.Ch1) != 16384 {
		t.Errorf("operator: get %s: %+v", last, d.Curve)
	}
	if inst.errs.has("permissions violation") {
		t.Errorf("the instruments were refused: %v", inst.errs.list)
	}
	if store.errs.has("permissions violation") {
		t.Errorf("the curve store was refused: %v", store.errs.list)
	}
	expectPublishRefused(t, connectAs(t, url, "observer"), api.CurvesList)
}

func ids(cs []api.Curve) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.ID)
	}
	return out
}
