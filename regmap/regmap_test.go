package regmap

import (
	"errors"
	"math"
	"math/cmplx"
	"strings"
	"testing"

	"github.com/rpbus/rpbus/rperr"
)

const tol = 1e-9

var moduleTests = []struct {
	addr uint32
	want string
}{
	{0x40000000, "hk"},
	{0x40000030, "hk"},
	{0x400FFFFC, "hk"},
	{0x40100000, "scope"},
	{0x40110000, "scope"},
	{0x4012FFFC, "scope"},
	{0x40200000, "asg"},
	{0x40220000, "asg"},
	{0x40300000, "pid0"},
	{0x40310000, "pid1"},
	{0x40320104, "pid2"},
	{0x40330000, "trig"},
	{0x40340000, "iir"},
	{0x40350130, "iq0"},
	{0x40360108, "iq1"},
	{0x4037014C, "iq2"},
	{0x40380004, "asg0"},
	{0x40390004, "asg1"},
	{0x403A0000, "in1"},
	{0x403B0000, "in2"},
	{0x403C0000, "out1"},
	{0x403D0000, "out2"},
	{0x403E0000, "iq2_2"},
	{0x403FFFFC, "off"},
	{0x40400000, "ams"},
	{0x404FFFFC, "ams"},
}

func TestModule(t *testing.T) {
	for _, tt := range moduleTests {
		got, err := Module(tt.addr)
		if err != nil || got != tt.want {
			t.Errorf("Module(%#x) = %q, %v; want %q", tt.addr, got, err, tt.want)
		}
	}
	for _, a := range []uint32{0, 0x3FFFFFFC, 0x40500000, 0x40600000, 0xFFFFFFFC} {
		_, err := Module(a)
		if rperr.ErrorCode(err) != rperr.EInvalid {
			t.Errorf("Module(%#x) error %v, want code invalid", a, err)
			continue
		}
		if !strings.Contains(err.Error(), "0x40300000") {
			t.Errorf("Module(%#x) error %q does not name the mapped blocks", a, err)
		}
		var e *rperr.Error
		if !errors.As(err, &e) {
			t.Errorf("Module(%#x) error is not an *rperr.Error", a)
		}
	}
}

var rangeTests = []struct {
	addr uint32
	n    int
	ok   bool
}{
	{ScopeBase + ScopeCh1Data, ScopeBufferLen, true},
	{ScopeBase + ScopeCh2Data, ScopeBufferLen, true},
	{ScopeBase + 0xFFFFC, 1, true},
	{ScopeBase + 0xFFFFC, 2, false}, // crosses into asg
	{Slot(SlotIQ0) + IQNAISumLow, 4, true},
	{Slot(SlotIQ0) + 0xFFFC, 2, false}, // crosses into iq1
	{HKBase, 0, false},
	{HKBase + 2, 1, false},
	{0x40500000, 1, false},
	{0xFFFFFFFC, 2, false},
}

func TestCheckRange(t *testing.T) {
	for _, tt := range rangeTests {
		err := CheckRange(tt.addr, tt.n)
		if (err == nil) != tt.ok {
			t.Errorf("CheckRange(%#x, %d) = %v, want ok=%v", tt.addr, tt.n, err, tt.ok)
		}
		if err != nil && rperr.ErrorCode(err) != rperr.EInvalid {
			t.Errorf("CheckRange(%#x, %d) code %q, want invalid", tt.addr, tt.n, rperr.ErrorCode(err))
		}
	}
}

func TestSlots(t *testing.T) {
	want := map[string]int{"pid0": 0, "pid1": 1, "pid2": 2, "trig": 3, "iir": 4, "iq0": 5, "iq1": 6,
		"iq2": 7, "asg0": 8, "asg1": 9, "in1": 10, "in2": 11, "out1": 12, "out2": 13, "iq2_2": 14, "off": 15}
	for name, n := range want {
		if got, ok := SlotNumber(name); !ok || got != n {
			t.Errorf("SlotNumber(%q) = %d, %v; want %d", name, got, ok, n)
		}
		if SlotName(n) != name {
			t.Errorf("SlotName(%d) = %q, want %q", n, SlotName(n), name)
		}
		if m, _ := Module(Slot(n) + DSPOutputDirect); m != name {
			t.Errorf("Module(Slot(%d)) = %q", n, m)
		}
	}
}

