package sim

import (
	"slices"
	"testing"

	"github.com/rpbus/rpbus/regmap"
)

// clockedBoard is a board of its own (seed 7) whose time is *now, which
// the test sets; it is closed when the test ends.
func clockedBoard(t *testing.T, now *int64) *Board {
	cfg := DefaultConfig()
	cfg.Seed = 7
	b, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	b.nowFn = func() int64 { return *now }
	return b
}

// traceWithLateWrite runs, on a board of its own with a clock the test
// sets: asg1 at a DC offset of `before` (a table of zeros: the output is
// the offset) on out2, which reaches in2 through the DUT's low pass; in1
// and in2 recorded on scope channels 1 and 2, a trace at decimation 1
// triggered at once, a probe that sees it done, a write of offset
// `after` (at once, with early), then a read of both buffers. It returns
// the buffers and whether samples were owed when the write came.
func traceWithLateWrite(t *testing.T, before, after uint32, early bool) (bufs []uint16, owed bool) {
	var now int64
	b := clockedBoard(t, &now)
	sc := func(off uint32) uint32 { return regmap.ScopeBase + off }
	in1, _ := regmap.SlotNumber("in1")
	in2, _ := regmap.SlotNumber("in2")
	wr(t, b, regmap.ASGBase+regmap.ASGControl, 0)
	wr(t, b, regmap.ASGBase+regmap.ASGReg(1, regmap.ASGAmpOffset), before<<16)
	wr(t, b, regmap.Slot(regmap.SlotASG1)+regmap.DSPOutputDirect, regmap.OutputOut2)
	if early {
		wr(t, b, regmap.ASGBase+regmap.ASGReg(1, regmap.ASGAmpOffset), after<<16)
	}
	now += 125_000 // 1 ms: in2 settles at the offset
	wr(t, b, regmap.Slot(regmap.SlotScope1)+regmap.DSPInputSelect, uint32(in1))
	wr(t, b, regmap.Slot(regmap.SlotScope2)+regmap.DSPInputSelect, uint32(in2))
	wr(t, b, sc(regmap.ScopeControl), regmap.ScopeReset)
	wr(t, b, sc(regmap.ScopeDecimation), 1)
	wr(t, b, sc(regmap.ScopeDelay), regmap.ScopeBufferLen)
	wr(t, b, sc(regmap.ScopeControl), regmap.ScopeArm)
	wr(t, b, sc(regmap.ScopeTriggerSource), regmap.TrigImmediately)
	var w [1]uint32
	for end := now + 125_000; now < end; { // 1 ms of probes every 10 us, as a wait makes
		now += 1250
		if err := b.Read(sc(regmap.ScopeControl), w[:]); err != nil {
			t.Fatal(err)
		}
	}
	if w[0]&(regmap.ScopeArm|regmap.ScopeDelayRunning) != 0 {
		t.Fatalf("control %#x: the trace is not done after 1 ms", w[0])
	}
	b.mu.Lock()
	owed = b.scope.owed > b.scope.produced
	b.mu.Unlock()
	now += 1000
	wr(t, b, regmap.ASGBase+regmap.ASGReg(1, regmap.ASGAmpOffset), after<<16)
	now += 1000
	bufs = make([]uint16, 2*regmap.ScopeBufferLen)
	if err := b.ReadHalves(sc(regmap.ScopeCh1Data), bufs); err != nil {
		t.Fatal(err)
	}
	return bufs, owed
}

