package asg

import (
	"context"
	"math"
	"math/cmplx"
	"testing"
	"time"

	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/board"
	"github.com/rpbus/rpbus/board/sim"
	"github.com/rpbus/rpbus/regmap"
)

// TestSimScope plays a sine on asg0 of the simulated board and records it
// with scope channel 1 (input select asg0) at decimation 1: 10 periods fit
// the 16384 samples exactly (f = 10 * 125 MHz / 2^14 is a whole phase
// step), so bin 10 of the DFT is the amplitude and bin 0 the offset.
func TestSimScope(t *testing.T) {
	b, err := sim.New(sim.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	g, err := New(b, 0)
	if err != nil {
		t.Fatal(err)
	}
	const k = 10
	f := k * regmap.Clock / regmap.ScopeBufferLen
	s, err := g.Setup(api.ASGSetup{
		Waveform: ptr("sin"), Frequency: ptr(f), Amplitude: ptr(0.5), Offset: ptr(0.125),
		TriggerSource: ptr("immediately"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if s.Frequency != f {
		t.Fatalf("frequency %v, want exactly %v", s.Frequency, f)
	}

	w := func(addr, v uint32) {
		t.Helper()
		if err := b.Write(addr, []uint32{v}); err != nil {
			t.Fatal(err)
		}
	}
	sc := regmap.ScopeBase
	w(regmap.Slot(regmap.SlotScope1)+regmap.DSPInputSelect, regmap.SlotASG0)
	w(sc+regmap.ScopeControl, regmap.ScopeReset)
	w(sc+regmap.ScopeDecimation, 1)
	w(sc+regmap.ScopeDelay, regmap.ScopeBufferLen)
	w(sc+regmap.ScopeControl, regmap.ScopeArm)
	w(sc+regmap.ScopeTriggerSource, regmap.TrigImmediately)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ok, err := b.WaitFor(ctx, board.Cond{Addr: sc + regmap.ScopeControl, Mask: regmap.ScopeArm | regmap.ScopeDelayRunning, Value: 0, Timeout: 5 * time.Second})
	if err != nil || !ok {
		t.Fatalf("scope not done: %v %v", ok, err)
	}
	buf := make([]uint32, regmap.ScopeBufferLen)
	if err := b.Read(sc+regmap.ScopeCh1Data, buf); err != nil {
		t.Fatal(err)
	}
	var dc float64
	var tone complex128
	for i, v := range buf {
		x := regmap.RegToVolts(v)
		dc += x
		tone += complex(x, 0) * cmplx.Exp(complex(0, -2*math.Pi*k*float64(i)/regmap.ScopeBufferLen))
	}
	dc /= regmap.ScopeBufferLen
	amp := 2 * cmplx.Abs(tone) / regmap.ScopeBufferLen
	t.Logf("amplitude %.6f V, offset %.6f V", amp, dc)
	// The table peak is 8191/8192 of the amplitude; allow one LSB.
	const lsb = 1.0 / regmap.VoltsNorm
	if want := s.Amplitude * 8191 / 8192; math.Abs(amp-want) > lsb {
		t.Errorf("recorded amplitude %.6f V, want %.6f V", amp, want)
	}
	if math.Abs(dc-s.Offset) > lsb {
		t.Errorf("recorded offset %.6f V, want %.6f V", dc, s.Offset)
	}
}
