package report

import (
	"fmt"
	"image/color"
	"math"
	"math/cmplx"
	"os"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/rpbus/rpbus/api"
)

var (
	blue = color.RGBA{R: 31, G: 119, B: 180, A: 255}
	red  = color.RGBA{R: 214, G: 39, B: 40, A: 255}
)

// WritePNG plots a scope trace, a sweep or a spectrum to a PNG file.
func WritePNG(path string, v any) error {
	var plots []*plot.Plot
	var err error
	switch t := v.(type) {
	case api.ScopeTrace:
		plots, err = tracePlot(t)
	case api.NATrace:
		plots, err = bodePlot(t)
	case api.Spectrum:
		plots, err = spectrumPlot(t)
	default:
		return fmt.Errorf("report: no plot for %T", v)
	}
	if err != nil {
		return err
	}
	const width = 8 * vg.Inch
	height := vg.Length(len(plots)) * 3 * vg.Inch
	img := vgimg.New(width, height)
	dc := draw.New(img)
	rows := make([][]*plot.Plot, len(plots))
	for i, p := range plots {
		rows[i] = []*plot.Plot{p}
	}
	canvases := plot.Align(rows, draw.Tiles{Rows: len(plots), Cols: 1, PadY: vg.Millimeter * 2}, dc)
	for i, p := range plots {
		p.Draw(canvases[i][0])
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// maxPlotPoints bounds the points one line draws: a plot is about 770
// pixels wide, and the rasteriser's cost grows steeply with a path's
// wiggles, so a noisy or fast 16384-sample trace drawn point by point (or
// as a zigzag of minima and maxima) takes seconds; 500 buckets take 40 ms.
const maxPlotPoints = 500

// line adds a line of the finite points of (x, y) to p. A longer series is
// drawn as its envelope: two lines through the minimum and the maximum of
// each of maxPlotPoints buckets, which is what a reader sees of it anyway.
func line(p *plot.Plot, name string, c color.Color, n int, x, y func(int) float64) error {
	ok := func(i int) bool {
		return !math.IsNaN(y(i)) && !math.IsInf(y(i), 0) && !math.IsNaN(x(i))
	}
	var series []plotter.XYs
	if n <= maxPlotPoints {
		pts := make(plotter.XYs, 0, n)
		for i := 0; i < n; i++ {
			if ok(i) {
				pts = append(pts, plotter.XY{X: x(i), Y: y(i)})
			}
		}
		series = append(series, pts)
	} else {
		lo, hi := make(plotter.XYs, 0, maxPlotPoints), make(plotter.XYs, 0, maxPlotPoints)
		for b := 0; b < maxPlotPoints; b++ {
			first, last := b*n/maxPlotPoints, (b+1)*n/maxPlotPoints
			vmin, vmax, seen := math.Inf(1), math.Inf(-1), false
			for i := first; i < last; i++ {
				if ok(i) {
					vmin, vmax, seen = math.Min(vmin, y(i)), math.Max(vmax, y(i)), true
				}
			}
			if seen {
				xm := x((first + last - 1) / 2)
				lo = append(lo, plotter.XY{X: xm, Y: vmin})
				hi = append(hi, plotter.XY{X: xm, Y: vmax})
			}
		}
		series = append(series, hi, lo)
	}
	for k, pts := range series {
		if len(pts) == 0 {
			continue
		}
		l, err := plotter.NewLine(pts)
		if err != nil {
			return err
		}
		l.Color = c
		p.Add(l)
		if name != "" && k == 0 {
			p.Legend.Add(name, l)
		}
	}
	return nil
}

func tracePlot(t api.ScopeTrace) ([]*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("scope %s: %s, %s, %s trigger", t.ID, t.Settings.Input1, t.Settings.Input2, t.Settings.TriggerSource)
	p.X.Label.Text = "time (s)"
	p.Y.Label.Text = "voltage (V)"
	p.Add(plotter.NewGrid())
	x := func(i int) float64 { return t.T0 + float64(i)*t.Dt }
	if err := line(p, "ch1 "+t.Settings.Input1, blue, len(t.Ch1), x, func(i int) float64 { return float64(t.Ch1[i]) }); err != nil {
		return nil, err
	}
	if err := line(p, "ch2 "+t.Settings.Input2, red, len(t.Ch2), x, func(i int) float64 { return float64(t.Ch2[i]) }); err != nil {
		return nil, err
	}
	p.Legend.Top = true
	return []*plot.Plot{p}, nil
}

func bodePlot(t api.NATrace) ([]*plot.Plot, error) {
	h := func(i int) complex128 { return complex(t.Re[i], t.Im[i]) }
	logx := t.Settings.Logscale == nil || *t.Settings.Logscale
	x := func(i int) float64 { return t.Frequencies[i] }
	xlabel := "frequency (Hz)"
	if len(t.Time) == len(t.Re) && len(t.Time) > 0 && t.Settings.StartFreq == t.Settings.StopFreq {
		x = func(i int) float64 { return t.Time[i] }
		xlabel, logx = "time (s)", false
	}
	mag, phase := plot.New(), plot.New()
	mag.Title.Text = fmt.Sprintf("network analyzer %s: %s", t.ID, t.Settings.Input)
	mag.Y.Label.Text = "magnitude (dB)"
	phase.Y.Label.Text = "phase (deg)"
	phase.X.Label.Text = xlabel
	for _, p := range []*plot.Plot{mag, phase} {
		p.Add(plotter.NewGrid())
		if logx {
			p.X.Scale = plot.LogScale{}
			p.X.Tick.Marker = plot.LogTicks{Prec: -1}
		}
	}
	n := len(t.Re)
	if err := line(mag, "", blue, n, x, func(i int) float64 { return 20 * math.Log10(cmplx.Abs(h(i))) }); err != nil {
		return nil, err
	}
	if err := line(phase, "", blue, n, x, func(i int) float64 { return cmplx.Phase(h(i)) * 180 / math.Pi }); err != nil {
		return nil, err
	}
	return []*plot.Plot{mag, phase}, nil
}

func spectrumPlot(s api.Spectrum) ([]*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("spectrum %s: %d traces, rbw %.3g Hz, %s window", s.ID, s.Traces, s.RBW, s.Settings.Window)
	p.X.Label.Text = "frequency (Hz)"
	p.Y.Label.Text = s.Settings.Unit
	p.Add(plotter.NewGrid())
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	if !strings.HasPrefix(s.Settings.Unit, "dB") {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	}
	// The DC bin has no place on a log axis; non-positive values none on a
	// log power axis.
	ok := func(v float64) float64 {
		if !strings.HasPrefix(s.Settings.Unit, "dB") && v <= 0 {
			return math.NaN()
		}
		return v
	}
	x := func(i int) float64 {
		if s.Frequencies[i] <= 0 {
			return math.NaN()
		}
		return s.Frequencies[i]
	}
	if err := line(p, "ch1 "+s.Settings.Input1, blue, len(s.Ch1), x, func(i int) float64 { return ok(s.Ch1[i]) }); err != nil {
		return nil, err
	}
	if err := line(p, "ch2 "+s.Settings.Input2, red, len(s.Ch2), x, func(i int) float64 { return ok(s.Ch2[i]) }); err != nil {
		return nil, err
	}
	p.Legend.Top = true
	return []*plot.Plot{p}, nil
}
