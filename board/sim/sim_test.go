package sim

import (
	"context"
	"math"
	"math/cmplx"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rpbus/rpbus/board"
	"github.com/rpbus/rpbus/regmap"
)

const (
	// fitSigmas: a fitted amplitude may differ from the model by this many
	// standard errors (derived from the sample noise).
	fitSigmas = 6
	// quantTol: deterministic 14-bit quantisation and rounding allowance [V].
	quantTol = 2.0 / regmap.VoltsNorm
)

func newBoard(t testing.TB) *Board {
	t.Helper()
	b, err := New(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func wr(t testing.TB, b *Board, addr uint32, v ...uint32) {
	t.Helper()
	if err := b.Write(addr, v); err != nil {
		t.Fatal(err)
	}
}

func rd(t testing.TB, b *Board, addr uint32) uint32 {
	t.Helper()
	var w [1]uint32
	if err := b.Read(addr, w[:]); err != nil {
		t.Fatal(err)
	}
	return w[0]
}

// startSine plays a sine of amplitude amp [V] and frequency f on asg
// channel ch, routed to out (1, 2 or 0 for none).
func startSine(t testing.TB, b *Board, ch int, f, amp float64, out uint32) {
	t.Helper()
	tab := make([]uint32, regmap.ASGDataLen)
	for i := range tab {
		tab[i] = regmap.FromSigned(int64(math.Round(8191*math.Sin(2*math.Pi*float64(i)/regmap.ASGDataLen))), 14)
	}
	wr(t, b, regmap.ASGBase+regmap.ASGData(ch), tab...)
	ampReg := uint32(math.Round(amp * 8192))
	wr(t, b, regmap.ASGBase+regmap.ASGReg(ch, regmap.ASGAmpOffset), ampReg)
	wr(t, b, regmap.ASGBase+regmap.ASGReg(ch, regmap.ASGCounterWrap), regmap.ASGDefaultWrap)
	wr(t, b, regmap.ASGBase+regmap.ASGReg(ch, regmap.ASGStep), regmap.FreqToReg(f, 30))
	wr(t, b, regmap.Slot(regmap.SlotASG0+ch)+regmap.DSPOutputDirect, out)
	ctrl := rd(t, b, regmap.ASGBase)
	sh := regmap.ASGControlShift(ch)
	ctrl &^= 0xFFFF << sh
	ctrl |= (regmap.ASGWrap | regmap.ASGTrigImmediately) << sh
	wr(t, b, regmap.ASGBase, ctrl)
}

type acq struct {
	ch   [2][]float64
	dec  uint32
	t0   time.Time
	wait time.Duration
}

// acquire runs one PyRPL-style acquisition and returns both traces in
// volts, oldest first.
func acquire(t testing.TB, b *Board, dec uint32, avg bool, src uint32, delay uint32) acq {
	t.Helper()
	s := regmap.ScopeBase
	wr(t, b, s+regmap.ScopeControl, regmap.ScopeReset)
	wr(t, b, s+regmap.ScopeDecimation, dec)
	a := uint32(0)
	if avg {
		a = 1
	}
	wr(t, b, s+regmap.ScopeAverage, a)
	wr(t, b, s+regmap.ScopeDelay, delay)
	t0 := time.Now()
	wr(t, b, s+regmap.ScopeControl, regmap.ScopeArm)
	wr(t, b, s+regmap.ScopeTriggerSource, src)
	ok, err := b.WaitFor(context.Background(), board.Cond{Addr: s + regmap.ScopeControl, Mask: regmap.ScopeArm | regmap.ScopeDelayRunning, Value: 0, Timeout: 20 * time.Second})
	if err != nil || !ok {
		t.Fatalf("acquisition did not finish: %v %v", ok, err)
	}
	r := acq{dec: dec, t0: t0, wait: time.Since(t0)}
	trig := rd(t, b, s+regmap.ScopeTriggerPointer)
	shift := int((trig + delay + 1) % bufLen)
	for ch := 0; ch < 2; ch++ {
		raw := make([]uint32, bufLen)
		if err := b.Read(s+regmap.ScopeCh1Data+uint32(ch)*0x10000, raw); err != nil {
			t.Fatal(err)
		}
		r.ch[ch] = make([]float64, bufLen)
		for i := range raw {
			r.ch[ch][i] = regmap.RegToVolts(raw[(i+shift)%bufLen])
		}
	}
	return r
}

// ReadHalves gives the low halves of what Read gives: across both data
// buffers and the registers before them.
func TestReadHalves(t *testing.T) {
	b := newBoard(t)
	startSine(t, b, 0, 1e6, 0.5, regmap.OutputOut1)
	acquire(t, b, 1, false, regmap.TrigImmediately, bufLen)
	for _, c := range []struct {
		addr uint32
		n    int
	}{
		{regmap.ScopeBase + regmap.ScopeCh1Data, 2 * bufLen},
		{regmap.ScopeBase + regmap.ScopeCh1Data + 4*(bufLen-3), 7},
		{regmap.ScopeBase, 40},
	} {
		words := make([]uint32, c.n)
		halves := make([]uint16, c.n)
		if err := b.Read(c.addr, words); err != nil {
			t.Fatal(err)
		}
		if err := b.ReadHalves(c.addr, halves); err != nil {
			t.Fatal(err)
		}
		nonzero := 0
		for i, w := range words {
			if uint16(w) != halves[i] {
				t.Fatalf("%#x + %d words: %#x, half %#x", c.addr, i, w, halves[i])
			}
			if w != 0 {
				nonzero++
			}
		}
		if nonzero == 0 {
			t.Errorf("%#x: nothing but zeros read", c.addr)
		}
	}
}

// fit returns the complex amplitude c of x[i] ~ Re(c exp(j 2 pi f i dt)) + dc.
func fit(x []float64, f, dt float64) complex128 {
	var si, ci, ss, cc, sc, s1, c1, m float64
	n := float64(len(x))
	for i, v := range x {
		s, c := math.Sincos(2 * math.Pi * f * float64(i) * dt)
		si += v * s
		ci += v * c
		ss += s * s
		cc += c * c
		sc += s * c
		s1 += s
		c1 += c
		m += v
	}
	// remove the mean, then solve the 2x2 normal equations
	ci -= m * c1 / n
	si -= m * s1 / n
	cc -= c1 * c1 / n
	ss -= s1 * s1 / n
	sc -= s1 * c1 / n
	det := cc*ss - sc*sc
	a := (ci*ss - si*sc) / det // cos coefficient
	bb := (si*cc - ci*sc) / det
	return complex(a, -bb)
}

func TestRegisterRoundTrip(t *testing.T) {
	b := newBoard(t)
	cases := []struct {
		addr, v, want uint32
	}{
		{regmap.HKBase + regmap.HKLED, 0x1A5, 0xA5},
		{regmap.HKBase + regmap.HKDigitalLoop, 3, 1},
		{regmap.ScopeBase + regmap.ScopeThreshold, 0x12345, 0x2345},
		{regmap.ScopeBase + regmap.ScopeHysteresis, 0x40, 0x40},
		{regmap.ScopeBase + regmap.ScopeDelay, 0xDEADBEEF, 0xDEADBEEF},
		{regmap.ScopeBase + regmap.ScopeDecimation, 0x3FFFF, 0x1FFFF},
		{regmap.ScopeBase + regmap.ScopeDebounce, 0x123456, 0x23456},
		{regmap.ASGBase + regmap.ASGReg(1, regmap.ASGStep), 0xFFFFFFFF, 1<<30 - 1},
		{regmap.ASGBase + regmap.ASGReg(0, regmap.ASGAmpOffset), 0xFFFFFFFF, 0x3FFF3FFF},
		{regmap.ASGBase + regmap.ASGReg(1, regmap.ASGBursts), 0x12345, 0x2345},
		{regmap.Slot(regmap.SlotIQ1) + regmap.IQNAAverages, 12345, 12345},
		{regmap.Slot(regmap.SlotIQ1) + regmap.IQNASleepCycles, 77, 77},
		{regmap.Slot(regmap.SlotIQ2) + regmap.IQAmplitude, 0xFFFFFFFF, 0x3FFFF},
		{regmap.Slot(regmap.SlotIQ0) + regmap.IQBandwidth, 0x9191, 0x9191},
		{regmap.Slot(regmap.SlotPID1) + regmap.PIDSetpoint, 0xFFFF, 0x3FFF},
		{regmap.Slot(regmap.SlotPID2) + regmap.PIDP, 0x1FFFFFF, 0xFFFFFF},
		{regmap.Slot(regmap.SlotTrig) + regmap.TrigThreshold, 0x1234, 0x1234},
		{regmap.Slot(regmap.SlotIQ0) + regmap.DSPInputSelect, 0x1B, 0xB},
		{regmap.Slot(regmap.SlotASG1) + regmap.DSPOutputDirect, 7, 3},
		{regmap.AMSBase + regmap.AMSDAC2, 0x1FFFFFF, 0xFFFFFF},
	}
	for _, c := range cases {
		wr(t, b, c.addr, c.v)
		if got := rd(t, b, c.addr); got != c.want {
			t.Errorf("%#x: wrote %#x, read %#x, want %#x", c.addr, c.v, got, c.want)
		}
	}
	if rd(t, b, regmap.HKBase+regmap.HKID) != 1 {
		t.Error("hk id")
	}
	if rd(t, b, regmap.Slot(regmap.SlotIQ0)+regmap.IQLPFBits) != 24 || rd(t, b, regmap.Slot(regmap.SlotIQ2)+regmap.IQQuadFilterStagesReg) != 4 {
		t.Error("iq build constants")
	}
	if rd(t, b, regmap.Slot(regmap.SlotScope2)+regmap.DSPInputSelect) != regmap.SlotIn2 {
		t.Error("scope ch2 input must default to in2")
	}
	// the counter runs
	t1 := rd(t, b, regmap.ScopeBase+regmap.ScopeTimeLow)
	time.Sleep(time.Millisecond)
	if t2 := rd(t, b, regmap.ScopeBase+regmap.ScopeTimeLow); t2-t1 < 100000 {
		t.Errorf("timestamp advanced %d cycles in 1 ms", t2-t1)
	}
	if err := b.Read(0x40500000, make([]uint32, 1)); err == nil {
		t.Error("unmapped read must fail")
	}
}

func TestImmediateAcquisitionTiming(t *testing.T) {
	b := newBoard(t)
	const dec = 64 // 67 ms
	s := regmap.ScopeBase
	wr(t, b, s+regmap.ScopeControl, regmap.ScopeReset)
	wr(t, b, s+regmap.ScopeDecimation, dec)
	wr(t, b, s+regmap.ScopeDelay, bufLen)
	before := b.Now()
	wr(t, b, s+regmap.ScopeControl, regmap.ScopeArm)
	start := b.Now()
	wr(t, b, s+regmap.ScopeTriggerSource, regmap.TrigImmediately)
	after := b.Now()
	duration := int64(bufLen * dec)
	for {
		c := rd(t, b, s+regmap.ScopeControl)
		now := b.Now()
		if c&(regmap.ScopeArm|regmap.ScopeDelayRunning) == 0 {
			if now-start < duration {
				t.Fatalf("ready after %d cycles, the trace takes %d", now-start, duration)
			}
			break
		}
		if c&regmap.ScopeArm == 0 {
			t.Fatalf("control %#x: delay running while not armed", c)
		}
		if now-start > 2*duration+125e6 {
			t.Fatal("never ready")
		}
		time.Sleep(2 * time.Millisecond)
	}
	// only the samples between arming and the trigger write precede the trigger
	if n := int64(rd(t, b, s+regmap.ScopeSamplesWritten)); n > (after-before)/dec+1 {
		t.Errorf("samples before the immediate trigger: %d, at most %d", n, (after-before)/dec+1)
	}
	ts := uint64(rd(t, b, s+regmap.ScopeTrigTimeLow)) | uint64(rd(t, b, s+regmap.ScopeTrigTimeHigh))<<32
	if int64(ts)-start < 0 || int64(ts)-start > 125e3 {
		t.Errorf("trigger timestamp %d vs start %d", ts, start)
	}
}

func TestSineThroughDUT(t *testing.T) {
	b := newBoard(t)
	cfg := b.Config()
	const f, amp = 1.2e6, 0.4
	startSine(t, b, 0, f, amp, regmap.OutputOut1)
	wr(t, b, regmap.Slot(regmap.SlotScope2)+regmap.DSPInputSelect, regmap.SlotOut1)
	r := acquire(t, b, 1, false, regmap.TrigImmediately, bufLen)
	fq := regmap.RegToFreq(regmap.FreqToReg(f, 30), 30)
	dt := 1 / regmap.Clock
	in := fit(r.ch[0], fq, dt)
	out := fit(r.ch[1], fq, dt)
	if math.Abs(cmplx.Abs(out)-amp) > quantTol {
		t.Errorf("out1 amplitude %g, want %g", cmplx.Abs(out), amp)
	}
	got := in / out
	want := cfg.InResponse(1, fq)
	se := cfg.SampleNoiseStd(1, false) * math.Sqrt(2.0/bufLen) / amp
	if cmplx.Abs(got-want) > fitSigmas*se+quantTol/amp {
		t.Errorf("in1/out1 = %v (|%.4f| %.2f deg), want %v (|%.4f| %.2f deg), tol %g", got, cmplx.Abs(got),
			cmplx.Phase(got)*180/math.Pi, want, cmplx.Abs(want), cmplx.Phase(want)*180/math.Pi, fitSigmas*se)
	}
	// the generator's own waveform is played exactly: out1 = table values
	wr(t, b, regmap.Slot(regmap.SlotScope1)+regmap.DSPInputSelect, regmap.SlotASG0)
	r = acquire(t, b, 1, false, regmap.TrigImmediately, bufLen)
	for i := range r.ch[0] {
		if r.ch[0][i] != r.ch[1][i] {
			t.Fatalf("asg0 and out1 differ at %d: %g %g", i, r.ch[0][i], r.ch[1][i])
		}
	}
}

func TestBoxcarNoise(t *testing.T) {
	b := newBoard(t)
	cfg := b.Config()
	for _, dec := range []uint32{1, 4, 16, 64} {
		r := acquire(t, b, dec, true, regmap.TrigImmediately, bufLen)
		var m, v float64
		for _, x := range r.ch[0] {
			m += x
		}
		m /= bufLen
		for _, x := range r.ch[0] {
			v += (x - m) * (x - m)
		}
		sd := math.Sqrt(v / (bufLen - 1))
		want := cfg.SampleNoiseStd(dec, true)
		// floor() adds up to 1/sqrt(12) LSB of rounding noise at large dec
		extra := math.Sqrt(want*want + LSB*LSB/12)
		if sd < want*0.95 || sd > extra*1.08 {
			t.Errorf("dec %d: noise std %g V, want %g..%g", dec, sd, want, extra)
		}
	}
}

func TestEdgeTrigger(t *testing.T) {
	b := newBoard(t)
	const f = 50e3
	startSine(t, b, 0, f, 0.8, regmap.OutputOut1)
	wr(t, b, regmap.Slot(regmap.SlotScope1)+regmap.DSPInputSelect, regmap.SlotOut1)
	const th = 0.3
	wr(t, b, regmap.ScopeBase+regmap.ScopeThreshold, regmap.VoltsToReg(th))
	for _, dec := range []uint32{1, 8} {
		r := acquire(t, b, dec, false, regmap.TrigCh1Pos, bufLen/2)
		// first sample at or above the threshold after a sample below it,
		// searching around the centre
		cross := -1
		for i := bufLen/2 - 40; i < bufLen/2+40; i++ {
			if r.ch[0][i-1] < th && r.ch[0][i] >= th {
				cross = i
				break
			}
		}
		want := bufLen/2 - 1 // the trigger sample sits at index 8191
		if dec == 1 {
			want = bufLen/2 - 1 - (ScopeEdgeLatencyCycles - 1) // latency of 2 samples at dec 1
		}
		if cross != want {
			t.Errorf("dec %d: crossing at %d, want %d", dec, cross, want)
		}
	}
	// an unreachable threshold never fires and costs nothing
	wr(t, b, regmap.ScopeBase+regmap.ScopeThreshold, regmap.VoltsToReg(0.95))
	wr(t, b, regmap.ScopeBase+regmap.ScopeControl, regmap.ScopeArm)
	wr(t, b, regmap.ScopeBase+regmap.ScopeTriggerSource, regmap.TrigCh1Pos)
	ok, err := b.WaitFor(context.Background(), board.Cond{Addr: regmap.ScopeBase, Mask: regmap.ScopeArm, Value: 0, Timeout: 50 * time.Millisecond})
	if ok || err != nil {
		t.Errorf("unreachable trigger fired: %v %v", ok, err)
	}
}

func TestNA(t *testing.T) {
	b := newBoard(t)
	cfg := b.Config()
	iq := regmap.Slot(regmap.SlotIQ1)
	const amp = 0.2
	wr(t, b, iq+regmap.DSPInputSelect, regmap.SlotIn1)
	wr(t, b, iq+regmap.DSPOutputDirect, regmap.OutputOut1)
	wr(t, b, iq+regmap.IQOutputSignal, regmap.IQSignalOutputDirect)
	wr(t, b, iq+regmap.IQBandwidth, regmap.IQQuadFilterSpec.EncodeFilter(1000, 1000))
	acb := regmap.IQInputFilterSpec.EncodeFilter(-50)
	wr(t, b, iq+regmap.IQInputFilter, acb)
	wr(t, b, iq+regmap.IQAmplitude, uint32(math.Round(amp*regmap.IQAmplitudeNorm)))
	const avg = 125000 // 1 ms
	wr(t, b, iq+regmap.IQNAAverages, avg)
	wr(t, b, iq+regmap.IQNASleepCycles, 62500)
	for _, f := range []float64{200e3, 900e3, 1e6, 1.1e6, 5e6} {
		started := time.Now()
		wr(t, b, iq+regmap.IQFrequency, regmap.FreqToReg(f, 32))
		fq := regmap.RegToFreq(regmap.FreqToReg(f, 32), 32)
		// busy while the point runs (1.5 ms): a read that a loaded
		// machine delayed beyond that may find it done
		busy := rd(t, b, iq+regmap.IQNAISumLow)&regmap.IQNABusy != 0
		if !busy && time.Since(started) < 1500*time.Microsecond {
			t.Fatal("point not busy right after start")
		}
		ok, err := b.WaitFor(context.Background(), board.Cond{Addr: iq + regmap.IQNAISumLow, Mask: regmap.IQNABusy, Value: 0, Timeout: time.Second})
		if !ok || err != nil {
			t.Fatal("NA point did not finish", err)
		}
		var w [4]uint32
		if err := b.Read(iq+regmap.IQNAISumLow, w[:]); err != nil {
			t.Fatal(err)
		}
		i, q, busy := regmap.NASums(w)
		if busy {
			t.Fatal("busy after done")
		}
		y := regmap.NAValue(i, q, avg, amp, fq, acb, cfg.CableDelay)
		// the exact input filter vs PyRPL's analog model, and the LO peak
		want := cfg.H1(fq) * complex(NAGain, 0)
		tol := fitSigmas*cfg.NANoiseStd(avg, amp, 1) + 1e-3
		if cmplx.Abs(y-want) > tol {
			t.Errorf("f %g: NA %v (|%.4f| %.2f deg), want %v (|%.4f| %.2f deg)", fq, y, cmplx.Abs(y), cmplx.Phase(y)*180/math.Pi,
				want, cmplx.Abs(want), cmplx.Phase(want)*180/math.Pi)
		}
	}
}

// waitLateP50: the median lateness TestWaitForPrecision allows. Waits
// end 10 to 20 us late on an idle machine and the odd one milliseconds
// late on a busy one (a load of 20 on 2 cores); a prediction lost to the
// timeout shows at the median. The test logs the figures.
const waitLateP50 = 10 * time.Millisecond

// waitLateMax: the lateness no wait of TestWaitForPrecision may exceed,
// generous for a loaded machine (a descheduled test goroutine comes back
// within tens of milliseconds at a load of 20 on 2 cores) yet well short
// of the wait's 1 s timeout, which a wait that missed its point would run
// into.
const waitLateMax = 300 * time.Millisecond

// TestWaitForPrecision: a wait for a network-analyzer point never ends
// before the point does, ends within waitLateMax of it, and at the median
// within waitLateP50.
func TestWaitForPrecision(t *testing.T) {
	b := newBoard(t)
	iq := regmap.Slot(regmap.SlotIQ0)
	const n = 187500 // 1.5 ms
	wr(t, b, iq+regmap.IQNAAverages, n)
	late := make([]time.Duration, 20)
	for k := range late {
		wr(t, b, iq+regmap.IQFrequency, uint32(1000+k))
		end := b.start.Add(time.Duration(b.iq[0].doneAt() * 8))
		ok, err := b.WaitFor(context.Background(), board.Cond{Addr: iq + regmap.IQNAISumLow, Mask: regmap.IQNABusy, Value: 0, Timeout: time.Second})
		late[k] = time.Since(end)
		if !ok || err != nil || late[k] < 0 {
			t.Fatalf("wait %v %v late %v", ok, err, late[k])
		}
	}
	slices.Sort(late)
	t.Logf("lateness over 20 waits of 1.5 ms: median %v, worst %v (learned timer slack %v)", late[10], late[19], time.Duration(b.slack.Load()))
	if late[10] > waitLateP50 {
		t.Errorf("median lateness %v, more than %v", late[10], waitLateP50)
	}
	if late[19] > waitLateMax {
		t.Errorf("worst lateness %v, more than %v", late[19], waitLateMax)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	wr(t, b, iq+regmap.IQFrequency, 5)
	if _, err := b.WaitFor(ctx, board.Cond{Addr: iq + regmap.IQNAISumLow, Mask: regmap.IQNABusy, Value: 0, Timeout: time.Second}); err == nil {
		t.Error("cancelled context must end the wait")
	}
}

// TestConcurrent: reads and writes from four goroutines at once (the race
// detector watches them) all succeed, the bus carries every word of them,
// and the registers hold the last values written.
func TestConcurrent(t *testing.T) {
	b := newBoard(t)
	startSine(t, b, 1, 10e3, 0.5, regmap.OutputOut2)
	const rounds = 200
	s0 := b.BusStats()
	errs := make(chan error, 4*rounds*2)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			buf := make([]uint32, 256)
			for i := range rounds {
				switch g {
				case 0:
					errs <- b.Write(regmap.ScopeBase+regmap.ScopeControl, []uint32{regmap.ScopeArm})
					errs <- b.Write(regmap.ScopeBase+regmap.ScopeTriggerSource, []uint32{1})
				case 1:
					errs <- b.Read(regmap.ScopeBase+regmap.ScopeCh1Data, buf)
				case 2:
					errs <- b.Write(regmap.Slot(regmap.SlotIQ2)+regmap.IQFrequency, []uint32{uint32(i)})
				case 3:
					errs <- b.Read(regmap.Slot(regmap.SlotIQ2)+regmap.IQNAISumLow, buf[:4])
					errs <- b.Read(regmap.HKBase, buf[:16])
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if s := b.BusStats().Sub(s0); s.Reads != rounds*(256+4+16) || s.Writes != rounds*3 {
		t.Errorf("bus carried %d reads and %d writes, want %d and %d", s.Reads, s.Writes, rounds*(256+4+16), rounds*3)
	}
	if f := rd(t, b, regmap.Slot(regmap.SlotIQ2)+regmap.IQFrequency); f != rounds-1 {
		t.Errorf("iq2 frequency %d, want the last written, %d", f, rounds-1)
	}
	if src := rd(t, b, regmap.ScopeBase+regmap.ScopeTriggerSource); src != regmap.TrigImmediately && src != regmap.TrigOff {
		t.Errorf("scope trigger source %d after the last software trigger", src)
	}
}

func TestConfig(t *testing.T) {
	c := DefaultConfig()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	// The device under test pinned to values worked out by hand, so that
	// the physics tests do not check the model against itself.
	other := c
	other.DUT1 = Resonance{F0: 2e6, Q: 4, Gain: 2}
	other.DUT2 = LowPass{Fc: 2e5, Gain: 0.5}
	other.CableDelay = 1e-7
	for _, p := range []struct {
		name string
		got  complex128
		want complex128
	}{
		{"H1(f0)", c.H1(1e6), 1},
		// j0.05 / (0.75 + j0.05) = (0.0025 + j0.0375) / 0.565
		{"H1(0.5 MHz)", c.H1(0.5e6), complex(0.0025/0.565, 0.0375/0.565)},
		// j0.2 / (-3 + j0.2) = (0.04 - j0.6) / 9.04
		{"H1(2 MHz)", c.H1(2e6), complex(0.04/9.04, -0.6/9.04)},
		// 2 j0.5 / (3 + j0.5) = (0.5 + j3) / 9.25
		{"H1(1 MHz), f0 2 MHz, Q 4, gain 2", other.H1(1e6), complex(0.5/9.25, 3/9.25)},
		{"H2(fc)", c.H2(1e5), complex(0.5, -0.5)},
		// 1 / (1 + j10) = (1 - j10) / 101
		{"H2(1 MHz)", c.H2(1e6), complex(1.0/101, -10.0/101)},
		// 0.5 / (1 + j1.5) = (0.5 - j0.75) / 3.25
		{"H2(300 kHz), fc 200 kHz, gain 0.5", other.H2(3e5), complex(0.5/3.25, -0.75/3.25)},
		// no analog latency (AnalogLatencyCycles 0) and no cable
		{"in1 at f0", c.InResponse(1, 1e6), 1},
		// 0.5 / (1 + j5) = (0.5 - j2.5) / 26, delayed 100 ns (the cable):
		// exp(-j 0.6283185) = 0.8090170 - j0.5877853
		{"in2 at 1 MHz, fc 200 kHz, 100 ns cable", other.InResponse(2, 1e6), complex(0.5/26, -2.5/26) * complex(0.8090169944, -0.5877852523)},
	} {
		if cmplx.Abs(p.got-p.want) > 1e-9 {
			t.Errorf("%s = %.10f, want %.10f", p.name, p.got, p.want)
		}
	}
	c.DUT1.Q = -1
	if _, err := New(c); err == nil || !errorsIs(err) {
		t.Errorf("bad Q: %v", err)
	}
}
