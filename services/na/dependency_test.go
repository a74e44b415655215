package na_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/board/sim"
	"github.com/rpbus/rpbus/client"
	"github.com/rpbus/rpbus/internal/lanproxy"
	"github.com/rpbus/rpbus/internal/natstest"
	"github.com/rpbus/rpbus/internal/testrig"
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

// A sweep on the monitor backend, its link through the LAN stand-in,
// whose simulated board goes away mid-sweep (the server and its
// connections closed, as an unplugged board) answers exactly one reply,
// a 503, and no second one later.
func TestUnpluggedMonitorBoardAnswersOnce(t *testing.T) {
	b, err := sim.New(sim.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	addr, unplug := testrig.UnpluggableMonitor(t, b)
	lan, err := lanproxy.Listen("127.0.0.1:0", lanproxy.Config{Target: addr, Delay: 125 * time.Microsecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lan.Close() })
	mc := testrig.DialMonitor(t, lan.Addr())
	ns := natstest.Server(t)
	br, err := hwbridge.Start(natstest.Connect(t, ns), hwbridge.Config{Board: "sim", Backend: "monitor", FPGA: mc})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { br.Stop(context.Background()) })
	s, err := na.Start(natstest.Connect(t, ns), na.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Stop(context.Background()) })
	nc := natstest.Connect(t, ns)
	inbox := nc.NewRespInbox()
	replies, err := nc.SubscribeSync(inbox)
	if err != nil {
		t.Fatal(err)
	}
	// 101 points at rbw 100 Hz: about 2 s of hardware time.
	body, _ := json.Marshal(api.NASettings{StartFreq: 100e3, StopFreq: 1e6, Points: 101, RBW: 100, Timeout: 30})
	progress, err := nc.SubscribeSync("rp.sim.na.progress")
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.PublishRequest("rp.sim.na.single", inbox, body); err != nil {
		t.Fatal(err)
	}
	if _, err := progress.NextMsg(10 * time.Second); err != nil {
		t.Fatalf("no progress event: %v", err)
	}
	unplug()
	m, err := replies.NextMsg(15 * time.Second)
	if err != nil {
		t.Fatalf("no reply after the board went away: %v", err)
	}
	if code := m.Header.Get("Nats-Service-Error-Code"); code != "503" {
		t.Errorf("reply %q (error %q, code %q), want a 503", m.Data, m.Header.Get("Nats-Service-Error"), code)
	}
	if m, err := replies.NextMsg(2 * time.Second); err == nil {
		t.Errorf("a second reply: %q", m.Data)
	}
}
