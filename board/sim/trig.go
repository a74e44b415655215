package sim

import (
	"github.com/rpbus/rpbus/regmap"
)

// trigState is the trig module (slot 3, red_pitaya_trigger_block.v). Its
// input, after a one-stage input filter, runs two Schmitt triggers every
// cycle: the positive one sets at >= threshold and resets below threshold
// - hysteresis, the negative one sets at <= threshold and resets above
// threshold + hysteresis (thresholds wrap in 14 bits, as in the Verilog).
// A Schmitt state set at cycle n makes a one-cycle pulse at n+2; with
// source bit 0 (positive) or bit 1 (negative) and the module armed, that
// pulse is trigger_signal at n+3: the timestamp (board cycle n+3) and the
// phase (asg0's table index at n+2 plus phase_offset, 14 bit, its absolute
// value with phase_abs) are taken, and the module disarms unless
// auto_rearm is set. A write to the armed register arms it two cycles
// later. The output (dat_o and the DSP signal) is, two cycles after a
// trigger, the phase (output_select 1) or, with output_select 0 (TTL),
// 8191 in the cycle after trigger_signal and 0 otherwise. The scope's dsp
// trigger source takes trigger_signal.
//
// The module is evaluated when it is looked at (its registers, its output,
// the scope's dsp trigger, and before every write), over the samples since
// it was last: at most maxSearchLag of them, so a search left alone for
// long restarts from its last maxSearchLag samples. While it is disarmed
// nothing is evaluated; when it is armed again the Schmitt pair is run
// over the trigHistory cycles before, as it ran on the board meanwhile.
type trigState struct {
	armedAt                                                  int64 // cycle from which it is armed, -1: disarmed
	flags, source, outSel, phaseOffset, thresh, hyst, filter uint32
	searched                                                 int64 // samples [.., searched) are processed
	ap, an, init                                             bool  // Schmitt states (valid once init)
	lpf                                                      lpfState
	events                                                   []trigEvent // recent triggers, oldest first
	busy                                                     bool        // evaluating: an input that is the module itself reads its past
}

// trigEvent is one trigger_signal: its cycle and the phase it took.
type trigEvent struct {
	t     int64
	phase int64
}

// trigHistory is how far before a search that starts afresh (the module
// armed after a pause) the Schmitt pair is run to find its state: 2^16
// cycles, 0.5 ms, several periods of what it is usually set on.
const trigHistory = 1 << 16

// maxTrigEvents bounds the triggers remembered (their outputs for scope
// samples of the trig signal).
const maxTrigEvents = 4096

// trigLatency: a Schmitt transition at cycle n is trigger_signal at n+3;
// the phase is sampled at n+2 and the output changes at n+5.
const (
	trigLatency      = 3
	trigPhaseLatency = 2
	trigOutLatency   = 2
)

func (t *trigState) autoRearm() bool { return t.flags&1 != 0 }
func (t *trigState) phaseAbs() bool  { return t.flags&2 != 0 }

// armedAtCycle reports whether the module is armed at cycle c.
func (t *trigState) armedAtCycle(c int64) bool {
	return t.autoRearm() || t.armedAt >= 0 && c >= t.armedAt
}

// trigAdvance processes the trig module's input up to cycle `to`.
func (b *Board) trigAdvance(to int64) {
	t := &b.trig
	if t.busy || to < t.searched {
		return
	}
	if t.source == 0 || !t.autoRearm() && t.armedAt < 0 || b.trigNever() {
		t.searched, t.init = to+1, false
		return
	}
	t.busy = true
	defer func() { t.busy = false }()
	from := t.searched
	if to-from > maxSearchLag {
		from, t.init = to-maxSearchLag, false
	}
	if !t.init {
		// The Schmitt pair runs every cycle, armed or not: its state at the
		// arming comes from the input's recent past.
		from -= trigHistory
	}
	sig := int(b.dsp.inputSel[regmap.SlotTrig])
	th := regmap.ToSigned(t.thresh, 14)
	hy := regmap.ToSigned(t.hyst, 14)
	thm := regmap.ToSigned(uint32(th-hy), 14)
	thp := regmap.ToSigned(uint32(th+hy), 14)
	spec := regmap.TrigFilterSpec
	buf := b.tmpTrig
	defer func() { b.tmpTrig = buf }()
	for c := from; c <= to; c += 4096 {
		n := int(min(4096, to-c+1))
		buf = b.sampleBlock(sig, c, 1, false, n, buf[:0])
		for i, v := range buf {
			n := c + int64(i)
			v = t.lpf.step(spec, t.filter, v)
			if !t.init {
				t.init, t.ap, t.an = true, v >= th, v <= th
				continue
			}
			ap, an := t.ap, t.an
			if v >= th {
				t.ap = true
			} else if v < thm {
				t.ap = false
			}
			if v <= th {
				t.an = true
			} else if v > thp {
				t.an = false
			}
			fire := t.source&1 != 0 && t.ap && !ap || t.source&2 != 0 && t.an && !an
			if e := n + trigLatency; fire && t.armedAtCycle(e-1) {
				b.trigFire(e)
			}
		}
	}
	t.searched = to + 1
}

