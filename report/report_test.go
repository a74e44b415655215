package report

import (
	"bytes"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rpbus/rpbus/api"
)

func sampleTrace() api.ScopeTrace {
	t := api.ScopeTrace{ID: "scope-1", T0: 0, Dt: 8e-9, Ch1: make([]float32, 256), Ch2: make([]float32, 256)}
	t.Settings.Input1, t.Settings.Input2, t.Settings.TriggerSource = "in1", "asg0", "immediately"
	for i := range t.Ch1 {
		t.Ch1[i] = float32(math.Sin(float64(i) / 10))
		t.Ch2[i] = float32(math.NaN()) // rolling mode: not yet written
	}
	return t
}

func sampleSweep() api.NATrace {
	t := api.NATrace{ID: "na-1", Frequencies: []float64{1e5, 1e6, 1e7}, Re: []float64{0.1, 1, 0.1}, Im: []float64{0.3, 0, -0.3}}
	t.Settings.Input = "in1"
	return t
}

func sampleSpectrum() api.Spectrum {
	s := api.Spectrum{ID: "specan-1", Frequencies: []float64{0, 1e3, 2e3}, Ch1: []float64{1e-6, 1e-3, 1e-6}, Ch2: []float64{0, 1e-9, 1e-9}, RBW: 10, Traces: 3}
	s.Settings.Unit, s.Settings.Window = "Vpk^2", "flattop"
	return s
}

func TestCSV(t *testing.T) {
	for _, v := range []any{sampleTrace(), sampleSweep(), sampleSpectrum()} {
		var b bytes.Buffer
		if err := WriteCSV(&b, v); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(b.String()), "\n")
		if len(lines) < 4 || !strings.Contains(lines[0], "_") {
			t.Errorf("%T: %d lines, header %q", v, len(lines), lines[0])
		}
	}
	var b bytes.Buffer
	_ = WriteCSV(&b, sampleSweep())
	if !strings.Contains(b.String(), "1e+06,1,0,0,0") {
		t.Errorf("unity gain at 1 MHz not 0 dB, 0 deg:\n%s", b.String())
	}
	if WriteCSV(&b, 3) == nil {
		t.Error("CSV of an int")
	}
}

func TestPNG(t *testing.T) {
	dir := t.TempDir()
	for i, v := range []any{sampleTrace(), sampleSweep(), sampleSpectrum()} {
		path := filepath.Join(dir, string(rune('a'+i))+".png")
		if err := WritePNG(path, v); err != nil {
			t.Fatalf("%T: %v", v, err)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil || img.Bounds().Dx() < 500 {
			t.Fatalf("%T: not a plot: %v", v, err)
		}
	}
}
