package specan_test

import (
	"context"
	"fmt"
	"math"

	"github.com/nats-io/nats.go"

	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/board/sim"
	"github.com/rpbus/rpbus/client"
	"github.com/rpbus/rpbus/natsserver"
	"github.com/rpbus/rpbus/services/hwbridge"
	"github.com/rpbus/rpbus/services/scope"
	"github.com/rpbus/rpbus/services/specan"
)

// Example runs the whole chain in one process, as `rpbus up` does: an
// embedded NATS server, the simulated board behind the bridge, the scope
// and the spectrum analyzer; then a 1.2 MHz, 0.4 V sine goes out on out1
// through the simulated resonance (|H1| = 0.263 there) into in1.
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
	ctx := context.Background()
	br, _ := hwbridge.Start(nc, hwbridge.Config{Board: "sim", Backend: "sim", FPGA: board})
	defer br.Stop(ctx)
	sc, _ := scope.Start(nc, scope.Config{})
	defer sc.Stop(ctx)
	sa, _ := specan.Start(nc, specan.Config{})
	defer sa.Stop(ctx)

	c, _ := client.New(nc)
	b := c.Board("sim")
	_, err = b.ASG0.Setup(ctx, api.ASGSetup{
		Waveform: client.Ptr("sin"), Frequency: client.Ptr(1.2e6), Amplitude: client.Ptr(0.4),
		OutputDirect: client.Ptr("out1"), TriggerSource: client.Ptr("immediately"),
	})
	if err != nil {
		panic(err)
	}
	sp, err := b.Specan().Single(ctx, api.SpecanSettings{Decimation: 8, TraceAverage: 10, Unit: "Vpk"})
	if err != nil {
		panic(err)
	}
	k := 1
	for i := range sp.Ch1 {
		if i > 0 && sp.Ch1[i] > sp.Ch1[k] {
			k = i
		}
	}
	fmt.Printf("%d traces, span %.4g MHz, rbw %.0f Hz\n", sp.Traces, sp.Settings.Span/1e6, sp.RBW)
	fmt.Printf("peak %.3f Vpk at %.3f MHz\n", sp.Ch1[k], math.Round(sp.Frequencies[k]/1e3)/1e3)
	// Output:
	// 10 traces, span 15.62 MHz, rbw 3596 Hz
	// peak 0.105 Vpk at 1.200 MHz
}
