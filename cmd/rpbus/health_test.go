package main

import (
	"context"
	"strings"
	"testing"

	"github.com/rpbus/rpbus/board/sim"
	"github.com/rpbus/rpbus/internal/natstest"
	"github.com/rpbus/rpbus/internal/testrig"
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
	addr, unplug := testrig.UnpluggableMonitor(t, b)
	mc := testrig.DialMonitor(t, addr)
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
	unplug()
	_, err = rpbus(t, "health", "--nats", url, "--board", "lab1")
	if err == nil || !strings.Contains(err.Error(), "its bridge answers, the board does not") {
		t.Errorf("board gone: %v", err)
	}
}
