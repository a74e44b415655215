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

// maxPlotPoints bounds the points one line draws: a plot is about 800
// pixels wide, and the rasteriser's cost grows with the path's length, so a
// noisy 16384-sample trace drawn point by point takes seconds.
const maxPlotPoints = 4000

// line adds a line of the finite points of (x, y) to p. Longer series are
// reduced to the minimum and maximum of each of maxPlotPoints/2 buckets, in
// order, which keeps the envelope a reader sees.
func line(p *plot.Plot, name string, c color.Color, n int, x, y func(int) float64) error {
	pts := make(plotter.XYs, 0, min(n, maxPlotPoints))
	add := func(i int) {
		xi, yi := x(i), y(i)
		if math.IsNaN(yi) || math.IsInf(yi, 0) || math.IsNaN(xi) {
			return
		}
		pts = append(pts, plotter.XY{X: xi, Y: yi})
	}
	if n <= maxPlotPoints {
		for i := 0; i < n; i++ {
			add(i)
		}
	} else {
		buckets := maxPlotPoints / 2
		for b := 0; b < buckets; b++ {
			lo, hi := b*n/buckets, (b+1)*n/buckets
			imin, imax := -1, -1
			for i := lo; i < hi; i++ {
				v := y(i)
				if math.IsNaN(v) || math.IsInf(v, 0) {
					continue
				}
				if imin < 0 || v < y(imin) {
					imin = i
				}
				if imax < 0 || v > y(imax) {
					imax = i
				}
			}
			if imin < 0 {
				continue
			}
			first, second := min(imin, imax), max(imin, imax)
			add(first)
			if second != first {
				add(second)
			}
		}
	}
	if len(pts) == 0 {
		return nil
	}
	l, err := plotter.NewLine(pts)
	if err != nil {
		return err
	}
	l.Color = c
	p.Add(l)
	if name != "" {
		p.Legend.Add(name, l)
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
