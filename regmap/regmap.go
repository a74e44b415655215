package regmap

import (
	"math"
	"math/bits"

	"github.com/rpbus/rpbus/rperr"
)

// Clock is the FPGA clock in Hz (8 ns per cycle).
const Clock = 125e6

// Block bases. A block spans 1 MiB (address bits 19:0 are decoded inside it).
const (
	HKBase    uint32 = 0x40000000
	ScopeBase uint32 = 0x40100000
	ASGBase   uint32 = 0x40200000
	DSPBase   uint32 = 0x40300000
	AMSBase   uint32 = 0x40400000

	BlockSize uint32 = 0x100000 // bytes per block
	SlotSize  uint32 = 0x10000  // bytes per DSP slot
)

// Housekeeping offsets (red_pitaya_hk.v).
const (
	HKID          uint32 = 0x00 // design id: 1 = release 1
	HKDNALow      uint32 = 0x04 // device DNA bits 31:0
	HKDNAHigh     uint32 = 0x08 // device DNA bits 56:32
	HKDigitalLoop uint32 = 0x0C // bit0: digital loop-back
	HKExpPDir     uint32 = 0x10 // expansion P direction (8 bit)
	HKExpNDir     uint32 = 0x14
	HKExpPOut     uint32 = 0x18
	HKExpNOut     uint32 = 0x1C
	HKExpPIn      uint32 = 0x20 // read only
	HKExpNIn      uint32 = 0x24 // read only
	HKLED         uint32 = 0x30 // 8 LEDs

	HKIDRelease1 uint32 = 1
)

// AMS offsets: the four slow (PWM) DACs, 24 bits each. In the PyRPL
// bitstream dac0/dac1 are driven by the DSP pwm outputs and read-only.
const (
	AMSDAC0 uint32 = 0x20
	AMSDAC1 uint32 = 0x24
	AMSDAC2 uint32 = 0x28
	AMSDAC3 uint32 = 0x2C
)

// Scope offsets (red_pitaya_scope.v).
const (
	ScopeControl        uint32 = 0x00  // see ScopeArm.. bits
	ScopeTriggerSource  uint32 = 0x04  // TrigOff..TrigDSP; writing 1 fires the software trigger
	ScopeThreshold      uint32 = 0x08  // 14-bit two's complement, V*2^13
	ScopeDelay          uint32 = 0x10  // decimated samples written after the trigger
	ScopeDecimation     uint32 = 0x14  // 17 bit
	ScopeWritePointer   uint32 = 0x18  // address of the last written sample
	ScopeTriggerPointer uint32 = 0x1C  // write pointer at the trigger
	ScopeHysteresis     uint32 = 0x20  // 14 bit, V*2^13
	ScopeAverage        uint32 = 0x28  // bit0: boxcar average over the decimation window
	ScopeSamplesWritten uint32 = 0x2C  // samples written since arming, before the trigger
	ScopeDebounce       uint32 = 0x90  // 20 bit, cycles
	ScopeADC1           uint32 = 0x154 // current ch1 input, 14 bit
	ScopeADC2           uint32 = 0x158 // current ch2 input, 14 bit
	ScopeTimeLow        uint32 = 0x15C // 64-bit cycle counter now
	ScopeTimeHigh       uint32 = 0x160
	ScopeTrigTimeLow    uint32 = 0x164 // 64-bit cycle counter at the trigger
	ScopeTrigTimeHigh   uint32 = 0x168
	ScopePretrigger     uint32 = 0x16C // bit0: enough pretrigger samples written
	ScopeCh1Data        uint32 = 0x10000
	ScopeCh2Data        uint32 = 0x20000

	ScopeBufferLen = 1 << 14 // samples per channel
)

// Scope control bits.
const (
	ScopeArm          uint32 = 1 << 0 // write: arm; read: armed (writing)
	ScopeReset        uint32 = 1 << 1 // write: reset the write state machine
	ScopeDelayRunning uint32 = 1 << 2 // read: triggered, delay still running
	ScopeKeepWriting  uint32 = 1 << 3 // rolling mode: do not disarm after the delay
)

