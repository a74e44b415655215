package sim

import (
	"fmt"
	"math"
	"testing"

	"github.com/rpbus/rpbus/regmap"
)

// The buffer keeps writing from the arm (red_pitaya_scope.v): every
// sample of a trace, before the trigger too, is the recorded signal at the
// cycle it was written, however late the board is looked at. An edge
// search that falls more than maxSearchLag behind (a stall before the
// first look: a loaded machine, the noise tapes built on the first noisy
// sample) restarts near its end, and the pre-trigger part of the trace
// reaches back past the restart.

// edgeRun is one edge-triggered acquisition on the virtual clock of v
// (delay 8192, decimation dec, ch1 positive edge at 0 V) first looked at
// stall cycles after the trigger source write. It returns, for each
// channel, the sample codes oldest first, and the cycle at which each
// sample was taken (the last of its window).
func edgeRun(t *testing.T, v *virtualScope, dec uint32, stall int64) (codes [2][]uint16, cycles []int64) {
	t.Helper()
	s := regmap.ScopeBase
	wr(t, v.b, s+regmap.ScopeControl, regmap.ScopeReset)
	wr(t, v.b, s+regmap.ScopeDecimation, dec)
	wr(t, v.b, s+regmap.ScopeAverage, 0)
	wr(t, v.b, s+regmap.ScopeThreshold, 0)
	wr(t, v.b, s+regmap.ScopeDelay, bufLen/2)
	wr(t, v.b, s+regmap.ScopeControl, regmap.ScopeArm)
	wr(t, v.b, s+regmap.ScopeTriggerSource, regmap.TrigCh1Pos)
	v.now += stall
	for range 100 {
		if rd(t, v.b, s+regmap.ScopeControl)&(regmap.ScopeArm|regmap.ScopeDelayRunning) == 0 {
			break
		}
		v.now += 2000 * int64(dec) // a poll every 2000 samples
	}
	if c := rd(t, v.b, s+regmap.ScopeControl); c&(regmap.ScopeArm|regmap.ScopeDelayRunning) != 0 {
		t.Fatalf("stall %d: no trigger (control %#x)", stall, c)
	}
	// the oldest sample of the trace is the one after the last written
	first := (rd(t, v.b, s+regmap.ScopeTriggerPointer) + bufLen/2 + 1) % bufLen
	for ch := range codes {
		raw := make([]uint32, bufLen)
		if err := v.b.Read(s+regmap.ScopeCh1Data+uint32(ch)*0x10000, raw); err != nil {
			t.Fatal(err)
		}
		codes[ch] = make([]uint16, bufLen)
		for i := range raw {
			codes[ch][i] = uint16(raw[(uint32(i)+first)%bufLen])
		}
	}
	sc := &v.b.scope
	cycles = make([]int64, bufLen)
	for i := range cycles {
		j := sc.endSample - bufLen + 1 + int64(i)
		cycles[i] = sc.tArm + (j+1)*sc.decim() - 1
	}
	return codes, cycles
}

func TestPretriggerSamplesAfterALateLook(t *testing.T) {
	v := newVirtualScope(t, DefaultConfig())
	startSine(t, v.b, 0, 1e5, 0.5, regmap.OutputOut1)
	wr(t, v.b, regmap.Slot(regmap.SlotScope1)+regmap.DSPInputSelect, regmap.SlotASG0)
	wr(t, v.b, regmap.Slot(regmap.SlotScope2)+regmap.DSPInputSelect, regmap.SlotOut1)
	sigs := [2]int{regmap.SlotASG0, regmap.SlotOut1}
	// the first trace (the buffer holds zeros), then again (it holds the
	// previous trace), each looked at on time and after a stall
	for _, stall := range []int64{3 * maxSearchLag / 2, 0, maxSearchLag + 5000, 5 * maxSearchLag} {
		for _, dec := range []uint32{1, 8} {
			name := fmt.Sprintf("stall %d cycles, decimation %d", stall, dec)
			codes, cycles := edgeRun(t, v, dec, stall*int64(dec))
			for ch, sig := range sigs {
				bad, firstBad := 0, -1
				for i, c := range cycles {
					v.b.mu.Lock()
					want := code14(v.b.exactAt(sig, c))
					v.b.mu.Unlock()
					if codes[ch][i] != want {
						bad++
						if firstBad < 0 {
							firstBad = i
						}
					}
				}
				if bad > 0 {
					t.Errorf("%s: channel %d: %d of %d samples are not the signal at their cycle (the first at index %d, the trigger at %d)",
						name, ch+1, bad, bufLen, firstBad, bufLen/2)
				}
			}
		}
	}
}

