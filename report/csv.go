package report

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/cmplx"
	"strconv"

	"github.com/rpbus/rpbus/api"
)

// WriteJSON writes v as indented JSON (NaN as null, as on the wire).
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// WriteCSV writes a scope trace, a sweep or a spectrum as CSV with a
// header row: time,ch1,ch2 (s, V); frequency,re,im,magnitude_db,phase_deg
// (Hz, V/V); frequency,ch1,ch2[,cross_re,cross_im] (Hz, the spectrum's
// unit).
func WriteCSV(w io.Writer, v any) error {
	cw := csv.NewWriter(w)
	f := func(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
	switch t := v.(type) {
	case api.ScopeTrace:
		_ = cw.Write([]string{"time_s", "ch1_V", "ch2_V"})
		for i := range max(len(t.Ch1), len(t.Ch2)) {
			_ = cw.Write([]string{f(t.T0 + float64(i)*t.Dt), f(at32(t.Ch1, i)), f(at32(t.Ch2, i))})
		}
	case api.NATrace:
		_ = cw.Write([]string{"frequency_Hz", "re", "im", "magnitude_dB", "phase_deg"})
		for i := range t.Frequencies {
			h := complex(t.Re[i], t.Im[i])
			_ = cw.Write([]string{f(t.Frequencies[i]), f(t.Re[i]), f(t.Im[i]), f(20 * math.Log10(cmplx.Abs(h))), f(cmplx.Phase(h) * 180 / math.Pi)})
		}
	case api.Spectrum:
		unit := t.Settings.Unit
		head := []string{"frequency_Hz", "ch1_" + unit, "ch2_" + unit}
		if len(t.CrossRe) > 0 {
			head = append(head, "cross_re", "cross_im")
		}
		_ = cw.Write(head)
		for i := range t.Frequencies {
			row := []string{f(t.Frequencies[i]), f(at(t.Ch1, i)), f(at(t.Ch2, i))}
			if len(t.CrossRe) > 0 {
				row = append(row, f(at(t.CrossRe, i)), f(at(t.CrossIm, i)))
			}
			_ = cw.Write(row)
		}
	default:
		return fmt.Errorf("report: no CSV form for %T", v)
	}
	cw.Flush()
	return cw.Error()
}

func at(a []float64, i int) float64 {
	if i < len(a) {
		return a[i]
	}
	return math.NaN()
}

func at32(a []float32, i int) float64 {
	if i < len(a) {
		return float64(a[i])
	}
	return math.NaN()
}
