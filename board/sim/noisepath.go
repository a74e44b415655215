package sim

import (
	"math"

	"github.com/rpbus/rpbus/regmap"
)

// Noise paths. The harmonic model carries what is periodic and the slow
// engine the DC; what is left is noise: the ASG's random mode (a table
// entry at a random index every cycle: white, with the table's
// distribution) and the inputs' ADC noise and quantisation. Where noise
// reaches a signal only through the inputs' own sampling (a scope of in1)
// it is drawn as before; where it passes modules or the DUT it is
// simulated cycle by cycle, as linear filters with the modules' own
// difference equations (the floors left out): the DUT as a bilinear
// (prewarped) discrete version of H1 or H2, a PID's input filter, P and I
// (an integrator of noise starts from zero at its warm-up), the IIR's
// time-multiplexed biquads, an IQ module's demodulation, quadrature
// low-pass and modulation with its LO. Each node keeps its state, so
// consecutive stretches continue; one asked for a stretch that does not
// continue the last restarts noiseWarmup cycles (its filters' memory)
// before it. Values are a function of the seed and the cycle, up to the
// small difference a restart makes.

// noiseNode makes one signal's noise [LSB], cycle by cycle.
type noiseNode interface {
	// run writes the noise of cycles c0 .. c0+len(dst)-1 to dst, the
	// node's state having reached c0.
	run(b *Board, c0 int64, dst []float64)
	// reset clears the state (a restart).
	reset()
	// memory is the cycles the node's output depends on: the warm-up.
	memory() int64
}

// noiseChunk is the stretch a node makes at once.
const noiseChunk = 4096

// maxNoiseWarmup caps a restart's warm-up (1 ms).
const maxNoiseWarmup = 1 << 17

// stream wraps a node with its position and the last chunk it made, so
// that two consumers of one node (pid0 and pid1 on in1) get equal values
// and consecutive requests continue.
type stream struct {
	node    noiseNode
	pos     int64 // the state has reached this cycle
	warm    int64
	lastC0  int64
	last    []float64
	tmp     []float64 // warm-up scratch
	started bool
}

func newStream(n noiseNode) *stream {
	return &stream{node: n, warm: min(maxNoiseWarmup, n.memory()), lastC0: -1}
}

// get writes the noise of cycles c0.. to dst (len(dst) <= noiseChunk).
func (s *stream) get(b *Board, c0 int64, dst []float64) {
	if c0 == s.lastC0 && len(dst) <= len(s.last) {
		copy(dst, s.last)
		return
	}
	s.seek(b, c0)
	s.node.run(b, c0, dst)
	s.pos = c0 + int64(len(dst))
	s.lastC0 = c0
	s.last = append(s.last[:0], dst...)
}

// seek brings the state to cycle c0: on from the current position, or
// from a restart s.warm cycles before c0.
func (s *stream) seek(b *Board, c0 int64) {
	if s.started && c0 >= s.pos && c0-s.pos <= s.warm {
		// continue
	} else {
		s.node.reset()
		s.pos = c0 - s.warm
		s.started = true
	}
	if s.tmp == nil {
		s.tmp = make([]float64, noiseChunk)
	}
	for s.pos < c0 {
		n := int(min(noiseChunk, c0-s.pos))
		s.node.run(b, s.pos, s.tmp[:n])
		s.pos += int64(n)
	}
	s.lastC0 = -1
}

// noiseStream returns the noise stream of signal sig (what it carries
// beyond its model and slow DC, an input's own ADC noise excluded), or nil.
func (b *Board) noiseStream(sig int) *stream {
	if sig == regmap.SlotIn1 || sig == regmap.SlotIn2 {
		return b.upstreamNoise(sig)
	}
	return b.inputNoise(sig)
}

