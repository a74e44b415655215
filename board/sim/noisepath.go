package sim

// noiseAt is the noise [V] signal sig carries at cycle c besides an
// input's own ADC noise: noise sources filtered by the modules and the
// DUT on its way.
func (b *Board) noiseAt(sig int, c int64) float64 { return 0 }
