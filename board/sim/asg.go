package sim

import (
	"math/cmplx"
	"sort"

	"gonum.org/v1/gonum/dsp/fourier"

	"github.com/rpbus/rpbus/regmap"
)

// maxHarmonics caps the harmonics kept per generator table (the largest
// ones); a sine needs 1, a square wave's edges are rounded by the cap.
const maxHarmonics = 512

// harmonicFloor drops table harmonics below 1/16 LSB [V].
const harmonicFloor = LSB / 16

// asgState is one generator channel (red_pitaya_asg_ch.v).
type asgState struct {
	ch                    int
	half                  uint32 // its half of the control word
	amp, dc               uint32 // 14 bit each
	size, ofs, step       uint32 // 30 bit
	ncyc, rnum, rdly      uint32
	table                 [regmap.ASGDataLen]int16
	running               bool
	tStart                int64
	pacc                  acc   // pointer while playing continuously
	burstLen, gap, bursts int64 // burstLen 0: continuous; bursts 0: unlimited
	pEnd, stopped         uint64
	harmVer, ver          uint64
	harm                  []harmonic // of one table period [V], k in table periods
	variance              float64    // of the scaled table [V^2] (random mode)
	varVer                uint64
}

func (a *asgState) src() uint32  { return a.half & regmap.ASGTrigMask }
func (a *asgState) wrap() bool   { return a.half&regmap.ASGWrap != 0 }
func (a *asgState) zero() bool   { return a.half&regmap.ASGZero != 0 }
func (a *asgState) random() bool { return a.half&regmap.ASGRandom != 0 }
func (a *asgState) mod() uint64  { return uint64(a.size) + 1 }

// value converts a table entry into the output (Verilog: amplitude scaling
// with an arithmetic shift by 13, offset, 14-bit saturation).
func (a *asgState) value(idx uint64) int64 {
	if a.zero() {
		return 0
	}
	v := int64(a.table[idx&(regmap.ASGDataLen-1)]) * int64(a.amp) >> 13
	return sat14(v + regmap.ToSigned(a.dc, 14))
}

// start runs the state machine from cycle t (a trigger).
func (a *asgState) start(t int64, src uint32) {
	a.running, a.tStart = true, t
	m := a.mod()
	a.pacc = acc{c0: t, a0: uint64(a.ofs), step: uint64(a.step), m: m}
	a.burstLen, a.gap, a.bursts = 0, 0, 1
	if a.ncyc == 0 || a.step == 0 || (a.rnum > 0 && a.rdly == 0) {
		return // continuous (a zero delay with repetitions never ends a burst)
	}
	n := uint64(a.ncyc)
	if a.wrap() {
		a.burstLen = int64((n*m - uint64(a.ofs) + uint64(a.step) - 1) / uint64(a.step))
		a.pEnd = uint64(a.ofs) + uint64(a.burstLen)*uint64(a.step) - n*m
	} else {
		per := (m - uint64(a.ofs) + uint64(a.step) - 1) / uint64(a.step)
		a.burstLen = int64(n * per)
		a.pEnd = uint64(a.ofs)
	}
	a.bursts = 1 + int64(a.rnum)
	a.gap = int64(a.rdly)*125 + 1
	if src == regmap.ASGTrigHigh {
		a.bursts = 0
	}
}

// ptr returns the table pointer at cycle c.
func (a *asgState) ptr(c int64) uint64 {
	if !a.running || c < a.tStart {
		return a.stopped
	}
	if a.burstLen == 0 {
		if a.wrap() || a.step == 0 {
			return a.pacc.at(c)
		}
		per := (a.mod() - uint64(a.ofs) + uint64(a.step) - 1) / uint64(a.step)
		return uint64(a.ofs) + uint64(c-a.tStart)%per*uint64(a.step)
	}
	d := c - a.tStart
	period := a.burstLen + a.gap
	if a.bursts > 0 && d >= a.bursts*period-a.gap {
		return a.pEnd
	}
	r := d % period
	if r >= a.burstLen {
		return a.pEnd
	}
	if a.wrap() {
		return (uint64(a.ofs) + uint64(r)*uint64(a.step)) % a.mod()
	}
	per := (a.mod() - uint64(a.ofs) + uint64(a.step) - 1) / uint64(a.step)
	return uint64(a.ofs) + uint64(r)%per*uint64(a.step)
}

