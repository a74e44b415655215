package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"

	"github.com/nats-io/nats.go"

	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/client"
	"github.com/rpbus/rpbus/report"
)

func init() {
	for _, gen := range []string{"asg0", "asg1"} {
		register(gen, "set up signal generator "+gen[3:]+" over NATS (only the flags given change)", func(stdout, stderr io.Writer) command {
			return &asgCmd{stdout: stdout, gen: gen}
		})
	}
}

// asgCmd sets up one generator: `rpbus asg0 --waveform sin --frequency 1e6
// --amplitude 0.5 --output-direct out1`.
type asgCmd struct {
	stdout io.Writer
	gen    string
	nats   natsFlags
	board  string
	set    api.ASGSetup
	asJSON bool

	nc *nats.Conn
}

func (c *asgCmd) ParseFlags(args []string) error {
	fs := flag.NewFlagSet("rpbus "+c.gen, flag.ContinueOnError)
	c.nats.register(fs)
	fs.StringVar(&c.board, "board", "sim", "board name")
	str := func(name, usage string, dst **string) {
		fs.Func(name, usage, func(v string) error { *dst = &v; return nil })
	}
	num := func(name, usage string, dst **float64) {
		fs.Func(name, usage, func(v string) error {
			f, err := strconv.ParseFloat(v, 64)
			*dst = &f
			return err
		})
	}
	integer := func(name, usage string, dst **int) {
		fs.Func(name, usage, func(v string) error {
			n, err := strconv.Atoi(v)
			*dst = &n
			return err
		})
	}
	str("waveform", "sin, cos, ramp, halframp, square, dc, noise", &c.set.Waveform)
	num("frequency", "Hz, 0..62.5e6", &c.set.Frequency)
	num("amplitude", "V, 0..1", &c.set.Amplitude)
	num("offset", "V, -1..1", &c.set.Offset)
	num("start-phase", "degrees", &c.set.StartPhase)
	str("output-direct", "off, out1, out2, both", &c.set.OutputDirect)
	str("trigger-source", "off, immediately, ext_positive_edge, ext_negative_edge, ext_raw, high", &c.set.TriggerSource)
	fs.Func("cycles-per-burst", "table periods per burst, 0: continuous", func(v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		c.set.CyclesPerBurst = &n
		return err
	})
	integer("bursts", "number of bursts", &c.set.Bursts)
	num("delay-between-bursts", "s", &c.set.DelayBetweenBursts)
	fs.BoolVar(&c.asJSON, "json", false, "print the applied settings as JSON")
	if err := parseWithEnv(fs, args, natsAliases); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("rpbus %s: unexpected %q", c.gen, fs.Arg(0))}
	}
	return nil
}

func (c *asgCmd) Run(ctx context.Context) error {
	var err error
	if c.nc, err = c.nats.dial("rpbus-" + c.gen + "-client"); err != nil {
		return err
	}
	cl, err := client.New(c.nc)
	if err != nil {
		return err
	}
	b := cl.Board(c.board)
	g := b.ASG0
	if c.gen == "asg1" {
		g = b.ASG1
	}
	s, err := g.Setup(ctx, c.set)
	if err != nil {
		return err
	}
	if c.asJSON {
		return report.WriteJSON(c.stdout, s)
	}
	fmt.Fprintf(c.stdout, "%s on %s: %s %s, amplitude %s, offset %s, phase %.4g deg, output %s, trigger %s",
		s.Generator, c.board, s.Waveform, report.SI(s.Frequency, "Hz", 7), report.SI(s.Amplitude, "V", 4), report.SI(s.Offset, "V", 4),
		s.StartPhase, s.OutputDirect, s.TriggerSource)
	if s.CyclesPerBurst > 0 {
		fmt.Fprintf(c.stdout, ", bursts of %d cycles x %d, %s apart", s.CyclesPerBurst, s.Bursts+1, report.SI(s.DelayBetweenBursts, "s", 4))
	}
	fmt.Fprintln(c.stdout)
	return nil
}

func (c *asgCmd) Close() error {
	if c.nc != nil {
		return c.nc.Drain()
	}
	return nil
}
