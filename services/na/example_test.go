package na_test

import (
	"context"
	"fmt"
	"math"
	"math/cmplx"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/board/sim"
	"github.com/rpbus/rpbus/client"
	"github.com/rpbus/rpbus/natsserver"
	"github.com/rpbus/rpbus/services/hwbridge"
	"github.com/rpbus/rpbus/services/na"
)

// A sweep across the simulated board's 1 MHz resonance (out1 -> in1).
func Example() {
	ns, err := natsserver.Start(natsserver.Options{Listen: "127.0.0.1:0"})
	if err != nil {
		panic(err)
	}
	defer ns.Shutdown()
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		panic(err)
	}
	defer nc.Close()
	board, err := sim.New(sim.DefaultConfig())
	if err != nil {
		panic(err)
	}
	defer board.Close()
	br, err := hwbridge.Start(nc, hwbridge.Config{Board: "sim", Backend: "sim", FPGA: board})
	if err != nil {
		panic(err)
	}
	defer br.Stop(context.Background())
	svc, err := na.Start(nc, na.Config{})
	if err != nil {
		panic(err)
	}
	defer svc.Stop(context.Background())

	c, _ := client.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tr, err := c.Board("sim").NA().Single(ctx, api.NASettings{StartFreq: 0.5e6, StopFreq: 2e6, Points: 3, RBW: 1e4})
	if err != nil {
		panic(err)
	}
	for i, f := range tr.Frequencies {
		h := complex(tr.Re[i], tr.Im[i])
		deg := math.Round(cmplx.Phase(h) * 180 / math.Pi)
		if deg == 0 {
			deg = 0 // no "-0" from the noise
		}
		fmt.Printf("%4.2f MHz: |H| %.2f, phase %+3.0f deg\n", f/1e6, cmplx.Abs(h), deg)
	}
	// Output:
	// 0.50 MHz: |H| 0.07, phase +86 deg
	// 1.00 MHz: |H| 1.00, phase  +0 deg
	// 2.00 MHz: |H| 0.07, phase -86 deg
}
