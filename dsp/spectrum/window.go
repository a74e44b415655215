package spectrum

import (
	"math"
	"strings"

	"gonum.org/v1/gonum/dsp/window"

	"github.com/rpbus/rpbus/rperr"
)

// Window names a filter window of PyRPL's spectrum analyzer. All windows
// are symmetric (the N-1 denominator of numpy's np.blackman and friends,
// scipy's sym=True), as PyRPL builds them with fftbins=False.
type Window string

// The windows PyRPL offers, with w[n] for n = 0..N-1:
const (
	// Blackman: 0.42 - 0.5 cos(2πn/(N-1)) + 0.08 cos(4πn/(N-1)); gonum's
	// window.Blackman.
	Blackman Window = "blackman"
	// FlatTop: 1 - 1.93 cos(x) + 1.29 cos(2x) - 0.388 cos(3x) + 0.032 cos(4x),
	// x = 2πn/(N-1). These are PyRPL's own rounded coefficients, not gonum's
	// (scipy's) window.FlatTop, so it is computed here.
	FlatTop Window = "flattop"
	// Boxcar: 1; computed here.
	Boxcar Window = "boxcar"
	// Hamming: 0.54 - 0.46 cos(2πn/(N-1)); gonum's window.Hamming.
	Hamming Window = "hamming"
	// Gaussian: exp(-((n - (N-1)/2) / std)^2 / 2) with PyRPL's fixed
	// std = N/10; gonum's window.Gaussian with Sigma = std / ((N-1)/2).
	Gaussian Window = "gaussian"
)

// Windows lists the valid windows in PyRPL's order.
func Windows() []Window { return []Window{Blackman, FlatTop, Boxcar, Hamming, Gaussian} }

// ParseWindow returns the window named s (case-insensitive). The error,
// an *rperr.Error with code invalid, names the allowed values.
func ParseWindow(s string) (Window, error) {
	for _, w := range Windows() {
		if strings.EqualFold(s, string(w)) {
			return w, nil
		}
	}
	return "", rperr.Invalidf("spectrum: unknown window %q; allowed: %s", s, windowList())
}

func windowList() string {
	var b strings.Builder
	for i, w := range Windows() {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(string(w))
	}
	return b.String()
}

// Valid reports whether w is one of Windows().
func (w Window) Valid() bool {
	for _, v := range Windows() {
		if w == v {
			return true
		}
	}
	return false
}

// String returns the window's name.
func (w Window) String() string { return string(w) }

// UnmarshalText parses a window name, so configs decoded from JSON are
// validated on the way in.
func (w *Window) UnmarshalText(b []byte) error {
	v, err := ParseWindow(string(b))
	if err != nil {
		return err
	}
	*w = v
	return nil
}

// values fills dst with the un-normalised window of length len(dst).
// len(dst) must be at least 2; w must be valid.
func (w Window) values(dst []float64) []float64 {
	n := len(dst)
	switch w {
	case Blackman, Hamming, Gaussian:
		for i := range dst {
			dst[i] = 1
		}
		switch w {
		case Blackman:
			window.Blackman(dst)
		case Hamming:
			window.Hamming(dst)
		default:
			std := float64(n) / 10
			window.Gaussian{Sigma: std / (float64(n-1) / 2)}.Transform(dst)
		}
	case FlatTop:
		const a0, a1, a2, a3, a4 = 1, 1.93, 1.29, 0.388, 0.032
		k := 2 * math.Pi / float64(n-1)
		for i := range dst {
			x := k * float64(i)
			dst[i] = a0 - a1*math.Cos(x) + a2*math.Cos(2*x) - a3*math.Cos(3*x) + a4*math.Cos(4*x)
		}
	case Boxcar:
		for i := range dst {
			dst[i] = 1
		}
	default:
		panic("spectrum: invalid window " + string(w))
	}
	return dst
}