// TestPretriggerSamplesBeforeTheSetup sets a generator up while the scope
// is armed on an edge of it: the samples written before the setup are
// what the output was then (the sine it played), not the new waveform;
// from the table write on, the idle generator outputs its start point's
// value (red_pitaya_asg_ch.v reads the table every cycle), and from its
// start the cosine, which starts at its peak, so that a sample made with
// the new setup shows.
func TestPretriggerSamplesBeforeTheSetup(t *testing.T) {
	v := newVirtualScope(t, DefaultConfig())
	b, s := v.b, regmap.ScopeBase
	startSine(t, b, 0, 1e5, 0.5, regmap.OutputOut1)
	sigs := [2]int{regmap.SlotASG0, regmap.SlotOut1}
	wr(t, b, regmap.Slot(regmap.SlotScope1)+regmap.DSPInputSelect, regmap.SlotASG0)
	wr(t, b, regmap.Slot(regmap.SlotScope2)+regmap.DSPInputSelect, regmap.SlotOut1)
	wr(t, b, s+regmap.ScopeControl, regmap.ScopeReset)
	wr(t, b, s+regmap.ScopeDecimation, 1)
	wr(t, b, s+regmap.ScopeThreshold, regmap.VoltsToReg(0.25))
	wr(t, b, s+regmap.ScopeDelay, bufLen/2)
	wr(t, b, s+regmap.ScopeControl, regmap.ScopeArm)
	wr(t, b, s+regmap.ScopeTriggerSource, regmap.TrigCh1Pos)
	tArm := b.scope.tArm
	v.now += 4000 // the setup comes inside the pre-trigger part
	g, tSetup := regmap.ASGBase, v.now
	var old [2][]uint16 // the output before the setup, cycle tArm on
	for ch, sig := range sigs {
		for c := tArm; c < tSetup; c++ {
			b.mu.Lock()
			old[ch] = append(old[ch], code14(b.exactAt(sig, c)))
			b.mu.Unlock()
		}
	}
	wr(t, b, g, regmap.ASGSMReset) // as the bridge: hold, then play
	tab := make([]uint32, regmap.ASGDataLen)
	for i := range tab {
		tab[i] = regmap.FromSigned(int64(math.Round(8191*math.Cos(2*math.Pi*float64(i)/regmap.ASGDataLen))), 14)
	}
	wr(t, b, g+regmap.ASGData(0), tab...)
	wr(t, b, g+regmap.ASGReg(0, regmap.ASGAmpOffset), 4096)
	wr(t, b, g+regmap.ASGReg(0, regmap.ASGStep), regmap.FreqToReg(2e5, 30))
	v.now += 2
	wr(t, b, g, regmap.ASGWrap|regmap.ASGTrigImmediately)
	for range 100 {
		v.now += 2000
		if rd(t, b, s+regmap.ScopeControl)&(regmap.ScopeArm|regmap.ScopeDelayRunning) == 0 {
			break
		}
	}
	sc := &b.scope
	if !sc.trig || sc.armed {
		t.Fatal("no trigger")
	}
	first := (rd(t, b, s+regmap.ScopeTriggerPointer) + bufLen/2 + 1) % bufLen
	before := 0
	for ch, sig := range sigs {
		raw := make([]uint32, bufLen)
		if err := b.Read(s+regmap.ScopeCh1Data+uint32(ch)*0x10000, raw); err != nil {
			t.Fatal(err)
		}
		bad, firstBad := 0, int64(0)
		for i := range raw {
			c := sc.tArm + (sc.endSample-bufLen+2+int64(i))*sc.decim() - 1
			var want uint16
			if c < tSetup {
				want = old[ch][c-tArm]
				before++
			} else {
				b.mu.Lock()
				want = code14(b.exactAt(sig, c))
				b.mu.Unlock()
			}
			if got := uint16(raw[(uint32(i)+first)%bufLen]); got != want {
				if bad == 0 {
					firstBad = c - tSetup
				}
				bad++
			}
		}
		if bad > 0 {
			t.Errorf("channel %d: %d of %d samples are not the output at their cycle (the first %d cycles after the setup)", ch+1, bad, bufLen, firstBad)
		}
	}
	if before == 0 {
		t.Error("the trace holds no sample from before the setup")
	}
}