// Scope reset values.
const (
	ScopeDefaultDelay      uint32 = ScopeBufferLen / 2
	ScopeDefaultDecimation uint32 = 0x2000
	ScopeDefaultHysteresis uint32 = 20
	ScopeDefaultDebounce   uint32 = 62500
)

// Scope trigger sources (register ScopeTriggerSource).
const (
	TrigOff         uint32 = 0
	TrigImmediately uint32 = 1
	TrigCh1Pos      uint32 = 2
	TrigCh1Neg      uint32 = 3
	TrigCh2Pos      uint32 = 4
	TrigCh2Neg      uint32 = 5
	TrigExtPos      uint32 = 6
	TrigExtNeg      uint32 = 7
	TrigASG0        uint32 = 8
	TrigASG1        uint32 = 9
	TrigDSP         uint32 = 10
)

var trigNames = []string{"off", "immediately", "ch1_positive_edge", "ch1_negative_edge",
	"ch2_positive_edge", "ch2_negative_edge", "ext_positive_edge", "ext_negative_edge",
	"asg0", "asg1", "dsp"}

// TriggerSourceName returns PyRPL's name of a scope trigger source code, or
// "" for an unknown code.
func TriggerSourceName(code uint32) string {
	if int(code) < len(trigNames) {
		return trigNames[code]
	}
	return ""
}

// TriggerSourceCode returns the code of a PyRPL scope trigger source name.
func TriggerSourceCode(name string) (uint32, bool) {
	for i, n := range trigNames {
		if n == name {
			return uint32(i), true
		}
	}
	return 0, false
}

// Decimations lists the decimations the scope supports: 2^0 .. 2^16.
var Decimations = func() []uint32 {
	d := make([]uint32, 17)
	for i := range d {
		d[i] = 1 << i
	}
	return d
}()

// ValidDecimation reports whether dec is one of Decimations.
func ValidDecimation(dec uint32) bool {
	return dec >= 1 && dec <= 1<<16 && dec&(dec-1) == 0
}

// SamplingTime is the time between decimated samples: dec * 8 ns, in seconds.
func SamplingTime(dec uint32) float64 { return float64(dec) / Clock }

// Duration is the time a full buffer spans: 16384 * 8 ns * dec, in seconds.
func Duration(dec uint32) float64 { return ScopeBufferLen * SamplingTime(dec) }

// DecimationFor returns the smallest decimation whose Duration is at least
// d seconds (PyRPL rounds a requested duration up), capped at 65536.
func DecimationFor(d float64) uint32 {
	for _, dec := range Decimations {
		if Duration(dec) >= d*(1-1e-12) {
			return dec
		}
	}
	return Decimations[len(Decimations)-1]
}

// ASG offsets (red_pitaya_asg.v). Per-channel registers of channel B are at
// the channel A offset + ASGChannelStride; ASGReg(ch, off) computes them.
const (
	ASGControl       uint32 = 0x00 // both channels: A in bits 15:0, B in bits 31:16
	ASGAmpOffset     uint32 = 0x04 // bits 13:0 amplitude (unsigned, 2^13 = 1), bits 29:16 offset (two's complement V*2^13)
	ASGCounterWrap   uint32 = 0x08 // table size: pointer wraps after this value (30 bit, 16-bit fraction)
	ASGStartOffset   uint32 = 0x0C // pointer value at trigger (start phase, 30 bit)
	ASGStep          uint32 = 0x10 // pointer step per cycle: f = step * 125 MHz / 2^30
	ASGReadPointer   uint32 = 0x14 // disabled in the bitstream: reads 0
	ASGCycles        uint32 = 0x18 // table periods per burst, 0 = infinite
	ASGBursts        uint32 = 0x1C // repetitions (16 bit)
	ASGBurstDelay    uint32 = 0x20 // delay between bursts, microseconds
	ASGChannelStride uint32 = 0x20

	ASGTrigPointerA uint32 = 0x114 // table pointer of A at the last scope trigger
	ASGTrigPointerB uint32 = 0x134
	ASGAdvCountsA   uint32 = 0x118 // advanced trigger hysteresis, 64 bit (2 words)
	ASGAdvCountsB   uint32 = 0x138

	ASGDataA   uint32 = 0x10000
	ASGDataB   uint32 = 0x20000
	ASGDataLen        = 1 << 14

	ASGPhaseBits = 30 // bits of the table pointer
	// ASGDefaultWrap is PyRPL's (and the reset) counter wrap: 2^30 - 1.
	ASGDefaultWrap uint32 = 1<<30 - 1
)

