package sim

import (
	"encoding/binary"
	"fmt"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/rpbus/rpbus/regmap"
)

// fuzzBlocks are the mapped modules a fuzzed write lands in: hk, scope,
// asg, each DSP slot, ams.
var fuzzBlocks = func() []uint32 {
	b := []uint32{regmap.HKBase, regmap.ScopeBase, regmap.ASGBase, regmap.AMSBase}
	for n := range regmap.NumSlots {
		b = append(b, regmap.Slot(n))
	}
	return b
}()

// fuzzWait is the first byte of a 7-byte record that lets the board's
// clock run on by the record's last four bytes, in cycles (up to 34 s).
const fuzzWait = 0xFF

// fuzzWrite decodes 7 bytes into a write: a block, a word offset (mostly
// among the registers, sometimes in the data tables or, in a DSP slot, the
// IIR's coefficient page) and a value.
func fuzzWrite(p []byte) (addr, v uint32) {
	base := fuzzBlocks[int(p[0])%len(fuzzBlocks)]
	off := uint32(binary.LittleEndian.Uint16(p[1:3]))
	switch {
	case off&0x8000 == 0:
		off &= 0x3FF // the register page
	case base >= regmap.DSPBase && base < regmap.AMSBase:
		off = regmap.IIRCoefficients + off&0x1FF // the coefficient page
	default:
		off = 0x10000 + off&0x7FFF // into a data table, where the block has one
	}
	return base + off&^3, binary.LittleEndian.Uint32(p[3:7])
}

// fuzzHang is how long one input may take (a few milliseconds normally).
const fuzzHang = 10 * time.Second

