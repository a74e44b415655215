package sim

import (
	"math"

	"github.com/rpbus/rpbus/regmap"
)

// pidState is one PID module (red_pitaya_pid_block.v, 14-bit signals in
// LSB units, 1 V = 2^13):
//
//	e[n]   = F(x)[n-1] - setpoint           (or F(x) - F_other(x_other), differential)
//	P[n]   = floor(e[n-1] * kp / 2^12)      (kp: 24-bit signed, p = kp/2^12)
//	I[n+1] = sat48(I[n] + e[n-1] * ki)      (ki: 24-bit signed, i = ki / (2^32 2 pi 8 ns) Hz)
//	y[n+1] = clamp(sat14(P[n] + I[n] >> 32), min, max)   (two output registers)
//
// F is the four-stage input filter (red_pitaya_filter_block.v). So x ->
// y is kp/2^12 z^-4 + ki/2^32 z^-5/(1 - z^-1) after F, and the
// integrator's unity gain is at i Hz. The derivative is built with
// DERIVATIVE = 0 in red_pitaya_dsp.v: d is stored and does nothing.
// pause bits 0..2 (pause_pid_on_sync) freeze I and zero P (and D) while
// the module's DSP sync bit is clear; bit 3 is the differential mode of
// pid0 and pid1 (each other's filtered input as setpoint; pid2's is 0).
type pidState struct {
	sp, p, i, d, filter, min, max, pause uint32
}

// PID register scalings (the build constants PSR and ISR).
const (
	pidPNorm = 1 << regmap.PIDPSR // kp per unit gain
	pidINorm = 1 << regmap.PIDISR // integrator fraction bits
	// pidIntMax is the integrator's positive rail, 2^47 - 1 (IBW = ISR+16 bits).
	pidIntMax = 1<<(regmap.PIDISR+16-1) - 1
)

func (p *pidState) kp() int64 { return regmap.ToSigned(p.p, regmap.PIDGainBits) }
func (p *pidState) ki() int64 { return regmap.ToSigned(p.i, regmap.PIDGainBits) }

func (p *pidState) lo() int64 { return regmap.ToSigned(p.min, 14) }
func (p *pidState) hi() int64 { return regmap.ToSigned(p.max, 14) }

// differential reports pause bit 3: the setpoint is the partner's input.
func (p *pidState) differential() bool { return p.pause&8 != 0 }

// outFn is the module's output stage: the 14-bit saturation of the sum,
// then the min/max register clamp (out_buffer: max wins when both hold).
func (p *pidState) outFn(sum int64) int64 {
	v := sat14(sum)
	switch lo, hi := p.lo(), p.hi(); {
	case v >= hi:
		return hi
	case v <= lo:
		return lo
	}
	return v
}

// pidPaused returns which of P (bit 1), I (bit 0) and D (bit 2) are frozen:
// the pause bits while the module's sync bit is clear.
func (b *Board) pidPaused(k int) uint32 {
	if b.dsp.sync&(1<<k) != 0 {
		return 0
	}
	return b.pid[k].pause & 7
}

// pidPartner is the module whose filtered input pid k subtracts in
// differential mode (red_pitaya_dsp.v: pid0 and pid1 pair; pid2's partner
// input is 0), or -1.
func pidPartner(k int) int {
	if k < 2 {
		return 1 - k
	}
	return -1
}

// pidCore is the response [V/V] of the PID's error-to-output path at f
// Hz: P z^-4 + I z^-5/(1 - z^-1), each term zero while paused.
func (b *Board) pidCore(k int, f float64) complex128 {
	p := &b.pid[k]
	paused := b.pidPaused(k)
	z1 := expj(-2 * math.Pi * f / regmap.Clock) // z^-1
	var h complex128
	if paused&2 == 0 {
		h += complex(float64(p.kp())/pidPNorm, 0) * z1 * z1 * z1 * z1
	}
	if paused&1 == 0 && p.ki() != 0 {
		h += complex(float64(p.ki())/pidINorm, 0) * z1 * z1 * z1 * z1 * z1 / (1 - z1)
	}
	return h
}

// pidModel is the steady-state AC part of pid k's output [V]: the core
// response applied to its filtered error; its DC is the slow engine's
// (slow.go).
func (b *Board) pidModel(k int) model {
	p := &b.pid[k]
	spec := regmap.PIDFilterSpec
	in := b.model(int(b.dsp.inputSel[k]))
	err := in.transformAC(func(f float64) complex128 { return spec.Response(p.filter, f) })
	if j := pidPartner(k); j >= 0 && p.differential() {
		other := b.model(int(b.dsp.inputSel[j])).transformAC(func(f float64) complex128 {
			return -spec.Response(b.pid[j].filter, f)
		})
		err.add(other)
	}
	return err.transformAC(func(f float64) complex128 { return b.pidCore(k, f) })
}

// filterDC is the steady-state DC gain of a filter register: 1 through
// low-pass and off stages, 0 through a high-pass one.
func filterDC(spec regmap.FilterSpec, reg uint32) float64 {
	for i := 0; i < spec.Stages; i++ {
		if st := reg >> (8 * i) & 0xFF; st&regmap.FilterOn != 0 && st&regmap.FilterHighPass != 0 {
			return 0
		}
	}
	return 1
}

func (b *Board) readPID(n int, off uint32, now int64) uint32 {
	p := &b.pid[n]
	switch off {
	case regmap.PIDIntegrator:
		// int_shr, sign-extended: the integrator's top 16 bits now
		return uint32(b.slow.intShr(n, now))
	case regmap.PIDSetpoint:
		return p.sp
	case regmap.PIDP:
		return p.p
	case regmap.PIDI:
		return p.i
	case regmap.PIDD:
		return p.d
	case regmap.PIDInputFilter:
		return p.filter
	case regmap.PIDMin:
		return p.min
	case regmap.PIDMax:
		return p.max
	case regmap.PIDPause:
		return p.pause
	}
	return 0
}

func (b *Board) writePID(n int, off, v uint32) {
	p := &b.pid[n]
	switch off {
	case regmap.PIDIntegrator:
		b.slow.setIntegrator(n, regmap.ToSigned(v, 16)<<regmap.PIDISR)
	case regmap.PIDSetpoint:
		p.sp = v & 0x3FFF
	case regmap.PIDP:
		p.p = v & (1<<regmap.PIDGainBits - 1)
	case regmap.PIDI:
		p.i = v & (1<<regmap.PIDGainBits - 1)
	case regmap.PIDD:
		p.d = v & (1<<regmap.PIDGainBits - 1)
	case regmap.PIDInputFilter:
		p.filter = v
	case regmap.PIDMin:
		p.min = v & 0x3FFF
	case regmap.PIDMax:
		p.max = v & 0x3FFF
	case regmap.PIDPause:
		p.pause = v & 0xF
	}
}