// playing reports whether the generator advances at cycle c.
func (a *asgState) playing(c int64) bool {
	if !a.running || c < a.tStart {
		return false
	}
	if a.burstLen == 0 {
		return true
	}
	d := c - a.tStart
	period := a.burstLen + a.gap
	if a.bursts > 0 && d >= a.bursts*period-a.gap {
		return false
	}
	return d%period < a.burstLen
}

// outAt is the exact output at cycle c (14-bit integer).
func (a *asgState) outAt(seed uint64, c int64) int64 {
	if a.random() && a.playing(c) {
		return a.value(key(seed, streamASGRand+uint64(a.ch), uint64(c)))
	}
	return a.value(a.ptr(c) >> 16)
}

// rebase keeps the pointer continuous when step, size or offset change
// while playing continuously.
func (a *asgState) rebase(now int64) {
	if !a.running {
		a.stopped = uint64(a.ofs)
		return
	}
	if a.burstLen == 0 && a.wrap() {
		p := a.pacc.at(now)
		a.pacc = acc{c0: now, a0: p % a.mod(), step: uint64(a.step), m: a.mod()}
		return
	}
	a.start(now, a.src()) // bursts restart with the new settings
}

// harmonics returns the Fourier series of the scaled, saturated table over
// the used table length, k in periods of the pointer, largest first.
func (b *Board) asgHarmonics(a *asgState) []harmonic {
	if a.harm != nil && a.harmVer == a.ver {
		return a.harm
	}
	n := int(a.mod() >> 16)
	n = max(1, min(n, regmap.ASGDataLen))
	seq := make([]float64, n)
	for i := range seq {
		seq[i] = float64(a.value(uint64(i))) / regmap.VoltsNorm
	}
	coef := b.fftCoefficients(seq)
	hs := make([]harmonic, 0, len(coef))
	for k, c := range coef {
		c /= complex(float64(n), 0)
		if k > 0 && !(n%2 == 0 && k == n/2) {
			c *= 2
		}
		hs = append(hs, harmonic{k, c})
	}
	keep := hs[:0]
	for _, h := range hs {
		// table rounding spreads about 0.005 LSB over every bin: keep what
		// is above 1/16 LSB
		if cmplx.Abs(h.coef) > harmonicFloor {
			keep = append(keep, h)
		}
	}
	sort.SliceStable(keep, func(i, j int) bool { return cmplx.Abs(keep[i].coef) > cmplx.Abs(keep[j].coef) })
	if len(keep) > maxHarmonics {
		keep = keep[:maxHarmonics]
	}
	a.harm, a.harmVer = append([]harmonic(nil), keep...), a.ver
	return a.harm
}

// asgModel is the generator's output as a harmonic model [V].
func (b *Board) asgModel(ch int) model {
	a := &b.asg[ch]
	if !a.running || a.random() {
		// a stopped generator holds its value; the random mode is modelled
		// by its mean (its noise is not propagated)
		v := float64(a.value(a.stopped>>16)) / regmap.VoltsNorm
		if a.random() && a.running {
			v = 0 // the table's mean: its k = 0 term, when above the floor
			for _, h := range b.asgHarmonics(a) {
				if h.k == 0 {
					v = real(h.coef)
				}
			}
		}
		return model{dc: v}
	}
	s := source{acc: a.pacc, harm: b.asgHarmonics(a)}
	if a.burstLen != 0 || !a.wrap() {
		// bursts and non-wrapping playback restart at the start offset:
		// steady-state harmonics referenced to the burst start
		s.acc = acc{c0: a.tStart, a0: uint64(a.ofs), step: uint64(a.step), m: a.mod()}
		if a.burstLen != 0 {
			s.gate = a.playing
			s.frozen = float64(a.value(a.pEnd>>16)) / regmap.VoltsNorm
		}
	}
	return model{srcs: []source{s}}
}

