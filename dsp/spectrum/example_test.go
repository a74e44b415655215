package spectrum_test

import (
	"fmt"
	"math"

	"github.com/rpbus/rpbus/dsp/spectrum"
)

// A 0.5 V sine on scope channel 1 reads 0.25 Vpk^2 at its frequency.
func ExampleAnalyzer() {
	an, err := spectrum.NewAnalyzer(spectrum.Settings{
		Length:     spectrum.ScopeLength,
		Window:     spectrum.FlatTop,
		Decimation: 64, // fs = 1.953125 MHz
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer an.Release()
	p := an.Plan()

	// The scope's boxcar average over 64 clock cycles, then 0.5 V at 100.1 kHz.
	const d, a, f0 = 64, 0.5, 100.1e3
	ch1, ch2 := make([]float64, p.Len()), make([]float64, p.Len())
	for j := range ch1 {
		for m := range d {
			ch1[j] += a * math.Cos(2*math.Pi*f0*float64(j*d+m)/125e6) / d
		}
	}
	for range 4 {
		if err := an.Add(ch1, ch2); err != nil {
			fmt.Println(err)
			return
		}
	}
	spec := an.Mean(nil, spectrum.Ch1)
	k := 0
	for i, v := range spec {
		if v > spec[k] {
			k = i
		}
	}
	freqs := p.Frequencies(nil)
	fmt.Printf("rbw %.1f Hz, %d traces\n", p.RBW(), an.Count())
	fmt.Printf("peak at %.1f kHz: %.4f Vpk^2 = %.2f dB(Vpk^2) = %.4f Vrms\n", freqs[k]/1e3,
		spec[k], spectrum.DBVpk2.From(spec[k], p.RBW()), spectrum.Vrms.From(spec[k], p.RBW()))
	// Output:
	// rbw 449.5 Hz, 4 traces
	// peak at 100.1 kHz: 0.2500 Vpk^2 = -6.02 dB(Vpk^2) = 0.3535 Vrms
}

// Unit names from a request are parsed; the error names the allowed values.
func ExampleParseUnit() {
	u, err := spectrum.ParseUnit("vrms^2/hz")
	fmt.Println(u, err)
	_, err = spectrum.ParseUnit("dBm")
	fmt.Println(err)
	// Output:
	// Vrms^2/Hz <nil>
	// invalid: spectrum: unknown unit "dBm"; allowed: Vpk^2, dB(Vpk^2), Vpk, Vrms^2, dB(Vrms^2), Vrms, Vrms^2/Hz, dB(Vrms^2/Hz), Vrms/sqrt(Hz)
}

// One value in every unit: 2 Vpk^2 with a 1 kHz rbw.
func ExampleUnit_From() {
	for _, u := range spectrum.Units() {
		fmt.Printf("%-14s %.4f\n", u, u.From(2, 1e3))
	}
	// Output:
	// Vpk^2          2.0000
	// dB(Vpk^2)      3.0103
	// Vpk            1.4142
	// Vrms^2         1.0000
	// dB(Vrms^2)     0.0000
	// Vrms           1.0000
	// Vrms^2/Hz      0.0010
	// dB(Vrms^2/Hz)  -30.0000
	// Vrms/sqrt(Hz)  0.0316
}

// The bandwidth of each window at full rate, and the decimation correction
// at fs/2.
func ExamplePlan() {
	for _, w := range spectrum.Windows() {
		p, err := spectrum.NewPlan(spectrum.Settings{Length: spectrum.ScopeLength, Window: w, Decimation: 1})
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%-8s ENBW %.3f bins, rbw %6.0f Hz\n", w, p.ENBW()*float64(p.Len()), p.RBW())
	}
	p, _ := spectrum.NewPlan(spectrum.Settings{Length: spectrum.ScopeLength, Window: spectrum.Boxcar, Decimation: 1024})
	corr := p.Correction(nil)
	fmt.Printf("dec 1024: correction %.4f at 0 Hz, %.4f (%.2f dB) at fs/2\n", corr[0], corr[len(corr)-1], 10*math.Log10(corr[len(corr)-1]))
	// Output:
	// blackman ENBW 1.727 bins, rbw  13175 Hz
	// flattop  ENBW 3.771 bins, rbw  28767 Hz
	// boxcar   ENBW 1.000 bins, rbw   7629 Hz
	// hamming  ENBW 1.363 bins, rbw  10398 Hz
	// gaussian ENBW 2.821 bins, rbw  21522 Hz
	// dec 1024: correction 1.0000 at 0 Hz, 2.4674 (3.92 dB) at fs/2
}
