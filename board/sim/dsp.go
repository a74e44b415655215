package sim

import (
	"math"
	"math/cmplx"
	"slices"

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
	case n == regmap.SlotIIR:
		switch off {
		case regmap.IIRBitsReg:
			return regmap.IIRBits
		case regmap.IIRShiftReg:
			return regmap.IIRShift
		case regmap.IIRStagesReg:
			return regmap.IIRStages
		case regmap.InputFilterStages:
			return regmap.IIRFilterStages
		case regmap.InputFilterShift:
			return regmap.IIRFilterShiftBits
		case regmap.InputFilterMinBW:
			return regmap.IIRFilterMinBW
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
	if n == regmap.SlotIIR && off&regmap.IIRCoefficients != 0 {
		return 0 // the coefficients are not readable
	}
	if off >= regmap.BuildConstantsBase {
		return buildConstant(n, off)
	}
	switch {
	case n <= regmap.SlotPID2:
		return b.readPID(n, off, now)
	case n == regmap.SlotTrig:
		return b.readTrig(off, now)
	case n == regmap.SlotIIR:
		return b.readIIR(off)
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
		b.writeTrig(off, v, now)
	case n == regmap.SlotIIR:
		b.writeIIR(off, v)
	case n >= regmap.SlotIQ0 && n <= regmap.SlotIQ2:
		b.writeIQ(n-regmap.SlotIQ0, off, v, now)
	}
}

// outSum is the unsaturated sum routed to out1 (ch 0) or out2 (ch 1) at
// cycle c: every module's output_direct (an IQ module's modulator output,
// whatever its output_signal).
func (b *Board) outSum(ch int, c int64) int64 {
	var sum int64
	bit := uint32(1) << ch
	for n := 0; n <= regmap.SlotASG1; n++ {
		if b.dsp.outDirect[n]&bit == 0 {
			continue
		}
		switch {
		case n >= regmap.SlotIQ0 && n <= regmap.SlotIQ2:
			sum += b.iqDirectAt(n-regmap.SlotIQ0, c)
		case n == regmap.SlotASG0 || n == regmap.SlotASG1:
			sum += b.asg[n-regmap.SlotASG0].outAt(b.cfg.Seed, c)
		default:
			sum += b.exactAt(n, c)
		}
	}
	return sum
}

// exactAt is the 14-bit value of DSP signal sig at cycle c.
func (b *Board) exactAt(sig int, c int64) int64 {
	switch {
	case sig == regmap.SlotTrig:
		return b.trigOutAt(c)
	case sig < numSlow:
		v := b.slowPreAt(sig, c) + (b.model(sig).at(c)+b.noiseAt(sig, c))*regmap.VoltsNorm
		return b.outputStage(sig, int64(math.Round(clampF(v))))
	case sig >= regmap.SlotIQ0 && sig <= regmap.SlotIQ2:
		k := sig - regmap.SlotIQ0
		switch b.iq[k].outSel {
		case regmap.IQSignalOutputDirect:
			return b.iqDirectAt(k, c)
		case regmap.IQSignalPFD:
			return b.pfdAt(k, c)
		}
		return sat14(int64(math.Round(clampF((b.model(sig).at(c) + b.noiseAt(sig, c)) * regmap.VoltsNorm))))
	case sig == regmap.SlotIQ2_2:
		return sat14(int64(math.Round(clampF((b.model(sig).at(c) + b.noiseAt(sig, c)) * regmap.VoltsNorm))))
	case sig == regmap.SlotASG0 || sig == regmap.SlotASG1:
		return b.asg[sig-regmap.SlotASG0].outAt(b.cfg.Seed, c)
	case sig == regmap.SlotOut1 || sig == regmap.SlotOut2:
		return sat14(b.outSum(sig-regmap.SlotOut1, c))
	case sig == regmap.SlotIn1 || sig == regmap.SlotIn2:
		if !b.noisy(sig) {
			return sat14(b.outSum(sig-regmap.SlotIn1, c))
		}
		v := b.model(sig).at(c) + b.noiseAt(sig, c)
		if b.hasSlow(sig) {
			v += b.slowAt(sig, c) / regmap.VoltsNorm
		}
		st := uint64(streamIn1)
		if sig == regmap.SlotIn2 {
			st = streamIn2
		}
		v = v*regmap.VoltsNorm + b.cfg.NoiseStd()*regmap.VoltsNorm*gaussAt(b.cfg.Seed, st, c)
		return sat14(int64(roundEven(clampF(v))))
	}
	return 0
}

// clampF keeps a value [LSB] within what an int64 conversion takes.
func clampF(v float64) float64 { return max(-1e12, min(1e12, v)) }

// outputStage is what a module does to its value [LSB] before it leaves:
// a PID's saturation and min/max clamp, the 14-bit saturation of the
// others.
func (b *Board) outputStage(sig int, v int64) int64 {
	if sig <= regmap.SlotPID2 {
		return b.pid[sig].outFn(v)
	}
	return sat14(v)
}

// model returns the steady-state harmonic model [V] of DSP signal sig
// under the current configuration (cached until the next write): sources
// as their harmonics, modules as their responses to their inputs' models.
// A module's DC is the slow engine's (slow.go), not in its model.
//
// A loop of modules (a PID through the DUT back into its own input, say)
// is closed per harmonic: the evaluation that meets sig again opens the
// loop there, giving E, sig's model driven by what enters the loop from
// outside; a second evaluation in which that meeting returns a probe (each
// of E's harmonics with coefficient 1) gives the loop gain L(f) of each
// harmonic as what comes back of its probe, and sig's model is E / (1 -
// L(f)), harmonic by harmonic: the loop's exact steady state where its
// path is linear and keeps frequencies (modules, filters, the DUT, sums).
// A harmonic that returns at another frequency (through an IQ module's
// mixer) or with L = 1 stays opened; see closeLoop for the limits.
func (b *Board) model(sig int) model {
	if b.modelsVer != b.ver+1 {
		clear(b.models)
		b.modelsVer = b.ver + 1
	}
	if m, ok := b.models[sig]; ok {
		return m
	}
	if b.modelBusy[sig] {
		b.modelCuts++
		if p := b.modelProbe[sig]; p != nil {
			return *p
		}
		b.modelLoop[sig] = true
		return model{}
	}
	cuts := b.modelCuts
	b.modelBusy[sig] = true
	b.modelDepth++
	b.modelLoop[sig] = false
	m := b.makeModel(sig)
	if b.modelLoop[sig] {
		m = b.closeLoop(sig, m)
	}
	b.modelLoop[sig] = false
	b.modelDepth--
	b.modelBusy[sig] = false
	if b.modelDepth == 0 || b.modelCuts == cuts {
		b.models[sig] = m
	}
	return m
}

// harmKey names a harmonic across models: its accumulator and order.
type harmKey struct {
	acc acc
	k   int
}

// closeLoop closes the loop through sig around e, sig's model with the
// loop opened at sig (see model). Limits: the steady state only (a change
// shows its new steady state at once, without the loop's transient); a
// loop that is unstable on a board (|L| >= 1 where its phase turns it
// positive) is given the steady state it never reaches, where a board
// oscillates or rails; clamps and saturation inside the loop are not in
// the harmonics (the output stage still clips the sum).
func (b *Board) closeLoop(sig int, e model) model {
	sums := func(m model) map[harmKey]complex128 {
		s := make(map[harmKey]complex128)
		for _, src := range m.srcs {
			for _, h := range src.harm {
				if src.freq(h) != 0 {
					s[harmKey{src.acc, h.k}] += h.coef
				}
			}
		}
		return s
	}
	open := sums(e)
	if len(open) == 0 {
		return e
	}
	var probe model
	for _, src := range e.srcs {
		for _, h := range src.harm {
			if src.freq(h) != 0 {
				probe.srcs = append(probe.srcs, source{acc: src.acc, harm: []harmonic{{h.k, 1}}})
			}
		}
	}
	// one probe harmonic per key, however many sources share it
	seen := make(map[harmKey]bool)
	probe.srcs = slices.DeleteFunc(probe.srcs, func(s source) bool {
		k := harmKey{s.acc, s.harm[0].k}
		d := seen[k]
		seen[k] = true
		return d
	})
	b.modelProbe[sig] = &probe
	back := sums(b.makeModel(sig))
	b.modelProbe[sig] = nil
	gain := make(map[harmKey]complex128, len(open))
	for k, c := range open {
		l := back[k] - c // what came back of the probe's unit harmonic
		if d := 1 - l; cmplx.Abs(d) > 1e-9 {
			gain[k] = 1 / d
		} else {
			gain[k] = 1
		}
	}
	out := model{dc: e.dc, srcs: make([]source, len(e.srcs))}
	for i, src := range e.srcs {
		ns := src
		ns.harm = make([]harmonic, len(src.harm))
		for j, h := range src.harm {
			ns.harm[j] = h
			if g, ok := gain[harmKey{src.acc, h.k}]; ok {
				ns.harm[j].coef = h.coef * g
			}
		}
		out.srcs[i] = ns
	}
	return out
}

// iqDirectKey keys the cache of an IQ module's output_direct model.
const iqDirectKey = 100

func (b *Board) makeModel(sig int) model {
	var m model
	switch {
	case sig <= regmap.SlotPID2:
		m = b.pidModel(sig)
	case sig == regmap.SlotIIR:
		m = b.iirModel()
	case sig >= regmap.SlotIQ0 && sig <= regmap.SlotIQ2:
		m = b.iqSignalModel(sig - regmap.SlotIQ0)
	case sig >= iqDirectKey:
		m = b.iqModel(sig - iqDirectKey)
	case sig == regmap.SlotIQ2_2:
		m = b.iqQuadModel(2, true)
	case sig == regmap.SlotASG0 || sig == regmap.SlotASG1:
		m = b.asgModel(sig - regmap.SlotASG0)
	case sig == regmap.SlotOut1 || sig == regmap.SlotOut2:
		bit := uint32(1) << (sig - regmap.SlotOut1)
		for n := 0; n <= regmap.SlotASG1; n++ {
			if b.dsp.outDirect[n]&bit == 0 {
				continue
			}
			switch {
			case n >= regmap.SlotIQ0 && n <= regmap.SlotIQ2:
				m.add(b.model(iqDirectKey + n - regmap.SlotIQ0))
			default: // the trig module has no AC part
				m.add(b.model(n))
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
	return m
}

// Noiseless returns the noiseless model value [V] of DSP signal sig
// (regmap.SlotIn1, SlotOut1, SlotASG0, ...) at board cycle c under the
// current register settings: the exact digital value for generated
// signals, the steady-state DUT response (without noise and quantisation)
// for in1/in2.
func (b *Board) Noiseless(sig int, c int64) float64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.noisy(sig) {
		v := b.model(sig).at(c)
		if b.hasSlow(sig) {
			v += b.slowAt(sig, c) / regmap.VoltsNorm
		}
		return v
	}
	return float64(b.exactAt(sig, c)) / regmap.VoltsNorm
}
