package asg

import (
	"errors"
	"math"
	"strings"
	"sync"
	"testing"

	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/board"
	"github.com/rpbus/rpbus/regmap"
	"github.com/rpbus/rpbus/rperr"
)

// mem is register storage, not a simulation: a sparse map of words that
// also logs every Write.
type mem struct {
	mu     sync.Mutex
	w      map[uint32]uint32
	writes []write
	fail   error // returned by Write when set
}

type write struct {
	addr uint32
	n    int
}

func newMem() *mem { return &mem{w: map[uint32]uint32{}} }

func (m *mem) Read(addr uint32, dst []uint32) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range dst {
		dst[i] = m.w[addr+4*uint32(i)]
	}
	return nil
}

func (m *mem) Write(addr uint32, src []uint32) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	for i, v := range src {
		m.w[addr+4*uint32(i)] = v
	}
	m.writes = append(m.writes, write{addr, len(src)})
	return nil
}

func (m *mem) Close() error { return nil }

func (m *mem) word(addr uint32) uint32 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.w[addr]
}

func (m *mem) nwrites() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.writes)
}

var _ board.FPGA = (*mem)(nil)

func ptr[T any](v T) *T { return &v }

// Absolute addresses of the registers, spelled out by hand.
const (
	ctrlAddr = 0x40200000
	tableA   = 0x40210000
	tableB   = 0x40220000
	outDirA  = 0x40380004
	outDirB  = 0x40390004
)

// freqStep is the ASG frequency resolution: 125 MHz / 2^30.
const freqStep = 125e6 / (1 << 30)

// tol is the tolerance for settings that are exact binary fractions
// computed two ways.
const tol = 1e-12

func newGen(t testing.TB, m *mem, ch int) *Generator {
	t.Helper()
	g, err := New(m, ch)
	if err != nil {
		t.Fatalf("New(%d): %v", ch, err)
	}
	return g
}

func TestNewDefaults(t *testing.T) {
	for ch, base := range []uint32{0x40200000, 0x40200020} {
		m := newMem()
		g := newGen(t, m, ch)
		want := api.ASGSettings{Generator: g.Name(), Waveform: "sin", OutputDirect: "off", TriggerSource: "immediately"}
		if got := g.Settings(); got != want {
			t.Errorf("ch %d: Settings() = %+v, want %+v", ch, got, want)
		}
		if g.Name() != []string{"asg0", "asg1"}[ch] {
			t.Errorf("ch %d: Name() = %q", ch, g.Name())
		}
		if mods := g.Modules(); len(mods) != 2 || mods[0] != "asg" || mods[1] != g.Name() {
			t.Errorf("ch %d: Modules() = %v", ch, mods)
		}
		// amplitude 0, offset 0, wrap 2^30-1, start 0, step 0, bursts 0
		wantRegs := []uint32{0, 0x3FFFFFFF, 0, 0, 0, 0, 0, 0}
		for i, w := range wantRegs {
			if i == 4 { // 0x14, read pointer, not written
				continue
			}
			if got := m.word(base + 4 + 4*uint32(i)); got != w {
				t.Errorf("ch %d: reg %#x = %#x, want %#x", ch, 4+4*i, got, w)
			}
		}
		// control: trigger immediately, wrap on, running
		if got := m.word(ctrlAddr) >> (16 * ch) & 0xFFFF; got != 0x11 {
			t.Errorf("ch %d: control half = %#x, want 0x11", ch, got)
		}
	}
	if _, err := New(newMem(), 2); rperr.ErrorCode(err) != rperr.EInvalid {
		t.Errorf("New(ch 2) error = %v, want invalid", err)
	}
}

