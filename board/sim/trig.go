package sim

import (
	"math"

	"github.com/rpbus/rpbus/regmap"
)

// trigState is the trig module (slot 3, red_pitaya_trigger_block.v).
type trigState struct {
	armed, flags, source, outSel, phaseOffset, thresh, hyst, filter uint32
	tsTrig                                                          int64
	searched                                                        int64 // cycles searched by the scope's dsp source
	state, stateInit                                                bool
}

// trigEvent returns the first cycle in [from, to] at which the trig
// module fires (its Schmitt trigger on its input, every cycle, while
// armed), or -1. It disarms the module unless auto_rearm is set.
func (b *Board) trigEvent(from, to int64) int64 {
	t := &b.trig
	if t.armed == 0 && t.flags&1 == 0 || t.source == 0 || to < from {
		return -1
	}
	sig := int(b.dsp.inputSel[regmap.SlotTrig])
	th := regmap.ToSigned(t.thresh, 14)
	hy := regmap.ToSigned(t.hyst, 14)
	bound := b.model(sig).bound()*regmap.VoltsNorm + 2
	if b.noisy(sig) {
		bound += noiseClip*b.cfg.SampleNoiseStd(1, false)*regmap.VoltsNorm + 1
	}
	if float64(th) > bound && float64(th) < -bound {
		return -1
	}
	if (t.source == 1 && float64(th) > bound) || (t.source == 2 && float64(th) < -bound) ||
		(t.source == 3 && math.Abs(float64(th)) > bound) {
		return -1
	}
	from = max(from, t.searched)
	if to-from > maxSearchLag {
		from, t.stateInit = to-maxSearchLag, false
	}
	buf := b.tmpTrig
	defer func() { b.tmpTrig = buf }()
	for c := from; c <= to; c += 4096 {
		n := int(min(4096, to-c+1))
		buf = b.sampleBlock(sig, c, 1, false, n, buf[:0])
		for i, v := range buf {
			up, down := v >= th, v <= th
			if !t.stateInit {
				t.stateInit, t.state = true, up
				continue
			}
			fired := false
			if t.source&1 != 0 && up && !t.state {
				fired = true
			}
			if t.source&2 != 0 && down && t.state {
				fired = true
			}
			if up {
				t.state = true
			} else if v < th-hy {
				t.state = false
			}
			if fired {
				e := c + int64(i)
				t.tsTrig, t.searched = e, e+1
				if t.flags&1 == 0 {
					t.armed = 0
				}
				return e
			}
		}
	}
	t.searched = to + 1
	return -1
}

// Noiseless returns the noiseless model value [V] of DSP signal sig
// (regmap.SlotIn1, SlotOut1, SlotASG0, ...) at board cycle c under the
// current register settings: the exact digital value for generated

func (b *Board) readTrig(off uint32, now int64) uint32 {
	t := &b.trig
	switch off {
	case regmap.TrigArmed:
		return t.armed
	case regmap.TrigFlags:
		return t.flags
	case regmap.TrigSource:
		return t.source
	case regmap.TrigOutputSelect:
		return t.outSel
	case regmap.TrigPhaseOffset:
		return t.phaseOffset
	case regmap.TrigThreshold:
		return t.thresh
	case regmap.TrigHysteresis:
		return t.hyst
	case regmap.TrigInputFilter:
		return t.filter
	case regmap.TrigTimeLow:
		return lo32(now)
	case regmap.TrigTimeHigh:
		return hi32(now)
	case regmap.TrigTrigTimeLow:
		return lo32(t.tsTrig)
	case regmap.TrigTrigTimeHigh:
		return hi32(t.tsTrig)
	}
	return 0
}

func (b *Board) writeTrig(off, v uint32) {
	t := &b.trig
	switch off {
	case regmap.TrigArmed:
		t.armed = 1
	case regmap.TrigFlags:
		t.flags = v & 3
	case regmap.TrigSource:
		t.source = v & 3
	case regmap.TrigOutputSelect:
		t.outSel = v & 0xF
	case regmap.TrigPhaseOffset:
		t.phaseOffset = v & 0x3FFF
	case regmap.TrigThreshold:
		t.thresh = v & 0x3FFF
	case regmap.TrigHysteresis:
		t.hyst = v & 0x3FFF
	case regmap.TrigInputFilter:
		t.filter = v
	}
	t.stateInit = false
}