func TestVolts(t *testing.T) {
	for _, v := range []float64{0, 0.5, -0.5, -1, 1 - 1.0/VoltsNorm, 0.123, -0.9999} {
		r := VoltsToReg(v)
		if r > 0x3FFF {
			t.Errorf("VoltsToReg(%g) = %#x exceeds 14 bits", v, r)
		}
		if got := RegToVolts(r); math.Abs(got-v) > 0.5/VoltsNorm+tol {
			t.Errorf("RegToVolts(VoltsToReg(%g)) = %g", v, got)
		}
	}
	if VoltsToReg(2) != 0x1FFF || VoltsToReg(-2) != 0x2000 {
		t.Errorf("saturation: %#x %#x", VoltsToReg(2), VoltsToReg(-2))
	}
	if VoltsToReg(-1.0/VoltsNorm) != 0x3FFF {
		t.Errorf("-1 LSB = %#x", VoltsToReg(-1.0/VoltsNorm))
	}
}

func TestFrequencyPhase(t *testing.T) {
	for _, f := range []float64{1, 1e3, 1e6, 12.345e6, 62.4e6} {
		for _, b := range []uint{30, 32} {
			got := RegToFreq(FreqToReg(f, b), b)
			if math.Abs(got-f) > Clock/math.Ldexp(1, int(b)) {
				t.Errorf("freq %g bits %d round trip %g", f, b, got)
			}
		}
	}
	if FreqToReg(Clock/4, 32) != 1<<30 {
		t.Errorf("FreqToReg(fs/4) = %#x", FreqToReg(Clock/4, 32))
	}
	if PhaseToReg(90, 32) != 1<<30 || PhaseToReg(-90, 32) != 3<<30 {
		t.Errorf("PhaseToReg: %#x %#x", PhaseToReg(90, 32), PhaseToReg(-90, 32))
	}
	if got := RegToPhase(PhaseToReg(123.4, 30), 30); math.Abs(got-123.4) > 1e-6 {
		t.Errorf("phase round trip %g", got)
	}
}

func TestDecimation(t *testing.T) {
	if len(Decimations) != 17 || Decimations[0] != 1 || Decimations[16] != 65536 {
		t.Fatalf("Decimations = %v", Decimations)
	}
	if d := Duration(1); math.Abs(d-131.072e-6) > tol {
		t.Errorf("Duration(1) = %g", d)
	}
	if d := Duration(65536); math.Abs(d-8.589934592) > tol {
		t.Errorf("Duration(65536) = %g", d)
	}
	if DecimationFor(1e-3) != 8 || DecimationFor(131.072e-6) != 1 || DecimationFor(100) != 65536 {
		t.Errorf("DecimationFor: %d %d %d", DecimationFor(1e-3), DecimationFor(131.072e-6), DecimationFor(100))
	}
	if ValidDecimation(3) || ValidDecimation(0) || ValidDecimation(1<<17) || !ValidDecimation(1024) {
		t.Error("ValidDecimation")
	}
	for i := uint32(0); i <= TrigDSP; i++ {
		c, ok := TriggerSourceCode(TriggerSourceName(i))
		if !ok || c != i {
			t.Errorf("trigger source %d round trip", i)
		}
	}
}

