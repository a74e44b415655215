package sim

import (
	"math"
	"testing"

	"github.com/rpbus/rpbus/regmap"
)

// pfdTol is the PFD's allowed error in counts against the cycle counts
// worked out from the two frequencies: each count is a whole period of one
// signal, and the first and last periods of a stretch are partial.
const pfdTol = 2

// pfdSetup feeds iq0's PFD asg0's sine at fIn and sets its LO to fLO; it
// returns the two frequencies as the registers make them [Hz].
func pfdSetup(t *testing.T, b *Board, fIn, fLO float64) (float64, float64) {
	t.Helper()
	startSine(t, b, 0, fIn, 0.5, 0)
	iq := regmap.Slot(regmap.SlotIQ0)
	wr(t, b, iq+regmap.DSPInputSelect, regmap.SlotASG0)
	wr(t, b, iq+regmap.IQFrequency, regmap.FreqToReg(fLO, 32))
	wr(t, b, iq+regmap.IQControl, 0) // pfd_on low: the integral restarts from 0 ...
	wr(t, b, iq+regmap.IQControl, 2) // ... when it is set again
	return regmap.RegToFreq(regmap.FreqToReg(fIn, 30), 30), regmap.RegToFreq(regmap.FreqToReg(fLO, 32), 32)
}

func pfdRead(t *testing.T, b *Board) int64 {
	t.Helper()
	return regmap.ToSigned(rd(t, b, regmap.Slot(regmap.SlotIQ0)+regmap.IQPFDIntegral), 14)
}

// TestPFDCountsFrequencyDifference: the integral counts the input's
// periods minus the LO's, (fIn - fLO) t, read every millisecond and after
// a second unlooked at (extrapolated beyond the last 2^20 cycles), in both
// directions; as the module's signal it is the same value.
func TestPFDCountsFrequencyDifference(t *testing.T) {
	for _, c := range []struct {
		fIn, fLO float64
		second   bool // look again after a second
	}{{1.5e6, 1e6, false}, {1e6, 1.3e6, false}, {1.001e6, 1e6, true}} {
		b, now := clockBoard(t, DefaultConfig())
		fIn, fLO := pfdSetup(t, b, c.fIn, c.fLO)
		t0 := *now
		for ms := 1; ms <= 3; ms++ {
			*now = t0 + int64(ms)*125000
			want := (fIn - fLO) * float64(*now-t0) / regmap.Clock
			if got := pfdRead(t, b); math.Abs(float64(got)-want) > pfdTol {
				t.Errorf("fIn %g fLO %g after %d ms: integral %d, want %.1f", fIn, fLO, ms, got, want)
			}
		}
		if c.second {
			*now = t0 + 125000000 // a second on, looked at only now
			want := (fIn - fLO) * float64(*now-t0) / regmap.Clock
			if got := pfdRead(t, b); math.Abs(float64(got)-want) > pfdTol {
				t.Errorf("after 1 s: integral %d, want %.1f", got, want)
			}
		}
		iq := regmap.Slot(regmap.SlotIQ0)
		wr(t, b, iq+regmap.IQOutputSignal, regmap.IQSignalPFD)
		if reg, sig := pfdRead(t, b), regmap.ToSigned(rd(t, b, iq+regmap.DSPOutputSignal), 14); sig != reg {
			t.Errorf("output_signal pfd reads %d, the register %d", sig, reg)
		}
	}
}

// TestPFDRails: a difference that outruns the 14 bits rests against the
// rail it runs to (the design steps it back from +8191 and -8192).
func TestPFDRails(t *testing.T) {
	for _, c := range []struct {
		fIn, fLO float64
		lo, hi   int64
	}{{3e6, 1e6, 8189, 8191}, {1e6, 3e6, -8192, -8190}} {
		b, now := clockBoard(t, DefaultConfig())
		pfdSetup(t, b, c.fIn, c.fLO)
		for range 10 { // 2e6 counts/s: the rail after 4 ms
			*now += 125000
			pfdRead(t, b)
		}
		if got := pfdRead(t, b); got < c.lo || got > c.hi {
			t.Errorf("fIn %g fLO %g: integral %d, want %d..%d", c.fIn, c.fLO, got, c.lo, c.hi)
		}
	}
}

// TestPFDPhase: at equal frequencies the integral holds, and its mean over
// a period is the held count plus the fraction of the period from the
// input's edge (its sine turning negative, at half a turn) to the LO's
// (the same on its sine): (A - L) mod 1 for input phase A and LO phase L
// in turns. The input restarts at four offsets within the LO's period.
func TestPFDPhase(t *testing.T) {
	b, now := clockBoard(t, DefaultConfig())
	fIn, _ := pfdSetup(t, b, 1e6, 1e6)
	iq := regmap.Slot(regmap.SlotIQ0)
	wr(t, b, iq+regmap.IQFrequency, regmap.FreqToReg(fIn, 32)) // the LO at the ASG's own frequency
	for _, off := range []int64{0, 31, 62, 94} {
		*now += 125000 + off
		startSine(t, b, 0, 1e6, 0.5, 0) // restarts asg0 at phase 0
		*now += 125000
		first := pfdRead(t, b)
		*now += 125000
		if got := pfdRead(t, b); got < first-1 || got > first+1 {
			t.Errorf("offset %d: equal frequencies, but the integral moved from %d to %d", off, first, got)
		}
		c := *now - 1000
		mean := b.pfdMean(0, c, c+125) // one period
		a := float64(b.asg[0].ptr(c)>>16) / regmap.ASGDataLen
		l := b.iq[0].pfdLO().turns(c)
		want := math.Mod(a-l+2, 1)
		d := math.Abs(mean - math.Floor(mean) - want)
		d = min(d, 1-d)
		if d > 0.03 {
			t.Errorf("offset %d: mean over a period %.3f, want a fraction of %.3f", off, mean, want)
		}
	}
}