// noiseCache drops the noise streams after a configuration change.
func (b *Board) noiseCache() {
	if b.noisesVer != b.ver+1 {
		if b.noises == nil {
			b.noises = map[int]*stream{}
		}
		clear(b.noises)
		b.noisesVer = b.ver + 1
	}
}

// dutKey keys the cache of the noise in1/in2 receive through the DUT.
const dutKey = 200

// upstreamNoise is the noise stream in1/in2 receive from their output
// (through the DUT), or nil.
func (b *Board) upstreamNoise(sig int) *stream {
	ch := sig - regmap.SlotIn1
	out := b.inputNoise(regmap.SlotOut1 + ch)
	if out == nil || !b.noisy(sig) {
		return out
	}
	b.noiseCache()
	if s, ok := b.noises[dutKey+ch]; ok {
		return s
	}
	s := newStream(newDUTNode(b.cfg, ch, out))
	b.noises[dutKey+ch] = s
	return s
}

// inputNoise is the noise stream of signal sig as a module input sees it
// (for in1/in2: the ADC code minus its noiseless value), or nil; one per
// signal and configuration, shared by its consumers.
func (b *Board) inputNoise(sig int) *stream {
	b.noiseCache()
	if s, ok := b.noises[sig]; ok {
		return s
	}
	b.noises[sig] = nil // a loop of modules is opened here
	var n noiseNode
	switch {
	case sig == regmap.SlotASG0 || sig == regmap.SlotASG1:
		if a := &b.asg[sig-regmap.SlotASG0]; a.random() && a.running {
			n = &asgNoise{ch: sig - regmap.SlotASG0}
		}
	case sig == regmap.SlotIn1 || sig == regmap.SlotIn2:
		up := b.upstreamNoise(sig)
		if !b.noisy(sig) || up == nil && b.cfg.NoiseDensity == 0 {
			// a noiseless input's quantisation is part of its exact value
			b.noises[sig] = up
			return up
		}
		n = &adcNoise{sig: sig, up: up}
	case sig == regmap.SlotOut1 || sig == regmap.SlotOut2:
		var parts []*stream
		for k := 0; k <= regmap.SlotASG1; k++ {
			if b.dsp.outDirect[k]&(1<<(sig-regmap.SlotOut1)) == 0 {
				continue
			}
			key := k
			if k >= regmap.SlotIQ0 && k <= regmap.SlotIQ2 {
				key = iqDirectKey + k - regmap.SlotIQ0
			}
			if c := b.inputNoise(key); c != nil {
				parts = append(parts, c)
			}
		}
		if len(parts) > 0 {
			n = &sumNoise{parts: parts}
		}
	case sig <= regmap.SlotPID2:
		n = b.pidNoise(sig)
	case sig == regmap.SlotIIR:
		n = b.iirNoise()
	case sig >= regmap.SlotIQ0 && sig <= regmap.SlotIQ2:
		k := sig - regmap.SlotIQ0
		switch b.iq[k].outSel {
		case regmap.IQSignalQuadrature:
			n = b.iqNoise(k, iqQuadI)
		case regmap.IQSignalOutputDirect:
			s := b.inputNoise(iqDirectKey + k)
			b.noises[sig] = s
			return s
		}
	case sig >= iqDirectKey:
		n = b.iqNoise(sig-iqDirectKey, iqDirect)
	case sig == regmap.SlotIQ2_2:
		n = b.iqNoise(2, iqQuadQ)
	}
	var s *stream
	if n != nil {
		s = newStream(n)
	}
	b.noises[sig] = s
	return s
}

// noiseAt is the noise [V] signal sig carries at cycle c besides an
// input's own ADC noise.
func (b *Board) noiseAt(sig int, c int64) float64 {
	s := b.noiseStream(sig)
	if s == nil {
		return 0
	}
	var v [1]float64
	s.get(b, c, v[:])
	return v[0] / regmap.VoltsNorm
}

