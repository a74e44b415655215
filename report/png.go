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

// translucent is c at a third of its opacity, for envelopes that overlap.
func translucent(c color.RGBA) color.NRGBA {
	return color.NRGBA{R: c.R, G: c.G, B: c.B, A: 90}
}

// figure is what a PNG shows: one or more plots stacked, sharing a
// legend drawn beside them, off the data.
type figure struct {
	plots  []*plot.Plot
	legend plot.Legend
}

func newFigure(n int) *figure {
	f := &figure{legend: plot.NewLegend()}
	for range n {
		p := plot.New()
		p.Add(plotter.NewGrid())
		f.plots = append(f.plots, p)
	}
	f.legend.Top = true
	f.legend.Left = true
	return f
}

// WritePNG plots a scope trace, a sweep or a spectrum to a PNG file.
func WritePNG(path string, v any) error {
	var f *figure
	var err error
	switch t := v.(type) {
	case api.ScopeTrace:
		f, err = tracePlot(t)
	case api.NATrace:
		f, err = bodePlot(t)
	case api.Spectrum:
		f, err = spectrumPlot(t)
	default:
		return fmt.Errorf("report: no plot for %T", v)
	}
	if err != nil {
		return err
	}
	return f.save(path)
}

func (f *figure) save(path string) error {
	const width = 9 * vg.Inch
	height := vg.Length(len(f.plots)) * 3 * vg.Inch
	img := vgimg.New(width, height)
	dc := draw.New(img)
	legendWidth := f.legend.Rectangle(dc).Size().X + 6*vg.Millimeter
	plots, side := dc, dc
	plots.Max.X -= legendWidth
	side.Min.X = plots.Max.X + 3*vg.Millimeter
	side.Max.Y -= 12 * vg.Millimeter // level with the first plot's data, below its title
	rows := make([][]*plot.Plot, len(f.plots))
	for i, p := range f.plots {
		rows[i] = []*plot.Plot{p}
	}
	for _, p := range f.plots {
		roundY(p)
	}
	canvases := plot.Align(rows, draw.Tiles{Rows: len(f.plots), Cols: 1, PadY: vg.Millimeter * 2}, plots)
	for i, p := range f.plots {
		p.Draw(canvases[i][0])
	}
	f.legend.Draw(side)
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(out); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// roundY widens a linear y axis to its enclosing round ticks, so the
// top and bottom of the data have a labelled line above and below them (a
// resonance peaking at 0 dB shows its 0 dB).
func roundY(p *plot.Plot) {
	t, ok := p.Y.Tick.Marker.(linTicks)
	if !ok || !(p.Y.Max > p.Y.Min) {
		return
	}
	step, _ := niceStep(0.7*(p.Y.Max-p.Y.Min)/majorTarget, t.unit == "°")
	p.Y.Min = math.Floor(p.Y.Min/step+1e-9) * step
	p.Y.Max = math.Ceil(p.Y.Max/step-1e-9) * step
}

// draw adds b to p in colour c: a line through the points when each
// stands for one sample; else a translucent band from the least to the
// greatest value of each bucket and, when withMean, a line through the
// means. name, when set, goes into the legend once.
func (f *figure) draw(p *plot.Plot, name string, c color.RGBA, b band, withMean bool) error {
	if len(b.x) == 0 {
		return nil
	}
	var thumb plot.Thumbnailer
	if b.reduced {
		ring := make(plotter.XYs, 0, 2*len(b.x))
		for i := range b.x {
			ring = append(ring, plotter.XY{X: b.x[i], Y: b.hi[i]})
		}
		for i := len(b.x) - 1; i >= 0; i-- {
			ring = append(ring, plotter.XY{X: b.x[i], Y: b.lo[i]})
		}
		poly, err := plotter.NewPolygon(ring)
		if err != nil {
			return err
		}
		poly.Color = translucent(c)
		poly.LineStyle.Color = c
		poly.LineStyle.Width = vg.Points(0.5)
		p.Add(poly)
		thumb = poly
	}
	if !b.reduced || withMean {
		pts := make(plotter.XYs, len(b.x))
		for i := range b.x {
			pts[i] = plotter.XY{X: b.x[i], Y: b.mean[i]}
		}
		l, err := plotter.NewLine(pts)
		if err != nil {
			return err
		}
		l.Color = c
		p.Add(l)
		thumb = l
	}
	if name != "" {
		f.legend.Add(name, thumb)
	}
	return nil
}

func tracePlot(t api.ScopeTrace) (*figure, error) {
	f := newFigure(1)
	p := f.plots[0]
	s := t.Settings
	n := max(len(t.Ch1), len(t.Ch2))
	title := fmt.Sprintf("scope: %s (decimation %d, %s per sample)\ntrigger %s",
		SI(float64(n)*t.Dt, "s", 4), s.Decimation, siShort(t.Dt, "s", 4), s.TriggerSource)
	if s.TriggerSource != "" && s.TriggerSource != "immediately" {
		title += fmt.Sprintf(" at %s", siShort(s.Threshold, "V", 3))
	}
	if s.TraceAverage > 1 {
		title += fmt.Sprintf(", %d traces averaged", s.TraceAverage)
	}
	p.Title.Text = title
	p.X.Label.Text = "time"
	p.Y.Label.Text = "voltage"
	p.X.Tick.Marker = linTicks{"s"}
	p.Y.Tick.Marker = linTicks{"V"}
	p.X.Min, p.X.Max = t.T0, t.T0+float64(n)*t.Dt
	x := func(i int) float64 { return t.T0 + float64(i)*t.Dt }
	for _, ch := range []struct {
		name string
		c    color.RGBA
		v    []float32
	}{{"ch1 " + s.Input1, blue, t.Ch1}, {"ch2 " + s.Input2, red, t.Ch2}} {
		b := envelope(len(ch.v), buckets, x, func(i int) float64 { return float64(ch.v[i]) })
		if err := f.draw(p, ch.name, ch.c, b, false); err != nil {
			return nil, err
		}
	}
	if envelopeDrawn(t) {
		f.legend.Add("band: min..max")
		f.legend.Add(fmt.Sprintf("of %d samples", (n+buckets-1)/buckets))
	}
	return f, nil
}

// envelopeDrawn tells whether a trace is drawn reduced.
func envelopeDrawn(t api.ScopeTrace) bool { return max(len(t.Ch1), len(t.Ch2)) > buckets }

func bodePlot(t api.NATrace) (*figure, error) {
	s := t.Settings
	f := newFigure(2)
	mag, phase := f.plots[0], f.plots[1]
	n := min(len(t.Re), len(t.Im), len(t.Frequencies))
	h := func(i int) complex128 { return complex(t.Re[i], t.Im[i]) }
	logx := s.Logscale == nil || *s.Logscale
	zeroSpan := len(t.Time) >= n && n > 0 && s.StartFreq == s.StopFreq
	mag.Title.Text = fmt.Sprintf("network analyzer: %s -> %s, %d points %s..%s\nrbw %s, amplitude %s",
		s.OutputDirect, s.Input, n, siShort(s.StartFreq, "Hz", 4), siShort(s.StopFreq, "Hz", 4), SI(s.RBW, "Hz", 3), siShort(s.Amplitude, "V", 3))
	if s.TraceAverage > 1 || s.AveragePerPoint > 1 {
		mag.Title.Text += fmt.Sprintf(", %d sweeps x %d per point averaged", max(s.TraceAverage, 1), max(s.AveragePerPoint, 1))
	}
	mag.Y.Label.Text = "magnitude"
	phase.Y.Label.Text = "phase"
	mag.Y.Tick.Marker = linTicks{"dB"}
	phase.Y.Tick.Marker = linTicks{"°"}
	var xs []float64
	switch {
	case zeroSpan:
		xs = t.Time[:n]
		phase.X.Label.Text = fmt.Sprintf("time (at %s)", SI(s.StartFreq, "Hz", 7))
		for _, p := range f.plots {
			p.X.Tick.Marker = linTicks{"s"}
		}
		logx = false
	default:
		xs = t.Frequencies[:n]
		phase.X.Label.Text = "frequency"
		for _, p := range f.plots {
			if logx {
				p.X.Scale = plot.LogScale{}
				p.X.Tick.Marker = logTicks{unit: "Hz"}
			} else {
				p.X.Tick.Marker = linTicks{"Hz"}
			}
		}
	}
	dB := func(i int) float64 { return 20 * math.Log10(cmplx.Abs(h(i))) }
	deg := func(i int) float64 { return cmplx.Phase(h(i)) * 180 / math.Pi }
	reduce := func(y func(int) float64) band {
		if logx {
			return logBuckets(xs, y, buckets)
		}
		return envelope(n, buckets, func(i int) float64 { return xs[i] }, y)
	}
	if err := f.draw(mag, "|H| = |re + i im|", blue, reduce(dB), true); err != nil {
		return nil, err
	}
	if err := f.draw(phase, "arg H", red, reduce(deg), true); err != nil {
		return nil, err
	}
	return f, nil
}

func spectrumPlot(sp api.Spectrum) (*figure, error) {
	s := sp.Settings
	f := newFigure(1)
	p := f.plots[0]
	nyquist := 0.0
	if len(sp.Frequencies) > 0 {
		nyquist = sp.Frequencies[len(sp.Frequencies)-1]
	}
	p.Title.Text = fmt.Sprintf("spectrum: span %s (decimation %d, Nyquist %s)\nrbw %s, %s window, %d traces averaged",
		SI(s.Span, "Hz", 4), s.Decimation, SI(nyquist, "Hz", 4), SI(sp.RBW, "Hz", 3), s.Window, sp.Traces)
	p.X.Label.Text = "frequency"
	p.Y.Label.Text = s.Unit
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = logTicks{unit: "Hz"}
	db := strings.HasPrefix(s.Unit, "dB")
	if db {
		p.Y.Tick.Marker = linTicks{"dB"}
	} else {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = logTicks{sci: true}
	}
	// Non-positive values have no place on a log power axis.
	val := func(a []float64) func(int) float64 {
		return func(i int) float64 {
			if !db && a[i] <= 0 {
				return math.NaN()
			}
			return a[i]
		}
	}
	for _, ch := range []struct {
		name string
		c    color.RGBA
		v    []float64
	}{{"ch1 " + s.Input1, blue, sp.Ch1}, {"ch2 " + s.Input2, red, sp.Ch2}} {
		if len(ch.v) != len(sp.Frequencies) {
			continue
		}
		if err := f.draw(p, ch.name, ch.c, logBuckets(sp.Frequencies, val(ch.v), buckets), true); err != nil {
			return nil, err
		}
	}
	f.legend.Add("line: mean, band: min..max")
	f.legend.Add("of the bins in a pixel")
	return f, nil
}
