package asg

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/board"
	"github.com/rpbus/rpbus/internal/num"
	"github.com/rpbus/rpbus/regmap"
	"github.com/rpbus/rpbus/rperr"
)

// TableLen is the number of points of a waveform table.
const TableLen = regmap.ASGDataLen

// MaxFrequency is the highest frequency the 30-bit phase step can express
// below Nyquist: 62.5 MHz (step 2^29).
const MaxFrequency = regmap.Clock / 2

// NoiseSeed seeds the noise tables (with the channel number as the PCG
// stream), so noise tables are reproducible.
const NoiseSeed uint64 = 0x5eed_a5a0

// Names of the select settings, in PyRPL's order.
var (
	Waveforms      = []string{"sin", "cos", "ramp", "halframp", "square", "dc", "noise"}
	TriggerSources = []string{"off", "immediately", "ext_positive_edge", "ext_negative_edge", "ext_raw", "high"}
	OutputDirects  = []string{"off", "out1", "out2", "both"}
)

// Register widths and steps.
const (
	phaseBits     = regmap.ASGPhaseBits // table pointer: 14.16 fixed point
	phaseScale    = 1 << phaseBits
	ampMax        = 1 << 13 // amplitude register for 1 V
	tablePeak     = 1<<13 - 1
	maxCycles     = math.MaxUint32
	maxBursts     = 1<<16 - 1      // set_*_rnum is 16 bits in red_pitaya_asg.v
	maxDelayTicks = math.MaxUint32 // the FPGA counts the burst delay in 1 us ticks
	dataMask      = 1<<14 - 1
)

// ownBits are the control bits (channel A positions) that Setup decides;
// the advanced-trigger bits 11:9 are left as read, as PyRPL leaves them.
const ownBits = regmap.ASGTrigMask | regmap.ASGWrap | regmap.ASGOnce | regmap.ASGSMReset |
	regmap.ASGZero | regmap.ASGRepGate | regmap.ASGRandom

// Generator drives generator 0 (asg0) or 1 (asg1) of one board. It is not
// safe for concurrent use: the caller holds the locks of Modules().
type Generator struct {
	f    board.FPGA
	ch   int
	name string
	set  api.ASGSettings
}

// New returns the driver of generator channel (0 or 1) and forces PyRPL's
// defaults into the hardware (see the package documentation), so that
// Settings tells the truth from the start.
func New(f board.FPGA, channel int) (*Generator, error) {
	if f == nil {
		return nil, rperr.Invalidf("asg: nil FPGA")
	}
	if channel != 0 && channel != 1 {
		return nil, rperr.Invalidf("channel: %d is not 0 or 1", channel)
	}
	g := &Generator{f: f, ch: channel, name: fmt.Sprintf("asg%d", channel)}
	def := api.ASGSettings{
		Generator:    g.name,
		Waveform:     "sin",
		OutputDirect: "off",
		// Unlike PyRPL (off), so that a setup of waveform, frequency,
		// amplitude and output plays at once, as a user expects; the
		// output stays silent and disconnected until then.
		TriggerSource: "immediately",
	}
	if err := g.apply(def); err != nil {
		return nil, err
	}
	return g, nil
}

// Name returns "asg0" or "asg1".
func (g *Generator) Name() string { return g.name }

// Modules returns the FPGA modules Setup writes: the shared "asg" block and
// the generator's DSP slot ("asg0" or "asg1", for output_direct).
func (g *Generator) Modules() []string { return []string{"asg", g.name} }

// Settings returns the settings as last applied.
func (g *Generator) Settings() api.ASGSettings { return g.set }

// Setup validates req, merges it with the current settings, writes the
// registers and the table, and returns the settings as applied. Invalid
// input gives an *rperr.Error with code rperr.EInvalid naming every bad field,
// and nothing is written. If a write fails, the error is returned and
// Settings keeps the previous value; the hardware may then be partly
// written, and the next Setup rewrites every register.
func (g *Generator) Setup(req api.ASGSetup) (api.ASGSettings, error) {
	s, err := merge(g.set, req)
	if err != nil {
		return g.set, err
	}
	if err := g.apply(s); err != nil {
		return g.set, err
	}
	return g.set, nil
}

