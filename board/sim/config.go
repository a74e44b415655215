package sim

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/cmplx"
	"os"

	"github.com/rpbus/rpbus/internal/num"
	"github.com/rpbus/rpbus/regmap"
)

// ErrConfigValidation is wrapped by every configuration error.
var ErrConfigValidation = errors.New("sim: invalid config")

// Resonance is a second-order band-pass: H(f) = Gain * (j f F0/Q) /
// (F0^2 - f^2 + j f F0/Q); |H(F0)| = Gain, phase 0 at F0.
type Resonance struct {
	F0   float64 `json:"f0"`   // centre frequency [Hz]
	Q    float64 `json:"q"`    // quality factor
	Gain float64 `json:"gain"` // peak gain [V/V]
}

// LowPass is a first-order low-pass: H(f) = Gain / (1 + j f/Fc).
type LowPass struct {
	Fc   float64 `json:"fc"`   // corner frequency [Hz]
	Gain float64 `json:"gain"` // DC gain [V/V]
}

// Config configures the simulated board and its analog device under test.
type Config struct {
	// Seed keys the noise: equal seeds and register histories give equal samples.
	Seed uint64 `json:"seed"`
	// NoiseDensity is the white input noise of in1 and in2 [V/sqrt(Hz)] over
	// the full 62.5 MHz band; std = NoiseDensity * sqrt(62.5 MHz).
	NoiseDensity float64 `json:"noise_density"`
	// DUT1 connects out1 to in1.
	DUT1 Resonance `json:"dut1"`
	// DUT2 connects out2 to in2.
	DUT2 LowPass `json:"dut2"`
	// CableDelay is an extra analog delay out -> in [s], added to
	// AnalogLatencyCycles.
	CableDelay float64 `json:"cable_delay"`
	// BusRead is the time one 32-bit read of a register or buffer word
	// takes the board's CPU over the Zynq's AXI GP0 port [s]; 0: free.
	BusRead float64 `json:"bus_read"`
	// BusWrite is the time of one 32-bit write [s]; 0: free.
	BusWrite float64 `json:"bus_write"`
}

// Default bus times, from published measurements of the Zynq-7010 (see
// docs/simulator.md): 16384 words of a Red Pitaya scope buffer read
// through /dev/mem in 3 to 4 ms (183-244 ns a word); an AXI-lite GP read
// of 16 bus cycles (80 ns at 200 MHz, 128 ns at the 125 MHz of PyRPL's
// bus) plus the scope BRAM's four cycles of read latency; a register
// write from Linux 0.25 us (relaxed) to 0.7 us (with barriers).
const (
	DefaultBusRead  = 200e-9
	DefaultBusWrite = 250e-9
)

// maxBusTime bounds BusRead and BusWrite [s].
const maxBusTime = 1e-3

// DefaultConfig returns the documented defaults: seed 1, 100 nV/sqrt(Hz),
// a 1 MHz Q=10 unity-gain resonance on out1->in1, a 100 kHz unity-gain
// low-pass on out2->in2, no cable delay, the bus times DefaultBusRead and
// DefaultBusWrite.
func DefaultConfig() Config {
	return Config{
		Seed:         1,
		NoiseDensity: 100e-9,
		DUT1:         Resonance{F0: 1e6, Q: 10, Gain: 1},
		DUT2:         LowPass{Fc: 100e3, Gain: 1},
		BusRead:      DefaultBusRead,
		BusWrite:     DefaultBusWrite,
	}
}

// BusOn reports whether register access costs bus time as on the board:
// figures measured without it hold for the simulator only.
func (c Config) BusOn() bool { return c.BusRead > 0 && c.BusWrite > 0 }

// LoadConfig reads a JSON config; fields it omits keep DefaultConfig's
// values. The result is validated.
func LoadConfig(path string) (Config, error) {
	c := DefaultConfig()
	b, err := os.ReadFile(path)
	if err != nil {
		return c, err
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("%w: %s: %v", ErrConfigValidation, path, err)
	}
	return c, c.Validate()
}

