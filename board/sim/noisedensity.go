package sim

import (
	"math"

	"github.com/rpbus/rpbus/regmap"
)

// Noise densities, for what cannot be simulated cycle by cycle: the
// network analyzer's noise at its frequency, and noise through modules in
// acquisitions longer than noiseFullRateDec allows.

// noisePSD is the two-sided density [V^2 per unit of 1/cycle: a white
// noise of variance v a cycle has density v] at f Hz of the noise signal
// sig carries beyond an input's own ADC noise, as the network analyzer's
// averaging sees it: the sources' densities (a random generator's table
// variance, an input's ADC noise and quantisation when it feeds a module)
// times |H(f)|^2 of the DUT and the modules on the way; an IQ module's
// mixing moves the density by its LO (I and Q taken as uncorrelated).
func (b *Board) noisePSD(sig int, f float64) float64 {
	if b.noiseStream(sig) == nil {
		return 0
	}
	return b.psd(sig, f, false)
}

// psd is noisePSD; asInput includes in1/in2's own ADC noise (a module's
// input sees it).
func (b *Board) psd(sig int, f float64, asInput bool) float64 {
	key := sig
	if asInput {
		key += 1000
	}
	if b.psdBusy[key] {
		return 0 // a loop is opened here
	}
	b.psdBusy[key] = true
	defer delete(b.psdBusy, key)
	sq := func(z complex128) float64 { return real(z)*real(z) + imag(z)*imag(z) }
	switch {
	case sig == regmap.SlotASG0 || sig == regmap.SlotASG1:
		if a := &b.asg[sig-regmap.SlotASG0]; a.random() && a.running {
			return b.asgVariance(a)
		}
	case sig == regmap.SlotIn1 || sig == regmap.SlotIn2:
		ch := sig - regmap.SlotIn1
		out := b.psd(regmap.SlotOut1+ch, f, false)
		if !b.noisy(sig) {
			return out
		}
		v := sq(b.cfg.InResponse(ch+1, f)) * out
		if asInput {
			v += b.cfg.NoiseStd()*b.cfg.NoiseStd() + LSB*LSB/12
		}
		return v
	case sig == regmap.SlotOut1 || sig == regmap.SlotOut2:
		var v float64
		for k := 0; k <= regmap.SlotASG1; k++ {
			if b.dsp.outDirect[k]&(1<<(sig-regmap.SlotOut1)) != 0 {
				key := k
				if k >= regmap.SlotIQ0 && k <= regmap.SlotIQ2 {
					key = iqDirectKey + k - regmap.SlotIQ0
				}
				v += b.psd(key, f, false)
			}
		}
		return v
	case sig <= regmap.SlotPID2:
		p := &b.pid[sig]
		spec := regmap.PIDFilterSpec
		core := sq(b.pidCore(sig, f))
		v := core * sq(spec.Response(p.filter, f)) * b.psd(int(b.dsp.inputSel[sig]), f, true)
		if j := pidPartner(sig); j >= 0 && p.differential() {
			v += core * sq(spec.Response(b.pid[j].filter, f)) * b.psd(int(b.dsp.inputSel[j]), f, true)
		}
		return v
	case sig == regmap.SlotIIR:
		return sq(b.iir.response(f)) * b.psd(int(b.dsp.inputSel[regmap.SlotIIR]), f, true)
	case sig >= regmap.SlotIQ0 && sig <= regmap.SlotIQ2:
		k := sig - regmap.SlotIQ0
		switch b.iq[k].outSel {
		case regmap.IQSignalQuadrature:
			return b.iqQuadPSD(k, f)
		case regmap.IQSignalOutputDirect:
			return b.psd(iqDirectKey+k, f, false)
		}
	case sig >= iqDirectKey:
		return b.iqDirectPSD(sig-iqDirectKey, f)
	case sig == regmap.SlotIQ2_2:
		return b.iqQuadPSD(2, f)
	}
	return 0
}

// iqLowPassedPSD is the density [24-bit units^2] of iq k's low-passed
// quadrature at f Hz: the input's density at f -+ the LO, quartered
// (x sin), times |L(f)|^2.
func (b *Board) iqLowPassedPSD(k int, f float64) float64 {
	q := &b.iq[k]
	if !b.iqOn(k) {
		return 0
	}
	quad := regmap.IQQuadFilterSpec
	if k == 2 {
		quad = regmap.IQ2QuadFilterSpec
	}
	in := int(b.dsp.inputSel[regmap.SlotIQ0+k])
	lo := q.demodLO().rate() * regmap.Clock
	var v float64
	for _, g := range [2]float64{f - lo, f + lo} {
		h := cabs(regmap.IQInputFilterSpec.Response(q.inFilter, g))
		v += h * h * b.psd(in, g, true) / 4
	}
	l := cabs(quad.Response(q.quadFilter, f))
	return v * l * l * iqDemodScale * iqDemodScale
}