// merge checks every given field of req and returns cur with them applied
// (not yet rounded).
func merge(cur api.ASGSettings, req api.ASGSetup) (api.ASGSettings, error) {
	var bad []string
	fail := func(format string, args ...any) { bad = append(bad, fmt.Sprintf(format, args...)) }
	s := cur
	if v := req.Waveform; v != nil {
		// PyRPL lower-cases the waveform name.
		if w := strings.ToLower(*v); slices.Contains(Waveforms, w) {
			s.Waveform = w
		} else {
			fail("waveform: %q is not one of %s", *v, strings.Join(Waveforms, ", "))
		}
	}
	if v := req.Frequency; v != nil {
		switch {
		case !num.Finite(*v):
			fail("frequency: %v is not a finite number of Hz", *v)
		case *v < 0 || *v > MaxFrequency:
			fail("frequency: %g Hz is outside 0..62.5 MHz (the 30-bit phase step reaches 125 MHz / 2)", *v)
		default:
			s.Frequency = *v
		}
	}
	if v := req.Amplitude; v != nil {
		switch {
		case !num.Finite(*v):
			fail("amplitude: %v is not a finite number of V", *v)
		case *v < 0 || *v > 1:
			fail("amplitude: %g V is outside 0..1 V", *v)
		default:
			s.Amplitude = *v
		}
	}
	if v := req.Offset; v != nil {
		switch {
		case !num.Finite(*v):
			fail("offset: %v is not a finite number of V", *v)
		case *v < -1 || *v > 1:
			fail("offset: %g V is outside -1..1 V", *v)
		default:
			s.Offset = *v
		}
	}
	if v := req.StartPhase; v != nil {
		if num.Finite(*v) {
			s.StartPhase = *v
		} else {
			fail("start_phase: %v is not a finite number of degrees", *v)
		}
	}
	if v := req.OutputDirect; v != nil {
		if slices.Contains(OutputDirects, *v) {
			s.OutputDirect = *v
		} else {
			fail("output_direct: %q is not one of %s", *v, strings.Join(OutputDirects, ", "))
		}
	}
	if v := req.TriggerSource; v != nil {
		if slices.Contains(TriggerSources, *v) {
			s.TriggerSource = *v
		} else {
			fail("trigger_source: %q is not one of %s", *v, strings.Join(TriggerSources, ", "))
		}
	}
	if v := req.CyclesPerBurst; v != nil {
		if *v < 0 || *v > maxCycles {
			fail("cycles_per_burst: %d is outside 0..%d (32-bit register, 0 = continuous)", *v, uint64(maxCycles))
		} else {
			s.CyclesPerBurst = *v
		}
	}
	if v := req.Bursts; v != nil {
		if *v < 0 || *v > maxBursts {
			fail("bursts: %d is outside 0..%d (16-bit register)", *v, maxBursts)
		} else {
			s.Bursts = *v
		}
	}
	if v := req.DelayBetweenBursts; v != nil {
		maxDelay := float64(maxDelayTicks) / 1e6
		switch {
		case !num.Finite(*v):
			fail("delay_between_bursts: %v is not a finite number of s", *v)
		case *v < 0 || *v > maxDelay:
			fail("delay_between_bursts: %g s is outside 0..%g s (32-bit register of 1 us steps)", *v, maxDelay)
		default:
			s.DelayBetweenBursts = *v
		}
	}
	if len(bad) > 0 {
		return cur, rperr.Invalidf("%s", strings.Join(bad, "; "))
	}
	return s, nil
}

// regs is one channel's register image.
type regs struct {
	ctrl    uint32 // own control bits at channel A positions, running state
	ampOfs  uint32
	start   uint32
	step    uint32
	cycles  uint32
	bursts  uint32
	delay   uint32
	outDir  uint32
	applied api.ASGSettings // s rounded to the register steps
}

// encode computes the registers for validated settings s and the settings
// they stand for.
func encode(s api.ASGSettings) regs {
	var r regs
	a := s

	r.step = uint32(math.RoundToEven(s.Frequency * phaseScale / regmap.Clock))
	a.Frequency = float64(r.step) * regmap.Clock / phaseScale

	// For noise the amplitude is the table's rms, PyRPL keeps it at the
	// same 2^-13 V step; the register then stays at 1 V.
	amp := uint32(math.RoundToEven(s.Amplitude * ampMax))
	a.Amplitude = float64(amp) / ampMax
	if s.Waveform == "noise" {
		amp = ampMax
	}

	// PyRPL writes the offset as a 30-bit value (norm 2^29) under the mask
	// of bits 29:16: the 14-bit field is the rounded value floored.
	o30 := math.RoundToEven(s.Offset * (1 << 29))
	o30 = min(max(o30, -(1<<29)), 1<<29-1)
	ofs := int32(math.Floor(o30 / (1 << 16)))
	a.Offset = float64(ofs) / (1 << 13)
	r.ampOfs = amp | (uint32(ofs)&dataMask)<<16

	sp := math.Mod(math.RoundToEven(s.StartPhase/360*phaseScale), phaseScale)
	if sp < 0 {
		sp += phaseScale
	}
	r.start = uint32(sp)
	a.StartPhase = float64(r.start) / phaseScale * 360

	r.cycles = uint32(s.CyclesPerBurst)
	r.bursts = uint32(s.Bursts)
	r.delay = uint32(math.RoundToEven(s.DelayBetweenBursts * 1e6))
	a.DelayBetweenBursts = float64(r.delay) / 1e6

	r.ctrl = uint32(slices.Index(TriggerSources, s.TriggerSource)) | regmap.ASGWrap
	if s.Waveform == "noise" {
		r.ctrl |= regmap.ASGRandom
	}
	r.outDir = uint32(slices.Index(OutputDirects, s.OutputDirect))
	r.applied = a
	return r
}

