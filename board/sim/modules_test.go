package sim

import (
	"math"
	"math/cmplx"
	"testing"

	"github.com/rpbus/rpbus/regmap"
)

// Physics tests of the DSP modules: expected values are worked out here
// from the register values and the Verilog's equations, not taken from
// the model.

// clockBoard returns a board without bus cost on a virtual clock that
// only the test moves (now, in cycles).
func clockBoard(t *testing.T, cfg Config) (*Board, *int64) {
	t.Helper()
	v := newVirtualScope(t, cfg)
	return v.b, &v.now
}

// sampleVariance is the unbiased variance of x.
func sampleVariance(x []float64) float64 {
	var mean, v float64
	for _, y := range x {
		mean += y
	}
	mean /= float64(len(x))
	for _, y := range x {
		v += (y - mean) * (y - mean)
	}
	return v / float64(len(x)-1)
}

// naMeasure runs one NA point of iq module k at f Hz over n cycles on the
// virtual clock and returns PyRPL's normalised value (delay of 3 cycles
// corrected, no input filter) for an amplitude amp.
func naMeasure(t *testing.T, b *Board, now *int64, k int, f, amp float64, n uint32) complex128 {
	t.Helper()
	iq := regmap.Slot(regmap.SlotIQ0 + k)
	wr(t, b, iq+regmap.IQNAAverages, n)
	wr(t, b, iq+regmap.IQNASleepCycles, n/2)
	wr(t, b, iq+regmap.IQFrequency, regmap.FreqToReg(f, 32))
	*now += int64(n) + int64(n/2) + 10
	var w [4]uint32
	if err := b.Read(iq+regmap.IQNAISumLow, w[:]); err != nil {
		t.Fatal(err)
	}
	i, q, busy := regmap.NASums(w)
	if busy {
		t.Fatal("NA point still busy")
	}
	return regmap.NAValue(i, q, n, amp, regmap.RegToFreq(regmap.FreqToReg(f, 32), 32), 0, 0)
}

// setupNA makes iq module k a network analyzer source of amplitude amp
// whose output_signal is its modulator output and whose input is sig.
func setupNA(t *testing.T, b *Board, k int, amp float64, sig uint32) {
	t.Helper()
	iq := regmap.Slot(regmap.SlotIQ0 + k)
	wr(t, b, iq+regmap.DSPInputSelect, sig)
	wr(t, b, iq+regmap.IQOutputSignal, regmap.IQSignalOutputDirect)
	wr(t, b, iq+regmap.IQBandwidth, regmap.IQQuadFilterSpec.EncodeFilter(1000, 1000))
	wr(t, b, iq+regmap.IQAmplitude, uint32(math.Round(amp*regmap.IQAmplitudeNorm)))
}

