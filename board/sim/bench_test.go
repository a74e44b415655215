package sim

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/rpbus/rpbus/board"
	"github.com/rpbus/rpbus/internal/cputime"
	"github.com/rpbus/rpbus/regmap"
)

// The benchmarks of the simulator's own work run with the bus off: their
// figures are the simulator's cost, not the board's (simulator only).
func newSimOnlyBoard(tb testing.TB) *Board {
	tb.Helper()
	cfg := DefaultConfig()
	cfg.BusRead, cfg.BusWrite = 0, 0
	b, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { b.Close() })
	return b
}

// BenchmarkBufferRead reads one channel's 16384 samples as words and as
// half words (what the bridge reads for the scope: a plain copy), with the
// bus off (simulator only).
func BenchmarkBufferRead(b *testing.B) {
	bd := newSimOnlyBoard(b)
	startSine(b, bd, 0, 1e6, 0.5, regmap.OutputOut1)
	acquire(b, bd, 1, false, regmap.TrigImmediately, bufLen)
	addr := uint32(regmap.ScopeBase + regmap.ScopeCh1Data)
	words, halves := make([]uint32, bufLen), make([]uint16, bufLen)
	for _, c := range []struct {
		name string
		read func() error
	}{
		{"words", func() error { return bd.Read(addr, words) }},
		{"halves", func() error { return bd.ReadHalves(addr, halves) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if err := c.read(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAcquisition is a full decimation-1 acquisition (131 us of board
// time) with both buffers read: real time plus generating 2 x 16384
// samples, with the bus off (simulator only).
func BenchmarkAcquisition(b *testing.B) {
	bd := newSimOnlyBoard(b)
	startSine(b, bd, 0, 1e6, 0.5, regmap.OutputOut1)
	for b.Loop() {
		acquire(b, bd, 1, false, regmap.TrigImmediately, bufLen)
	}
}

// BenchmarkAcquisitionRaw is BenchmarkAcquisition without the test
// helper's conversion to volts and its 384 KiB of fresh slices: arm,
// trigger, WaitFor, read both buffers into reused words. It is the
// simulator's own share of a trace (the bus off: simulator only).
func BenchmarkAcquisitionRaw(b *testing.B) {
	bd := newSimOnlyBoard(b)
	startSine(b, bd, 0, 1e6, 0.5, regmap.OutputOut1)
	s := regmap.ScopeBase
	raw := make([]uint32, bufLen)
	for b.Loop() {
		wr(b, bd, s+regmap.ScopeControl, regmap.ScopeReset)
		wr(b, bd, s+regmap.ScopeDecimation, 1)
		wr(b, bd, s+regmap.ScopeDelay, bufLen)
		wr(b, bd, s+regmap.ScopeControl, regmap.ScopeArm)
		wr(b, bd, s+regmap.ScopeTriggerSource, regmap.TrigImmediately)
		ok, err := bd.WaitFor(context.Background(), board.Cond{Addr: s + regmap.ScopeControl, Mask: regmap.ScopeArm | regmap.ScopeDelayRunning, Value: 0, Timeout: time.Second})
		if !ok || err != nil {
			b.Fatal(ok, err)
		}
		for _, ch := range []uint32{regmap.ScopeCh1Data, regmap.ScopeCh2Data} {
			if err := bd.Read(s+ch, raw); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkGenerate is the sample generation alone: 16384 in1 samples
// through the DUT with noise (simulator only).
func BenchmarkGenerate(b *testing.B) {
	bd := newSimOnlyBoard(b)
	startSine(b, bd, 0, 1e6, 0.5, regmap.OutputOut1)
	var dst []int64
	for b.Loop() {
		dst = bd.sampleBlock(regmap.SlotIn1, 0, 1, false, bufLen, dst[:0])
	}
}

// BenchmarkGenerateThroughModules makes 16384 samples at decimation 1 of
// noise through modules, cycle by cycle: pid0 = 4 x in1 (the ADC noise
// through P), and the random generator through an IQ band-pass
// (simulator only). A trace of them must take less than its 131 us.
func BenchmarkGenerateThroughModules(b *testing.B) {
	for _, c := range []struct {
		name string
		sig  int
		prep func(*Board)
	}{
		{"pid-on-in1", regmap.SlotPID0, func(bd *Board) {
			wr(b, bd, regmap.Slot(regmap.SlotPID0)+regmap.PIDP, 4*4096)
		}},
		{"iq-bandpass-of-asg-noise", regmap.SlotIQ0, func(bd *Board) {
			wr(b, bd, regmap.ASGBase+regmap.ASGAmpOffset, 0x2000)
			wr(b, bd, regmap.ASGBase, regmap.ASGRandom|regmap.ASGTrigHigh)
			iq := regmap.Slot(regmap.SlotIQ0)
			wr(b, bd, iq+regmap.DSPInputSelect, regmap.SlotASG0)
			wr(b, bd, iq+regmap.IQOutputSignal, regmap.IQSignalOutputDirect)
			wr(b, bd, iq+regmap.IQBandwidth, regmap.IQQuadFilterSpec.EncodeFilter(5e3, 5e3))
			wr(b, bd, iq+regmap.IQG1, 2048)
			wr(b, bd, iq+regmap.IQG4, 2048)
			wr(b, bd, iq+regmap.IQFrequency, regmap.FreqToReg(1e6, 32))
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			bd := newSimOnlyBoard(b)
			c.prep(bd)
			var dst []int64
			cs := int64(0)
			for b.Loop() {
				dst = bd.sampleBlock(c.sig, cs, 1, false, bufLen, dst[:0])
				cs += bufLen // consecutive stretches, as a running scope asks
			}
		})
	}
}

// BenchmarkSlowEngine is a PID's integrator closing a loop through out2 ->
// in2 and settling from a step: the slow engine's events until it holds
// (simulator only).
func BenchmarkSlowEngine(b *testing.B) {
	bd := newSimOnlyBoard(b)
	var now int64
	bd.nowFn = func() int64 { return now }
	pid := regmap.Slot(regmap.SlotPID0)
	wr(b, bd, pid+regmap.DSPInputSelect, regmap.SlotIn2)
	wr(b, bd, pid+regmap.DSPOutputDirect, regmap.OutputOut2)
	wr(b, bd, pid+regmap.PIDI, regmap.FromSigned(-216000, 24))
	for b.Loop() {
		wr(b, bd, pid+regmap.PIDSetpoint, uint32(now/1000)&0x7FF)
		now += 10_000_000
		rd(b, bd, pid+regmap.PIDIntegrator)
	}
}

func TestLoadConfig(t *testing.T) {
	p := filepath.Join(t.TempDir(), "sim.json")
	os.WriteFile(p, []byte(`{"seed": 7, "dut1": {"f0": 2e6, "q": 5, "gain": 0.5}}`), 0o644)
	c, err := LoadConfig(p)
	if err != nil || c.Seed != 7 || c.DUT1.F0 != 2e6 || c.NoiseDensity != 100e-9 || c.DUT2.Fc != 100e3 || c.BusRead != DefaultBusRead || !c.BusOn() {
		t.Fatalf("LoadConfig = %+v, %v", c, err)
	}
	os.WriteFile(p, []byte(`{"bus_read": 8e-8, "bus_write": 0}`), 0o644)
	if c, err := LoadConfig(p); err != nil || c.BusRead != 8e-8 || c.BusWrite != 0 || c.BusOn() {
		t.Errorf("bus times: %+v, %v", c, err)
	}
	os.WriteFile(p, []byte(`{"bus_read": 0.01}`), 0o644)
	if _, err := LoadConfig(p); !errorsIs(err) {
		t.Errorf("a 10 ms read: %v", err)
	}
	os.WriteFile(p, []byte(`{"noise_density": -1}`), 0o644)
	if _, err := LoadConfig(p); !errorsIs(err) {
		t.Errorf("negative density: %v", err)
	}
}

func TestNoiselessMatchesTrace(t *testing.T) {
	b := newBoard(t)
	startSine(t, b, 0, 3e5, 0.5, regmap.OutputOut1)
	wr(t, b, regmap.Slot(regmap.SlotScope2)+regmap.DSPInputSelect, regmap.SlotASG0)
	// the generator's trace equals the noiseless model sample by sample
	r := acquire(t, b, 4, false, regmap.TrigImmediately, bufLen)
	s := &b.scope
	first := s.endSample + 1 - bufLen
	for i := 0; i < bufLen; i += 97 {
		c := s.tArm + (first+int64(i)+1)*4 - 1
		if want := b.Noiseless(regmap.SlotASG0, c); r.ch[1][i] != want {
			t.Fatalf("sample %d: %g, model %g", i, r.ch[1][i], want)
		}
	}
}

// BenchmarkWaitFor waits for NA points of a given length and reports how
// late WaitFor returns after the point is done (p50/p99 in us) and the
// process CPU time per wait: spinning is limited to the final margin.
func BenchmarkWaitFor(b *testing.B) {
	for _, d := range []time.Duration{200 * time.Microsecond, 1500 * time.Microsecond, 20 * time.Millisecond} {
		b.Run(d.String(), func(b *testing.B) {
			bd := newBoard(b)
			iq := regmap.Slot(regmap.SlotIQ0)
			wr(b, bd, iq+regmap.IQNAAverages, uint32(d.Nanoseconds()/8))
			var late []float64
			cpu0 := cputime.Process()
			k := uint32(0)
			for b.Loop() {
				k++
				wr(b, bd, iq+regmap.IQFrequency, 1000+k)
				bd.mu.Lock()
				end := bd.start.Add(time.Duration(bd.iq[0].doneAt() * 8))
				bd.mu.Unlock()
				ok, err := bd.WaitFor(context.Background(), board.Cond{Addr: iq + regmap.IQNAISumLow, Mask: regmap.IQNABusy, Value: 0, Timeout: time.Second})
				l := time.Since(end)
				if !ok || err != nil || l < 0 {
					b.Fatalf("wait %v %v late %v", ok, err, l)
				}
				late = append(late, float64(l.Nanoseconds())/1e3)
			}
			sort.Float64s(late)
			b.ReportMetric(late[len(late)/2], "p50-late-us")
			b.ReportMetric(late[len(late)*99/100], "p99-late-us")
			b.ReportMetric(float64((cputime.Process()-cpu0).Microseconds())/float64(len(late)), "cpu-us/op")
		})
	}
}