// apply writes settings s (validated) to the hardware, in PyRPL's order:
// output off and state machine in reset, registers, table, release.
func (g *Generator) apply(s api.ASGSettings) error {
	s.Generator = g.name
	r := encode(s)
	table := Table(nil, s.Waveform, r.applied.Amplitude, g.ch)

	var word [1]uint32
	if err := g.f.Read(regmap.ASGBase+regmap.ASGControl, word[:]); err != nil {
		return g.wrap("read control word", err)
	}
	shift := regmap.ASGControlShift(g.ch)
	keep := word[0] &^ (ownBits << shift)
	hold := keep | (r.ctrl|regmap.ASGSMReset|regmap.ASGZero)<<shift
	run := keep | r.ctrl<<shift

	steps := []struct {
		what string
		addr uint32
		src  []uint32
	}{
		{"hold control word", regmap.ASGBase + regmap.ASGControl, []uint32{hold}},
		{"write amplitude, wrap, start, step", regmap.ASGBase + regmap.ASGReg(g.ch, regmap.ASGAmpOffset),
			[]uint32{r.ampOfs, regmap.ASGDefaultWrap, r.start, r.step}},
		{"write burst registers", regmap.ASGBase + regmap.ASGReg(g.ch, regmap.ASGCycles),
			[]uint32{r.cycles, r.bursts, r.delay}},
		{"write table", regmap.ASGBase + regmap.ASGData(g.ch), table},
		{"write output_direct", regmap.Slot(regmap.SlotASG0+g.ch) + regmap.DSPOutputDirect, []uint32{r.outDir}},
		{"release control word", regmap.ASGBase + regmap.ASGControl, []uint32{run}},
	}
	for _, st := range steps {
		if err := g.f.Write(st.addr, st.src); err != nil {
			return g.wrap(st.what, err)
		}
	}
	g.set = r.applied
	return nil
}

// wrap keeps the backend's error code and names the generator and step.
func (g *Generator) wrap(what string, err error) error {
	return fmt.Errorf("%s: %s: %w", g.name, what, err)
}

// Table fills dst (allocated when nil or shorter than TableLen) with the
// register words of a waveform table: round(8191 * y) saturated to 14-bit
// two's complement. amplitude matters only for noise (the rms in V) and
// channel only for noise (the PCG stream). An unknown waveform panics.
func Table(dst []uint32, waveform string, amplitude float64, channel int) []uint32 {
	if len(dst) < TableLen {
		dst = make([]uint32, TableLen)
	}
	dst = dst[:TableLen]
	const n = TableLen
	var y func(i int) float64
	switch waveform {
	case "sin":
		y = func(i int) float64 { return math.Sin(float64(i) * (2 * math.Pi / n)) }
	case "cos":
		y = func(i int) float64 { return math.Cos(float64(i) * (2 * math.Pi / n)) }
	case "ramp":
		y = func(i int) float64 {
			if i < n/2 {
				return -1 + float64(i)*(4.0/n)
			}
			return -(-1 + float64(i-n/2)*(4.0/n))
		}
	case "halframp":
		y = func(i int) float64 { return -1 + float64(i)*(2.0/n) }
	case "square":
		y = func(i int) float64 {
			if i < n/2 {
				return 1
			}
			return -1
		}
	case "dc":
		y = func(int) float64 { return 0 }
	case "noise":
		rng := rand.New(rand.NewPCG(NoiseSeed, uint64(channel)))
		y = func(int) float64 { return rng.NormFloat64() * amplitude }
	default:
		panic("asg: unknown waveform " + waveform)
	}
	for i := range dst {
		dst[i] = point(y(i))
	}
	return dst
}

// point is PyRPL's data setter for one value: round(8191 * y), saturated
// to -8192..8191, as 14-bit two's complement. (PyRPL turns codes between
// -16384 and -8193, possible only for loud noise, into positive ones; we
// saturate, which is what its code means to do.)
func point(y float64) uint32 {
	v := math.RoundToEven(tablePeak * y)
	v = min(max(v, -(tablePeak+1)), tablePeak)
	return uint32(int32(v)) & dataMask
}