// TestPIDTransferFunction measures pid0 with iq0 as a network analyzer
// (iq0 -> pid0 -> iq0, all digital) and compares with the response the
// Verilog's registers give: e[n] = x[n-1] - setpoint, P[n] = e[n-1] kp /
// 2^12, I[n+1] = I[n] + e[n-1] ki, out two registers after P + I/2^32:
// H = kp/2^12 z^-4 + ki/2^32 z^-5 / (1 - z^-1).
func TestPIDTransferFunction(t *testing.T) {
	const tol = 2e-3 // relative: the NA's 2f leakage and the LO table's rounding
	for _, c := range []struct {
		name   string
		kp, ki int64
		filter []float64
	}{
		{"p=1", 4096, 0, nil},
		{"p=0.025 i=250 Hz", 102, int64(math.Round(250 * (1 << 32) * 2 * math.Pi / regmap.Clock)), nil},
		{"p=-3", -3 * 4096, 0, nil},
		{"p=2 with a 50 kHz low-pass and a 5 kHz high-pass", 8192, 0, []float64{50e3, -5e3}},
	} {
		t.Run(c.name, func(t *testing.T) {
			b, now := clockBoard(t, DefaultConfig())
			const amp = 0.1
			setupNA(t, b, 0, amp, regmap.SlotPID0)
			pid := regmap.Slot(regmap.SlotPID0)
			wr(t, b, pid+regmap.DSPInputSelect, regmap.SlotIQ0)
			wr(t, b, pid+regmap.PIDP, regmap.FromSigned(c.kp, 24))
			wr(t, b, pid+regmap.PIDI, regmap.FromSigned(c.ki, 24))
			freg := regmap.PIDFilterSpec.EncodeFilter(c.filter...)
			wr(t, b, pid+regmap.PIDInputFilter, freg)
			for _, f := range []float64{10e3, 100e3, 1e6} {
				got := naMeasure(t, b, now, 0, f, amp, 1_250_000)
				fq := regmap.RegToFreq(regmap.FreqToReg(f, 32), 32)
				z1 := cmplx.Exp(complex(0, -2*math.Pi*fq/regmap.Clock))
				want := complex(float64(c.kp)/4096, 0)*z1*z1*z1*z1 + complex(float64(c.ki)/(1<<32), 0)*z1*z1*z1*z1*z1/(1-z1)
				// each filter stage: alpha / (z^2 - z + alpha) low, (z - 1) / (z^2 - z + alpha) high
				for i, bw := range c.filter {
					st := freg >> (8 * i) & 0xFF
					a := complex(regmap.PIDFilterSpec.Alpha(st), 0)
					z := 1 / z1
					if bw > 0 {
						want *= a / (z*z - z + a)
					} else {
						want *= (z - 1) / (z*z - z + a)
					}
				}
				want *= complex(NAGain, 0)
				if d := cmplx.Abs(got/want - 1); d > tol {
					t.Errorf("%g Hz: %.5f, want %.5f (%.2g off)", f, got, want, d)
				}
			}
		})
	}
}

// TestPIDDC checks the PID's DC path against its integer equations: P =
// floor(e kp / 2^12), the integrator adding e ki every cycle from the ival
// written, int_shr = floor(I / 2^32), its 48-bit rail, the min/max clamp.
func TestPIDDC(t *testing.T) {
	b, now := clockBoard(t, DefaultConfig())
	pid := regmap.Slot(regmap.SlotPID0)
	out := func() int64 { return regmap.ToSigned(rd(t, b, pid+regmap.DSPOutputSignal), 14) }
	ival := func() int64 { return regmap.ToSigned(rd(t, b, pid+regmap.PIDIntegrator), 16) }
	wr(t, b, pid+regmap.DSPInputSelect, regmap.SlotOff)
	wr(t, b, pid+regmap.PIDSetpoint, regmap.FromSigned(-819, 14)) // e = 0 - (-819) = 819
	// proportional: floor(819 * 2048 / 4096) = floor(409.5) = 409
	wr(t, b, pid+regmap.PIDP, 2048)
	*now += 100
	if got := out(); got != 409 {
		t.Errorf("P: output %d, want 409", got)
	}
	// negative error: floor(-409.5) = -410
	wr(t, b, pid+regmap.PIDSetpoint, 819)
	*now += 100
	if got := out(); got != -410 {
		t.Errorf("P, negative error: output %d, want -410", got)
	}
	// the max register clamps (0x1FFF = 8191 at reset; 328 now)
	wr(t, b, pid+regmap.PIDSetpoint, regmap.FromSigned(-819, 14))
	wr(t, b, pid+regmap.PIDMax, 328)
	*now += 100
	if got := out(); got != 328 {
		t.Errorf("clamped: output %d, want 328", got)
	}
	// integrator: 819 * 1000 per cycle, from the ival write on
	wr(t, b, pid+regmap.PIDP, 0)
	wr(t, b, pid+regmap.PIDMax, 0x1FFF)
	wr(t, b, pid+regmap.PIDI, 1000)
	wr(t, b, pid+regmap.PIDIntegrator, 0)
	*now += 1_000_000
	want := int64(math.Floor(819 * 1000 * 1e6 / (1 << 32))) // 190
	if got := ival(); got != want {
		t.Errorf("integrator after 1e6 cycles: %d, want %d", got, want)
	}
	if got := out(); got != want {
		t.Errorf("output after 1e6 cycles: %d, want %d", got, want)
	}
	// the integrator rests at its 48-bit rail (int_shr 32767, +4 V) while the
	// output stays at the 14-bit limit
	*now += 1_000_000_000
	if got := ival(); got != 1<<15-1 {
		t.Errorf("integrator after 8 s: %d, want the rail %d", got, 1<<15-1)
	}
	if got := out(); got != 8191 {
		t.Errorf("output at the rail: %d, want 8191", got)
	}
	// paused (pause bit 0 with the sync bit clear): the integrator holds
	wr(t, b, pid+regmap.PIDIntegrator, 100)
	wr(t, b, pid+regmap.PIDPause, 1)
	wr(t, b, pid+regmap.DSPSync, 0xFF&^1)
	*now += 10_000_000
	if got := ival(); got != 100 {
		t.Errorf("paused integrator: %d, want 100", got)
	}
}

