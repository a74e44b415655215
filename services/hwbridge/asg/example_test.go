package asg_test

import (
	"fmt"

	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/rperr"
	"github.com/rpbus/rpbus/services/hwbridge/asg"
)

// words is the smallest board.FPGA: storage only.
type words map[uint32]uint32

func (w words) Read(addr uint32, dst []uint32) error {
	for i := range dst {
		dst[i] = w[addr+4*uint32(i)]
	}
	return nil
}

func (w words) Write(addr uint32, src []uint32) error {
	for i, v := range src {
		w[addr+4*uint32(i)] = v
	}
	return nil
}

func (w words) Close() error { return nil }

func Example() {
	fpga := words{}
	g, err := asg.New(fpga, 1)
	if err != nil {
		panic(err)
	}
	f, amp, out := 1e6, 0.8, "out2"
	s, err := g.Setup(api.ASGSetup{Frequency: &f, Amplitude: &amp, OutputDirect: &out})
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s: %s %.6f Hz, %.6f V on %s\n", s.Generator, s.Waveform, s.Frequency, s.Amplitude, s.OutputDirect)
	fmt.Printf("step %d, amplitude register %d\n", fpga[0x40200030], fpga[0x40200024]&0x3FFF)

	bad := 1.5
	_, err = g.Setup(api.ASGSetup{Amplitude: &bad})
	fmt.Println(rperr.ErrorCode(err), rperr.ErrorMessage(err))
	// Output:
	// asg1: sin 1000000.047497 Hz, 0.800049 V on out2
	// step 8589935, amplitude register 6554
	// invalid amplitude: 1.5 V is outside 0..1 V
}
