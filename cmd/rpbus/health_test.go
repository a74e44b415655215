package main

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/rpbus/rpbus/board/monitor"
	"github.com/rpbus/rpbus/board/sim"
	"github.com/rpbus/rpbus/internal/natstest"
	"github.com/rpbus/rpbus/services/hwbridge"
)

// rpbus health --board wants the board itself to answer, not only its
// bridge: a bridge whose board (monitor_server) is gone is unhealthy.
func TestHealthBoard(t *testing.T) {
	b, err := sim.New(sim.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	srv, err := monitor.NewServer(b)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	mc, err := monitor.Dial(ctx, ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mc.Close() })
	ns := natstest.Server(t)
	br, err := hwbridge.Start(natstest.Connect(t, ns), hwbridge.Config{Board: "lab1", Backend: "monitor", FPGA: mc})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { br.Stop(context.Background()) })
	url := ns.ClientURL()

	out, err := rpbus(t, "health", "--nats", url, "--board", "lab1")
	if err != nil || !strings.Contains(out, "ok: board lab1 answers") {
		t.Fatalf("board up: %q %v", out, err)
	}
	if _, err := rpbus(t, "health", "--nats", url, "--board", "nope", "--timeout", "500ms"); err == nil {
		t.Error("a board without a bridge is healthy")
	}
	srv.Close()
	ln.Close()
	_, err = rpbus(t, "health", "--nats", url, "--board", "lab1")
	if err == nil || !strings.Contains(err.Error(), "its bridge answers, the board does not") {
		t.Errorf("board gone: %v", err)
	}
}
