package client_test

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/board/sim"
	"github.com/rpbus/rpbus/client"
	"github.com/rpbus/rpbus/natsserver"
	"github.com/rpbus/rpbus/rperr"
	"github.com/rpbus/rpbus/services/hwbridge"
	"github.com/rpbus/rpbus/services/scope"
)

// An embedded server, the bridge on a simulated board and the scope
// service, all in this process; the client talks to them over TCP.
func ExampleScope_Single() {
	ns, err := natsserver.Start(natsserver.Options{Listen: "127.0.0.1:0"})
	if err != nil {
		panic(err)
	}
	defer ns.Shutdown()
	board, _ := sim.New(sim.DefaultConfig())
	defer board.Close()
	conn := func() *nats.Conn {
		nc, err := nats.Connect(ns.ClientURL())
		if err != nil {
			panic(err)
		}
		return nc
	}
	bridge, _ := hwbridge.Start(conn(), hwbridge.Config{Board: "sim", Backend: "sim", FPGA: board})
	defer bridge.Stop(context.Background())
	svc, _ := scope.Start(conn(), scope.Config{})
	defer svc.Stop(context.Background())

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _ := client.New(conn())
	b := c.Board("sim")
	// 0.25 V DC on out1, recorded on ch1; ch2 records asg0 itself.
	b.ASG0.Setup(ctx, api.ASGSetup{Waveform: client.Ptr("dc"), Offset: client.Ptr(0.25), OutputDirect: client.Ptr("out1"), TriggerSource: client.Ptr("immediately")})
	tr, err := b.Scope().Single(ctx, api.ScopeSettings{Duration: 1e-3, Input1: "out1", Input2: "asg0"})
	if err != nil {
		panic(err)
	}
	fmt.Printf("decimation %d, duration %g s, dt %g s, t0 %g s, %d samples\n",
		tr.Settings.Decimation, tr.Settings.Duration, tr.Dt, tr.T0, len(tr.Ch1))
	fmt.Printf("ch1[0] = %.4f V, ch2[16383] = %.4f V\n", tr.Ch1[0], tr.Ch2[16383])

	_, err = b.Scope().Single(ctx, api.ScopeSettings{Duration: 10})
	fmt.Println(rperr.ErrorCode(err), "-", rperr.ErrorMessage(err))
	// Output:
	// decimation 8, duration 0.001048576 s, dt 6.4e-08 s, t0 0 s, 16384 samples
	// ch1[0] = 0.2500 V, ch2[16383] = 0.2500 V
	// invalid - duration: 10 s is outside (0, 8.589934592] s (16384 x 8 ns x decimation 1..65536)
}