func TestFilter(t *testing.T) {
	if IQInputFilterSpec.MaxShift() != 22 || IQQuadFilterSpec.MaxShift() != 24 || TrigFilterSpec.MaxShift() != 27 {
		t.Errorf("MaxShift: %d %d %d", IQInputFilterSpec.MaxShift(), IQQuadFilterSpec.MaxShift(), TrigFilterSpec.MaxShift())
	}
	for _, bw := range []float64{-1000, 100, 5000, -37.9} {
		reg := IQInputFilterSpec.EncodeFilter(bw)
		got := IQInputFilterSpec.DecodeFilter(reg)[0]
		// a power-of-two grid: within a factor sqrt(2)
		if got*bw <= 0 || math.Abs(math.Log2(got/bw)) > 0.5+1e-9 {
			t.Errorf("filter %g -> %#x -> %g", bw, reg, got)
		}
		if again := IQInputFilterSpec.EncodeFilter(got); again != reg {
			t.Errorf("filter %g: re-encoding %g gave %#x, want %#x", bw, got, again, reg)
		}
	}
	two := IQQuadFilterSpec.EncodeFilter(1000, 1000)
	if two&0xFF != (two>>8)&0xFF || two&0x80 == 0 {
		t.Errorf("two-stage encode %#x", two)
	}
	if IQQuadFilterSpec.EncodeFilter(0) != 0 {
		t.Error("bandwidth 0 must encode as off")
	}
	// exact stage response: unity DC gain for a low-pass, zero for a high-pass,
	// and -3 dB near the decoded bandwidth for small alpha.
	lp := IQInputFilterSpec.EncodeFilter(1000)
	if h := IQInputFilterSpec.Response(lp, 0); cmplx.Abs(h-1) > tol {
		t.Errorf("LP DC gain %v", h)
	}
	hp := IQInputFilterSpec.EncodeFilter(-1000)
	if h := IQInputFilterSpec.Response(hp, 0); cmplx.Abs(h) > tol {
		t.Errorf("HP DC gain %v", h)
	}
	bw := IQInputFilterSpec.DecodeFilter(lp)[0]
	if g := cmplx.Abs(IQInputFilterSpec.Response(lp, bw)); math.Abs(g-math.Sqrt(0.5)) > 1e-3 {
		t.Errorf("LP gain at its bandwidth %g", g)
	}
}

func TestNA(t *testing.T) {
	// sum words round trip: -5 and 2^40+3 as 62-bit two's complement
	enc := func(v int64) (uint32, uint32) {
		u := uint64(v) & (1<<62 - 1)
		return uint32(u & 0x7FFFFFFF), uint32(u >> 31 & 0x7FFFFFFF)
	}
	a, b := enc(-5)
	c, d := enc(1<<40 + 3)
	i, q, busy := NASums([4]uint32{a, b, c, d})
	if i != -5 || q != 1<<40+3 || busy {
		t.Errorf("NASums = %d %d %v", i, q, busy)
	}
	if _, _, busy := NASums([4]uint32{a | IQNABusy, b, c, d}); !busy {
		t.Error("busy flag lost")
	}
	// the delay correction is a pure phase of 3 cycles without a filter
	f := 1e6
	tf := NATransferFunction(f, 0, 0)
	if math.Abs(cmplx.Abs(tf)-1) > tol || math.Abs(cmplx.Phase(tf)+2*math.Pi*f*3/Clock) > tol {
		t.Errorf("tf = %v", tf)
	}
	hp := IQInputFilterSpec.EncodeFilter(-100)
	tf = NATransferFunction(f, hp, 0)
	if math.Abs(cmplx.Phase(tf)+2*math.Pi*f*4/Clock) > 1e-3 {
		t.Errorf("tf with high-pass = %v", tf)
	}
	// a perfect 1 V response through an amplitude of 0.5 V
	n := uint32(125000)
	amp := 0.5
	raw := complex(float64(n)*amp/NARescale, 0) * NATransferFunction(f, 0, 0)
	y := NAValue(int64(real(raw)), int64(imag(raw)), n, amp, f, 0, 0)
	if cmplx.Abs(y-1) > 1e-6 {
		t.Errorf("NAValue = %v", y)
	}
}

func TestScopeInputSelectsBelongToTheScope(t *testing.T) {
	for _, slot := range []int{SlotASG0, SlotASG1} {
		if m, _ := Module(Slot(slot) + DSPInputSelect); m != "scope" {
			t.Errorf("input select of slot %d in module %q, want scope", slot, m)
		}
		if m, _ := Module(Slot(slot) + DSPOutputDirect); m != SlotName(slot) {
			t.Errorf("output_direct of slot %d in module %q", slot, m)
		}
		if CheckRange(Slot(slot)+DSPInputSelect, 2) == nil {
			t.Errorf("a range from the scope's input select into slot %d's registers must be refused", slot)
		}
	}
}