// firstEvent returns the first cycle >= t at which channel ch signals the
// scope (trig_done: a start or a period wrap), or -1 if none will come.
func (a *asgState) firstEvent(t int64) int64 {
	if !a.running {
		return -1
	}
	if a.tStart >= t {
		return a.tStart
	}
	if a.burstLen == 0 {
		if !a.wrap() {
			per := int64((a.mod() - uint64(a.ofs) + uint64(a.step) - 1) / max(1, uint64(a.step)))
			if a.step == 0 {
				return -1
			}
			k := (t - a.tStart + per) / per
			return a.tStart + k*per - 1
		}
		return a.pacc.nextWrap(t)
	}
	// bursts: the next burst start after t (wraps inside bursts are
	// approximated by the burst starts)
	period := a.burstLen + a.gap
	k := (t - a.tStart + period - 1) / period
	if a.bursts > 0 && k >= a.bursts {
		return -1
	}
	return a.tStart + k*period
}

func (b *Board) fftCoefficients(seq []float64) []complex128 {
	return b.fft(len(seq)).Coefficients(nil, seq)
}

// fft returns the board's FFT plan of length n, made once.
func (b *Board) fft(n int) *fourier.FFT {
	f := b.ffts[n]
	if f == nil {
		f = newFFT(n)
		b.ffts[n] = f
	}
	return f
}

func (b *Board) readASG(off uint32) uint32 {
	if off >= regmap.ASGDataA {
		return 0 // table read-back is disabled in the bitstream
	}
	switch off {
	case regmap.ASGControl:
		return b.asg[0].half&0x1FF7 | (b.asg[1].half&0x1FF7)<<16
	case regmap.ASGTrigPointerA, regmap.ASGTrigPointerB:
		return 0
	}
	ch := 0
	if off > regmap.ASGBurstDelay {
		ch, off = 1, off-regmap.ASGChannelStride
	}
	if ch == 1 && off < regmap.ASGAmpOffset {
		return 0
	}
	a := &b.asg[ch]
	switch off {
	case regmap.ASGAmpOffset:
		return a.amp | a.dc<<16
	case regmap.ASGCounterWrap:
		return a.size
	case regmap.ASGStartOffset:
		return a.ofs
	case regmap.ASGStep:
		return a.step
	case regmap.ASGCycles:
		return a.ncyc
	case regmap.ASGBursts:
		return a.rnum
	case regmap.ASGBurstDelay:
		return a.rdly
	}
	return 0
}

func (b *Board) writeASG(off, v uint32, now int64) {
	if off >= regmap.ASGDataA && off < regmap.ASGDataB+regmap.ASGDataLen*4 {
		ch := 0
		if off >= regmap.ASGDataB {
			ch = 1
		}
		i := (off & 0xFFFF) / 4
		if i < regmap.ASGDataLen {
			b.asg[ch].table[i] = int16(regmap.ToSigned(v, 14))
			b.asg[ch].ver++
		}
		return
	}
	if off == regmap.ASGControl {
		for ch := range b.asg {
			a := &b.asg[ch]
			half := v >> regmap.ASGControlShift(ch) & 0xFFFF
			a.half = half & 0x1FF7
			a.ver++
			sw := half&1 != 0
			src := half & regmap.ASGTrigMask
			switch {
			case half&regmap.ASGSMReset != 0:
				if a.running {
					a.running = false
				}
				a.stopped = uint64(a.ofs)
			case (src == regmap.ASGTrigImmediately && sw) || src == regmap.ASGTrigHigh:
				if !a.playing(now) {
					a.start(now, src)
				}
			}
		}
		return
	}
	ch := 0
	if off > regmap.ASGBurstDelay {
		ch, off = 1, off-regmap.ASGChannelStride
	}
	a := &b.asg[ch]
	a.ver++
	switch off {
	case regmap.ASGAmpOffset:
		a.amp, a.dc = v&0x3FFF, v>>16&0x3FFF
	case regmap.ASGCounterWrap:
		a.size = v & (1<<30 - 1)
		a.rebase(now)
	case regmap.ASGStartOffset:
		a.ofs = v & (1<<30 - 1)
		if !a.running {
			a.stopped = uint64(a.ofs)
		}
	case regmap.ASGStep:
		a.step = v & (1<<30 - 1)
		a.rebase(now)
	case regmap.ASGCycles:
		a.ncyc = v
	case regmap.ASGBursts:
		a.rnum = v & 0xFFFF
	case regmap.ASGBurstDelay:
		a.rdly = v
	}
}
