package sim

import (
	"github.com/rpbus/rpbus/regmap"
)

// dspState is the DSP block's routing (red_pitaya_dsp.v): each slot's
// input select and output_direct, and the modules' sync bits.
type dspState struct {
	inputSel  [regmap.NumSlots]uint32
	outDirect [regmap.NumSlots]uint32
	sync      uint32
}

// buildConstants are what each module reports at +0x200...
func buildConstant(n int, off uint32) uint32 {
	switch {
	case n <= regmap.SlotPID2:
		switch off {
		case 0x200:
			return regmap.PIDPSR
		case 0x204:
			return regmap.PIDISR
		case 0x208:
			return regmap.PIDDSR
		case 0x20C:
			return regmap.PIDGainBits
		case regmap.InputFilterStages:
			return regmap.PIDFilterStages
		case regmap.InputFilterShift:
			return regmap.PIDFilterShiftBits
		case regmap.InputFilterMinBW:
			return regmap.PIDFilterMinBW
		}
	case n == regmap.SlotTrig:
		switch off {
		case regmap.InputFilterStages:
			return regmap.TrigFilterStages
		case regmap.InputFilterShift:
			return regmap.TrigFilterShift
		case regmap.InputFilterMinBW:
			return regmap.TrigFilterMinBW
		}
	case n >= regmap.SlotIQ0 && n <= regmap.SlotIQ2:
		quad := uint32(2)
		if n == regmap.SlotIQ2 {
			quad = 4
		}
		switch off {
		case regmap.IQLUTSize:
			return 11
		case regmap.IQLUTBits:
			return 17
		case regmap.IQPhaseBitsReg:
			return regmap.IQPhaseBits
		case regmap.IQGainBits:
			return regmap.IQAmplitudeBits
		case regmap.IQSignalBits:
			return 14
		case regmap.IQLPFBits:
			return regmap.IQLPFBitsValue
		case regmap.IQShiftBits:
			return 8
		case regmap.InputFilterStages:
			return 1
		case regmap.InputFilterShift:
			return regmap.IQFilterShiftBits
		case regmap.InputFilterMinBW:
			return regmap.IQInputFilterMinBW
		case regmap.IQQuadFilterStagesReg:
			return quad
		case regmap.IQQuadFilterShiftReg:
			return regmap.IQFilterShiftBits
		case regmap.IQQuadFilterMinBWReg:
			return regmap.IQQuadFilterMinBW
		}
	}
	return 0
}

func (b *Board) readDSP(n int, off uint32, now int64) uint32 {
	d := &b.dsp
	switch off {
	case regmap.DSPInputSelect:
		return d.inputSel[n]
	case regmap.DSPOutputDirect:
		return d.outDirect[n]
	case regmap.DSPSaturation:
		var v uint32
		if o := b.outSum(0, now); o > 8191 || o < -8192 {
			v |= 1
		}
		if o := b.outSum(1, now); o > 8191 || o < -8192 {
			v |= 2
		}
		return v
	case regmap.DSPSync:
		return d.sync
	case regmap.DSPOutputSignal:
		return uint32(b.exactAt(n, now)) & 0x3FFF
	}
	if off >= regmap.BuildConstantsBase {
		return buildConstant(n, off)
	}
	switch {
	case n <= regmap.SlotPID2:
		return b.readPID(n, off)
	case n == regmap.SlotTrig:
		return b.readTrig(off, now)
	case n >= regmap.SlotIQ0 && n <= regmap.SlotIQ2:
		return b.readIQ(n-regmap.SlotIQ0, off, now)
	}
	return 0
}

func (b *Board) writeDSP(n int, off, v uint32, now int64) {
	d := &b.dsp
	switch off {
	case regmap.DSPInputSelect:
		if n < regmap.SlotIn1+4 { // modules, scope inputs, pwm inputs
			d.inputSel[n] = v & 0xF
		}
		return
	case regmap.DSPOutputDirect:
		if n <= regmap.SlotASG1 {
			d.outDirect[n] = v & 3
		}
		return
	case regmap.DSPSync:
		old := d.sync
		d.sync = v & 0xFF
		for k := range b.iq {
			bit := uint32(1) << (regmap.SlotIQ0 + k)
			if old&bit == 0 && d.sync&bit != 0 { // phase restarts at 0
				b.iq[k].acc = acc{c0: now, step: b.iq[k].acc.step, m: 1 << 32}
			}
		}
		return
	}
	switch {
	case n <= regmap.SlotPID2:
		b.writePID(n, off, v)
	case n == regmap.SlotTrig:
		b.writeTrig(off, v)
	case n >= regmap.SlotIQ0 && n <= regmap.SlotIQ2:
		b.writeIQ(n-regmap.SlotIQ0, off, v, now)
	}
}