// TestSetupRegisters checks register values against PyRPL's formulas worked
// by hand.
func TestSetupRegisters(t *testing.T) {
	m := newMem()
	g := newGen(t, m, 0)
	got, err := g.Setup(api.ASGSetup{
		Waveform:           ptr("sin"),
		Frequency:          ptr(1e3),
		Amplitude:          ptr(0.5),
		Offset:             ptr(0.25),
		StartPhase:         ptr(90.0),
		OutputDirect:       ptr("out2"),
		TriggerSource:      ptr("immediately"),
		CyclesPerBurst:     ptr[int64](3),
		Bursts:             ptr(7),
		DelayBetweenBursts: ptr(1.5e-3),
	})
	if err != nil {
		t.Fatal(err)
	}
	regs := []struct {
		addr uint32
		want uint32
		what string
	}{
		// amplitude 0.5*2^13 = 0x1000, offset 0.25*2^13 = 0x800 in bits 29:16
		{0x40200004, 0x08001000, "amplitude/offset"},
		{0x40200008, 0x3FFFFFFF, "counter wrap"},
		{0x4020000C, 0x10000000, "start offset: 90/360 * 2^30"},
		{0x40200010, 8590, "step: round(1000 * 2^30 / 125e6) = round(8589.93)"},
		{0x40200018, 3, "cycles"},
		{0x4020001C, 7, "bursts"},
		{0x40200020, 1500, "delay: 1.5 ms in us"},
		{outDirA, 2, "output_direct out2"},
		{ctrlAddr, 0x11, "control: wrap | immediately"},
	}
	for _, r := range regs {
		if v := m.word(r.addr); v != r.want {
			t.Errorf("%s: %#x = %#x (%d), want %#x", r.what, r.addr, v, v, r.want)
		}
	}
	// sin table: 0, 8191 at a quarter, -8191 at three quarters,
	// round(8191 sin(pi/4)) = round(5791.93) = 5792 at an eighth.
	table := map[int]uint32{0: 0, 2048: 5792, 4096: 8191, 8192: 0, 12288: 0x4000 - 8191}
	for i, w := range table {
		if v := m.word(tableA + 4*uint32(i)); v != w {
			t.Errorf("table[%d] = %#x, want %#x", i, v, w)
		}
	}
	want := api.ASGSettings{
		Generator: "asg0", Waveform: "sin",
		Frequency: 8590 * freqStep, Amplitude: 0.5, Offset: 0.25, StartPhase: 90,
		OutputDirect: "out2", TriggerSource: "immediately",
		CyclesPerBurst: 3, Bursts: 7, DelayBetweenBursts: 1.5e-3,
	}
	if got != want || g.Settings() != want {
		t.Errorf("Setup returned %+v\nSettings() %+v\nwant %+v", got, g.Settings(), want)
	}
}

func TestChannelBRegisters(t *testing.T) {
	m := newMem()
	g := newGen(t, m, 1)
	if _, err := g.Setup(api.ASGSetup{
		Waveform: ptr("square"), Frequency: ptr(10e6), Amplitude: ptr(1.0), Offset: ptr(-1.0),
		StartPhase: ptr(-90.0), OutputDirect: ptr("both"), TriggerSource: ptr("ext_negative_edge"),
	}); err != nil {
		t.Fatal(err)
	}
	regs := []struct {
		addr uint32
		want uint32
		what string
	}{
		// amplitude 2^13, offset -2^13 = 0x2000 in 14-bit two's complement
		{0x40200024, 0x20002000, "amplitude/offset"},
		{0x40200028, 0x3FFFFFFF, "counter wrap"},
		{0x4020002C, 0x30000000, "start: -90 deg = 270 deg = 3/4 * 2^30"},
		{0x40200030, 85899346, "step: round(10e6 * 2^30 / 125e6) = round(85899345.92)"},
		{outDirB, 3, "output_direct both"},
		{ctrlAddr, 0x13 << 16, "control: (wrap | ext_negative_edge) << 16"},
		{tableB, 8191, "square first half"},
		{tableB + 4*8192, 0x2001, "square second half: -8191"},
		{0x40200004, 0, "channel A amplitude untouched"},
	}
	for _, r := range regs {
		if v := m.word(r.addr); v != r.want {
			t.Errorf("%s: %#x = %#x (%d), want %#x", r.what, r.addr, v, v, r.want)
		}
	}
	if s := g.Settings(); s.StartPhase != 270 || s.Offset != -1 || s.Amplitude != 1 {
		t.Errorf("Settings() = %+v", s)
	}
}

// TestTables checks each shape at hand-worked points.
func TestTables(t *testing.T) {
	neg := func(v int) uint32 { return uint32(v) & 0x3FFF }
	tests := []struct {
		waveform string
		points   map[int]uint32
	}{
		{"cos", map[int]uint32{0: 8191, 4096: 0, 8192: neg(-8191)}},
		// -1 + 4i/16384: -8191 at 0, 0 at 4096, 8191*(1-4/16384)=8189.0 at 8191,
		// then mirrored: 8191 at 8192, 0 at 12288, -8189 at 16383.
		{"ramp", map[int]uint32{0: neg(-8191), 4096: 0, 8191: 8189, 8192: 8191, 12288: 0, 16383: neg(-8189)}},
		// -1 + 2i/16384: -8191 at 0, 0 at 8192, round(8191*(1-2/16384)) = 8190 at 16383
		{"halframp", map[int]uint32{0: neg(-8191), 8192: 0, 16383: 8190, 4096: neg(-4096)}},
		{"square", map[int]uint32{0: 8191, 8191: 8191, 8192: neg(-8191), 16383: neg(-8191)}},
		{"dc", map[int]uint32{0: 0, 5000: 0, 16383: 0}},
	}
	for _, tt := range tests {
		tab := Table(nil, tt.waveform, 0.7, 0)
		if len(tab) != TableLen {
			t.Fatalf("%s: len %d", tt.waveform, len(tab))
		}
		for i, w := range tt.points {
			if tab[i] != w {
				t.Errorf("%s[%d] = %#x (%d), want %#x", tt.waveform, i, tab[i], regmap.ToSigned(tab[i], 14), w)
			}
		}
	}
	// halframp at 4096: -1 + 0.5 = -0.5 -> round(-4095.5) = -4096 (half to even)
}