// ASGReg returns the offset of per-channel register off (channel A offset)
// for channel ch (0 = A, 1 = B).
func ASGReg(ch int, off uint32) uint32 {
	if ch == 0 {
		return off
	}
	return off + ASGChannelStride
}

// ASGData returns the table offset of channel ch.
func ASGData(ch int) uint32 {
	if ch == 0 {
		return ASGDataA
	}
	return ASGDataB
}

// ASG control bits, for channel A; shift left by ASGControlShift(ch) for B.
const (
	ASGTrigMask      uint32 = 0x7     // trigger source, see ASGTrig*
	ASGWrap          uint32 = 1 << 4  // wrap the pointer instead of restarting at the start offset
	ASGOnce          uint32 = 1 << 5  // unused by the bitstream (PyRPL: not periodic)
	ASGSMReset       uint32 = 1 << 6  // hold the state machine in reset
	ASGZero          uint32 = 1 << 7  // output forced to 0 (PyRPL: on = false)
	ASGRepGate       uint32 = 1 << 8  // external gated repetitions
	ASGAdvReset      uint32 = 1 << 9  // advanced trigger reset
	ASGAdvInvert     uint32 = 1 << 10 // advanced trigger invert
	ASGAdvAutorearm  uint32 = 1 << 11 // advanced trigger auto rearm
	ASGRandom        uint32 = 1 << 12 // pseudo-random table pointer
	ASGControlBitsLo uint32 = 0x1FF7  // writable bits of channel A
)

// ASGControlShift is the bit position of channel ch's half of ASGControl.
func ASGControlShift(ch int) uint { return uint(16 * ch) }

// ASG trigger sources (bits 2:0 of each half of ASGControl). Writing the
// control word with bit 0 of a half set is a software trigger for that
// channel; it starts the channel when its source is ASGTrigImmediately.
const (
	ASGTrigOff         uint32 = 0
	ASGTrigImmediately uint32 = 1
	ASGTrigExtPos      uint32 = 2
	ASGTrigExtNeg      uint32 = 3
	ASGTrigExtRaw      uint32 = 4
	ASGTrigHigh        uint32 = 5
)

// DSP slots: module numbers, also the signal numbers an input select uses.
const (
	SlotPID0  = 0
	SlotPID1  = 1
	SlotPID2  = 2
	SlotTrig  = 3
	SlotIIR   = 4
	SlotIQ0   = 5
	SlotIQ1   = 6
	SlotIQ2   = 7
	SlotASG0  = 8 // also the scope ch1 input select
	SlotASG1  = 9 // also the scope ch2 input select
	SlotIn1   = 10
	SlotIn2   = 11
	SlotOut1  = 12
	SlotOut2  = 13
	SlotIQ2_2 = 14
	SlotOff   = 15

	SlotScope1 = SlotASG0
	SlotScope2 = SlotASG1
	NumSlots   = 16
)

var slotNames = [NumSlots]string{"pid0", "pid1", "pid2", "trig", "iir", "iq0", "iq1", "iq2",
	"asg0", "asg1", "in1", "in2", "out1", "out2", "iq2_2", "off"}

// SlotName returns the name of DSP slot n ("" if n is out of range).
func SlotName(n int) string {
	if n < 0 || n >= NumSlots {
		return ""
	}
	return slotNames[n]
}

// SlotNumber returns the slot number of a DSP signal name.
func SlotNumber(name string) (int, bool) {
	for i, n := range slotNames {
		if n == name {
			return i, true
		}
	}
	return 0, false
}

// Slot returns the base address of DSP slot n.
func Slot(n int) uint32 { return DSPBase + uint32(n)*SlotSize }

// Per-slot routing registers (red_pitaya_dsp.v), at every slot base.
const (
	DSPInputSelect  uint32 = 0x00 // 4 bit signal number
	DSPOutputDirect uint32 = 0x04 // OutputOff..OutputBoth
	DSPSaturation   uint32 = 0x08 // bit0 out1 saturated, bit1 out2 saturated
	DSPSync         uint32 = 0x0C // one bit per module 0..7, all on at reset
	DSPOutputSignal uint32 = 0x10 // the module's current output, 14 bit
)

