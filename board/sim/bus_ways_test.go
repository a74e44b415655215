package sim_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/rpbus/rpbus/board/monitor"
	"github.com/rpbus/rpbus/board/sim"
	"github.com/rpbus/rpbus/client"
	"github.com/rpbus/rpbus/internal/natstest"
	"github.com/rpbus/rpbus/regmap"
	"github.com/rpbus/rpbus/services/hwbridge"
)

// TestBusEveryWay: a 16384-word buffer read costs the simulated board's
// bus time however the board is reached: over PyRPL's monitor protocol
// (rpbus simboard) and through the bridge's hw.txn, as in process.
func TestBusEveryWay(t *testing.T) {
	const n = regmap.ScopeBufferLen
	b, err := sim.New(sim.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	minRead := time.Duration(n * b.Config().BusRead * 1e9)

	srv, err := monitor.NewServer(b)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	mc, err := monitor.Dial(ctx, ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mc.Close() })

	ns := natstest.Server(t)
	br, err := hwbridge.Start(natstest.Connect(t, ns), hwbridge.Config{Board: "sim", Backend: "sim", FPGA: b})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { br.Stop(context.Background()) })
	cl, err := client.New(natstest.Connect(t, ns))
	if err != nil {
		t.Fatal(err)
	}
	addr := uint32(regmap.ScopeBase + regmap.ScopeCh1Data)
	for _, w := range []struct {
		name string
		read func() error
	}{
		{"monitor protocol", func() error { return mc.Read(addr, make([]uint32, n)) }},
		{"hw.txn", func() error { _, err := cl.Board("sim").HW.Read(ctx, addr, n); return err }},
	} {
		s0 := b.BusStats()
		t0 := time.Now()
		if err := w.read(); err != nil {
			t.Fatalf("%s: %v", w.name, err)
		}
		d := time.Since(t0)
		if s := b.BusStats().Sub(s0); d < minRead || s.Reads < n {
			t.Errorf("%s: %d words in %v with %d reads on the bus, want at least %v and %d", w.name, n, d, s.Reads, minRead, n)
		}
	}
}