// TestPIDClosedLoopThroughDUT closes a loop pid0 -> out2 -> in2 (the
// low-pass DUT, DC gain 1) -> pid0 with an integrator of unity gain at
// 1 kHz: the output approaches the setpoint as sp (1 - exp(-t/tau)),
// tau = 1/(2 pi 1 kHz), as the continuous loop does.
func TestPIDClosedLoopThroughDUT(t *testing.T) {
	cfg := DefaultConfig()
	cfg.NoiseDensity = 0
	b, now := clockBoard(t, cfg)
	pid := regmap.Slot(regmap.SlotPID0)
	const sp = 1638 // 0.2 V
	ki := int64(math.Round(1e3 * (1 << 32) * 2 * math.Pi / regmap.Clock))
	tau := (1 << 32) / float64(ki) // cycles
	wr(t, b, pid+regmap.DSPInputSelect, regmap.SlotIn2)
	wr(t, b, pid+regmap.DSPOutputDirect, regmap.OutputOut2)
	wr(t, b, pid+regmap.PIDSetpoint, sp)
	wr(t, b, pid+regmap.PIDI, regmap.FromSigned(-ki, 24)) // e = in - sp: negative feedback
	t0 := *now
	wr(t, b, pid+regmap.PIDIntegrator, 0)
	for _, n := range []float64{0.5, 1, 2, 5, 20} {
		*now = t0 + int64(n*tau)
		got := regmap.ToSigned(rd(t, b, pid+regmap.DSPOutputSignal), 14)
		want := sp * (1 - math.Exp(-n))
		// the output moves in steps of one LSB, the error is an integer
		if math.Abs(float64(got)-want) > 2 {
			t.Errorf("after %g tau: output %d, want %.1f", n, got, want)
		}
		if in2 := regmap.ToSigned(rd(t, b, regmap.ScopeBase+regmap.ScopeADC2), 14); math.Abs(float64(in2-got)) > 1 {
			t.Errorf("after %g tau: in2 %d, output %d (DC gain 1)", n, in2, got)
		}
	}
}