// TestNoise checks the rms, the amplitude register at 1 V, the random-pointer
// bit, and reproducibility.
func TestNoise(t *testing.T) {
	m := newMem()
	g := newGen(t, m, 0)
	s, err := g.Setup(api.ASGSetup{Waveform: ptr("noise"), Amplitude: ptr(0.1)})
	if err != nil {
		t.Fatal(err)
	}
	if s.Amplitude != math.RoundToEven(0.1*8192)/8192 {
		t.Errorf("noise amplitude = %v, want the rms rounded to 2^-13", s.Amplitude)
	}
	if v := m.word(0x40200004) & 0x3FFF; v != 0x2000 {
		t.Errorf("noise amplitude register = %#x, want 0x2000 (1 V)", v)
	}
	if v := m.word(ctrlAddr); v&(1<<12) == 0 {
		t.Errorf("control = %#x: random-pointer bit 12 not set for noise", v)
	}
	var sum, sum2 float64
	for i := range TableLen {
		x := float64(regmap.ToSigned(m.word(tableA+4*uint32(i)), 14)) / 8191
		sum += x
		sum2 += x * x
	}
	mean := sum / TableLen
	rms := math.Sqrt(sum2/TableLen - mean*mean)
	// 16384 samples: the rms is known to about 1/sqrt(2*16384) = 0.55 %.
	const rmsTol = 0.03
	if math.Abs(rms/s.Amplitude-1) > rmsTol || math.Abs(mean) > 0.01 {
		t.Errorf("noise table mean %v rms %v, want 0 and %v", mean, rms, s.Amplitude)
	}
	first := Table(nil, "noise", s.Amplitude, 0)
	again := Table(nil, "noise", s.Amplitude, 0)
	other := Table(nil, "noise", s.Amplitude, 1)
	same := 0
	for i := range first {
		if first[i] != again[i] {
			t.Fatalf("noise table not reproducible at %d", i)
		}
		if first[i] == other[i] {
			same++
		}
	}
	if same > TableLen/10 {
		t.Errorf("asg0 and asg1 noise tables agree at %d of %d points", same, TableLen)
	}
	// back to sin clears the random bit
	if _, err := g.Setup(api.ASGSetup{Waveform: ptr("sin")}); err != nil {
		t.Fatal(err)
	}
	if v := m.word(ctrlAddr); v&(1<<12) != 0 {
		t.Errorf("control = %#x: random-pointer bit still set after sin", v)
	}
	if v := m.word(0x40200004) & 0x3FFF; v != 819 {
		t.Errorf("amplitude register after sin = %d, want round(0.1*8192) = 819", v)
	}
}