// trigFire records trigger_signal at cycle e and disarms (without
// auto_rearm).
func (b *Board) trigFire(e int64) {
	t := &b.trig
	ph := (b.asg[0].ptr(e-trigLatency+trigPhaseLatency)>>16 + uint64(t.phaseOffset)) & 0x3FFF
	v := regmap.ToSigned(uint32(ph), 14)
	if t.phaseAbs() && v < 0 {
		v = regmap.ToSigned(uint32(-v), 14)
	}
	if len(t.events) == maxTrigEvents {
		t.events = append(t.events[:0], t.events[maxTrigEvents/2:]...)
	}
	t.events = append(t.events, trigEvent{e, v})
	if !t.autoRearm() {
		t.armedAt = -1
	}
}

// trigNever reports whether the input provably never crosses the
// threshold the source looks for (signal bound plus 6 sigma of noise).
func (b *Board) trigNever() bool {
	t := &b.trig
	sig := int(b.dsp.inputSel[regmap.SlotTrig])
	if b.hasSlow(sig) || b.hasNoisePath(sig) {
		return false
	}
	bound := b.model(sig).bound()*regmap.VoltsNorm + 2
	if b.noisy(sig) {
		bound += noiseClip*b.cfg.SampleNoiseStd(1, false)*regmap.VoltsNorm + 1
	}
	th := float64(regmap.ToSigned(t.thresh, 14))
	up := t.source&1 == 0 || th > bound
	down := t.source&2 == 0 || th < -bound
	return up && down
}

// lastTrig returns the last trigger at or before cycle c, or false.
func (t *trigState) lastTrig(c int64) (trigEvent, bool) {
	for i := len(t.events) - 1; i >= 0; i-- {
		if t.events[i].t <= c {
			return t.events[i], true
		}
	}
	return trigEvent{}, false
}

// trigOutAt is the module's output at cycle c (dat_o and its DSP signal).
func (b *Board) trigOutAt(c int64) int64 {
	t := &b.trig
	b.trigAdvance(c)
	switch t.outSel {
	case 0: // TTL: trigger_signal, registered
		if e, ok := t.lastTrig(c - 1); ok && e.t == c-1 {
			return 8191
		}
	case 1:
		if e, ok := t.lastTrig(c - trigOutLatency); ok {
			return e.phase
		}
	}
	return 0
}

// trigFirst returns the first trigger_signal in [from, to], or -1: the
// scope's dsp trigger.
func (b *Board) trigFirst(from, to int64) int64 {
	b.trigAdvance(to)
	for _, e := range b.trig.events {
		if e.t >= from && e.t <= to {
			return e.t
		}
	}
	return -1
}

func (b *Board) readTrig(off uint32, now int64) uint32 {
	t := &b.trig
	b.trigAdvance(now)
	switch off {
	case regmap.TrigArmed:
		if t.armedAtCycle(now) {
			return 1
		}
		return 0
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
	case regmap.TrigTrigTimeLow, regmap.TrigTrigTimeHigh:
		var ts int64
		if n := len(t.events); n > 0 {
			ts = t.events[n-1].t
		}
		if off == regmap.TrigTrigTimeLow {
			return lo32(ts)
		}
		return hi32(ts)
	}
	return 0
}

func (b *Board) writeTrig(off, v uint32, now int64) {
	t := &b.trig
	switch off {
	case regmap.TrigArmed:
		if !t.armedAtCycle(now) {
			t.armedAt = now + 2
		}
	case regmap.TrigFlags:
		was := t.autoRearm()
		t.flags = v & 3
		if was && !t.autoRearm() && (t.armedAt < 0 || t.armedAt > now) {
			t.armedAt = now // auto_rearm kept it armed: it stays so until it fires
		}
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
}

// lpfState is one stage of red_pitaya_lpf_block.v in integers: y has
// MAXSHIFT fraction bits, out = y >> MAXSHIFT, delta[n+1] = x[n] - out[n],
// y[n+1] = y[n] + delta[n] << shift; low-pass output out, high-pass delta.
type lpfState struct{ y, delta int64 }

// step passes one sample through stage 0 of the filter register reg.
func (l *lpfState) step(spec regmap.FilterSpec, reg uint32, x int64) int64 {
	st := reg & 0xFF
	if st&regmap.FilterOn == 0 {
		return x
	}
	ms := spec.MaxShift()
	sh := min(int(st&uint32(1<<spec.ShiftBits-1)), ms)
	out := l.y >> ms
	d := l.delta
	l.y += d << sh
	l.delta = x - out
	if st&regmap.FilterHighPass != 0 {
		return regmap.ToSigned(uint32(d), 14)
	}
	return out
}