// TestIQDemodulatorDC demodulates iq2's own tone through out1 and the
// digital loop back to in1: with x = A sin(2 pi R(n-3)) (the modulator's
// three cycles) and the demodulator's sin/cos(2 pi (R(n) + theta)), the
// quadratures' DC is A 2^13 65535/2^6 / 2 cos(2 pi (3 f/fs + theta)) and
// -... sin(...), times g3 / 2^10 at the quadrature outputs (iq2 and
// iq2_2).
func TestIQDemodulatorDC(t *testing.T) {
	b, now := clockBoard(t, DefaultConfig())
	wr(t, b, regmap.HKBase+regmap.HKDigitalLoop, 1)
	iq := regmap.Slot(regmap.SlotIQ2)
	const amp, f, g3 = 0.5, 1e6, 3
	wr(t, b, iq+regmap.DSPInputSelect, regmap.SlotIn1)
	wr(t, b, iq+regmap.DSPOutputDirect, regmap.OutputOut1)
	wr(t, b, iq+regmap.IQOutputSignal, regmap.IQSignalQuadrature)
	wr(t, b, iq+regmap.IQBandwidth, regmap.IQ2QuadFilterSpec.EncodeFilter(1e3, 1e3, 1e3, 1e3))
	wr(t, b, iq+regmap.IQAmplitude, uint32(amp*regmap.IQAmplitudeNorm))
	wr(t, b, iq+regmap.IQQuadratureFactor, g3)
	wr(t, b, iq+regmap.IQFrequency, regmap.FreqToReg(f, 32))
	nu := regmap.RegToFreq(regmap.FreqToReg(f, 32), 32) / regmap.Clock
	for _, theta := range []float64{0, 0.1, 0.25, -3 * nu, 0.6} {
		wr(t, b, iq+regmap.IQPhase, uint32(int64(math.Round(theta*(1<<32)))))
		*now += 1000
		half := amp * regmap.VoltsNorm * regmap.IQLUTAmplitude / (1 << regmap.IQDemodShift) / 2 * g3 / (1 << 10)
		wantI := half * math.Cos(2*math.Pi*(3*nu+theta))
		wantQ := -half * math.Sin(2*math.Pi*(3*nu+theta))
		gotI := regmap.ToSigned(rd(t, b, iq+regmap.DSPOutputSignal), 14)
		gotQ := regmap.ToSigned(rd(t, b, regmap.Slot(regmap.SlotIQ2_2)+regmap.DSPOutputSignal), 14)
		// the tone is the 14-bit rounded sine: within 2 LSB
		if math.Abs(float64(gotI)-wantI) > 2 || math.Abs(float64(gotQ)-wantQ) > 2 {
			t.Errorf("theta %.3f turns: I %d Q %d, want %.1f %.1f", theta, gotI, gotQ, wantI, wantQ)
		}
	}
}

// TestIIRBiquadResponse measures one biquad with the NA and compares it
// with the Verilog's timing evaluated here cycle by cycle: with L loops,
// biquad 0 is updated every L cycles from the input of the cycle before,
// y = b0 x + b1 x1 + a1 y1 + a2 y2, and the output is the sum six cycles
// after the update, held for L cycles.
func TestIIRBiquadResponse(t *testing.T) {
	b, now := clockBoard(t, DefaultConfig())
	const amp, loops = 0.1, 7
	// a resonance at 200 kHz (of the biquad's own rate), Q about 5, unity DC gain
	ts := float64(loops) / regmap.Clock
	w0 := 2 * math.Pi * 200e3 * ts
	r := math.Exp(-w0 / 10)
	a1, a2 := 2*r*math.Cos(w0), -r*r
	b0 := (1 - a1 - a2) / 2
	b1 := b0
	coef := func(v float64) uint32 { return uint32(int32(math.Round(v * (1 << 29)))) }
	iir := regmap.Slot(regmap.SlotIIR)
	wr(t, b, iir+regmap.IIRCoefficients, coef(b0), 0, coef(b1), 0, coef(a1), 0, coef(a2), 0)
	wr(t, b, iir+regmap.IIRLoops, loops)
	wr(t, b, iir+regmap.DSPInputSelect, regmap.SlotIQ0)
	wr(t, b, iir+regmap.IIRControl, regmap.IIROn)
	setupNA(t, b, 0, amp, regmap.SlotIIR)
	q := func(v float64) float64 { return float64(int32(math.Round(v*(1<<29)))) / (1 << 29) }
	for _, f := range []float64{50e3, 180e3, 400e3, 2e6} {
		got := naMeasure(t, b, now, 0, f, amp, 1_250_000) / complex(NAGain, 0)
		// the pipeline, cycle by cycle, for x[n] = exp(j w n)
		fq := regmap.RegToFreq(regmap.FreqToReg(f, 32), 32)
		w := 2 * math.Pi * fq / regmap.Clock
		const n = 400_000
		var x1, y1, y2, out, sum complex128
		var acc complex128
		pending := int64(-1)
		for c := int64(0); c < n; c++ {
			if c%loops == loops-1 { // biquad 0's turn (stage0 == 0)
				x := cmplx.Exp(complex(0, w*float64(c-1)))
				y := complex(q(b0), 0)*x + complex(q(b1), 0)*x1 + complex(q(a1), 0)*y1 + complex(q(a2), 0)*y2
				x1, y2, y1 = x, y1, y
				sum, pending = y, c+6
			}
			if c == pending {
				out = sum
			}
			if c >= n/2 {
				acc += out * cmplx.Exp(complex(0, -w*float64(c)))
			}
		}
		want := acc / (n / 2)
		if d := cmplx.Abs(got - want); d > 2e-3*cmplx.Abs(want)+1e-4 {
			t.Errorf("%g Hz: %.5f, want %.5f", f, got, want)
		}
	}
}

