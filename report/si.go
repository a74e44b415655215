package report

import (
	"math"
	"strconv"
	"strings"

	"github.com/rpbus/rpbus/internal/num"
)

// prefixes are the SI prefixes from 1e-15 to 1e12, by power of 1000.
var prefixes = []string{"f", "p", "n", "µ", "m", "", "k", "M", "G", "T"}

const prefixZero = 5 // index of "" in prefixes

// SI formats v with an SI prefix before unit and sig significant digits:
// SI(2.0000000076834112e6, "Hz", 7) is "2.000000 MHz",
// SI(1214.2929, "Hz", 4) "1.214 kHz", SI(-8e-5, "s", 3) "-80.0 µs".
// Units that take no prefix (dB, deg, "") print the number with the
// unit: SI(-35.98, "dB", 4) is "-35.98 dB".
func SI(v float64, unit string, sig int) string { return si(v, unit, sig, false) }

// siShort is SI with trailing zeros dropped, for tick labels at round
// steps: "200 µs", "1 MHz", "-80 dB".
func siShort(v float64, unit string, sig int) string { return si(v, unit, sig, true) }

func si(v float64, unit string, sig int, short bool) string {
	done := func(s string) string {
		if short {
			return trim(s)
		}
		return s
	}
	if !num.Finite(v) {
		return strconv.FormatFloat(v, 'g', -1, 64) + sep(unit) + unit
	}
	if v == 0 {
		return done("0") + sep(unit) + unit
	}
	if noPrefix(unit) {
		return done(strconv.FormatFloat(v, 'f', max(0, sig-1-int(math.Floor(math.Log10(math.Abs(v))))), 64)) + sep(unit) + unit
	}
	k := prefixIndex(v)
	scaled := v / math.Pow(1000, float64(k-prefixZero))
	// Rounding may carry into the next prefix: 999.96 at 4 digits.
	r, _ := strconv.ParseFloat(strconv.FormatFloat(scaled, 'g', sig, 64), 64)
	if math.Abs(r) >= 1000 && k+1 < len(prefixes) {
		k++
		r /= 1000
		scaled = v / math.Pow(1000, float64(k-prefixZero))
	}
	return done(strconv.FormatFloat(scaled, 'f', max(0, sig-1-int(math.Floor(math.Log10(math.Abs(r))))), 64)) + " " + prefixes[k] + unit
}

// prefixIndex is the index in prefixes for |v|: the power of 1000 that
// leaves 1 <= |v| < 1000, clamped to the table.
func prefixIndex(v float64) int {
	e := int(math.Floor(math.Log10(math.Abs(v)) / 3))
	return min(max(e+prefixZero, 0), len(prefixes)-1)
}

func noPrefix(unit string) bool {
	return unit == "" || unit == "°" || unit == "deg" || strings.HasPrefix(unit, "dB")
}

func sep(unit string) string {
	if unit == "" || unit == "°" {
		return ""
	}
	return " "
}

// trim drops trailing zeros of a decimal fraction: "2.000" -> "2".
func trim(s string) string {
	if strings.ContainsAny(s, "eE") || !strings.Contains(s, ".") {
		return s
	}
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}
