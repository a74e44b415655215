package sim

import (
	"math"
	"sort"

	"github.com/rpbus/rpbus/regmap"
)

// The slow engine runs the DC of the modules with memory or an output
// stage of their own (pid0..2, trig, iir) through time, event by event.
// Between events every module's DC input is constant, so each PID
// integrator moves on a straight line, int_reg(t) = x + slope (t - t0)
// with slope = e ki per cycle (e the mean error: AC and noise average
// out of it), until one module's output (its 14-bit DC value after
// saturation and the min/max clamp) changes: that is the next event,
// computed exactly from the line. At an event the DC network is
// evaluated again (with the modules' current outputs: a loop of modules
// settles within the event, as if the few cycles of pipeline between them
// took no time) and the lines start anew. So an open-loop integrator
// ramps exactly and rests at its rail, and a loop of PIDs (PyRPL's
// lockbox with a PID as its plant, or a PID through the low-pass of
// out2 -> in2) settles as the continuous-time loop would: the pipeline
// delays (4 to 6 cycles a module) only matter for loop bandwidths near a
// megahertz, which the engine does not reproduce (such a loop rings or
// oscillates on the board, and settles here). A loop that keeps a module
// dithering between two outputs is held where it is; at most
// maxSlowEvents events are processed per advance, then time jumps on
// along the current lines.
//
// Each module's sum before its output stage is kept in a history of
// changes, from which scope samples and register reads take the DC at
// any cycle; the AC and noise parts of a module's output ride on it
// before the output stage (pidState.outFn) acts.

// numSlow counts the slots the engine runs: pid0..2, trig, iir.
const numSlow = regmap.SlotIIR + 1

// maxSlowEvents bounds the events processed per advance (a few ms).
const maxSlowEvents = 1 << 14

// maxSlowHistory bounds the history; the oldest half is dropped when full.
const maxSlowHistory = 1 << 16

// slowRec is the modules' pre-output sums from cycle t on.
type slowRec struct {
	t   int64
	pre [numSlow]float64
}

// slowState is the engine's state at cycle t.
type slowState struct {
	t     int64
	x     [3]float64 // PID integrator registers (int_reg, 48 bit)
	slope [3]float64 // their change per cycle
	pd    [3]float64 // PID proportional terms
	pre   [numSlow]float64
	out   [numSlow]int64
	hist  []slowRec
	back  [2][numSlow]int64 // outputs one and two events ago
	still int               // events in a row that returned to the outputs of two events ago
}

// intMax is the integrator's rail.
const intMax = float64(pidIntMax)

func clampInt(x float64) float64 { return max(-intMax-1, min(intMax, x)) }

// intShr is pid k's int_shr at cycle now (advanced to): the integrator's
// top 16 bits, sign-extended.
func (s *slowState) intShr(k int, now int64) int64 {
	x := clampInt(s.x[k] + s.slope[k]*float64(now-s.t))
	return int64(math.Floor(x / pidINorm))
}

// setIntegrator writes pid k's integrator (an ival write) at the engine's
// current cycle.
func (s *slowState) setIntegrator(k int, v int64) { s.x[k] = float64(v) }

// moving reports whether an integrator is changing.
func (s *slowState) moving() bool {
	for k, sl := range s.slope {
		if sl > 0 && s.x[k] < intMax || sl < 0 && s.x[k] > -intMax-1 {
			return true
		}
	}
	return false
}

// move lets the integrators run on to cycle t along their lines.
func (s *slowState) move(t int64) {
	for k := range s.x {
		if s.slope[k] != 0 {
			s.x[k] = clampInt(s.x[k] + s.slope[k]*float64(t-s.t))
		}
	}
	s.t = t
}

// slowAdvance processes the engine's events up to cycle target.
func (b *Board) slowAdvance(target int64) {
	s := &b.slow
	if target <= s.t {
		return
	}
	if !s.moving() {
		s.t = target
		return
	}
	for range maxSlowEvents {
		dt := b.slowNextEvent()
		if dt > float64(target-s.t) {
			break
		}
		s.move(s.t + int64(dt))
		s.back[1], s.back[0] = s.back[0], s.out
		b.slowEval(s.t)
		if s.out == s.back[1] {
			s.still++
		} else {
			s.still = 0
		}
		if s.still >= 8 {
			// dithering about an equilibrium: hold it
			s.t = target
			return
		}
	}
	s.move(target)
	b.slowEval(target)
}

// slowNextEvent returns the cycles from the engine's time to the next
// change of a PID's output, +Inf if none comes.
func (b *Board) slowNextEvent() float64 {
	s := &b.slow
	next := math.Inf(1)
	for k := range s.slope {
		if s.slope[k] != 0 {
			next = min(next, b.pid[k].nextChange(s.x[k], s.slope[k], s.pd[k]))
		}
	}
	return next
}