// TestTrigPhase arms the trig module on a 10 kHz sine from asg0 (offset
// 0.5 V, amplitude 0.4 V, threshold 0.5 V): it fires three cycles after
// the first upward crossing after arming, takes the table index asg0 had
// one cycle before as its phase, and disarms.
func TestTrigPhase(t *testing.T) {
	b, now := clockBoard(t, DefaultConfig())
	tr := regmap.Slot(regmap.SlotTrig)
	wr(t, b, tr+regmap.DSPInputSelect, regmap.SlotASG0)
	wr(t, b, tr+regmap.TrigThreshold, 4096)
	wr(t, b, tr+regmap.TrigHysteresis, 8)
	wr(t, b, tr+regmap.TrigSource, regmap.TrigSourcePosEdge)
	wr(t, b, tr+regmap.TrigOutputSelect, 1)
	wr(t, b, tr+regmap.TrigArmed, 1)
	if rd(t, b, tr+regmap.TrigArmed) != 0 {
		t.Fatal("armed in the cycle of the write (the rearm takes two registers)")
	}
	*now += 2
	if rd(t, b, tr+regmap.TrigArmed) != 1 {
		t.Fatal("not armed")
	}
	const f = 10e3
	startSine(t, b, 0, f, 0.4, 0)
	wr(t, b, regmap.ASGBase+regmap.ASGReg(0, regmap.ASGAmpOffset), uint32(math.Round(0.4*8192))|4096<<16)
	start := *now // the generator's start: the control write
	*now += 200_000
	if rd(t, b, tr+regmap.TrigArmed) != 0 {
		t.Fatal("still armed after two periods")
	}
	// the generator's value, from its registers: table[ptr >> 16] * amp >> 13
	// + offset, ptr = step * (c - start)
	step := uint64(regmap.FreqToReg(f, 30))
	val := func(c int64) int64 {
		ptr := uint64(c-start) * step % (1 << 30)
		tab := int64(math.Round(8191 * math.Sin(2*math.Pi*float64(ptr>>16)/regmap.ASGDataLen)))
		return tab*int64(math.Round(0.4*8192))>>13 + 4096
	}
	// the Schmitt state starts from the first sample; an edge needs a dip
	// below threshold - hysteresis first
	state, cross := val(start) >= 4096, int64(-1)
	for c := start + 1; c < start+200_000 && cross < 0; c++ {
		v := val(c)
		switch {
		case v >= 4096 && !state:
			cross = c
		case v < 4096-8:
			state = false
		}
		if v >= 4096 {
			state = true
		}
	}
	ts := int64(rd(t, b, tr+regmap.TrigTrigTimeLow)) | int64(rd(t, b, tr+regmap.TrigTrigTimeHigh))<<32
	if ts != cross+3 {
		t.Errorf("trigger at cycle %d, want the crossing %d + 3", ts, cross)
	}
	ph := regmap.ToSigned(rd(t, b, tr+regmap.DSPOutputSignal), 14)
	wantPh := int64(uint64(cross+2-start) * step % (1 << 30) >> 16)
	if ph != regmap.ToSigned(uint32(wantPh), 14) {
		t.Errorf("phase output %d, want the table index %d", ph, wantPh)
	}
}

