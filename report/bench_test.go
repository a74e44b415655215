package report

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/rpbus/rpbus/api"
)

func BenchmarkTracePNG(b *testing.B) {
	t := api.ScopeTrace{Dt: 8e-9, Ch1: make([]float32, 16384), Ch2: make([]float32, 16384)}
	for i := range t.Ch1 {
		t.Ch1[i] = float32(0.5 * math.Sin(float64(i)*0.4)) // 15 samples a period, as a 1 MHz tone at decimation 8
		t.Ch2[i] = float32(math.Cos(float64(i) / 100))
	}
	path := filepath.Join(b.TempDir(), "t.png")
	for b.Loop() {
		if err := WritePNG(path, t); err != nil {
			b.Fatal(err)
		}
	}
}