// output_direct codes.
const (
	OutputOff  uint32 = 0
	OutputOut1 uint32 = 1
	OutputOut2 uint32 = 2
	OutputBoth uint32 = 3
)

// Filter-module offsets (pid, iq, trig): the input filter and its build
// constants.
const (
	InputFilter        uint32 = 0x120
	InputFilterStages  uint32 = 0x220
	InputFilterShift   uint32 = 0x224
	InputFilterMinBW   uint32 = 0x228
	BuildConstantsBase uint32 = 0x200
)

// IQ offsets (red_pitaya_iq_block.v, iq.py).
const (
	IQControl          uint32 = 0x100 // bit0 on (reads the sync bit), bit1 pfd_on, bits 5:2 2f flags
	IQPhase            uint32 = 0x104 // demodulation phase shift, 32 bit (PyRPL writes -phase)
	IQFrequency        uint32 = 0x108 // f * 2^32 / 125 MHz; writing it starts an NA point
	IQOutputSignal     uint32 = 0x10C // IQSignalQuadrature..
	IQG1               uint32 = 0x110 // 18-bit gains
	IQAmplitude        uint32 = 0x114 // g2: amplitude, V * 2^17
	IQQuadratureFactor uint32 = 0x118 // g3
	IQG4               uint32 = 0x11C
	IQInputFilter      uint32 = 0x120 // input filter (acbandwidth), 1 stage
	IQBandwidth        uint32 = 0x124 // quadrature low-pass filter, 2 stages (4 for iq2)
	IQNAAverages       uint32 = 0x130 // cycles to accumulate
	IQNASleepCycles    uint32 = 0x134 // cycles to wait first
	IQNAISumLow        uint32 = 0x140 // I sum bits 30:0, bit31 busy
	IQNAISumHigh       uint32 = 0x144 // I sum bits 61:31, bit31 busy
	IQNAQSumLow        uint32 = 0x148
	IQNAQSumHigh       uint32 = 0x14C
	IQPFDIntegral      uint32 = 0x150

	IQLUTSize             uint32 = 0x200 // build constants
	IQLUTBits             uint32 = 0x204
	IQPhaseBitsReg        uint32 = 0x208
	IQGainBits            uint32 = 0x20C
	IQSignalBits          uint32 = 0x210
	IQLPFBits             uint32 = 0x214
	IQShiftBits           uint32 = 0x218
	IQQuadFilterStagesReg uint32 = 0x230
	IQQuadFilterShiftReg  uint32 = 0x234
	IQQuadFilterMinBWReg  uint32 = 0x238
	IQNABusy              uint32 = 1 << 31
	IQPhaseBits                  = 32
	IQAmplitudeBits              = 18
	IQAmplitudeNorm              = 1 << 17 // amplitude register per volt
	IQLPFBitsValue               = 24
	IQLUTAmplitude               = 1<<16 - 1 // peak of the LO sine table
	IQInputFilterMinBW           = 50
	IQQuadFilterMinBW            = 10
	IQFilterShiftBits            = 5
	IQDemodShift                 = 6 // product (14 x 17 bit) >> 6 = 24-bit quadrature
	IQQuadFactorShift            = 10
)

// IQ output_signal codes.
const (
	IQSignalQuadrature   uint32 = 0
	IQSignalOutputDirect uint32 = 1
	IQSignalPFD          uint32 = 2
	IQSignalOff          uint32 = 3
	IQSignalQuadratureHF uint32 = 4
)

// PID offsets (red_pitaya_pid_block.v, pid.py).
const (
	PIDIntegrator      uint32 = 0x100 // write: integrator value; read: integrator
	PIDSetpoint        uint32 = 0x104 // 14 bit, V*2^13
	PIDP               uint32 = 0x108 // 24 bit, norm 2^12
	PIDI               uint32 = 0x10C // 24 bit
	PIDD               uint32 = 0x110
	PIDInputFilter     uint32 = 0x120 // 4 stages
	PIDMin             uint32 = 0x124 // 14 bit, V*2^13
	PIDMax             uint32 = 0x128
	PIDPause           uint32 = 0x12C // bits 3:0: pause_pid_on_sync (3 bits) and differential mode
	PIDPSR                    = 12
	PIDISR                    = 32
	PIDDSR                    = 10
	PIDGainBits               = 24
	PIDFilterStages           = 4
	PIDFilterShiftBits        = 5
	PIDFilterMinBW            = 10
)