// noiseFullRateDec: up to this decimation noise through modules is
// simulated cycle by cycle (at most 16 x 16384 cycles a trace, made faster
// than the board writes them); beyond, it is synthesised at the sample
// rate (addNoiseSynth).
const noiseFullRateDec = 16

// addNoisePath adds to f[j] [V] the noise of signal sig at cycle cs +
// j*dec + dec - 1, or with avg its mean over [cs + j*dec, cs + (j+1)*dec).
func (b *Board) addNoisePath(f []float64, sig int, cs, dec int64, avg bool) {
	s := b.noiseStream(sig)
	if s == nil {
		return
	}
	if dec > noiseFullRateDec {
		b.addNoiseSynth(f, sig, cs, dec, avg)
		return
	}
	if b.noiseBuf == nil {
		b.noiseBuf = make([]float64, noiseChunk)
	}
	buf := b.noiseBuf
	end := cs + int64(len(f))*dec
	var acc float64
	j, k := 0, int64(0) // sample, cycle within its window
	scale := 1.0 / regmap.VoltsNorm
	if avg {
		scale /= float64(dec)
	}
	for c := cs; c < end; {
		n := int(min(noiseChunk, end-c))
		s.get(b, c, buf[:n])
		if dec == 1 {
			for i, v := range buf[:n] {
				f[j+i] += v * scale
			}
			j += n
			c += int64(n)
			continue
		}
		for _, v := range buf[:n] {
			acc += v
			if k++; k == dec {
				if avg {
					f[j] += acc * scale
				} else {
					f[j] += v * scale
				}
				j, k, acc = j+1, 0, 0
			}
		}
		c += int64(n)
	}
}

// hasNoisePath reports whether sig carries noise through modules or the DUT.
func (b *Board) hasNoisePath(sig int) bool { return b.noiseStream(sig) != nil }

// ---- sources ----

// asgNoise is a generator's random mode minus its mean: the table entry
// at the keyed random index of every cycle (as asgState.outAt).
type asgNoise struct{ ch int }

func (n *asgNoise) reset()        {}
func (n *asgNoise) memory() int64 { return 0 }
func (n *asgNoise) run(b *Board, c0 int64, dst []float64) {
	a := &b.asg[n.ch]
	mean := b.model(regmap.SlotASG0+n.ch).dcLevel() * regmap.VoltsNorm
	for i := range dst {
		c := c0 + int64(i)
		dst[i] = 0
		if a.playing(c) {
			dst[i] = float64(a.outAt(b.cfg.Seed, c)) - mean
		}
	}
}

// adcNoise is what an input's ADC adds to the noise from upstream
// (through the DUT): its own noise, the keyed draws the scope's samples of
// that input take, and the quantisation as an independent uniform error
// of one step (keyed by the cycle; exact for the statistics where the
// noise is above half a step, which the default's 6.5 steps are).
type adcNoise struct {
	sig int
	up  *stream
}

func (n *adcNoise) reset() {}
func (n *adcNoise) memory() int64 {
	if n.up != nil {
		return n.up.warm
	}
	return 0
}
func (n *adcNoise) run(b *Board, c0 int64, dst []float64) {
	clear(dst)
	if n.up != nil {
		n.up.get(b, c0, dst)
	}
	st := uint64(streamIn1)
	if n.sig == regmap.SlotIn2 {
		st = streamIn2
	}
	addNoise(dst, b.cfg.Seed, st, c0, 1, b.cfg.NoiseStd()*regmap.VoltsNorm)
	k := streamKey(b.cfg.Seed, streamQuant+st)
	for i := range dst {
		u := mix(k + uint64(c0+int64(i))*counterMul)
		dst[i] += float64(u>>11)/(1<<53) - 0.5
	}
}

// sumNoise adds its parts (the out sum; its saturation is left out).
type sumNoise struct {
	parts []*stream
	tmp   scratch
}

