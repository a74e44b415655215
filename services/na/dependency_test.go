package na_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/board/sim"
	"github.com/rpbus/rpbus/client"
	"github.com/rpbus/rpbus/internal/natstest"
	"github.com/rpbus/rpbus/rperr"
	"github.com/rpbus/rpbus/services/hwbridge"
	"github.com/rpbus/rpbus/services/na"
)

// A bridge that dies during a sweep is noticed within about 2 s, whatever
// a point's length: the requester gets a 503 that names the bridge.
func TestDeadBridgeIs503(t *testing.T) {
	b, err := sim.New(sim.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	ns := natstest.Server(t)
	bnc := natstest.Connect(t, ns)
	if _, err := hwbridge.Start(bnc, hwbridge.Config{Board: "sim", Backend: "sim", FPGA: b}); err != nil {
		t.Fatal(err)
	}
	s, err := na.Start(natstest.Connect(t, ns), na.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Stop(context.Background()) })
	c, _ := client.New(natstest.Connect(t, ns))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		// 1.2 Hz: each point lasts about 1.3 s, the sweep minutes.
		_, err := c.Board("sim").NA().Single(ctx, api.NASettings{StartFreq: 1e4, StopFreq: 2e4, Points: 100, RBW: 1.2})
		errc <- err
	}()
	time.Sleep(time.Second)
	killed := time.Now()
	bnc.Close() // as kill -9
	err = <-errc
	if rperr.ErrorCode(err) != rperr.EUnavailable || !strings.Contains(err.Error(), "hardware bridge of board sim") {
		t.Fatalf("got %v, want a 503 naming the bridge", err)
	}
	if d := time.Since(killed); d > 4*time.Second {
		t.Errorf("noticed after %v, want about 2 s", d)
	}
}
