package sim

import (
	"github.com/rpbus/rpbus/regmap"
)

// hkState is the housekeeping block (red_pitaya_hk.v): LEDs, the
// expansion connector's pins and the digital loop.
type hkState struct {
	digitalLoop, led, expPDir, expNDir, expPOut, expNOut uint32
}

func (b *Board) readHK(off uint32) uint32 {
	h := &b.hk
	switch off {
	case regmap.HKID:
		return regmap.HKIDRelease1
	case regmap.HKDNALow:
		return uint32(b.cfg.Seed) ^ 0x5EED0001
	case regmap.HKDNAHigh:
		return uint32(b.cfg.Seed>>32) & 0x1FFFFFF
	case regmap.HKDigitalLoop:
		return h.digitalLoop
	case regmap.HKExpPDir:
		return h.expPDir
	case regmap.HKExpNDir:
		return h.expNDir
	case regmap.HKExpPOut:
		return h.expPOut
	case regmap.HKExpNOut:
		return h.expNOut
	case regmap.HKExpPIn: // outputs read back; inputs float low
		return h.expPOut & h.expPDir
	case regmap.HKExpNIn:
		return h.expNOut & h.expNDir
	case regmap.HKLED:
		return h.led
	}
	return 0
}

func (b *Board) writeHK(off, v uint32) {
	h := &b.hk
	switch off {
	case regmap.HKDigitalLoop:
		h.digitalLoop = v & 1
	case regmap.HKExpPDir:
		h.expPDir = v & 0xFF
	case regmap.HKExpNDir:
		h.expNDir = v & 0xFF
	case regmap.HKExpPOut:
		h.expPOut = v & 0xFF
	case regmap.HKExpNOut:
		h.expNOut = v & 0xFF
	case regmap.HKLED:
		h.led = v & 0xFF
	}
}