// TestASGNoise plays the random mode with a table of uniform steps: the
// output is white (flat spectrum) with the table's variance, and the
// boxcar-averaged samples at decimation 16 have a sixteenth of it.
func TestASGNoise(t *testing.T) {
	b := newBoard(t)
	tab := make([]uint32, regmap.ASGDataLen)
	var s, s2 float64
	for i := range tab {
		v := int64(i%2001) - 1000 // -1000 .. 1000 LSB
		tab[i] = regmap.FromSigned(v, 14)
		s += float64(v)
		s2 += float64(v * v)
	}
	m := s / regmap.ASGDataLen
	variance := (s2/regmap.ASGDataLen - m*m) / regmap.VoltsNorm / regmap.VoltsNorm
	wr(t, b, regmap.ASGBase+regmap.ASGDataA, tab...)
	wr(t, b, regmap.ASGBase+regmap.ASGAmpOffset, 0x2000)
	wr(t, b, regmap.ASGBase, regmap.ASGRandom|regmap.ASGTrigHigh)
	wr(t, b, regmap.Slot(regmap.SlotScope1)+regmap.DSPInputSelect, regmap.SlotASG0)
	for _, c := range []struct {
		dec  uint32
		avg  bool
		want float64
	}{{1, false, variance}, {16, true, variance / 16}} {
		a := acquire(t, b, c.dec, c.avg, regmap.TrigImmediately, bufLen)
		x := a.ch[0]
		v := sampleVariance(x)
		// 16384 samples: the variance's standard error is 1.1%
		if math.Abs(v/c.want-1) > 0.06 {
			t.Errorf("dec %d: variance %.4g V^2, want %.4g", c.dec, v, c.want)
		}
		if c.avg {
			continue
		}
		// flat: the power in the lower and the upper half of the band (a
		// first difference would halve the lower half's share)
		lo, hi := halfBandPower(x)
		if math.Abs(lo/hi-1) > 0.1 {
			t.Errorf("spectrum not flat: lower half %.4g, upper half %.4g", lo, hi)
		}
	}
}

// halfBandPower splits the power of x between the lower and upper half of
// its band with a DFT.
func halfBandPower(x []float64) (lo, hi float64) {
	n := len(x)
	c := newFFT(n).Coefficients(nil, x)
	for k := 1; k < len(c)-1; k++ {
		p := real(c[k])*real(c[k]) + imag(c[k])*imag(c[k])
		if k < n/4 {
			lo += p
		} else {
			hi += p
		}
	}
	return lo, hi
}

// TestNoiseThroughModules records pid0 = 4 x in1 (input noise of std
// sigma, quantised: sigma^2 + 1/12 LSB^2 a cycle): white, so a sample's
// variance is 16 (sigma^2 + 1/12) / dec with the boxcar average, 16
// (sigma^2 + 1/12) without, plus the sample's own rounding (1/12 LSB^2);
// cycle by cycle at decimation 4, synthesised at 1024.
func TestNoiseThroughModules(t *testing.T) {
	b := newBoard(t)
	pid := regmap.Slot(regmap.SlotPID0)
	wr(t, b, pid+regmap.PIDP, 4*4096)
	wr(t, b, regmap.Slot(regmap.SlotScope1)+regmap.DSPInputSelect, regmap.SlotPID0)
	sa := b.Config().NoiseStd() * regmap.VoltsNorm
	for _, c := range []struct {
		dec uint32
		avg bool
	}{{4, true}, {1024, true}, {1024, false}} {
		a := acquire(t, b, c.dec, c.avg, regmap.TrigImmediately, bufLen)
		v := sampleVariance(a.ch[0]) * regmap.VoltsNorm * regmap.VoltsNorm
		want := 16*(sa*sa+1.0/12) + 1.0/12
		if c.avg {
			want = 16*(sa*sa+1.0/12)/float64(c.dec) + 1.0/12
		}
		if math.Abs(v/want-1) > 0.08 {
			t.Errorf("dec %d, average %v: variance %.4g LSB^2, want %.4g", c.dec, c.avg, v, want)
		}
	}
}