// Trig module (slot 3) offsets (red_pitaya_trigger_block.v, trig.py).
const (
	TrigArmed         uint32 = 0x100 // bit0 write: arm; read: armed
	TrigFlags         uint32 = 0x104 // bit0 auto_rearm, bit1 phase_abs
	TrigSource        uint32 = 0x108 // bit0 positive edge, bit1 negative edge
	TrigOutputSelect  uint32 = 0x10C
	TrigPhaseOffset   uint32 = 0x110
	TrigThreshold     uint32 = 0x118 // 14 bit, V*2^13
	TrigHysteresis    uint32 = 0x11C // 14 bit, V*2^13
	TrigInputFilter   uint32 = 0x120
	TrigTimeLow       uint32 = 0x15C // current timestamp
	TrigTimeHigh      uint32 = 0x160
	TrigTrigTimeLow   uint32 = 0x164 // timestamp of the last trigger
	TrigTrigTimeHigh  uint32 = 0x168
	TrigFilterStages         = 1
	TrigFilterShift          = 5
	TrigFilterMinBW          = 1
	TrigSourceOff     uint32 = 0
	TrigSourcePosEdge uint32 = 1
	TrigSourceNegEdge uint32 = 2
	TrigSourceBoth    uint32 = 3
)

// IIR module (slot 4) offsets (red_pitaya_iir_block.v, iir.py).
const (
	IIRLoops        uint32 = 0x100  // 10 bit: each biquad is updated once every `loops` cycles
	IIRControl      uint32 = 0x104  // bit0 on, bit1 shortcut (PyRPL's bypass)
	IIROverflow     uint32 = 0x108  // read: overflow flags since on (bit 6: output saturated)
	IIRInputFilter  uint32 = 0x120  // one input filter stage
	IIRBitsReg      uint32 = 0x200  // build constants
	IIRShiftReg     uint32 = 0x204  //
	IIRStagesReg    uint32 = 0x208  //
	IIRCoefficients uint32 = 0x8000 // 8 words a biquad: b0, b1, a1, a2, each low then high word (write only)

	IIROn       uint32 = 1 << 0
	IIRShortcut uint32 = 1 << 1

	IIRBits            = 32 // coefficient width
	IIRShift           = 29 // coefficient fraction bits: 1.0 = 2^29
	IIRStages          = 14 // biquads
	IIRLoopBits        = 10
	IIRFilterStages    = 1
	IIRFilterShiftBits = 3
	IIRFilterMinBW     = 1000
)

// ---- encodings ----

// VoltsNorm is the 14-bit signal scale: 1 V = 2^13.
const VoltsNorm = 1 << 13

// ToSigned interprets the low `bits` bits of v as two's complement.
func ToSigned(v uint32, bits uint) int64 {
	v &= uint32(1<<bits - 1)
	if v&(1<<(bits-1)) != 0 {
		return int64(v) - int64(1)<<bits
	}
	return int64(v)
}

// FromSigned encodes x as `bits`-bit two's complement, saturating at the
// range limits.
func FromSigned(x int64, bits uint) uint32 {
	lo, hi := -(int64(1) << (bits - 1)), int64(1)<<(bits-1)-1
	x = min(max(x, lo), hi)
	return uint32(x) & uint32(1<<bits-1)
}

// VoltsToReg encodes volts as 14-bit two's complement with norm 2^13,
// rounding to nearest and saturating at -1 and +1-2^-13 V.
func VoltsToReg(v float64) uint32 {
	return FromSigned(int64(math.Round(v*VoltsNorm)), 14)
}

// RegToVolts decodes the low 14 bits of a register as volts (norm 2^13).
func RegToVolts(r uint32) float64 { return float64(ToSigned(r, 14)) / VoltsNorm }

