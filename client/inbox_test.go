package client_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/board/sim"
	"github.com/rpbus/rpbus/client"
	"github.com/rpbus/rpbus/regmap"
	"github.com/rpbus/rpbus/services/hwbridge"
	"github.com/rpbus/rpbus/services/scope"
	"github.com/rpbus/rpbus/services/specan"
)

// inboxServer is a server whose user "lab" may read only its own inbox
// prefix, _INBOX_lab, as deploy/'s users are; "svc" runs the services
// and answers into it.
func inboxServer(t *testing.T) *server.Server {
	t.Helper()
	lab := &server.Permissions{
		Publish:   &server.SubjectPermission{Allow: []string{"rp.>", "$SRV.>"}},
		Subscribe: &server.SubjectPermission{Allow: []string{"_INBOX_lab.>", "rp.*.*.done", "rp.*.*.progress"}},
	}
	svc := &server.Permissions{
		Publish:   &server.SubjectPermission{Allow: []string{">"}},
		Subscribe: &server.SubjectPermission{Allow: []string{"rp.>", "_RPBUS.>", "$SRV.>", "_INBOX_svc.>"}},
	}
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true,
		Users: []*server.User{{Username: "lab", Password: "lab", Permissions: lab}, {Username: "svc", Password: "svc", Permissions: svc}}})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("server not ready")
	}
	t.Cleanup(ns.Shutdown)
	return ns
}

func connectUser(t *testing.T, ns *server.Server, user, prefix string) *nats.Conn {
	t.Helper()
	opts := []nats.Option{nats.UserInfo(user, user)}
	if prefix != "" {
		opts = append(opts, nats.CustomInboxPrefix(prefix))
	}
	nc, err := nats.Connect(ns.ClientURL(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// The client works whole under a per-user inbox prefix: plain requests,
// pipelined transactions (its own reply mux), acquisitions with their
// cancel, and a service calling another (specan asks the scope). Without
// the prefix the same user gets no reply.
func TestInboxPrefix(t *testing.T) {
	ns := inboxServer(t)
	cfg := sim.DefaultConfig()
	sb, err := sim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	br, err := hwbridge.Start(connectUser(t, ns, "svc", "_INBOX_svc"), hwbridge.Config{Board: "sim", Backend: "sim", FPGA: sb})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { br.Stop(context.Background()) })
	sc, err := scope.Start(connectUser(t, ns, "svc", "_INBOX_svc"), scope.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sc.Stop(context.Background()) })
	sa, err := specan.Start(connectUser(t, ns, "svc", "_INBOX_svc"), specan.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sa.Stop(context.Background()) })

	c, err := client.New(connectUser(t, ns, "lab", "_INBOX_lab"))
	if err != nil {
		t.Fatal(err)
	}
	b := c.Board("sim")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := b.Info(ctx); err != nil {
		t.Fatalf("hw.info: %v", err)
	}
	p, err := b.HW.Start(ctx, api.Txn{Ops: []api.Op{api.Read(regmap.ScopeBase, 1)}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Wait(); err != nil {
		t.Fatalf("hw.txn through the reply mux: %v", err)
	}
	if _, err := b.Scope().Single(ctx, api.ScopeSettings{}); err != nil {
		t.Fatalf("scope.single: %v", err)
	}
	if _, err := b.Specan().Single(ctx, api.SpecanSettings{Decimation: 8, TraceAverage: 2}); err != nil {
		t.Fatalf("specan.single: %v", err)
	}
	cctx, ccancel := context.WithTimeout(ctx, 200*time.Millisecond)
	_, err = b.Scope().Single(cctx, api.ScopeSettings{TriggerSource: "ext_positive_edge", Timeout: 30})
	ccancel()
	if err == nil {
		t.Fatal("a single whose context ended answered")
	}

	// The same user with the default _INBOX prefix may not read its replies.
	plain, _ := client.New(connectUser(t, ns, "lab", ""))
	sctx, scancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer scancel()
	if _, err := plain.Board("sim").Info(sctx); err == nil || errors.Is(err, context.Canceled) {
		t.Fatalf("without its prefix: %v, want no reply", err)
	}
}
