package main

import (
	"context"
	"fmt"
	"io"

	"github.com/nats-io/nats.go"

	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/client"
	"github.com/rpbus/rpbus/report"
	"github.com/rpbus/rpbus/services/specan"
)

func init() {
	register("specan", "the spectrum analyzer service for every board; `specan single` asks it for one spectrum", func(stdout, stderr io.Writer) command {
		return newSpecanCmd(stdout, stderr)
	})
	instruments = append(instruments, instrument{
		name: "specan",
		start: func(nc *nats.Conn, _ func(string) bool) (stopper, error) {
			return specan.Start(nc, specan.Config{})
		},
		examples: func(board string) []string {
			return []string{
				fmt.Sprintf(`req rp.%s.specan.single '{"decimation":32,"trace_average":10,"unit":"dB(Vrms^2/Hz)","cross":true}'   (span 3.9 MHz: the tone at 1 MHz)`, board),
			}
		},
	})
}

// specanCmd runs the service, or with the verb "single" asks it for one
// spectrum and prints it.
type specanCmd struct {
	instrumentCmd
	inFlight int
	set      api.SpecanSettings
}

func newSpecanCmd(stdout, stderr io.Writer) *specanCmd {
	c := &specanCmd{instrumentCmd: instrumentCmd{name: "specan", stdout: stdout, stderr: stderr}}
	c.serve = func(nc *nats.Conn) (stopper, error) { return specan.Start(nc, specan.Config{InFlight: c.inFlight}) }
	c.acquire = c.runSingle
	return c
}

func (c *specanCmd) ParseFlags(args []string) error {
	fs, args := c.flags(args)
	if !c.single {
		fs.IntVar(&c.inFlight, "in-flight", specan.DefaultInFlight, fmt.Sprintf("scope requests each spectrum keeps in flight (1..%d)", specan.MaxInFlight))
		return c.parse(fs, args)
	}
	fs.Float64Var(&c.set.Span, "span", 0, "span = sample rate in Hz (rounded up to 125e6/2^k); or -decimation")
	fs.IntVar(&c.set.Decimation, "decimation", 0, "scope decimation 1..65536 (default 8)")
	fs.StringVar(&c.set.Input1, "input1", "", "channel 1 input (default in1)")
	fs.StringVar(&c.set.Input2, "input2", "", "channel 2 input (default in2)")
	fs.StringVar(&c.set.Window, "window", "", "blackman, flattop (default), boxcar, hamming, gaussian")
	fs.IntVar(&c.set.TraceAverage, "trace-average", 0, "traces power-averaged (default 1)")
	fs.StringVar(&c.set.Unit, "unit", "", "Vpk^2 (default), dB(Vpk^2), Vpk, Vrms^2, dB(Vrms^2), Vrms, Vrms^2/Hz, dB(Vrms^2/Hz), Vrms/sqrt(Hz)")
	fs.BoolVar(&c.set.Cross, "cross", false, "compute the cross spectrum")
	fs.Float64Var(&c.set.Timeout, "timeout", 0, "s (default 5 s + 2 x the acquisition and readout time)")
	c.outputs.register(fs, true)
	registerSave(fs, &c.set.Save, &c.set.Name, &c.set.Tags)
	return c.parse(fs, args)
}

func (c *specanCmd) runSingle(ctx context.Context, b *client.Board) error {
	sa := b.Specan()
	finishBar := func(int, int) {}
	if c.outputs.progress {
		finish, err := showProgress(ctx, c.stderr, "traces", sa.Progress)
		if err != nil {
			return err
		}
		defer finish(0, 0)
		finishBar = finish
	}
	sp, err := sa.Single(ctx, c.set)
	if err == nil {
		finishBar(sp.Traces, sp.Traces) // the bar's last line before the summary
	}
	if err != nil {
		return err
	}
	return c.outputs.write(c.stdout, sp, func(w io.Writer) {
		s := sp.Settings
		nyquist := s.Span / 2
		fmt.Fprintf(w, "spectrum %s: %d traces, span %s (decimation %d), %s window, rbw %s, %d bins from 0 to %s\n",
			sp.ID, sp.Traces, report.SI(s.Span, "Hz", 4), s.Decimation, s.Window, report.SI(sp.RBW, "Hz", 4), len(sp.Frequencies), report.SI(nyquist, "Hz", 4))
		for _, ch := range []struct {
			name, input string
			v           []float64
		}{{"ch1", s.Input1, sp.Ch1}, {"ch2", s.Input2, sp.Ch2}} {
			if len(ch.v) != len(sp.Frequencies) {
				continue
			}
			// Skip DC and the bins its leakage fills (a flat-top window's
			// main lobe is 5 bins wide on each side).
			const dcBins = 6
			if len(ch.v) <= dcBins {
				continue
			}
			peak := dcBins
			for k := dcBins + 1; k < len(ch.v); k++ {
				if ch.v[k] > ch.v[peak] {
					peak = k
				}
			}
			fmt.Fprintf(w, "%s (%s) peak: %.4g %s at %s\n", ch.name, ch.input, ch.v[peak], s.Unit, report.SI(sp.Frequencies[peak], "Hz", 5))
		}
		fmt.Fprintf(w, "Nyquist frequency %s: a tone above it shows mirrored below it (f -> |f - k x %s|); choose a smaller decimation to see it where it is\n",
			report.SI(nyquist, "Hz", 4), report.SI(s.Span, "Hz", 4))
		fmt.Fprintf(w, "unit %s; acquisition %s\n", s.Unit, report.SI(sp.Ended-sp.Started, "s", 3))
	})
}
