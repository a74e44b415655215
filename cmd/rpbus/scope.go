package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/nats-io/nats.go"

	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/client"
	"github.com/rpbus/rpbus/services/scope"
)

func init() {
	register("scope", "the oscilloscope service for every board; `scope single` asks it for one trace", func(stdout, stderr io.Writer) command {
		return &scopeCmd{stdout: stdout}
	})
	instruments = append(instruments, instrument{
		name: "scope",
		start: func(nc *nats.Conn) (stopper, error) {
			return scope.Start(nc, scope.Config{})
		},
		examples: func(board string) []string {
			return []string{
				fmt.Sprintf(`req rp.%s.scope.single '{"duration":0.001}'`, board),
				fmt.Sprintf(`req rp.%s.scope.single '{"duration":0.001,"input1":"out1","trigger_source":"ch1_positive_edge","threshold":0.1}'`, board),
				fmt.Sprintf(`sub rp.%s.scope.done`, board),
			}
		},
	})
}

// scopeCmd runs the scope service (`rpbus scope`), or with the verb
// "single" asks it for one trace (`rpbus scope single --duration 1e-3`).
type scopeCmd struct {
	stdout io.Writer
	nats   natsFlags

	single  bool
	board   string
	set     api.ScopeSettings
	noAvg   bool
	outputs outputFlags

	nc  *nats.Conn
	svc *scope.Service
}

func (c *scopeCmd) ParseFlags(args []string) error {
	if len(args) > 0 && args[0] == "single" {
		c.single = true
		args = args[1:]
	}
	fs := flag.NewFlagSet("rpbus scope [single]", flag.ContinueOnError)
	c.nats.register(fs)
	if c.single {
		fs.StringVar(&c.board, "board", "sim", "board name")
		fs.StringVar(&c.set.Input1, "input1", "", "ch1 signal: in1 (default), in2, out1, out2, asg0, asg1, iq0..iq2, iq2_2, pid0..pid2")
		fs.StringVar(&c.set.Input2, "input2", "", "ch2 signal (default in2)")
		fs.Float64Var(&c.set.Duration, "duration", 0, "s, rounded up to 16384 x 8 ns x 2^k (default 131.072 us)")
		fs.IntVar(&c.set.Decimation, "decimation", 0, "1, 2, 4, ... 65536 (instead of -duration)")
		fs.StringVar(&c.set.TriggerSource, "trigger-source", "", "immediately (default), ch1_positive_edge, ch1_negative_edge, ch2_positive_edge, ch2_negative_edge, ext_positive_edge, ext_negative_edge, asg0, asg1, dsp")
		fs.Float64Var(&c.set.Threshold, "threshold", 0, "V, edge triggers")
		fs.Float64Var(&c.set.Hysteresis, "hysteresis", 0, "V, edge triggers (default 2.4 mV)")
		fs.Float64Var(&c.set.TriggerDelay, "trigger-delay", 0, "s, the trigger's place relative to the trace centre")
		fs.BoolVar(&c.noAvg, "no-average", false, "take every n-th sample instead of the boxcar average while decimating")
		fs.IntVar(&c.set.TraceAverage, "trace-average", 0, "traces averaged by the service (default 1)")
		fs.Float64Var(&c.set.Timeout, "timeout", 0, "s until 408 (default 1 s + 2 x the acquisition)")
		c.outputs.register(fs, false)
	}
	if err := parseWithEnv(fs, args, natsAliases); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("rpbus scope: unexpected %q; `rpbus scope [flags]` runs the service, `rpbus scope single [flags]` takes a trace", strings.Join(fs.Args(), " "))}
	}
	if c.noAvg {
		c.set.Average = client.Ptr(false)
	}
	return c.outputs.check()
}

func (c *scopeCmd) Run(ctx context.Context) error {
	var err error
	if c.single {
		if c.nc, err = c.nats.connect("rpbus-scope-client"); err != nil {
			return err
		}
		return c.runSingle(ctx)
	}
	if c.nc, err = c.nats.connect("rpbus-scope"); err != nil {
		return err
	}
	if c.svc, err = scope.Start(c.nc, scope.Config{}); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "scope: serving rp.*.scope.* on %s\n", c.nats.url)
	<-ctx.Done()
	return nil
}

func (c *scopeCmd) runSingle(ctx context.Context) error {
	cl, err := client.New(c.nc)
	if err != nil {
		return err
	}
	tr, err := cl.Board(c.board).Scope().Single(ctx, c.set)
	if err != nil {
		return err
	}
	return c.outputs.write(c.stdout, tr, func(w io.Writer) {
		s := tr.Settings
		fmt.Fprintf(w, "trace %s: ch1 %s, ch2 %s, decimation %d (%.6g s), trigger %s at board time %.9f s\n",
			tr.ID, s.Input1, s.Input2, s.Decimation, float64(len(tr.Ch1))*tr.Dt, s.TriggerSource, tr.TriggerTime)
		for _, ch := range []struct {
			name string
			v    []float32
		}{{"ch1", tr.Ch1}, {"ch2", tr.Ch2}} {
			lo, hi, mean, rms := stats32(ch.v)
			fmt.Fprintf(w, "  %s: min %.5f V  max %.5f V  mean %.5f V  rms %.5f V\n", ch.name, lo, hi, mean, rms)
		}
	})
}

// stats32 summarises the finite samples of a trace.
func stats32(v []float32) (lo, hi, mean, rms float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	n := 0
	for _, x := range v {
		f := float64(x)
		if math.IsNaN(f) {
			continue
		}
		lo, hi = math.Min(lo, f), math.Max(hi, f)
		mean += f
		rms += f * f
		n++
	}
	if n == 0 {
		return math.NaN(), math.NaN(), math.NaN(), math.NaN()
	}
	mean /= float64(n)
	return lo, hi, mean, math.Sqrt(rms/float64(n) - mean*mean)
}

func (c *scopeCmd) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), drainTimeout)
	defer cancel()
	if c.svc != nil {
		_ = c.svc.Stop(ctx)
	}
	if c.nc != nil {
		return c.nc.Drain()
	}
	return nil
}
