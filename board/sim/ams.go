package sim

import "github.com/rpbus/rpbus/regmap"

// readAMS reads the analog mixed-signal block: only its slow DAC words
// are modelled.
func (b *Board) readAMS(off uint32) uint32 {
	if off >= regmap.AMSDAC0 && off <= regmap.AMSDAC3 && off%4 == 0 {
		return b.ams[(off-regmap.AMSDAC0)/4]
	}
	return 0
}

func (b *Board) writeAMS(off, v uint32) {
	// dac0/dac1 are driven by the DSP pwm outputs in this bitstream
	if off == regmap.AMSDAC2 || off == regmap.AMSDAC3 {
		b.ams[(off-regmap.AMSDAC0)/4] = v & 0xFFFFFF
	}
}