func (n *sumNoise) reset() {}
func (n *sumNoise) memory() int64 {
	var m int64
	for _, p := range n.parts {
		m = max(m, p.warm)
	}
	return m
}
func (n *sumNoise) run(b *Board, c0 int64, dst []float64) {
	clear(dst)
	for _, p := range n.parts {
		t := n.tmp.get(len(dst))
		p.get(b, c0, t)
		for i, v := range t {
			dst[i] += v
		}
	}
}

// scratch is a node's buffer of up to noiseChunk values, made on first use.
type scratch []float64

func (s *scratch) get(n int) []float64 {
	if len(*s) < n {
		*s = make([]float64, noiseChunk)
	}
	return (*s)[:n]
}

// ---- filters ----

// lpfFloat is one stage of red_pitaya_lpf_block.v without the floor:
// y[n+1] = y[n] + alpha delta[n], delta[n+1] = x[n] - y[n]; the low-pass
// output is y, the high-pass delta (regmap.FilterSpec.StageResponse).
type lpfFloat struct {
	alpha     float64
	high, on  bool
	y, delta  float64
	memoryCyc int64
}

func newLPF(spec regmap.FilterSpec, stage uint32) lpfFloat {
	a := spec.Alpha(stage)
	l := lpfFloat{alpha: a, on: stage&regmap.FilterOn != 0, high: stage&regmap.FilterHighPass != 0}
	if l.on && a > 0 {
		l.memoryCyc = int64(math.Min(maxNoiseWarmup, 8/a))
	}
	return l
}

func (l *lpfFloat) step(x float64) float64 {
	if !l.on {
		return x
	}
	y, d := l.y, l.delta
	l.y += l.alpha * d
	l.delta = x - y
	if l.high {
		return d
	}
	return y
}

// filterChain is a filter register's stages.
type filterChain []lpfFloat

func newFilterChain(spec regmap.FilterSpec, reg uint32) filterChain {
	c := make(filterChain, spec.Stages)
	for i := range c {
		c[i] = newLPF(spec, reg>>(8*i)&0xFF)
	}
	return c
}

func (c filterChain) step(x float64) float64 {
	for i := range c {
		if c[i].on {
			x = c[i].step(x)
		}
	}
	return x
}

// active reports whether any stage is on.
func (c filterChain) active() bool {
	for _, l := range c {
		if l.on {
			return true
		}
	}
	return false
}

func (c filterChain) reset() {
	for i := range c {
		c[i].y, c[i].delta = 0, 0
	}
}

func (c filterChain) memory() int64 {
	var m int64
	for _, l := range c {
		m += l.memoryCyc
	}
	return m
}

// delayLine returns its input n cycles late (n < 8).
type delayLine struct {
	buf [8]float64
	n   uint8
	w   uint8
}

func newDelay(n int) delayLine { return delayLine{n: uint8(n)} }

func (d *delayLine) step(x float64) float64 {
	d.buf[d.w&7] = x
	v := d.buf[(d.w-d.n)&7]
	d.w++
	return v
}

// ago is the input k cycles before the last one stepped (k <= 7).
func (d *delayLine) ago(k uint8) float64 { return d.buf[(d.w-1-k)&7] }

func (d *delayLine) reset() { d.buf = [8]float64{} }

// biquadFloat is a direct-form-I biquad y = b0 x + b1 x1 + b2 x2 - a1 y1 -
// a2 y2 (a1, a2 in scipy's sign convention).
type biquadFloat struct {
	b0, b1, b2, a1, a2 float64
	x1, x2, y1, y2     float64
}

func (q *biquadFloat) step(x float64) float64 {
	y := q.b0*x + q.b1*q.x1 + q.b2*q.x2 - q.a1*q.y1 - q.a2*q.y2
	q.x2, q.x1, q.y2, q.y1 = q.x1, x, q.y1, y
	return y
}