// TestNarrowbandNoiseSynthesised passes the random generator through an
// IQ band-pass at 100 kHz (2 kHz wide) and records it at decimation 64,
// beyond the cycle-by-cycle limit: the synthesised samples keep the
// peak, their density at 100 kHz far above that at 500 kHz.
func TestNarrowbandNoiseSynthesised(t *testing.T) {
	b := newBoard(t)
	tab := make([]uint32, regmap.ASGDataLen)
	for i := range tab {
		tab[i] = regmap.FromSigned(int64(i%2001)-1000, 14)
	}
	wr(t, b, regmap.ASGBase+regmap.ASGDataA, tab...)
	wr(t, b, regmap.ASGBase+regmap.ASGAmpOffset, 0x2000)
	wr(t, b, regmap.ASGBase, regmap.ASGRandom|regmap.ASGTrigHigh)
	iq := regmap.Slot(regmap.SlotIQ0)
	wr(t, b, iq+regmap.DSPInputSelect, regmap.SlotASG0)
	wr(t, b, iq+regmap.IQOutputSignal, regmap.IQSignalOutputDirect)
	wr(t, b, iq+regmap.IQBandwidth, regmap.IQQuadFilterSpec.EncodeFilter(2e3))
	wr(t, b, iq+regmap.IQG1, 2048*8)
	wr(t, b, iq+regmap.IQG4, 2048*8)
	wr(t, b, iq+regmap.IQFrequency, regmap.FreqToReg(100e3, 32))
	wr(t, b, regmap.Slot(regmap.SlotScope1)+regmap.DSPInputSelect, regmap.SlotIQ0)
	const dec = 64
	a := acquire(t, b, dec, true, regmap.TrigImmediately, bufLen)
	c := newFFT(bufLen).Coefficients(nil, a.ch[0])
	fs := regmap.Clock / dec
	band := func(f float64) float64 {
		k := int(math.Round(f / fs * bufLen))
		var p float64
		for i := k - 20; i <= k+20; i++ {
			p += real(c[i])*real(c[i]) + imag(c[i])*imag(c[i])
		}
		return p
	}
	if on, off := band(100e3), band(500e3); on < 100*off {
		t.Errorf("density at 100 kHz %.3g, at 500 kHz %.3g: the band-pass is not there", on, off)
	}
}

// TestPIDClosedLoopAC sweeps a loop with the network analyzer: iq0's tone
// and pid0 both drive out1, the DUT's resonance takes out1 to in1, and
// pid0 and iq0 both take in1. With the PID's response C(f) = kp/2^12 z^-4
// (from its registers, as in TestPIDTransferFunction) and the resonance
// H(f) = g j f f0/Q / (f0^2 - f^2 + j f f0/Q) worked out here, in1 carries
// the tone times H / (1 - H C): the loop's response is the open one
// divided by 1 - H C, at each frequency, for a damping loop and for one
// that feeds back in phase at the resonance.
func TestPIDClosedLoopAC(t *testing.T) {
	const tol = 3e-3 // relative: the NA's 2f leakage and the LO table's rounding, twice
	for _, kp := range []int64{-2048, 1024} {
		cfg := DefaultConfig()
		cfg.NoiseDensity = 0
		b, now := clockBoard(t, cfg)
		const amp = 0.1
		setupNA(t, b, 0, amp, regmap.SlotIn1)
		wr(t, b, regmap.Slot(regmap.SlotIQ0)+regmap.DSPOutputDirect, regmap.OutputOut1)
		pid := regmap.Slot(regmap.SlotPID0)
		wr(t, b, pid+regmap.DSPInputSelect, regmap.SlotIn1)
		wr(t, b, pid+regmap.PIDP, regmap.FromSigned(kp, 24))
		for _, f := range []float64{300e3, 1e6, 2.5e6} {
			wr(t, b, pid+regmap.DSPOutputDirect, 0)
			open := naMeasure(t, b, now, 0, f, amp, 125_000)
			wr(t, b, pid+regmap.DSPOutputDirect, regmap.OutputOut1)
			closed := naMeasure(t, b, now, 0, f, amp, 125_000)
			fq := regmap.RegToFreq(regmap.FreqToReg(f, 32), 32)
			d := cfg.DUT1
			jw := complex(0, fq*d.F0/d.Q)
			h := complex(d.Gain, 0) * jw / (complex(d.F0*d.F0-fq*fq, 0) + jw)
			c := complex(float64(kp)/4096, 0) * cmplx.Exp(complex(0, -2*math.Pi*4*fq/regmap.Clock))
			want := open / (1 - h*c)
			if e := cmplx.Abs(closed/want - 1); e > tol {
				t.Errorf("kp %d, %g Hz: closed %.5f, want %.5f (open %.5f, %.2g off)", kp, f, closed, want, open, e)
			}
		}
	}
}