// nextChange returns the cycles until the output of a PID whose
// integrator is at x, moving by slope per cycle, with proportional term
// pd, changes; +Inf if it never does (it rests at a clamp, or the
// integrator at its rail). The output is a function of int_shr = floor(x
// / 2^32) that is constant or follows int_shr between the breakpoints of
// the 14-bit saturation and the clamp: the first change is at the next
// int_shr value, or where a constant stretch ends.
func (p *pidState) nextChange(x, slope, pd float64) float64 {
	sh := math.Floor(x / pidINorm)
	g := func(s float64) int64 { return p.outFn(int64(math.Round(pd + s))) }
	g0 := g(sh)
	dir := 1.0
	if slope < 0 {
		dir = -1
	}
	const shMax = pidIntMax >> regmap.PIDISR
	best := math.Inf(1)
	try := func(s float64) {
		if d := (s - sh) * dir; d > 0 && d < best && s >= -shMax-1 && s <= shMax && g(s) != g0 {
			best = d
		}
	}
	try(sh + dir)
	for _, bp := range [...]float64{-8192, 8191, float64(p.lo()), float64(p.hi())} {
		for _, d := range [...]float64{-1, 0, 1} {
			try(math.Round(bp-pd) + d)
		}
	}
	if math.IsInf(best, 1) {
		return best
	}
	target := sh + dir*best
	var n float64
	if dir > 0 {
		n = (target*pidINorm - x) / slope
	} else {
		n = (x - ((target+1)*pidINorm - 1)) / -slope
	}
	return max(1, math.Ceil(n))
}

// slowEval evaluates the DC network at cycle t from the integrators:
// every module's DC output from its inputs' (Gauss-Seidel passes until
// nothing changes, so a chain settles at once and a loop within the
// passes it needs), the PIDs' slopes; a change of the pre-output sums
// goes into the history.
func (b *Board) slowEval(t int64) {
	s := &b.slow
	for range 32 {
		prev := s.out
		for k := range 3 {
			b.slowPID(k, t)
		}
		b.slowIIR(t)
		s.out[regmap.SlotTrig] = b.trigOutAt(t)
		s.pre[regmap.SlotTrig] = float64(s.out[regmap.SlotTrig])
		if s.out == prev {
			break
		}
	}
	n := len(s.hist)
	if n > 0 && s.hist[n-1].pre == s.pre {
		return
	}
	if n > 0 && s.hist[n-1].t == t {
		s.hist[n-1].pre = s.pre
		return
	}
	if n == maxSlowHistory {
		s.hist = append(s.hist[:0], s.hist[n/2:]...)
	}
	s.hist = append(s.hist, slowRec{t, s.pre})
}

// slowPID evaluates pid k's DC: error, proportional term, output, slope.
func (b *Board) slowPID(k int, t int64) {
	s := &b.slow
	p := &b.pid[k]
	if p.kp() == 0 && p.ki() == 0 {
		// no gain: the output is the integrator register, whatever the input
		s.pd[k], s.slope[k] = 0, 0
		s.pre[k] = math.Floor(s.x[k] / pidINorm)
		s.out[k] = p.outFn(int64(s.pre[k]))
		return
	}
	spec := regmap.PIDFilterSpec
	e := filterDC(spec, p.filter) * b.dcIn(int(b.dsp.inputSel[k]), t)
	switch j := pidPartner(k); {
	case p.differential() && j >= 0:
		e -= filterDC(spec, b.pid[j].filter) * b.dcIn(int(b.dsp.inputSel[j]), t)
	case !p.differential():
		e -= float64(regmap.ToSigned(p.sp, 14))
	}
	paused := b.pidPaused(k)
	s.pd[k], s.slope[k] = 0, 0
	if paused&2 == 0 {
		s.pd[k] = floorMean(e * float64(p.kp()) / pidPNorm)
	}
	if paused&1 == 0 {
		s.slope[k] = e * float64(p.ki())
	}
	s.pre[k] = s.pd[k] + math.Floor(s.x[k]/pidINorm)
	s.out[k] = p.outFn(int64(math.Round(s.pre[k])))
}

// floorMean is the mean of the Verilog's floor of v: floor(v) for a DC
// that is an integer number of steps, and v - 1/2 for one that is not
// (it is the mean of a signal dithered by noise or AC over the steps).
func floorMean(v float64) float64 {
	if f := math.Floor(v); v-f < 1e-9 {
		return f
	}
	return v - 0.5
}