// dutNode is the DUT between an output and an input, discretised with the
// bilinear transform prewarped at f0 (resonance) or fc (low-pass): exact
// there and at DC, within a few percent of H1/H2 well below Nyquist.
type dutNode struct {
	in  *stream
	q   biquadFloat
	mem int64
	tmp scratch
}

func newDUTNode(cfg Config, ch int, in *stream) *dutNode {
	n := &dutNode{in: in}
	T := 1 / regmap.Clock
	if ch == 0 {
		r := cfg.DUT1
		w0 := 2 * math.Pi * r.F0
		k := w0 / math.Tan(w0*T/2) // prewarped s = k (z-1)/(z+1)
		a := w0 / r.Q
		den := k*k + a*k + w0*w0
		n.q = biquadFloat{b0: r.Gain * a * k / den, b2: -r.Gain * a * k / den,
			a1: 2 * (w0*w0 - k*k) / den, a2: (k*k - a*k + w0*w0) / den}
		n.mem = int64(math.Min(maxNoiseWarmup, 8*2*r.Q/(w0*T)))
	} else {
		lp := cfg.DUT2
		wc := 2 * math.Pi * lp.Fc
		k := wc / math.Tan(wc*T/2)
		den := k + wc
		n.q = biquadFloat{b0: lp.Gain * wc / den, b1: lp.Gain * wc / den, a1: (wc - k) / den}
		n.mem = int64(math.Min(maxNoiseWarmup, 8/(wc*T)))
	}
	n.mem += in.warm
	return n
}

func (n *dutNode) reset() {
	n.q.x1, n.q.x2, n.q.y1, n.q.y2 = 0, 0, 0, 0
}
func (n *dutNode) memory() int64 { return n.mem }
func (n *dutNode) run(b *Board, c0 int64, dst []float64) {
	t := n.tmp.get(len(dst))
	n.in.get(b, c0, t)
	for i, v := range t {
		dst[i] = n.q.step(v)
	}
}

// ---- modules ----

// pidNoise is pid k's response to its input's noise: the input filter,
// then kp/2^12 four cycles and the integrator five cycles later.
type pidNoise struct {
	in, partner   *stream
	f, fp         filterChain
	p, i          float64
	dly           delayLine
	integ         float64
	tin, tpartner scratch
}

func (b *Board) pidNoise(k int) noiseNode {
	p := &b.pid[k]
	paused := b.pidPaused(k)
	var gp, gi float64
	if paused&2 == 0 {
		gp = float64(p.kp()) / pidPNorm
	}
	if paused&1 == 0 {
		gi = float64(p.ki()) / pidINorm
	}
	if gp == 0 && gi == 0 {
		return nil
	}
	n := &pidNoise{dly: newDelay(5), p: gp, i: gi}
	in := b.inputNoise(int(b.dsp.inputSel[k]))
	var partner *stream
	if j := pidPartner(k); j >= 0 && p.differential() {
		partner = b.inputNoise(int(b.dsp.inputSel[j]))
		n.fp = newFilterChain(regmap.PIDFilterSpec, b.pid[j].filter)
	}
	if in == nil && partner == nil {
		return nil
	}
	n.in, n.partner = in, partner
	n.f = newFilterChain(regmap.PIDFilterSpec, p.filter)
	return n
}

func (n *pidNoise) reset() {
	n.f.reset()
	n.fp.reset()
	n.dly.reset()
	n.integ = 0
}

func (n *pidNoise) memory() int64 {
	var m int64
	if n.in != nil {
		m = n.in.warm
	}
	if n.partner != nil {
		m = max(m, n.partner.warm)
	}
	return m + max(n.f.memory(), n.fp.memory()) + 8
}