// outSum is the unsaturated sum routed to out1 (ch 0) or out2 (ch 1).
func (b *Board) outSum(ch int, c int64) int64 {
	var sum int64
	bit := uint32(1) << ch
	for n := 0; n <= regmap.SlotASG1; n++ {
		if b.dsp.outDirect[n]&bit == 0 {
			continue
		}
		switch {
		case n <= regmap.SlotPID2:
			sum += b.pidOut(n)
		case n >= regmap.SlotIQ0 && n <= regmap.SlotIQ2:
			sum += b.iqOut(n-regmap.SlotIQ0, c)
		case n == regmap.SlotASG0 || n == regmap.SlotASG1:
			sum += b.asg[n-regmap.SlotASG0].outAt(b.cfg.Seed, c)
		}
	}
	return sum
}

// exactAt is the 14-bit value of DSP signal sig at cycle c.
func (b *Board) exactAt(sig int, c int64) int64 {
	switch {
	case sig <= regmap.SlotPID2:
		return b.pidOut(sig)
	case sig >= regmap.SlotIQ0 && sig <= regmap.SlotIQ2:
		if b.iq[sig-regmap.SlotIQ0].outSel == regmap.IQSignalOutputDirect {
			return b.iqOut(sig-regmap.SlotIQ0, c)
		}
	case sig == regmap.SlotASG0 || sig == regmap.SlotASG1:
		return b.asg[sig-regmap.SlotASG0].outAt(b.cfg.Seed, c)
	case sig == regmap.SlotOut1 || sig == regmap.SlotOut2:
		return sat14(b.outSum(sig-regmap.SlotOut1, c))
	case sig == regmap.SlotIn1 || sig == regmap.SlotIn2:
		if !b.noisy(sig) {
			return sat14(b.outSum(sig-regmap.SlotIn1, c))
		}
		v := b.model(sig).at(c) * regmap.VoltsNorm
		st := uint64(streamIn1)
		if sig == regmap.SlotIn2 {
			st = streamIn2
		}
		v += b.cfg.NoiseStd() * regmap.VoltsNorm * gaussAt(b.cfg.Seed, st, c)
		return sat14(int64(roundEven(v)))
	}
	return 0
}

// model returns the steady-state harmonic model of DSP signal sig [V]
// under the current configuration (cached until the next write).
func (b *Board) model(sig int) model {
	if b.modelsVer != b.ver+1 {
		clear(b.models)
		b.modelsVer = b.ver + 1
	}
	if m, ok := b.models[sig]; ok {
		return m
	}
	var m model
	switch {
	case sig <= regmap.SlotPID2:
		m.dc = float64(b.pidOut(sig)) / regmap.VoltsNorm
	case sig >= regmap.SlotIQ0 && sig <= regmap.SlotIQ2:
		if b.iq[sig-regmap.SlotIQ0].outSel == regmap.IQSignalOutputDirect {
			m = b.iqModel(sig - regmap.SlotIQ0)
		}
	case sig == regmap.SlotASG0 || sig == regmap.SlotASG1:
		m = b.asgModel(sig - regmap.SlotASG0)
	case sig == regmap.SlotOut1 || sig == regmap.SlotOut2:
		bit := uint32(1) << (sig - regmap.SlotOut1)
		for n := 0; n <= regmap.SlotASG1; n++ {
			if b.dsp.outDirect[n]&bit == 0 {
				continue
			}
			// The same slots as outSum; trig and iir add nothing (their
			// outputs are not modelled).
			switch {
			case n <= regmap.SlotPID2:
				m.dc += float64(b.pidOut(n)) / regmap.VoltsNorm
			case n >= regmap.SlotIQ0 && n <= regmap.SlotIQ2:
				m.add(b.iqModel(n - regmap.SlotIQ0))
			case n == regmap.SlotASG0 || n == regmap.SlotASG1:
				m.add(b.asgModel(n - regmap.SlotASG0))
			}
		}
	case sig == regmap.SlotIn1 || sig == regmap.SlotIn2:
		out := b.model(sig - regmap.SlotIn1 + regmap.SlotOut1)
		if b.noisy(sig) {
			ch := sig - regmap.SlotIn1 + 1
			m = out.transform(func(f float64) complex128 { return b.cfg.InResponse(ch, f) })
		} else {
			m = out
		}
	}
	b.models[sig] = m
	return m
}

// signals, the steady-state DUT response (without noise and quantisation)
// for in1/in2.
func (b *Board) Noiseless(sig int, c int64) float64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.noisy(sig) {
		return b.model(sig).at(c)
	}
	return float64(b.exactAt(sig, c)) / regmap.VoltsNorm
}
