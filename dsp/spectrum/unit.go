package spectrum

import (
	"math"
	"strings"

	"github.com/rpbus/rpbus/rperr"
)

// Unit is a display unit of PyRPL's spectrum analyzer. Spectra are kept in
// Vpk^2; the others are conversions of it (see the package documentation).
type Unit string

// The units PyRPL offers.
const (
	Vpk2          Unit = "Vpk^2"         // the internal unit: a sine of amplitude A peaks at A^2
	DBVpk2        Unit = "dB(Vpk^2)"     // 10 log10(P + eps)
	Vpk           Unit = "Vpk"           // sqrt(P)
	Vrms2         Unit = "Vrms^2"        // P / 2
	DBVrms2       Unit = "dB(Vrms^2)"    // 10 log10(P/2 + eps)
	Vrms          Unit = "Vrms"          // sqrt(P/2)
	Vrms2PerHz    Unit = "Vrms^2/Hz"     // P / 2 / rbw
	DBVrms2PerHz  Unit = "dB(Vrms^2/Hz)" // 10 log10(P/2/rbw + eps)
	VrmsPerSqrtHz Unit = "Vrms/sqrt(Hz)" // sqrt(P/2/rbw)
)

// Epsilon is what PyRPL adds before taking a logarithm (Python's
// sys.float_info.epsilon, 2^-52), so that an empty bin reads about -156.5 dB
// instead of -Inf, and dB spectra stay finite (JSON cannot carry -Inf).
const Epsilon = 0x1p-52

// Units lists the valid units in PyRPL's order.
func Units() []Unit {
	return []Unit{Vpk2, DBVpk2, Vpk, Vrms2, DBVrms2, Vrms, Vrms2PerHz, DBVrms2PerHz, VrmsPerSqrtHz}
}

// ParseUnit returns the unit named s (case-insensitive, canonical spelling
// returned). The error, an *rperr.Error with code invalid, names the allowed
// values.
func ParseUnit(s string) (Unit, error) {
	for _, u := range Units() {
		if strings.EqualFold(s, string(u)) {
			return u, nil
		}
	}
	var b strings.Builder
	for i, u := range Units() {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(string(u))
	}
	return "", rperr.Invalidf("spectrum: unknown unit %q; allowed: %s", s, b.String())
}

// Valid reports whether u is one of Units().
func (u Unit) Valid() bool {
	for _, v := range Units() {
		if u == v {
			return true
		}
	}
	return false
}

// String returns the unit's name.
func (u Unit) String() string { return string(u) }

// UnmarshalText parses a unit name, so configs decoded from JSON are
// validated on the way in.
func (u *Unit) UnmarshalText(b []byte) error {
	v, err := ParseUnit(string(b))
	if err != nil {
		return err
	}
	*u = v
	return nil
}

// Density reports whether u is per hertz, so that converting needs the rbw.
func (u Unit) Density() bool {
	return u == Vrms2PerHz || u == DBVrms2PerHz || u == VrmsPerSqrtHz
}

// From converts one value p in Vpk^2 into u, with the resolution bandwidth
// rbw in Hz (used by density units only). Like PyRPL it takes |p| first, so
// a negative cross-spectrum part converts as its magnitude.
func (u Unit) From(p, rbw float64) float64 {
	p = math.Abs(p)
	switch u {
	case Vpk2:
		return p
	case DBVpk2:
		return 10 * math.Log10(p+Epsilon)
	case Vpk:
		return math.Sqrt(p)
	case Vrms2:
		return p / 2
	case DBVrms2:
		return 10 * math.Log10(p/2+Epsilon)
	case Vrms:
		return math.Sqrt(p / 2)
	case Vrms2PerHz:
		return p / 2 / rbw
	case DBVrms2PerHz:
		return 10 * math.Log10(p/2/rbw+Epsilon)
	case VrmsPerSqrtHz:
		return math.Sqrt(p / 2 / rbw)
	}
	panic("spectrum: invalid unit " + string(u))
}

// To converts one value v in u back into Vpk^2: the inverse of From for
// p >= 0. A dB value below 10 log10(Epsilon) maps to 0.
func (u Unit) To(v, rbw float64) float64 {
	switch u {
	case Vpk2:
		return v
	case DBVpk2:
		return max(math.Pow(10, v/10)-Epsilon, 0)
	case Vpk:
		return v * v
	case Vrms2:
		return 2 * v
	case DBVrms2:
		return 2 * max(math.Pow(10, v/10)-Epsilon, 0)
	case Vrms:
		return 2 * v * v
	case Vrms2PerHz:
		return 2 * rbw * v
	case DBVrms2PerHz:
		return 2 * rbw * max(math.Pow(10, v/10)-Epsilon, 0)
	case VrmsPerSqrtHz:
		return 2 * rbw * v * v
	}
	panic("spectrum: invalid unit " + string(u))
}

// Convert writes the spectrum p (Vpk^2) converted into u to dst and returns
// it; see Unit.From. If dst is nil a new slice is allocated; dst may be p
// itself. It panics if u is invalid, if len(dst) != len(p), or if u is a
// density unit and rbw is not positive.
func Convert(dst, p []float64, u Unit, rbw float64) []float64 {
	if !u.Valid() {
		panic("spectrum: invalid unit " + string(u))
	}
	if u.Density() && !(rbw > 0) {
		panic("spectrum: rbw must be positive for a density unit")
	}
	dst = makeDst(dst, len(p))
	for i, v := range p {
		dst[i] = u.From(v, rbw)
	}
	return dst
}

// ConvertBack is the inverse of Convert: v in u back into Vpk^2.
func ConvertBack(dst, v []float64, u Unit, rbw float64) []float64 {
	if !u.Valid() {
		panic("spectrum: invalid unit " + string(u))
	}
	if u.Density() && !(rbw > 0) {
		panic("spectrum: rbw must be positive for a density unit")
	}
	dst = makeDst(dst, len(v))
	for i, x := range v {
		dst[i] = u.To(x, rbw)
	}
	return dst
}

// makeDst returns dst, or a new slice of length n if dst is nil; it panics
// on a length mismatch.
func makeDst(dst []float64, n int) []float64 {
	if dst == nil {
		return make([]float64, n)
	}
	if len(dst) != n {
		panic("spectrum: destination length mismatch")
	}
	return dst
}