// FuzzWrites writes fuzzed words to mapped registers, then evaluates every
// DSP signal both ways (its exact value and its harmonic model), reads every
// module's registers and makes a few scope samples of each input. Nothing
// may panic: a write is anyone's hw.txn.
func FuzzWrites(f *testing.F) {
	le := func(block byte, off, v uint32) []byte {
		p := []byte{block, byte(off), byte(off >> 8)}
		return binary.LittleEndian.AppendUint32(p, v)
	}
	slot := func(n int) byte { return byte(4 + n) }
	wait30s := []byte{fuzzWait, 0, 0, 0, 0, 0x10, 0xDF}
	f.Add(le(slot(regmap.SlotTrig), regmap.DSPOutputDirect, 1)) // trig to out1: the output sum takes every slot
	f.Add(le(slot(regmap.SlotIIR), regmap.DSPOutputDirect, 3))
	f.Add(append(le(slot(regmap.SlotOut1), regmap.DSPInputSelect, 3), le(slot(regmap.SlotTrig), regmap.DSPOutputDirect, 2)...))
	f.Add(append(le(1, regmap.ScopeDecimation, 1<<16), le(1, regmap.ScopeControl, 1)...))
	f.Add(le(slot(regmap.SlotIQ0), regmap.IQNAAverages, 0xFFFFFFFF))
	f.Add(le(0, regmap.HKDigitalLoop, 1))
	// a PID integrating into its rail, and two PIDs in a loop with integrators
	pid := func(n int) byte { return slot(regmap.SlotPID0 + n) }
	f.Add(slices.Concat(le(pid(0), regmap.PIDSetpoint, 0x2000), le(pid(0), regmap.PIDI, 0x7FFFFF), wait30s))
	f.Add(slices.Concat(le(pid(0), regmap.DSPInputSelect, regmap.SlotPID1), le(pid(1), regmap.DSPInputSelect, regmap.SlotPID0),
		le(pid(0), regmap.PIDI, 0x7FFFFF), le(pid(1), regmap.PIDP, 0x7FFFFF), le(pid(1), regmap.PIDI, 0x800001), le(pid(0), regmap.PIDIntegrator, 0x4000), wait30s))
	// the IIR on with a pole on the unit circle, routed to out1
	iir := slot(regmap.SlotIIR)
	f.Add(slices.Concat(le(iir, regmap.IIRCoefficients, 1<<29), le(iir, regmap.IIRCoefficients+16, 1<<29), le(iir, regmap.IIRLoops, 3),
		le(iir, regmap.IIRControl, regmap.IIROn), le(iir, regmap.DSPOutputDirect, 1), wait30s))
	// noise of the random generator through an IQ band-pass to out1
	f.Add(slices.Concat(le(2, regmap.ASGControl, regmap.ASGRandom|regmap.ASGTrigHigh), le(slot(regmap.SlotIQ0), regmap.DSPInputSelect, regmap.SlotASG0),
		le(slot(regmap.SlotIQ0), regmap.IQG1, 2048), le(slot(regmap.SlotIQ0), regmap.DSPOutputDirect, 1), wait30s))
	// An edge search 60 s behind. Its threshold is beyond in1's noise
	// (clipped at 6 sigma, 39 LSB), yet within the bound that skips the
	// search, so every sample is searched.
	f.Add(slices.Concat(le(1, regmap.ScopeDecimation, 1), le(1, regmap.ScopeThreshold, 41), le(1, regmap.ScopeControl, regmap.ScopeArm),
		le(1, regmap.ScopeTriggerSource, regmap.TrigCh1Pos), wait30s, wait30s))
	// likewise the trig module's search, the scope's dsp trigger source
	trig := slot(regmap.SlotTrig)
	f.Add(slices.Concat(le(trig, regmap.TrigThreshold, 41), le(trig, regmap.TrigSource, 1), le(trig, regmap.TrigArmed, 1),
		le(1, regmap.ScopeDecimation, 1), le(1, regmap.ScopeControl, regmap.ScopeArm),
		le(1, regmap.ScopeTriggerSource, regmap.TrigDSP), wait30s, wait30s))
	// the PFD fed by its own output, and one looked at, then left for 60 s
	iq0 := slot(regmap.SlotIQ0)
	f.Add(slices.Concat(le(iq0, regmap.IQOutputSignal, regmap.IQSignalPFD), le(iq0, regmap.DSPInputSelect, regmap.SlotIQ0), wait30s))
	f.Add(slices.Concat(le(iq0, regmap.IQOutputSignal, regmap.IQSignalPFD), le(iq0, regmap.IQFrequency, 1<<28),
		le(slot(regmap.SlotPID0), regmap.DSPInputSelect, regmap.SlotIQ0), le(slot(regmap.SlotPID0), regmap.PIDI, 0x1000), wait30s, wait30s))
	f.Fuzz(func(t *testing.T, data []byte) {
		// A write that makes the board hang is a failure too: the
		// watchdog ends the process, and the fuzzer keeps the input.
		input := data
		defer time.AfterFunc(fuzzHang, func() {
			stacks := make([]byte, 1<<20)
			stacks = stacks[:runtime.Stack(stacks, true)]
			panic(fmt.Sprintf("sim: writes of %x hang the board:\n%s", input, stacks))
		}).Stop()
		b, err := New(DefaultConfig())
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		var now int64 // board time: the input lets it run on
		b.nowFn = func() int64 { return now }
		for ; len(data) >= 7; data = data[7:] {
			if data[0] == fuzzWait {
				now += int64(binary.LittleEndian.Uint32(data[3:7]))
				continue
			}
			addr, v := fuzzWrite(data)
			if err := regmap.CheckRange(addr, 1); err != nil {
				continue // not mapped (a block without a data table)
			}
			if err := b.Write(addr, []uint32{v}); err != nil {
				t.Fatalf("write %#x at %#08x: %v", v, addr, err)
			}
		}
		evaluateAll(t, b)
	})
}

// evaluateAll computes every signal of b and reads every module's
// register page.
func evaluateAll(t *testing.T, b *Board) {
	evaluateSignals(b)
	var w [1]uint32
	for _, base := range fuzzBlocks {
		for a := base; a < base+0x400; a += 4 {
			if err := b.Read(a, w[:]); err != nil {
				t.Fatalf("read %#08x: %v", a, err)
			}
		}
	}
}

// evaluateSignals computes every DSP signal exactly and from its model,
// and a few decimated samples of each, plain and averaged.
func evaluateSignals(b *Board) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.nowFn()
	var dst []int64
	for sig := range regmap.NumSlots {
		b.model(sig).at(now)
		b.exactAt(sig, now)
		for _, avg := range []bool{false, true} {
			dst = b.sampleBlock(sig, now, 4, avg, 8, dst[:0])
		}
	}
	b.outSum(0, now)
	b.outSum(1, now)
}