// TestRounding checks the applied settings are the hardware's steps.
func TestRounding(t *testing.T) {
	tests := []struct {
		name  string
		req   api.ASGSetup
		check func(api.ASGSettings) (got, want float64)
	}{
		{"frequency to the phase step", api.ASGSetup{Frequency: ptr(1.0)},
			func(s api.ASGSettings) (float64, float64) { return s.Frequency, 9 * freqStep }}, // 1/0.1164 = 8.59 -> 9
		{"frequency max", api.ASGSetup{Frequency: ptr(62.5e6)},
			func(s api.ASGSettings) (float64, float64) { return s.Frequency, 62.5e6 }},
		{"amplitude to 2^-13", api.ASGSetup{Amplitude: ptr(0.30001)},
			func(s api.ASGSettings) (float64, float64) { return s.Amplitude, 2458.0 / 8192 }}, // 2457.68 -> 2458
		{"offset floors to 2^-13 as PyRPL", api.ASGSetup{Offset: ptr(0.3)},
			func(s api.ASGSettings) (float64, float64) { return s.Offset, 2457.0 / 8192 }}, // 2457.6 -> 2457
		{"negative offset floors", api.ASGSetup{Offset: ptr(-0.3)},
			func(s api.ASGSettings) (float64, float64) { return s.Offset, -2458.0 / 8192 }},
		{"offset +1 saturates", api.ASGSetup{Offset: ptr(1.0)},
			func(s api.ASGSettings) (float64, float64) { return s.Offset, 8191.0 / 8192 }},
		{"start_phase to 360/2^30, modulo 360", api.ASGSetup{StartPhase: ptr(-360.0 - 1e-5)},
			func(s api.ASGSettings) (float64, float64) {
				return s.StartPhase, float64(1<<30-30) / (1 << 30) * 360 // 1e-5/360*2^30 = 29.8 -> 30 steps below 360
			}},
		{"start_phase 720 is 0", api.ASGSetup{StartPhase: ptr(720.0)},
			func(s api.ASGSettings) (float64, float64) { return s.StartPhase, 0 }},
		{"delay to 1 us", api.ASGSetup{DelayBetweenBursts: ptr(2.4e-6)},
			func(s api.ASGSettings) (float64, float64) { return s.DelayBetweenBursts, 2e-6 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGen(t, newMem(), 0)
			s, err := g.Setup(tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := tt.check(s); math.Abs(got-want) > tol*math.Max(1, math.Abs(want)) {
				t.Errorf("got %.15g, want %.15g", got, want)
			}
		})
	}
}

func TestValidation(t *testing.T) {
	tests := []struct {
		req  api.ASGSetup
		want []string // substrings of the message
	}{
		{api.ASGSetup{Waveform: ptr("sine")}, []string{`waveform: "sine" is not one of sin, cos, ramp, halframp, square, dc, noise`}},
		{api.ASGSetup{Amplitude: ptr(1.5)}, []string{"amplitude: 1.5 V is outside 0..1 V"}},
		{api.ASGSetup{Amplitude: ptr(-0.1)}, []string{"amplitude: -0.1 V is outside 0..1 V"}},
		{api.ASGSetup{Amplitude: ptr(math.NaN())}, []string{"amplitude: NaN"}},
		{api.ASGSetup{Offset: ptr(-1.01)}, []string{"offset: -1.01 V is outside -1..1 V"}},
		{api.ASGSetup{Offset: ptr(math.Inf(1))}, []string{"offset: +Inf"}},
		{api.ASGSetup{Frequency: ptr(70e6)}, []string{"frequency: 7e+07 Hz is outside 0..62.5 MHz"}},
		{api.ASGSetup{Frequency: ptr(-1.0)}, []string{"frequency: -1 Hz is outside 0..62.5 MHz"}},
		{api.ASGSetup{Frequency: ptr(math.Inf(-1))}, []string{"frequency: -Inf"}},
		{api.ASGSetup{StartPhase: ptr(math.NaN())}, []string{"start_phase: NaN"}},
		{api.ASGSetup{OutputDirect: ptr("out3")}, []string{`output_direct: "out3" is not one of off, out1, out2, both`}},
		{api.ASGSetup{TriggerSource: ptr("asg0")}, []string{`trigger_source: "asg0" is not one of off, immediately, ext_positive_edge, ext_negative_edge, ext_raw, high`}},
		{api.ASGSetup{CyclesPerBurst: ptr[int64](-1)}, []string{"cycles_per_burst: -1 is outside 0..4294967295"}},
		{api.ASGSetup{CyclesPerBurst: ptr[int64](1 << 32)}, []string{"cycles_per_burst: 4294967296 is outside 0..4294967295"}},
		{api.ASGSetup{Bursts: ptr(65536)}, []string{"bursts: 65536 is outside 0..65535"}},
		{api.ASGSetup{DelayBetweenBursts: ptr(-1e-6)}, []string{"delay_between_bursts: -1e-06 s is outside 0..4294.967295 s"}},
		{api.ASGSetup{DelayBetweenBursts: ptr(5000.0)}, []string{"delay_between_bursts: 5000 s"}},
		// every bad field is named, and a good one beside them changes nothing
		{api.ASGSetup{Amplitude: ptr(2.0), Bursts: ptr(-1), Waveform: ptr("cos")}, []string{"amplitude: 2 V", "bursts: -1"}},
	}
	for _, tt := range tests {
		m := newMem()
		g := newGen(t, m, 1)
		m.w[ctrlAddr] = 0xDEADBEEF // anything: must stay
		before := m.nwrites()
		s, err := g.Setup(tt.req)
		var e *rperr.Error
		if !errors.As(err, &e) || e.Code != rperr.EInvalid {
			t.Errorf("Setup(%+v) error = %v, want *rperr.Error with code invalid", tt.req, err)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(e.Message, w) {
				t.Errorf("message %q does not contain %q", e.Message, w)
			}
		}
		if n := m.nwrites(); n != before {
			t.Errorf("%q: %d writes on invalid input", e.Message, n-before)
		}
		if m.word(ctrlAddr) != 0xDEADBEEF {
			t.Errorf("%q: control word changed", e.Message)
		}
		if s != g.Settings() || g.Settings().Waveform != "sin" {
			t.Errorf("%q: settings changed to %+v", e.Message, g.Settings())
		}
	}
}

// TestOtherChannelBitsSurvive checks the read-modify-write of the shared
// control word, in both directions, and that the advanced-trigger bits of
// the channel itself are kept as PyRPL keeps them.
func TestOtherChannelBitsSurvive(t *testing.T) {
	m := newMem()
	a := newGen(t, m, 0)
	b := newGen(t, m, 1)
	if _, err := a.Setup(api.ASGSetup{TriggerSource: ptr("high"), Waveform: ptr("noise")}); err != nil {
		t.Fatal(err)
	}
	const aHalf = 0x1000 | 0x10 | 5 // random | wrap | high
	if got := m.word(ctrlAddr); got != aHalf|0x11<<16 {
		t.Fatalf("control = %#x, want %#x", got, aHalf|0x11<<16)
	}
	// Advanced-trigger bits of B set by someone else (PyRPL's
	// enable_advanced_trigger): B's Setup keeps them.
	m.w[ctrlAddr] |= 0x0E00 << 16
	if _, err := b.Setup(api.ASGSetup{TriggerSource: ptr("ext_raw")}); err != nil {
		t.Fatal(err)
	}
	if got, want := m.word(ctrlAddr), uint32(aHalf|(0x0E00|0x10|4)<<16); got != want {
		t.Errorf("after asg1 setup control = %#x, want %#x", got, want)
	}
	if _, err := a.Setup(api.ASGSetup{TriggerSource: ptr("off"), Waveform: ptr("sin")}); err != nil {
		t.Fatal(err)
	}
	if got, want := m.word(ctrlAddr), uint32(0x10|(0x0E00|0x10|4)<<16); got != want {
		t.Errorf("after asg0 setup control = %#x, want %#x", got, want)
	}
}

// TestWriteSequence checks the writes of one Setup: the output held in reset
// first, the table in one Write, the control word released last.
func TestWriteSequence(t *testing.T) {
	m := newMem()
	g := newGen(t, m, 0)
	m.writes = nil
	if _, err := g.Setup(api.ASGSetup{Waveform: ptr("ramp"), TriggerSource: ptr("immediately")}); err != nil {
		t.Fatal(err)
	}
	var tableWrites int
	for _, w := range m.writes {
		if w.addr == tableA {
			tableWrites++
			if w.n != TableLen {
				t.Errorf("table write of %d words", w.n)
			}
		}
	}
	if tableWrites != 1 {
		t.Errorf("%d table writes, want 1", tableWrites)
	}
	first, last := m.writes[0], m.writes[len(m.writes)-1]
	if first.addr != ctrlAddr || last.addr != ctrlAddr {
		t.Errorf("writes %v: want the control word first and last", m.writes)
	}
}

func TestWriteError(t *testing.T) {
	m := newMem()
	g := newGen(t, m, 0)
	m.fail = rperr.Errorf(rperr.EUnavailable, "board gone")
	before := g.Settings()
	_, err := g.Setup(api.ASGSetup{Amplitude: ptr(0.5)})
	if rperr.ErrorCode(err) != rperr.EUnavailable || !strings.Contains(err.Error(), "asg0") {
		t.Errorf("error = %v, want unavailable naming asg0", err)
	}
	if g.Settings() != before {
		t.Errorf("settings changed after a failed write")
	}
}

// The select names' positions are the register codes.
func TestCodes(t *testing.T) {
	codes := map[string]uint32{
		"off": regmap.ASGTrigOff, "immediately": regmap.ASGTrigImmediately,
		"ext_positive_edge": regmap.ASGTrigExtPos, "ext_negative_edge": regmap.ASGTrigExtNeg,
		"ext_raw": regmap.ASGTrigExtRaw, "high": regmap.ASGTrigHigh,
	}
	for i, n := range TriggerSources {
		if codes[n] != uint32(i) {
			t.Errorf("trigger source %s at %d, code %d", n, i, codes[n])
		}
	}
	outs := []uint32{regmap.OutputOff, regmap.OutputOut1, regmap.OutputOut2, regmap.OutputBoth}
	for i := range OutputDirects {
		if outs[i] != uint32(i) {
			t.Errorf("output_direct %s: code %d", OutputDirects[i], outs[i])
		}
	}
}