func (n *pidNoise) run(b *Board, c0 int64, dst []float64) {
	x, y := n.tin.get(len(dst)), n.tpartner.get(len(dst))
	clear(x)
	clear(y)
	if n.in != nil {
		n.in.get(b, c0, x)
	}
	if n.partner != nil {
		n.partner.get(b, c0, y)
	}
	filt := n.f.active() || n.fp.active()
	for j := range dst {
		e := x[j]
		if n.partner != nil {
			e -= y[j]
		}
		if filt {
			e = n.f.step(x[j])
			if n.partner != nil {
				e -= n.fp.step(y[j])
			}
		}
		// e four cycles ago for P; the integrator sums up to five ago
		e5 := n.dly.step(e)
		n.integ += n.i * e5
		dst[j] = n.p*n.dly.ago(4) + n.integ
	}
}

// iirNoise is the IIR's response to its input's noise, with its biquads
// updated one after another every L cycles as the Verilog does.
type iirNoise struct {
	in         *stream
	f          filterChain
	s          iirState
	l, nb      int
	x1, y1, y2 [regmap.IIRStages]float64
	xprev      float64
	out, next  float64
	nextAt     int64 // cycle the pending sum is output
	mem        int64
	tmp        scratch
}

func (b *Board) iirNoise() noiseNode {
	if !b.iir.on() && !b.iir.shortcut() {
		return nil
	}
	in := b.inputNoise(int(b.dsp.inputSel[regmap.SlotIIR]))
	if in == nil {
		return nil
	}
	s := b.iir
	n := &iirNoise{in: in, f: newFilterChain(regmap.IIRFilterSpec, s.filter), s: s, l: s.period(), nb: s.biquads(), nextAt: -1}
	// memory: the slowest pole, at most maxNoiseWarmup
	n.mem = n.in.warm + n.f.memory() + int64(8*n.l)
	for j := range n.nb {
		a1, a2 := s.coefficient(j, 2), s.coefficient(j, 3)
		r := math.Sqrt(math.Abs(a2)) // |pole| of a complex pair
		if a1*a1+4*a2 >= 0 {         // real poles: the larger
			r = (math.Abs(a1) + math.Sqrt(a1*a1+4*a2)) / 2
		}
		if r < 1 {
			n.mem += int64(math.Min(maxNoiseWarmup, 8/(1-r)*float64(n.l)))
		} else {
			n.mem = maxNoiseWarmup
		}
	}
	return n
}

func (n *iirNoise) reset() {
	n.f.reset()
	n.x1, n.y1, n.y2 = [regmap.IIRStages]float64{}, [regmap.IIRStages]float64{}, [regmap.IIRStages]float64{}
	n.xprev, n.out, n.next, n.nextAt = 0, 0, 0, -1
}

func (n *iirNoise) memory() int64 { return min(maxNoiseWarmup, n.mem) }

func (n *iirNoise) run(b *Board, c0 int64, dst []float64) {
	x := n.tmp.get(len(dst))
	n.in.get(b, c0, x)
	l := int64(n.l)
	for i := range dst {
		c := c0 + int64(i)
		xf := n.f.step(x[i])
		if n.s.shortcut() {
			dst[i] = n.xprev
			n.xprev = xf
			continue
		}
		// stage0 counts down: biquad j is updated when c mod L == L-1-j,
		// with the input of the cycle before (the x0 register)
		if j := int(l - 1 - c%l); j < n.nb {
			s := &n.s
			y := s.coefficient(j, 0)*n.xprev + s.coefficient(j, 1)*n.x1[j] + s.coefficient(j, 2)*n.y1[j] + s.coefficient(j, 3)*n.y2[j]
			n.x1[j], n.y2[j], n.y1[j] = n.xprev, n.y1[j], y
			if j == 0 {
				var sum float64
				for k := range n.nb {
					sum += n.y1[k]
				}
				n.next, n.nextAt = sum, c+6
			}
		}
		if c == n.nextAt {
			n.out = n.next
		}
		dst[i] = n.out
		n.xprev = xf
	}
}

// IQ noise outputs.
const (
	iqDirect = iota // output_direct: the band-pass (the amplitude term is deterministic)
	iqQuadI         // quadrature output
	iqQuadQ         // iq2_2
)