// iqQuadPSD is the density [V^2] of iq k's quadrature output at f Hz.
func (b *Board) iqQuadPSD(k int, f float64) float64 {
	g := float64(regmap.ToSigned(b.iq[k].g[2], regmap.IQAmplitudeBits)) / (1 << regmap.IQQuadFactorShift) / regmap.VoltsNorm
	return g * g * b.iqLowPassedPSD(k, f)
}

// iqDirectPSD is the density [V^2] of iq k's band-pass output at f Hz.
func (b *Board) iqDirectPSD(k int, f float64) float64 {
	q := &b.iq[k]
	if !q.filtering() {
		return 0
	}
	lo := q.modLO().rate() * regmap.Clock
	var v float64
	for _, gi := range [2]int{0, 3} {
		g := float64(regmap.ToSigned(q.g[gi], regmap.IQAmplitudeBits)) / (1 << 20) * regmap.IQLUTAmplitude / (1 << 16) / regmap.VoltsNorm
		v += g * g * (b.iqLowPassedPSD(k, f-lo) + b.iqLowPassedPSD(k, f+lo)) / 4
	}
	return v
}

// asgVariance is the variance [V^2] of generator a's random mode: of its
// scaled table entries.
func (b *Board) asgVariance(a *asgState) float64 {
	if a.varVer == a.ver+1 {
		return a.variance
	}
	var s, s2 float64
	for i := range regmap.ASGDataLen {
		v := float64(a.value(uint64(i))) / regmap.VoltsNorm
		s += v
		s2 += v * v
	}
	m := s / regmap.ASGDataLen
	a.variance, a.varVer = s2/regmap.ASGDataLen-m*m, a.ver+1
	return a.variance
}

// Beyond noiseFullRateDec the samples' noise is synthesised from its
// density: with the boxcar average the samples y of a noise of density
// S(nu) have, at the sample rate, the density
//
//	S_y(mu) = (1/dec) sum_k S((mu + k)/dec) |D((mu + k)/dec)|^2,
//	D(nu) = sin(pi nu dec) / (dec sin(pi nu)),
//
// summed here over |k| <= synthAliases (the rest by its first term and
// the 1/k^2 decay of |D|^2) on synthGrid frequencies and interpolated.
// Blocks of bufLen samples (numbered by window number / bufLen) are drawn
// as keyed complex Gaussian spectra of that density and transformed back,
// so the samples have the right variance and spectrum; blocks are
// independent of each other. Without the average, a sample is one cycle
// of a noise whose correlation the decimation leaves behind: white, of
// the noise's variance (the integral of S).

const (
	synthAliases = 32
	synthGrid    = 512
)

// synthKey identifies a synthesised density.
type synthKey struct {
	sig int
	dec int64
	avg bool
}

// synthState caches a density and the last block made from it.
type synthState struct {
	psd   []float64 // S_y on bufLen/2+1 bins [LSB^2 per 1/sample], or nil: white of variance v
	v     float64
	block int64
	y     []float64 // the block's samples [LSB]
}