// Validate checks every field.
func (c Config) Validate() error {
	nyq := regmap.Clock / 2
	switch {
	case !num.Finite(c.NoiseDensity) || c.NoiseDensity < 0 || c.NoiseDensity > 1e-3:
		return fmt.Errorf("%w: noise_density %g V/sqrt(Hz): must be in 0..1e-3", ErrConfigValidation, c.NoiseDensity)
	case !num.Finite(c.DUT1.F0) || c.DUT1.F0 <= 0 || c.DUT1.F0 >= nyq:
		return fmt.Errorf("%w: dut1.f0 %g Hz: must be in (0, 62.5e6)", ErrConfigValidation, c.DUT1.F0)
	case !num.Finite(c.DUT1.Q) || c.DUT1.Q <= 0 || c.DUT1.Q > 1e6:
		return fmt.Errorf("%w: dut1.q %g: must be in (0, 1e6]", ErrConfigValidation, c.DUT1.Q)
	case !num.Finite(c.DUT1.Gain) || c.DUT1.Gain < 0 || c.DUT1.Gain > 100:
		return fmt.Errorf("%w: dut1.gain %g: must be in 0..100", ErrConfigValidation, c.DUT1.Gain)
	case !num.Finite(c.DUT2.Fc) || c.DUT2.Fc <= 0 || c.DUT2.Fc >= nyq:
		return fmt.Errorf("%w: dut2.fc %g Hz: must be in (0, 62.5e6)", ErrConfigValidation, c.DUT2.Fc)
	case !num.Finite(c.DUT2.Gain) || c.DUT2.Gain < 0 || c.DUT2.Gain > 100:
		return fmt.Errorf("%w: dut2.gain %g: must be in 0..100", ErrConfigValidation, c.DUT2.Gain)
	case !num.Finite(c.CableDelay) || c.CableDelay < 0 || c.CableDelay > 1e-3:
		return fmt.Errorf("%w: cable_delay %g s: must be in 0..1e-3", ErrConfigValidation, c.CableDelay)
	case !num.Finite(c.BusRead) || c.BusRead < 0 || c.BusRead > maxBusTime:
		return fmt.Errorf("%w: bus_read %g s: must be in 0..1e-3", ErrConfigValidation, c.BusRead)
	case !num.Finite(c.BusWrite) || c.BusWrite < 0 || c.BusWrite > maxBusTime:
		return fmt.Errorf("%w: bus_write %g s: must be in 0..1e-3", ErrConfigValidation, c.BusWrite)
	}
	return nil
}

// Model latencies in 125 MHz cycles. With them the network analyzer sees
// out -> in as H(f) exp(-j 2 pi f (NALoopDelayCycles*8ns + CableDelay)),
// the delay PyRPL's network analyzer corrects (regmap.NADelayCycles).
const (
	// IQOutputLatencyCycles: an IQ module's output lags the LO phase its
	// demodulator pairs with the input by this many cycles, as in
	// red_pitaya_iq_block.v (the fgen's sine is 3 cycles behind its
	// phase, the modulator adds 2, the demodulator pairs the input with
	// the phase 2 cycles before): an IQ module measuring its own output
	// sees these 3 cycles, the delay PyRPL's network analyzer corrects.
	IQOutputLatencyCycles = 3
	// AnalogLatencyCycles: in1/in2 lag out1/out2 (besides the DUT and the
	// cable delay). 0: the output adder tree (5 cycles), the converters and
	// the board's analog path are not modelled (Config.CableDelay can), so
	// that the network analyzer shows the DUT itself.
	AnalogLatencyCycles = 0
	// NALoopDelayCycles = IQOutputLatencyCycles + AnalogLatencyCycles.
	NALoopDelayCycles = IQOutputLatencyCycles + AnalogLatencyCycles
	// ScopeEdgeLatencyCycles: a level crossing in a decimated sample
	// becomes a trigger this many cycles after the sample is written
	// (Schmitt register, pulse register, adc_trig register).
	ScopeEdgeLatencyCycles = 3
	// ScopeSWLatencyCycles: writing trigger source 1 triggers this many
	// cycles later.
	ScopeSWLatencyCycles = 2
	// ScopeASGLatencyCycles: an ASG period start reaches the scope trigger
	// through two synchroniser stages and the debouncer.
	ScopeASGLatencyCycles = 4
)

