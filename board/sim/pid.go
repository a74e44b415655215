package sim

import (
	"github.com/rpbus/rpbus/regmap"
)

// pidState holds a PID module's registers (red_pitaya_pid_block.v).
type pidState struct {
	ival, sp, p, i, d, filter, min, max, pause uint32
}

// pidOut is the simple PID model: the integrator register value (14-bit
// volts) clamped to [min, max]; the P, I and D terms are not simulated.
func (b *Board) pidOut(k int) int64 {
	p := &b.pid[k]
	v := regmap.ToSigned(p.ival, 14)
	lo, hi := regmap.ToSigned(p.min, 14), regmap.ToSigned(p.max, 14)
	if lo <= hi {
		v = max(lo, min(hi, v))
	}
	return v
}

func (b *Board) readPID(n int, off uint32) uint32 {
	p := &b.pid[n]
	switch off {
	case regmap.PIDIntegrator:
		return p.ival
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
		p.ival = v & 0xFFFF
	case regmap.PIDSetpoint:
		p.sp = v & 0x3FFF
	case regmap.PIDP:
		p.p = v & 0xFFFFFF
	case regmap.PIDI:
		p.i = v & 0xFFFFFF
	case regmap.PIDD:
		p.d = v & 0xFFFFFF
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