// TestOwedSamplesAreTheSamples: the samples of a finished trace made when
// its buffers are read are the ones made as it ran, noise included, and
// a write after its end does not reach back into them: in2 shows the
// offset of the trace's time, not the one written later (which, written
// before the trace, does show).
func TestOwedSamplesAreTheSamples(t *testing.T) {
	const before, after = 0x0800, 0x1800 // 0.25 V and 0.75 V
	lazy, owed := traceWithLateWrite(t, before, after, false)
	if !owed {
		t.Fatal("no samples were owed at the end of a trace of in1 and in2: the test does not test deferral")
	}
	deferSamples = false
	t.Cleanup(func() { deferSamples = true })
	eager, owedEager := traceWithLateWrite(t, before, after, false)
	deferSamples = true
	if owedEager {
		t.Fatal("samples owed with deferral off")
	}
	if !slices.Equal(lazy, eager) {
		t.Fatal("the samples made at the read differ from those made as the trace ran")
	}
	written, _ := traceWithLateWrite(t, before, after, true)
	mean := func(b []uint16) float64 {
		var s float64
		for _, v := range b {
			s += float64(int16(v<<2) >> 2)
		}
		return s / float64(len(b))
	}
	ch2 := regmap.ScopeBufferLen
	if m, w := mean(lazy[ch2:]), mean(written[ch2:]); m < 0.9*before || m > 1.1*before || w < 0.9*after || w > 1.1*after {
		t.Fatalf("in2's mean code %.0f with the later write after the trace, %.0f with it before; want about %d and %d", m, w, before, after)
	}
}

// TestSlowSignalsAreNotOwed: the trig module's output (a slow signal, made
// from an event history the board prunes as it goes) recorded while it
// re-arms on a 1 MHz sine is made as the trace runs, so reads of the trig
// module long after the trace cannot take its events away before the
// buffers are read. Owed, channel 1 had read as all zeros.
func TestSlowSignalsAreNotOwed(t *testing.T) {
	trace := func() []uint16 {
		var now int64
		b := clockedBoard(t, &now)
		startSine(t, b, 0, 1e6, 0.4, 0)
		tr := regmap.Slot(regmap.SlotTrig)
		wr(t, b, tr+regmap.DSPInputSelect, regmap.SlotASG0)
		wr(t, b, tr+regmap.TrigThreshold, 0)
		wr(t, b, tr+regmap.TrigHysteresis, 8)
		wr(t, b, tr+regmap.TrigSource, 1)
		wr(t, b, tr+regmap.TrigFlags, 1) // re-arm after each trigger
		wr(t, b, tr+regmap.TrigOutputSelect, 0)
		in1, _ := regmap.SlotNumber("in1")
		sc := func(off uint32) uint32 { return regmap.ScopeBase + off }
		wr(t, b, regmap.Slot(regmap.SlotScope1)+regmap.DSPInputSelect, regmap.SlotTrig)
		wr(t, b, regmap.Slot(regmap.SlotScope2)+regmap.DSPInputSelect, uint32(in1))
		wr(t, b, sc(regmap.ScopeControl), regmap.ScopeReset)
		wr(t, b, sc(regmap.ScopeDecimation), 8)
		wr(t, b, sc(regmap.ScopeAverage), 1)
		wr(t, b, sc(regmap.ScopeDelay), regmap.ScopeBufferLen)
		wr(t, b, sc(regmap.ScopeControl), regmap.ScopeArm)
		wr(t, b, sc(regmap.ScopeTriggerSource), regmap.TrigImmediately)
		for end := now + 200_000; now < end; now += 1250 { // 1.6 ms of probes
			rd(t, b, sc(regmap.ScopeControl))
		}
		for end := now + 625_000; now < end; now += 100_000 { // 5 ms of trig reads
			rd(t, b, tr+regmap.TrigTrigTimeLow)
		}
		bufs := make([]uint16, 2*regmap.ScopeBufferLen)
		if err := b.ReadHalves(sc(regmap.ScopeCh1Data), bufs); err != nil {
			t.Fatal(err)
		}
		return bufs
	}
	got := trace()
	deferSamples = false
	t.Cleanup(func() { deferSamples = true })
	want := trace()
	deferSamples = true
	if !slices.Equal(got, want) {
		t.Fatal("the trig module's output read long after the trace differs from the one made as it ran")
	}
	if !slices.ContainsFunc(got[:regmap.ScopeBufferLen], func(v uint16) bool { return v != 0 }) {
		t.Fatal("channel 1 holds no trigger pulses: the test does not test what it says")
	}
}