// H1 is the out1 -> in1 device under test at f Hz (not including delays).
func (c Config) H1(f float64) complex128 {
	r := c.DUT1
	num := complex(0, f*r.F0/r.Q)
	return complex(r.Gain, 0) * num / (complex(r.F0*r.F0-f*f, 0) + num)
}

// H2 is the out2 -> in2 device under test at f Hz (not including delays).
func (c Config) H2(f float64) complex128 {
	return complex(c.DUT2.Gain, 0) / complex(1, f/c.DUT2.Fc)
}

// LoopDelay is the total analog delay out -> in [s]: AnalogLatencyCycles
// cycles plus CableDelay.
func (c Config) LoopDelay() float64 { return AnalogLatencyCycles/regmap.Clock + c.CableDelay }

// In1Response is what in1 shows for a tone of frequency f on out1: H1(f)
// times the loop delay. InResponse(2, f) likewise for out2 -> in2.
func (c Config) InResponse(ch int, f float64) complex128 {
	h := c.H1(f)
	if ch == 2 {
		h = c.H2(f)
	}
	return h * cmplx.Exp(complex(0, -2*math.Pi*f*c.LoopDelay()))
}

// NoiseStd is the std of the analog input noise of one raw 125 MS/s sample
// [V]: NoiseDensity * sqrt(62.5 MHz), without quantisation.
func (c Config) NoiseStd() float64 { return c.NoiseDensity * math.Sqrt(regmap.Clock/2) }

// LSB is one ADC step [V].
const LSB = 1.0 / regmap.VoltsNorm

// SampleNoiseStd is the std of the random part of one scope sample of in1
// or in2 [V] at decimation dec: analog noise plus quantisation (LSB^2/12),
// divided by sqrt(dec) when avg (boxcar averaging) is on.
func (c Config) SampleNoiseStd(dec uint32, avg bool) float64 {
	v := c.NoiseStd()*c.NoiseStd() + LSB*LSB/12
	if avg && dec > 1 {
		v /= float64(dec)
	}
	return math.Sqrt(v)
}

// NANoiseStd is the std of each of the NA's I and Q values after PyRPL's
// scaling (sum/averages * 2^-24 * 4 / amplitude), for `averages` cycles of
// an input (in1 or in2) whose input filter passes |hin| at the analysis
// frequency, with IQ amplitude amp [V]. It is in the units of the
// transfer function (V/V).
func (c Config) NANoiseStd(averages uint32, amp, hin float64) float64 {
	if averages == 0 || amp == 0 {
		return 0
	}
	sx := math.Sqrt(c.NoiseStd()*c.NoiseStd()*hin*hin + LSB*LSB/12)
	sum := naScale * sx * math.Sqrt(float64(averages)/2)
	return sum / float64(averages) * regmap.NARescale / amp
}

// naScale converts sum(x * sin(LO)) with x in volts into the Verilog's
// accumulator units: 2^13 (signal) * 65535 (LO peak) / 2^6 (demodulator shift).
const naScale = float64(regmap.VoltsNorm) * regmap.IQLUTAmplitude / (1 << regmap.IQDemodShift)

// NAGain is the systematic factor the NA readout carries besides H and the
// delay: the LO table peak 65535/65536.
const NAGain = naScale * regmap.NARescale / 2
