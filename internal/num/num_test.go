package num

import (
	"math"
	"testing"
)

var finiteTests = []struct {
	x    float64
	want bool
}{
	{0, true},
	{-1e308, true},
	{math.MaxFloat64, true},
	{math.SmallestNonzeroFloat64, true},
	{math.NaN(), false},
	{math.Inf(1), false},
	{math.Inf(-1), false},
}

func TestFinite(t *testing.T) {
	for _, tt := range finiteTests {
		if got := Finite(tt.x); got != tt.want {
			t.Errorf("Finite(%v) = %v, want %v", tt.x, got, tt.want)
		}
	}
}