// FreqToReg returns the frequency register value for f Hz with a phase
// accumulator of `bits` bits: round(f * 2^bits / 125 MHz). IQ modules use
// 32 bits, the ASG 30 bits.
func FreqToReg(f float64, bits uint) uint32 {
	return uint32(math.Round(math.Abs(f) * math.Ldexp(1, int(bits)) / Clock))
}

// RegToFreq is the inverse of FreqToReg: r * 125 MHz / 2^bits.
func RegToFreq(r uint32, bits uint) float64 {
	return float64(r) * Clock / math.Ldexp(1, int(bits))
}

// PhaseToReg returns round(deg/360 * 2^bits) mod 2^bits.
func PhaseToReg(deg float64, bits uint) uint32 {
	m := math.Ldexp(1, int(bits))
	r := math.Mod(math.Round(deg/360*m), m)
	if r < 0 {
		r += m
	}
	return uint32(r)
}

// RegToPhase returns the phase in degrees, 0..360.
func RegToPhase(r uint32, bits uint) float64 {
	return float64(r&uint32(1<<bits-1)) / math.Ldexp(1, int(bits)) * 360
}

// FilterSpec describes a filter block as its build constants report it.
type FilterSpec struct {
	Stages    int // number of first-order stages (one byte each in the register)
	ShiftBits int // width of the shift field
	MinBW     int // minimum bandwidth parameter, Hz
}

// Filter specs of the PyRPL bitstream.
var (
	IQInputFilterSpec = FilterSpec{Stages: 1, ShiftBits: IQFilterShiftBits, MinBW: IQInputFilterMinBW}
	IQQuadFilterSpec  = FilterSpec{Stages: 2, ShiftBits: IQFilterShiftBits, MinBW: IQQuadFilterMinBW}
	IQ2QuadFilterSpec = FilterSpec{Stages: 4, ShiftBits: IQFilterShiftBits, MinBW: IQQuadFilterMinBW}
	PIDFilterSpec     = FilterSpec{Stages: PIDFilterStages, ShiftBits: PIDFilterShiftBits, MinBW: PIDFilterMinBW}
	TrigFilterSpec    = FilterSpec{Stages: TrigFilterStages, ShiftBits: TrigFilterShift, MinBW: TrigFilterMinBW}
	IIRFilterSpec     = FilterSpec{Stages: IIRFilterStages, ShiftBits: IIRFilterShiftBits, MinBW: IIRFilterMinBW}
)

// MaxShift is the filter block's MAXSHIFT: clog2(125 MHz / MinBW) as the
// Verilog macro computes it (floor(log2(x)) + 1).
func (s FilterSpec) MaxShift() int {
	x := uint64(Clock) / uint64(s.MinBW)
	if x < 2 {
		return 1
	}
	return bits.Len64(x)
}

// Filter stage flag bits inside a stage byte.
const (
	FilterOn       uint32 = 0x80
	FilterHighPass uint32 = 0x40
)

// pyrplCorrection are PyRPL's empirical bandwidth correction factors by
// alpha (attributes.FilterRegister.correction_factors).
var pyrplCorrection = map[float64]float64{
	0.5: 0.7, 0.25: 1.65, 0.125: 1.17, 0.0625: 1.08, 0.03125: 1.04,
	0.015625: 1.02, 0.0078125: 1.01, 0.001953125: 1.0, 0.00390625: 1.0,
}

// Alpha returns the smoothing factor of one stage byte: 2^shift / 2^MaxShift
// (shift capped at MaxShift as the Verilog does), 0 if the stage is off.
func (s FilterSpec) Alpha(stage uint32) float64 {
	if stage&FilterOn == 0 {
		return 0
	}
	sh := int(stage & uint32(1<<s.ShiftBits-1))
	sh = min(sh, s.MaxShift())
	return math.Ldexp(1, sh-s.MaxShift())
}

