package main

import (
	"context"
	"fmt"
	"io"
	"math"

	"github.com/nats-io/nats.go"

	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/client"
	"github.com/rpbus/rpbus/report"
	"github.com/rpbus/rpbus/services/scope"
)

func init() {
	register("scope", "the oscilloscope service for every board; `scope single` asks it for one trace", func(stdout, stderr io.Writer) command {
		return newScopeCmd(stdout, stderr)
	})
	instruments = append(instruments, instrument{
		name: "scope",
		start: func(nc *nats.Conn, heard func(string) bool) (stopper, error) {
			return scope.Start(nc, scope.Config{Heard: heard})
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
	instrumentCmd
	set   api.ScopeSettings
	noAvg bool
}

func newScopeCmd(stdout, stderr io.Writer) *scopeCmd {
	c := &scopeCmd{instrumentCmd: instrumentCmd{name: "scope", stdout: stdout, stderr: stderr}}
	c.serve = func(nc *nats.Conn) (stopper, error) { return scope.Start(nc, scope.Config{}) }
	c.acquire = c.runSingle
	return c
}

func (c *scopeCmd) ParseFlags(args []string) error {
	fs, args := c.flags(args)
	if c.single {
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
		fs.Float64Var(&c.set.Timeout, "timeout", 0, "s until 408 (default 1 s + 2 x the acquisition and readout)")
		c.outputs.register(fs, false)
		registerSave(fs, &c.set.Save, &c.set.Name, &c.set.Tags)
	}
	if err := c.parse(fs, args); err != nil {
		return err
	}
	if c.noAvg {
		c.set.Average = client.Ptr(false)
	}
	return nil
}

func (c *scopeCmd) runSingle(ctx context.Context, b *client.Board) error {
	tr, err := b.Scope().Single(ctx, c.set)
	if err != nil {
		return err
	}
	return c.outputs.write(c.stdout, tr, func(w io.Writer) {
		s := tr.Settings
		fmt.Fprintf(w, "trace %s: ch1 %s, ch2 %s, %s at decimation %d (%s a sample), trigger %s at board time %.9f s\n",
			tr.ID, s.Input1, s.Input2, report.SI(float64(len(tr.Ch1))*tr.Dt, "s", 4), s.Decimation, report.SI(tr.Dt, "s", 3), s.TriggerSource, tr.TriggerTime)
		for _, ch := range []struct {
			name string
			v    []float32
		}{{"ch1", tr.Ch1}, {"ch2", tr.Ch2}} {
			lo, hi, mean, rms := stats32(ch.v)
			fmt.Fprintf(w, "  %s: min %s  max %s  mean %s  rms %s\n", ch.name,
				report.SI(lo, "V", 4), report.SI(hi, "V", 4), report.SI(mean, "V", 4), report.SI(rms, "V", 4))
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
