package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/cmplx"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/client"
	"github.com/rpbus/rpbus/report"
	"github.com/rpbus/rpbus/services/na"
)

func init() {
	register("na", "the network analyzer service for every board; `na single` asks it for one sweep", func(stdout, stderr io.Writer) command {
		return newNACmd(stdout, stderr)
	})
	instruments = append(instruments, instrument{
		name: "na",
		start: func(nc *nats.Conn, _ func(string) bool) (stopper, error) {
			return na.Start(nc, na.Config{})
		},
		examples: func(board string) []string {
			return []string{
				fmt.Sprintf(`req rp.%s.na.single '{"start_freq":1e5,"stop_freq":1e7,"points":201,"rbw":1000,"amplitude":0.1,"input":"in1","output_direct":"out1"}'`, board),
				fmt.Sprintf(`req rp.%s.na.single '{"start_freq":1e6,"stop_freq":1e6,"points":100,"rbw":10000}'   (zero span)`, board),
				fmt.Sprintf(`sub rp.%s.na.progress`, board),
			}
		},
	})
}

// naCmd runs the service, or with the verb "single" asks it for one sweep
// and prints it.
type naCmd struct {
	instrumentCmd
	chunkTime time.Duration
	set       api.NASettings
	linear    bool
}

func newNACmd(stdout, stderr io.Writer) *naCmd {
	c := &naCmd{instrumentCmd: instrumentCmd{name: "na", stdout: stdout, stderr: stderr}}
	c.serve = func(nc *nats.Conn) (stopper, error) { return na.Start(nc, na.Config{ChunkTime: c.chunkTime}) }
	c.acquire = c.runSingle
	return c
}

func (c *naCmd) ParseFlags(args []string) error {
	fs, args := c.flags(args)
	if !c.single {
		fs.DurationVar(&c.chunkTime, "chunk-time", na.DefaultChunkTime, "hardware time one bridge transaction carries (1ms..1s)")
		return c.parse(fs, args)
	}
	fs.Float64Var(&c.set.StartFreq, "start-freq", 0, "Hz (default 1e3)")
	fs.Float64Var(&c.set.StopFreq, "stop-freq", 0, "Hz (default 10e6); equal to -start-freq: zero span")
	fs.IntVar(&c.set.Points, "points", 0, "1..100000 (default 1001)")
	fs.Float64Var(&c.set.RBW, "rbw", 0, "Hz (default 1000)")
	fs.IntVar(&c.set.AveragePerPoint, "average-per-point", 0, "default 1")
	fs.Float64Var(&c.set.Amplitude, "amplitude", 0, "V, 0..1 (default 0.1)")
	fs.StringVar(&c.set.Input, "input", "", "in1 (default), in2, out1, out2, asg0, asg1, iq0..iq2, iq2_2, pid0..pid2")
	fs.StringVar(&c.set.OutputDirect, "output-direct", "", "off, out1 (default), out2, both")
	fs.Float64Var(&c.set.ACBandwidth, "acbandwidth", 0, "Hz, input high-pass (default 0: off)")
	fs.BoolVar(&c.linear, "linear", false, "linear frequency steps (default logarithmic)")
	fs.BoolVar(&c.set.AutoBandwidth, "auto-bandwidth", false, "narrow the rbw at low frequencies (f / q-factor-min)")
	fs.Float64Var(&c.set.QFactorMin, "q-factor-min", 0, "with -auto-bandwidth (default 10)")
	fs.IntVar(&c.set.TraceAverage, "trace-average", 0, "sweeps averaged (default 1)")
	fs.Float64Var(&c.set.Timeout, "timeout", 0, "s (default 5 s + 2 x the hardware time)")
	fs.BoolVar(&c.set.NoWait, "no-wait", false, "answer 409 instead of waiting for a free IQ module")
	c.outputs.register(fs, true)
	registerSave(fs, &c.set.Save, &c.set.Name, &c.set.Tags)
	if err := c.parse(fs, args); err != nil {
		return err
	}
	if c.linear {
		c.set.Logscale = client.Ptr(false)
	}
	return nil
}

func (c *naCmd) runSingle(ctx context.Context, b *client.Board) error {
	n := b.NA()
	finishBar := func(int, int) {}
	if c.outputs.progress {
		finish, err := showProgress(ctx, c.stderr, "points", n.Progress)
		if err != nil {
			return err
		}
		defer finish(0, 0)
		finishBar = finish
	}
	tr, err := n.Single(ctx, c.set)
	if err == nil {
		points := len(tr.Frequencies) * max(tr.Settings.TraceAverage, 1)
		finishBar(points, points) // the bar's last line before the summary
	}
	if err != nil {
		return err
	}
	return c.outputs.write(c.stdout, tr, func(w io.Writer) {
		s := tr.Settings
		fmt.Fprintf(w, "sweep %s on %s: %d points %s .. %s, rbw %s, amplitude %s, %s -> %s\n",
			tr.ID, tr.IQ, len(tr.Frequencies), report.SI(s.StartFreq, "Hz", 7), report.SI(s.StopFreq, "Hz", 7),
			report.SI(s.RBW, "Hz", 4), report.SI(s.Amplitude, "V", 4), s.OutputDirect, s.Input)
		fmt.Fprintf(w, "%14s %12s %9s\n", "f", "|H| [V/V]", "phase [deg]")
		step := max(1, len(tr.Frequencies)/20)
		for i := 0; i < len(tr.Frequencies); i += step {
			h := complex(tr.Re[i], tr.Im[i])
			fmt.Fprintf(w, "%14s %12.5g %9.2f\n", report.SI(tr.Frequencies[i], "Hz", 6), cmplx.Abs(h), cmplx.Phase(h)*180/math.Pi)
		}
		fmt.Fprintf(w, "sweep %s, hardware %s\n", report.SI(tr.Ended-tr.Started, "s", 3), report.SI(tr.HardwareTime, "s", 3))
	})
}