// EncodeFilter encodes bandwidths (Hz; 0 = stage off, negative = high-pass)
// as PyRPL does: alpha = 1 - exp(-2 pi |bw| / 125 MHz),
// shift = round(log2(alpha * 2^MaxShift)), byte = shift | 0x80 (| 0x40 for
// high-pass). Extra bandwidths beyond Stages are ignored.
func (s FilterSpec) EncodeFilter(bw ...float64) uint32 {
	var reg uint32
	for i := 0; i < s.Stages && i < len(bw); i++ {
		b := bw[i]
		if b == 0 {
			continue
		}
		alpha := 1 - math.Exp(-math.Abs(b)*2*math.Pi/Clock)
		if c, ok := pyrplCorrection[alpha]; ok {
			b /= c
			alpha = 1 - math.Exp(-math.Abs(b)*2*math.Pi/Clock)
		}
		sh := int(math.Round(math.Log2(alpha * math.Ldexp(1, s.MaxShift()))))
		sh = min(max(sh, 0), 1<<s.ShiftBits-1)
		v := uint32(sh) | FilterOn
		if b < 0 {
			v |= FilterHighPass
		}
		reg |= v << (8 * i)
	}
	return reg
}

// DecodeFilter returns the bandwidth of each stage in Hz as PyRPL reports
// it: -ln(1 - alpha) * 125 MHz / 2 pi, times PyRPL's empirical correction
// for large alpha, negative for a high-pass, 0 for an off stage.
func (s FilterSpec) DecodeFilter(reg uint32) []float64 {
	out := make([]float64, s.Stages)
	for i := range out {
		v := (reg >> (8 * i)) & 0xFF
		alpha := s.Alpha(v)
		if alpha == 0 {
			continue
		}
		bw := -math.Log(1-alpha) / 2 / math.Pi * Clock
		if alpha >= 1 {
			bw = Clock / 2
		}
		if c, ok := pyrplCorrection[alpha]; ok {
			bw *= c
		}
		if v&FilterHighPass != 0 {
			bw = -bw
		}
		out[i] = bw
	}
	return out
}

// StageResponse is the exact frequency response at f Hz of one stage of
// red_pitaya_lpf_block.v: delta[n] = x[n-1] - y[n-1], y[n+1] = y[n] +
// alpha*delta[n], giving low-pass alpha/(z^2 - z + alpha) and high-pass
// (z - 1)/(z^2 - z + alpha), z = exp(j 2 pi f / 125 MHz). An off stage
// (alpha 0 with the on bit clear) returns 1.
func (s FilterSpec) StageResponse(stage uint32, f float64) complex128 {
	if stage&FilterOn == 0 {
		return 1
	}
	a := complex(s.Alpha(stage), 0)
	z := expj(2 * math.Pi * f / Clock)
	den := z*z - z + a
	if stage&FilterHighPass != 0 {
		return (z - 1) / den
	}
	return a / den
}

// Response is the product of StageResponse over all stages of reg.
func (s FilterSpec) Response(reg uint32, f float64) complex128 {
	h := complex(1, 0)
	for i := 0; i < s.Stages; i++ {
		h *= s.StageResponse((reg>>(8*i))&0xFF, f)
	}
	return h
}

func expj(x float64) complex128 {
	s, c := math.Sincos(x)
	return complex(c, s)
}

// ---- network analyzer ----

// NA scaling and correction, as PyRPL's network_analyzer.py applies them.
const (
	// NARescale is 2^-LPFBITS * 4: y = sum / na_averages * NARescale / amplitude / tf.
	NARescale = 4.0 / (1 << IQLPFBitsValue)
	// NADelayCycles is the bare input-to-demodulator delay PyRPL corrects
	// for (network_analyzer._delay); the input filter adds
	// NAHighPassDelayCycles (high-pass) or NALowPassDelayCycles (low-pass).
	NADelayCycles         = 3
	NAHighPassDelayCycles = 1
	NALowPassDelayCycles  = 2
)

// NATransferFunction is PyRPL's NetworkAnalyzer.transfer_function: the
// response of the IQ module's input filter (decoded bandwidth bw from
// inputFilter, modelled as a first-order analog filter) times the delay
// exp(-j 2 pi f (cycles*8 ns + extraDelay)). Divide the measured value by it.
func NATransferFunction(f float64, inputFilter uint32, extraDelay float64) complex128 {
	tf := complex(1, 0)
	delay := float64(NADelayCycles)
	bw := IQInputFilterSpec.DecodeFilter(inputFilter)[0]
	switch {
	case bw > 0:
		tf /= 1 + complex(0, f/bw)
		delay += NALowPassDelayCycles
	case bw < 0:
		tf /= 1 + complex(0, bw/f)
		delay += NAHighPassDelayCycles
	}
	return tf * expj(-2*math.Pi*f*(delay/Clock+extraDelay))
}