// iqNoise is iq k's response to its input's noise: input filter,
// demodulation with its LO, quadrature low-pass, then the quadrature
// output or the modulator, with the Verilog's delays.
type iqNoise struct {
	kind       int
	in         *stream
	fin        filterChain
	fi, fq     filterChain
	dI, dQ     delayLine // demodulator to low-pass: 2 cycles
	dOut       delayLine
	g1, g3, g4 float64
	theta      float64
	dem, mod   acc
	mem        int64
	tmp        scratch
}

func (b *Board) iqNoise(k, kind int) noiseNode {
	q := &b.iq[k]
	switch {
	case !b.iqOn(k), kind == iqDirect && !q.filtering(), kind != iqDirect && q.g[2] == 0:
		return nil
	}
	n := &iqNoise{kind: kind, theta: float64(q.phase) / (1 << 32), dem: q.demodLO(), mod: q.modLO(),
		dI: newDelay(2), dQ: newDelay(2)}
	n.g1 = float64(regmap.ToSigned(q.g[0], regmap.IQAmplitudeBits))
	n.g3 = float64(regmap.ToSigned(q.g[2], regmap.IQAmplitudeBits))
	n.g4 = float64(regmap.ToSigned(q.g[3], regmap.IQAmplitudeBits))
	in := b.inputNoise(int(b.dsp.inputSel[regmap.SlotIQ0+k]))
	if in == nil {
		return nil
	}
	n.in = in
	quad := regmap.IQQuadFilterSpec
	if k == 2 {
		quad = regmap.IQ2QuadFilterSpec
	}
	n.fin = newFilterChain(regmap.IQInputFilterSpec, q.inFilter)
	n.fi, n.fq = newFilterChain(quad, q.quadFilter), newFilterChain(quad, q.quadFilter)
	if kind == iqDirect {
		n.dOut = newDelay(IQOutputLatencyCycles)
	} else {
		n.dOut = newDelay(1)
	}
	n.mem = n.in.warm + n.fin.memory() + n.fi.memory() + 8
	return n
}

func (n *iqNoise) reset() {
	n.fin.reset()
	n.fi.reset()
	n.fq.reset()
	n.dI.reset()
	n.dQ.reset()
	n.dOut.reset()
}

func (n *iqNoise) memory() int64 { return min(maxNoiseWarmup, n.mem) }

func (n *iqNoise) run(b *Board, c0 int64, dst []float64) {
	x := n.tmp.get(len(dst))
	n.in.get(b, c0, x)
	// LOs by rotation, re-anchored every anchorEvery cycles
	var rd, rm, sd, sm complex128
	for i := range dst {
		c := c0 + int64(i)
		if i%anchorEvery == 0 {
			rd = expj(2 * math.Pi * (n.dem.turns(c) + n.theta))
			rm = expj(2 * math.Pi * n.mod.turns(c))
			sd = expj(2 * math.Pi * n.dem.rate())
			sm = expj(2 * math.Pi * n.mod.rate())
		}
		xf := n.fin.step(x[i]) * regmap.IQLUTAmplitude / (1 << regmap.IQDemodShift)
		qi := n.fi.step(n.dI.step(xf * imag(rd)))
		qq := n.fq.step(n.dQ.step(xf * real(rd)))
		var v float64
		switch n.kind {
		case iqQuadI:
			v = qi * n.g3 / (1 << regmap.IQQuadFactorShift)
		case iqQuadQ:
			v = qq * n.g3 / (1 << regmap.IQQuadFactorShift)
		default:
			v = (qi*n.g1*imag(rm) + qq*n.g4*real(rm)) / (1 << 20) * regmap.IQLUTAmplitude / (1 << 16)
		}
		dst[i] = n.dOut.step(v)
		rd *= sd
		rm *= sm
	}
}
