package report

import (
	"math"
	"strconv"

	"gonum.org/v1/plot"
)

// linTicks marks a linear axis at round steps (1, 2 or 5 x 10^k; for
// degrees 15, 30, 45, 90 ...) labelled with SI prefixes and unit: "200 µs",
// "-80 dB", "-90°".
type linTicks struct{ unit string }

// majorTarget is about how many labelled ticks an axis gets.
const majorTarget = 6

func (t linTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(hi > lo) {
		return []plot.Tick{{Value: lo, Label: siShort(lo, t.unit, 6)}}
	}
	// Round the wanted step down a little: 131 us in sixths is 21.8 us,
	// better marked every 20 us than every 50.
	step, minors := niceStep(0.7*(hi-lo)/majorTarget, t.unit == "°")
	var ticks []plot.Tick
	minor := step / float64(minors)
	for k := math.Ceil(lo / minor); k*minor <= hi*(1+1e-12)+1e-300; k++ {
		v := k * minor
		if math.Abs(math.Remainder(v, step)) < minor/2 {
			v = math.Round(v/step) * step
			ticks = append(ticks, plot.Tick{Value: v, Label: siShort(v, t.unit, 6)})
		} else {
			ticks = append(ticks, plot.Tick{Value: v})
		}
	}
	return ticks
}

// niceStep returns the round step at least raw and how many minor
// intervals divide it.
func niceStep(raw float64, degrees bool) (step float64, minors int) {
	if degrees && raw > 5 {
		for _, s := range []float64{10, 15, 30, 45, 90, 180} {
			if s >= raw {
				return s, map[float64]int{10: 5, 15: 3, 30: 3, 45: 3, 90: 3, 180: 4}[s]
			}
		}
		return 360, 4
	}
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	switch m := raw / p; {
	case m <= 1:
		return p, 5
	case m <= 2:
		return 2 * p, 4
	case m <= 5:
		return 5 * p, 5
	}
	return 10 * p, 5
}

// logTicks marks a log axis: decades, and 2 and 5 times them when the axis
// spans less than two decades, labelled with SI prefixes and unit ("1 kHz",
// "500 kHz"), or as powers of ten ("1e-9") when sci is set. An axis too
// narrow for two such marks gets linear ones.
type logTicks struct {
	unit string
	sci  bool
}

func (t logTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(lo > 0) || !(hi > lo) {
		return linTicks{t.unit}.Ticks(lo, hi)
	}
	labelled := map[int]bool{1: true}
	if hi/lo < 100 {
		labelled[2], labelled[5] = true, true
	}
	var ticks []plot.Tick
	majors := 0
	for e := math.Floor(math.Log10(lo)); e <= math.Ceil(math.Log10(hi)); e++ {
		d := math.Pow(10, e)
		for m := 1; m <= 9; m++ {
			v := float64(m) * d
			if v < lo*(1-1e-9) || v > hi*(1+1e-9) {
				continue
			}
			tk := plot.Tick{Value: v}
			if labelled[m] {
				tk.Label = t.label(v)
				majors++
			}
			ticks = append(ticks, tk)
		}
	}
	if majors < 2 {
		return linTicks{t.unit}.Ticks(lo, hi)
	}
	return ticks
}

func (t logTicks) label(v float64) string {
	if !t.sci {
		return siShort(v, t.unit, 6)
	}
	e := math.Floor(math.Log10(v) + 1e-9)
	if m := v / math.Pow(10, e); math.Abs(m-1) > 1e-9 {
		return strconv.FormatFloat(m, 'g', 3, 64) + "e" + strconv.Itoa(int(e))
	}
	return "1e" + strconv.Itoa(int(e))
}
