package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"math/cmplx"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/client"
	"github.com/rpbus/rpbus/services/na"
)

func init() {
	register("na", "the network analyzer service for every board; `na single` asks it for one sweep", func(stdout, stderr io.Writer) command {
		return &naCmd{stdout: stdout, stderr: stderr}
	})
	instruments = append(instruments, instrument{
		name: "na",
		start: func(nc *nats.Conn) (stopper, error) {
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
	stdout    io.Writer
	stderr    io.Writer
	nats      natsFlags
	chunkTime time.Duration

	single  bool
	board   string
	set     api.NASettings
	linear  bool
	outputs outputFlags

	nc  *nats.Conn
	svc *na.Service
}

func (c *naCmd) ParseFlags(args []string) error {
	if len(args) > 0 && args[0] == "single" {
		c.single = true
		args = args[1:]
	}
	fs := flag.NewFlagSet("rpbus na [single]", flag.ContinueOnError)
	c.nats.register(fs)
	if !c.single {
		fs.DurationVar(&c.chunkTime, "chunk-time", na.DefaultChunkTime, "hardware time one bridge transaction carries (1ms..1s)")
		if err := parseWithEnv(fs, args, natsAliases); err != nil {
			return err
		}
		if fs.NArg() > 0 {
			return usageError{fmt.Sprintf("rpbus na: unknown verb %q (want none, or single)", fs.Arg(0))}
		}
		return nil
	}
	fs.StringVar(&c.board, "board", "sim", "board name")
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
	if err := parseWithEnv(fs, args, natsAliases); err != nil {
		return err
	}
	if c.linear {
		c.set.Logscale = client.Ptr(false)
	}
	return c.outputs.check()
}

func (c *naCmd) Run(ctx context.Context) error {
	var err error
	name := "rpbus-na"
	if c.single {
		name += "-client"
	}
	if c.nc, err = c.nats.connect(name); err != nil {
		return err
	}
	if c.single {
		return c.runSingle(ctx)
	}
	if c.svc, err = na.Start(c.nc, na.Config{ChunkTime: c.chunkTime}); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "na: serving rp.*.na.single on NATS %s\n", c.nats.url)
	<-ctx.Done()
	return nil
}

func (c *naCmd) runSingle(ctx context.Context) error {
	cl, err := client.New(c.nc)
	if err != nil {
		return err
	}
	n := cl.Board(c.board).NA()
	finishBar := func() {}
	if c.outputs.progress {
		stop, err := showProgress(ctx, c.stderr, "points", n.Progress)
		if err != nil {
			return err
		}
		defer stop()
		finishBar = stop
	}
	tr, err := n.Single(ctx, c.set)
	finishBar() // the bar's last line before the summary
	if err != nil {
		return err
	}
	return c.outputs.write(c.stdout, tr, func(w io.Writer) {
		s := tr.Settings
		fmt.Fprintf(w, "sweep %s on %s: %d points %g..%g Hz, rbw %g Hz, amplitude %g V, %s -> %s\n",
			tr.ID, tr.IQ, len(tr.Frequencies), s.StartFreq, s.StopFreq, s.RBW, s.Amplitude, s.OutputDirect, s.Input)
		fmt.Fprintf(w, "%14s %12s %9s\n", "f [Hz]", "|H| [V/V]", "phase [deg]")
		step := max(1, len(tr.Frequencies)/20)
		for i := 0; i < len(tr.Frequencies); i += step {
			h := complex(tr.Re[i], tr.Im[i])
			fmt.Fprintf(w, "%14.6g %12.5g %9.2f\n", tr.Frequencies[i], cmplx.Abs(h), cmplx.Phase(h)*180/math.Pi)
		}
		fmt.Fprintf(w, "sweep %.3f s, hardware %.3f s\n", tr.Ended-tr.Started, tr.HardwareTime)
	})
}

func (c *naCmd) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), drainTimeout)
	defer cancel()
	if c.svc != nil {
		_ = c.svc.Stop(ctx)
	}
	if c.nc != nil {
		_ = c.nc.Drain()
	}
	return nil
}