// dcIn is the DC [LSB] of DSP signal sig as a module input, with the
// engine's current outputs: the static DC of its model plus the engine
// modules routed to it.
func (b *Board) dcIn(sig int, t int64) float64 {
	s := &b.slow
	switch {
	case sig < numSlow:
		return float64(s.out[sig])
	case sig == regmap.SlotOut1 || sig == regmap.SlotOut2:
		return b.model(sig).dcLevel()*regmap.VoltsNorm + b.routedDC(sig-regmap.SlotOut1, &s.out)
	case sig == regmap.SlotIn1 || sig == regmap.SlotIn2:
		ch := sig - regmap.SlotIn1
		v := b.routedDC(ch, &s.out)
		if b.noisy(sig) {
			v *= real(b.cfg.InResponse(ch+1, 0))
		}
		return b.model(sig).dcLevel()*regmap.VoltsNorm + v
	case sig == regmap.SlotOff:
		return 0
	}
	if k, ok := b.pfdSignal(sig); ok {
		return float64(b.pfdAt(k, t))
	}
	return b.model(sig).dcLevel() * regmap.VoltsNorm
}

// routedDC sums the outputs of the engine's modules routed to out1 (ch 0)
// or out2 (ch 1).
func (b *Board) routedDC(ch int, out *[numSlow]int64) float64 {
	var v float64
	for n := range numSlow {
		if b.dsp.outDirect[n]&(1<<ch) != 0 {
			v += float64(out[n])
		}
	}
	return v
}

// slowIndex returns the index of the history record in force at cycle c
// (the oldest if c precedes it), or -1 if there is none.
func (s *slowState) slowIndex(c int64) int {
	i := sort.Search(len(s.hist), func(i int) bool { return s.hist[i].t > c })
	if len(s.hist) == 0 {
		return -1
	}
	return max(0, i-1)
}

// slowPreAt is module k's pre-output DC sum [LSB] at cycle c.
func (b *Board) slowPreAt(k int, c int64) float64 {
	if i := b.slow.slowIndex(c); i >= 0 {
		return b.slow.hist[i].pre[k]
	}
	return 0
}

// hasSlow reports whether signal sig carries a DC from the engine: a
// module of its own, or one routed to the output it is or sees.
func (b *Board) hasSlow(sig int) bool {
	switch {
	case sig < numSlow:
		return true
	case sig >= regmap.SlotIn1 && sig <= regmap.SlotOut2:
		ch := (sig - regmap.SlotIn1) % 2
		for n := range numSlow {
			if b.dsp.outDirect[n]&(1<<ch) != 0 {
				return true
			}
		}
	}
	return false
}

// slowGain is the factor from the outputs routed to an output to what
// signal sig sees of them: the DUT's DC gain on in1/in2, else 1.
func (b *Board) slowGain(sig int) float64 {
	if (sig == regmap.SlotIn1 || sig == regmap.SlotIn2) && b.noisy(sig) {
		return real(b.cfg.InResponse(sig-regmap.SlotIn1+1, 0))
	}
	return 1
}

// slowTrig reports whether signal sig carries the trig module's output.
func (b *Board) slowTrig(sig int) bool {
	if sig == regmap.SlotTrig {
		return true
	}
	if sig >= regmap.SlotIn1 && sig <= regmap.SlotOut2 {
		return b.dsp.outDirect[regmap.SlotTrig]&(1<<((sig-regmap.SlotIn1)%2)) != 0
	}
	return false
}

// slowValue is the engine's DC [LSB] of signal sig under history record
// r, without the trig module's output: a module's pre-output sum, or the
// outputs routed to the output sig is or sees.
func (b *Board) slowValue(sig int, r *slowRec) float64 {
	if sig < numSlow {
		return r.pre[sig]
	}
	ch := (sig - regmap.SlotIn1) % 2
	var v float64
	for n := range numSlow {
		if n != regmap.SlotTrig && b.dsp.outDirect[n]&(1<<ch) != 0 {
			v += float64(b.outputStage(n, int64(math.Round(r.pre[n]))))
		}
	}
	return v * b.slowGain(sig)
}

// slowAt is the engine's DC contribution [LSB] to signal sig at cycle c:
// a module's pre-output sum, or the outputs routed to out1/out2 (through
// the DUT's DC gain on in1/in2).
func (b *Board) slowAt(sig int, c int64) float64 {
	if !b.hasSlow(sig) {
		return 0
	}
	var v float64
	if b.slowTrig(sig) {
		v = float64(b.trigOutAt(c)) * b.slowGain(sig)
		if sig == regmap.SlotTrig {
			return v
		}
	}
	if i := b.slow.slowIndex(c); i >= 0 {
		v += b.slowValue(sig, &b.slow.hist[i])
	}
	return v
}