// addNoiseSynth is addNoisePath for long windows.
func (b *Board) addNoiseSynth(f []float64, sig int, cs, dec int64, avg bool) {
	st := b.synth(sig, dec, avg)
	w0 := cs / dec // window number of the first sample
	if !avg {
		sd := math.Sqrt(st.v) / regmap.VoltsNorm
		addNoise(f, b.cfg.Seed, streamSynth|uint64(sig)<<8, w0, 1, sd)
		return
	}
	for j := range f {
		w := w0 + int64(j)
		blk := floorDiv(w, bufLen)
		if st.y == nil || st.block != blk {
			st.y = b.synthBlock(st, sig, dec, blk, st.y)
			st.block = blk
		}
		f[j] += st.y[w-blk*bufLen] / regmap.VoltsNorm
	}
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// synth returns the density state for (sig, dec, avg) under the current
// configuration.
func (b *Board) synth(sig int, dec int64, avg bool) *synthState {
	if b.synths == nil || b.synthsVer != b.ver+1 {
		b.synths, b.synthsVer = map[synthKey]*synthState{}, b.ver+1
	}
	k := synthKey{sig, dec, avg}
	if st, ok := b.synths[k]; ok {
		return st
	}
	st := &synthState{block: -1}
	lsb2 := float64(regmap.VoltsNorm) * regmap.VoltsNorm
	S := func(nu float64) float64 { return b.noisePSD(sig, math.Abs(nu)*regmap.Clock) * lsb2 }
	if !avg {
		st.v = integrateDensity(S)
	} else {
		d := float64(dec)
		grid := make([]float64, synthGrid+1)
		for g := range grid {
			mu := 0.5 * float64(g) / synthGrid
			var sum float64
			for k := -synthAliases; k <= synthAliases; k++ {
				nu := (mu + float64(k)) / d
				sum += S(nu) * dirichlet2(nu, d)
			}
			// the tail: |D|^2 ~ sin^2(pi mu) / (pi (mu + k))^2 beyond the sum
			sp := math.Sin(math.Pi * mu)
			tail := sp * sp / (math.Pi * math.Pi) * 2 / synthAliases
			sum += tail * (S(synthAliases/d) + S(-synthAliases/d)) / 2
			grid[g] = sum / d
		}
		st.psd = make([]float64, bufLen/2+1)
		for m := range st.psd {
			x := float64(m) / float64(bufLen/2) * synthGrid
			g := min(int(x), synthGrid-1)
			st.psd[m] = grid[g] + (grid[g+1]-grid[g])*(x-float64(g))
		}
	}
	b.synths[k] = st
	return st
}

// dirichlet2 is |D(nu)|^2 of a boxcar average over d cycles.
func dirichlet2(nu, d float64) float64 {
	s := math.Sin(math.Pi * nu)
	if math.Abs(s) < 1e-300 {
		return 1
	}
	r := math.Sin(math.Pi*nu*d) / (d * s)
	return r * r
}

// integrateDensity is the integral of S over [-1/2, 1/2] (S even):
// adaptive Simpson from 1024 segments, each refined at most 6 times
// (peaks down to about 1 kHz wide are resolved; at most about 130000
// evaluations of S).
func integrateDensity(S func(nu float64) float64) float64 {
	const segs = 1024
	var total float64
	var simpson func(a, b, fa, fm, fb, whole float64, depth int) float64
	simpson = func(a, b, fa, fm, fb, whole float64, depth int) float64 {
		m := (a + b) / 2
		lm, rm := (a+m)/2, (m+b)/2
		flm, frm := S(lm), S(rm)
		left := (m - a) / 6 * (fa + 4*flm + fm)
		right := (b - m) / 6 * (fm + 4*frm + fb)
		if depth <= 0 || math.Abs(left+right-whole) < 1e-6*math.Abs(left+right)+1e-30 {
			return left + right
		}
		return simpson(a, m, fa, flm, fm, left, depth-1) + simpson(m, b, fm, frm, fb, right, depth-1)
	}
	h := 0.5 / segs
	for i := range segs {
		a, c := float64(i)*h, float64(i+1)*h
		fa, fm, fc := S(a), S((a+c)/2), S(c)
		total += simpson(a, c, fa, fm, fc, h/6*(fa+4*fm+fc), 6)
	}
	return 2 * total
}

// synthBlock draws block blk [LSB] of the density in st: keyed complex
// Gaussian coefficients of variance S_y M, transformed back (y = (1/M)
// sum X_m e^{j 2 pi m n / M}).
func (b *Board) synthBlock(st *synthState, sig int, dec, blk int64, dst []float64) []float64 {
	const m = bufLen
	coef := make([]complex128, m/2+1)
	base := key(b.cfg.Seed, streamSynth|uint64(sig)<<8|uint64(bits64(dec))<<16, uint64(blk))
	for i := range coef {
		g1, g2 := gauss2(mix(base + uint64(i)*counterMul))
		v := st.psd[i] * m
		if i == 0 || i == m/2 {
			coef[i] = complex(math.Sqrt(v)*g1, 0)
			continue
		}
		a := math.Sqrt(v / 2)
		coef[i] = complex(a*g1, a*g2)
	}
	if cap(dst) < m {
		dst = make([]float64, m)
	}
	dst = b.fft(m).Sequence(dst[:m], coef)
	for i := range dst {
		dst[i] /= m
	}
	return dst
}

// bits64 is the bit length of a positive decimation (its log2 for powers
// of two), which keys its synthesised blocks.
func bits64(d int64) int {
	n := 0
	for ; d > 1; d >>= 1 {
		n++
	}
	return n
}