// NAValue converts the raw 62-bit I and Q sums of one NA point into the
// transfer function as PyRPL does: (I + jQ) / averages * NARescale /
// amplitude / NATransferFunction(f, inputFilter, extraDelay). amplitude is
// the IQ amplitude in volts.
func NAValue(i, q int64, averages uint32, amplitude, f float64, inputFilter uint32, extraDelay float64) complex128 {
	if averages == 0 || amplitude == 0 {
		return 0
	}
	y := complex(float64(i), float64(q)) / complex(float64(averages), 0) * complex(NARescale/amplitude, 0)
	return y / NATransferFunction(f, inputFilter, extraDelay)
}

// NASums decodes the four words read at IQNAISumLow: the I and Q sums
// (62-bit two's complement) and whether the point is still running.
func NASums(w [4]uint32) (i, q int64, busy bool) {
	dec := func(lo, hi uint32) int64 {
		v := uint64(lo&0x7FFFFFFF) | uint64(hi&0x7FFFFFFF)<<31
		return int64(v<<2) >> 2
	}
	busy = (w[0]|w[1]|w[2]|w[3])&IQNABusy != 0
	return dec(w[0], w[1]), dec(w[2], w[3]), busy
}

// ---- address decoding ----

// Module returns the FPGA module addr belongs to: "hk", "scope", "asg",
// "ams", or the DSP slot name ("pid0".."off"), except that the input
// selects of slots asg0 and asg1 (scope channels 1 and 2) are "scope". An
// address outside the mapped blocks gives an *rperr.Error with code
// rperr.EInvalid.
func Module(addr uint32) (string, error) {
	switch {
	case addr >= HKBase && addr < HKBase+BlockSize:
		return "hk", nil
	case addr >= ScopeBase && addr < ScopeBase+BlockSize:
		return "scope", nil
	case addr >= ASGBase && addr < ASGBase+BlockSize:
		return "asg", nil
	case addr == Slot(SlotASG0)+DSPInputSelect, addr == Slot(SlotASG1)+DSPInputSelect:
		// The generators take no input: these two input selects choose
		// what scope channels 1 and 2 record, so they belong to the scope,
		// and a scope waiting for its trigger does not hold up a
		// generator's setup.
		return "scope", nil
	case addr >= DSPBase && addr < DSPBase+BlockSize:
		return slotNames[(addr-DSPBase)/SlotSize], nil
	case addr >= AMSBase && addr < AMSBase+BlockSize:
		return "ams", nil
	}
	return "", rperr.Invalidf("address %#08x is outside the mapped blocks (hk %#08x, scope %#08x, asg %#08x, dsp %#08x, ams %#08x, %#x bytes each)",
		addr, HKBase, ScopeBase, ASGBase, DSPBase, AMSBase, BlockSize)
}

// CheckRange checks that n words starting at addr are word aligned and lie
// inside one mapped module (one block, or one DSP slot).
func CheckRange(addr uint32, n int) error {
	if n < 1 {
		return rperr.Invalidf("word count %d at %#08x: must be at least 1", n, addr)
	}
	if addr%4 != 0 {
		return rperr.Invalidf("address %#08x is not word aligned", addr)
	}
	first, err := Module(addr)
	if err != nil {
		return err
	}
	end := uint64(addr) + 4*uint64(n) - 4
	if end > math.MaxUint32 {
		return rperr.Invalidf("range %#08x + %d words overflows the address space", addr, n)
	}
	last, err := Module(uint32(end))
	if err != nil || last != first || moduleBase(uint32(end)) != moduleBase(addr) {
		return rperr.Invalidf("range %#08x..%#08x (%d words) crosses out of module %s", addr, end, n, first)
	}
	return nil
}

func moduleBase(addr uint32) uint32 {
	if addr >= DSPBase && addr < DSPBase+BlockSize {
		return addr &^ (SlotSize - 1)
	}
	return addr &^ (BlockSize - 1)
}
