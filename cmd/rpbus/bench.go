package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/board/monitor"
	"github.com/rpbus/rpbus/board/sim"
	"github.com/rpbus/rpbus/client"
	"github.com/rpbus/rpbus/natsserver"
	"github.com/rpbus/rpbus/regmap"
	"github.com/rpbus/rpbus/services/hwbridge"
)

func init() {
	register("bench", "print benchmark figures: bench hw (the bridge), bench scope (scope.single latency), bench board (on-board bridge against the monitor path)", func(stdout, stderr io.Writer) command {
		return &benchCmd{stdout: stdout}
	})
}

type benchCmd struct {
	stdout      io.Writer
	what        string
	count       int
	concurrency int
	rates       bool
	asJSON      bool
	nats        natsFlags
	board       string

	cleanup []func()
	sub     command // bench board
}

func (c *benchCmd) ParseFlags(args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return usageError{"usage: rpbus bench hw|scope|board [flags]"}
	}
	c.what = args[0]
	if c.what == "board" {
		c.sub = &benchBoardCmd{stdout: c.stdout}
		return c.sub.ParseFlags(args[1:])
	}
	fs := flag.NewFlagSet("rpbus bench "+c.what, flag.ContinueOnError)
	fs.IntVar(&c.count, "count", 2000, "requests per figure")
	fs.IntVar(&c.concurrency, "concurrency", 4, "bench scope: concurrent requesters for the sustained rate")
	fs.BoolVar(&c.rates, "rates", true, "bench scope: also measure the sustained and continuous rates (--rates=false: the latency alone)")
	fs.BoolVar(&c.asJSON, "json", false, "print the figures as one JSON object")
	fs.StringVar(&c.board, "board", "sim", "board to measure (bench scope with --nats)")
	c.nats.register(fs)
	c.nats.url = "" // bench starts its own server unless --nats is given
	if err := parseWithEnv(fs, args[1:], nil); err != nil {
		return err
	}
	if c.count < 10 {
		return usageError{"--count must be at least 10"}
	}
	return nil
}

func (c *benchCmd) Run(ctx context.Context) error {
	if c.sub != nil {
		return c.sub.Run(ctx)
	}
	switch c.what {
	case "hw":
		return c.benchHW(ctx)
	case "scope":
		return c.benchScope(ctx)
	}
	return usageError{fmt.Sprintf("rpbus bench %s: want hw, scope or board", c.what)}
}

func (c *benchCmd) Close() error {
	if c.sub != nil {
		return c.sub.Close()
	}
	for i := len(c.cleanup) - 1; i >= 0; i-- {
		c.cleanup[i]()
	}
	return nil
}

// figures holds latency percentiles in microseconds.
type figures struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50_us"`
	P90   float64 `json:"p90_us"`
	P99   float64 `json:"p99_us"`
}

// measure times f count times after a short warm-up.
func measure(ctx context.Context, count int, f func(context.Context) error) (figures, error) {
	for i := 0; i < min(50, count/10); i++ {
		if err := f(ctx); err != nil {
			return figures{}, err
		}
	}
	d := make([]float64, count)
	for i := range d {
		t0 := time.Now()
		if err := f(ctx); err != nil {
			return figures{}, err
		}
		d[i] = float64(time.Since(t0).Nanoseconds()) / 1e3
		if ctx.Err() != nil {
			return figures{}, ctx.Err()
		}
	}
	sort.Float64s(d)
	q := func(p float64) float64 { return d[int(p*float64(len(d)-1))] }
	return figures{Count: count, P50: q(0.5), P90: q(0.9), P99: q(0.99)}, nil
}

// embedded starts a server on a random loopback port and returns a TCP
// connection to it.
func (c *benchCmd) embedded() (*nats.Conn, string, error) {
	ns, err := natsserver.Start(natsserver.Options{Listen: "127.0.0.1:0"})
	if err != nil {
		return nil, "", err
	}
	c.cleanup = append(c.cleanup, func() { ns.Shutdown(); ns.WaitForShutdown() })
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		return nil, "", err
	}
	c.cleanup = append(c.cleanup, nc.Close)
	return nc, ns.ClientURL(), nil
}

func (c *benchCmd) bridge(nc *nats.Conn, board, backend string, f interface {
	Read(uint32, []uint32) error
	Write(uint32, []uint32) error
	Close() error
}) error {
	br, err := hwbridge.Start(nc, hwbridge.Config{Board: board, Backend: backend, FPGA: f})
	if err != nil {
		return err
	}
	c.cleanup = append(c.cleanup, func() { br.Stop(context.Background()); f.Close() })
	return nil
}

func (c *benchCmd) benchHW(ctx context.Context) error {
	nc, url, err := c.embedded()
	if err != nil {
		return err
	}
	board, err := sim.New(sim.DefaultConfig())
	if err != nil {
		return err
	}
	if err := c.bridge(nc, "sim", "sim", board); err != nil {
		return err
	}
	// The same simulated board behind the monitor protocol on loopback, as
	// `rpbus simboard` serves it, driven by a second bridge.
	other, err := sim.New(sim.DefaultConfig())
	if err != nil {
		return err
	}
	srv, err := monitor.NewServer(other)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go srv.Serve(ln)
	c.cleanup = append(c.cleanup, func() { srv.Close(); other.Close() })
	mc, err := monitor.Dial(ctx, ln.Addr().String())
	if err != nil {
		return err
	}
	if err := c.bridge(nc, "simmon", "monitor", mc); err != nil {
		return err
	}

	cnc, err := nats.Connect(url)
	if err != nil {
		return err
	}
	c.cleanup = append(c.cleanup, cnc.Close)
	cl, _ := client.New(cnc)
	read := func(b *client.Board, n int) func(context.Context) error {
		return func(ctx context.Context) error {
			_, err := b.HW.Read(ctx, regmap.ScopeBase+regmap.ScopeCh1Data, n)
			return err
		}
	}
	// Bare NATS responders on the same server: the floor every figure
	// stands on (a 16 B reply, and a 64 KiB one like a 16384-word read).
	if err := c.echoes(nc); err != nil {
		return err
	}
	payload := make([]byte, 16)
	results := map[string]figures{}
	order := []struct{ name, target string }{
		{"nats_echo_16B", "NATS alone"},
		{"nats_echo_64KiB", "NATS alone"},
		{"read1_sim", "p50 <= 60 us"},
		{"read16384_sim", "p50 <= 300 us"},
		{"read16384_monitor", "p50 <= 600 us"},
	}
	natsEcho := func(subject string) func(ctx context.Context) error {
		return func(ctx context.Context) error {
			_, err := cnc.RequestWithContext(ctx, subject, payload)
			return err
		}
	}
	for i, f := range []func(context.Context) error{natsEcho("bench.echo"), natsEcho("bench.echo64k"), read(cl.Board("sim"), 1), read(cl.Board("sim"), 16384), read(cl.Board("simmon"), 16384)} {
		r, err := measure(ctx, c.count, f)
		if err != nil {
			return fmt.Errorf("%s: %w", order[i].name, err)
		}
		results[order[i].name] = r
	}
	rss, err := idleRSS(ctx)
	if err != nil {
		return fmt.Errorf("idle RSS of rpbus up: %w", err)
	}
	if c.asJSON {
		out := map[string]any{"idle_rss_mb": rss}
		for k, v := range results {
			out[k] = v
		}
		return json.NewEncoder(c.stdout).Encode(out)
	}
	fmt.Fprintf(c.stdout, "hw.txn over TCP loopback, Go client, %d requests each\n", c.count)
	fmt.Fprintf(c.stdout, "%-20s %9s %9s %9s   %s\n", "figure", "p50 us", "p90 us", "p99 us", "target")
	for _, o := range order {
		r := results[o.name]
		fmt.Fprintf(c.stdout, "%-20s %9.1f %9.1f %9.1f   %s\n", o.name, r.P50, r.P90, r.P99, o.target)
	}
	fmt.Fprintf(c.stdout, "%-20s %9.1f MB %27s\n", "idle RSS rpbus up", rss, "<= 60 MB")
	return nil
}

// echoes serves bench.echo (the request back) and bench.echo64k (64 KiB,
// the size of a scope trace's reply) on nc.
func (c *benchCmd) echoes(nc *nats.Conn) error {
	for subject, size := range map[string]int{"bench.echo": -1, "bench.echo64k": 64 << 10} {
		reply := make([]byte, max(size, 0))
		sub, err := nc.Subscribe(subject, func(m *nats.Msg) {
			if size < 0 {
				_ = m.Respond(m.Data)
				return
			}
			_ = m.Respond(reply)
		})
		if err != nil {
			return err
		}
		c.cleanup = append(c.cleanup, func() { sub.Unsubscribe() })
	}
	return nc.Flush()
}

// idleRSS starts `rpbus up` as a child process, lets it settle and reads
// its resident memory.
func idleRSS(ctx context.Context) (float64, error) {
	exe, err := os.Executable()
	if err != nil {
		return 0, err
	}
	dir, err := os.MkdirTemp("", "rpbus-bench-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	cmd := exec.CommandContext(ctx, exe, "up", "--listen", "127.0.0.1:0", "--data", filepath.Join(dir, "js"))
	out, err := cmd.StdoutPipe()
	if err != nil {
		return 0, err
	}
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGINT)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
		}
	}()
	// Wait for the banner's last line, then let it idle.
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "Ctrl-C") {
			break
		}
	}
	go io.Copy(io.Discard, out)
	time.Sleep(2 * time.Second)
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			fields := strings.Fields(line)
			kb, err := strconv.ParseFloat(fields[1], 64)
			return kb / 1024, err
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc status")
}

// benchScope measures scope.single at decimation 1, trigger immediately,
// both channels, end to end with the Go client: against --nats when given,
// else against an embedded `up` in this process.
func (c *benchCmd) benchScope(ctx context.Context) error {
	url := c.nats.url
	if url == "" {
		up := &upCmd{stdout: io.Discard}
		if err := up.ParseFlags([]string{"--listen", "127.0.0.1:0", "--data", ""}); err != nil {
			return err
		}
		uctx, cancel := context.WithCancel(ctx)
		errc := make(chan error, 1)
		go func() { errc <- up.Run(uctx) }()
		select {
		case <-up.ready:
		case err := <-errc:
			cancel()
			return err
		}
		c.cleanup = append(c.cleanup, func() { cancel(); <-errc; up.Close() })
		url = up.URL()
	}
	nc, err := c.nats.connectTo(url, "rpbus-bench")
	if err != nil {
		return err
	}
	c.cleanup = append(c.cleanup, nc.Close)
	cl, _ := client.New(nc)
	// A bare NATS reply of a trace's size (64 KiB: the samples travel as
	// 16-bit codes) through the same server, side by side:
	// the floor one trace's reply stands on.
	floor := figures{}
	if c.nats.url == "" {
		enc, err := nats.Connect(url)
		if err != nil {
			return err
		}
		c.cleanup = append(c.cleanup, enc.Close)
		if err := c.echoes(enc); err != nil {
			return err
		}
		if floor, err = measure(ctx, c.count, func(ctx context.Context) error {
			_, err := nc.RequestWithContext(ctx, "bench.echo64k", nil)
			return err
		}); err != nil {
			return err
		}
	}
	subject := api.Subject(c.board, "scope", "single")
	settings := api.ScopeSettings{Decimation: 1, TriggerSource: "immediately"}
	var trace api.ScopeTrace
	r, err := measure(ctx, c.count, func(ctx context.Context) error {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		return cl.Request(rctx, subject, settings, &trace)
	})
	if err != nil {
		return err
	}
	var rate, crate float64
	var gaps int
	if c.rates {
		if rate, err = c.sustained(ctx, cl, subject, settings); err != nil {
			return err
		}
		if crate, gaps, err = c.continuous(ctx, cl); err != nil {
			return err
		}
	}
	acq := regmap.Duration(1) * 1e6
	if c.asJSON {
		out := map[string]any{
			"count": r.Count, "p50_us": r.P50, "p90_us": r.P90, "p99_us": r.P99,
			"acquisition_us": acq, "p50_minus_acquisition_us": r.P50 - acq,
		}
		if c.rates {
			out["sustained_traces_per_s"], out["concurrency"] = rate, c.concurrency
			out["continuous_traces_per_s"], out["continuous_gaps"] = crate, gaps
		}
		if floor.Count > 0 {
			out["nats_echo_64KiB_p50_us"] = floor.P50
		}
		return json.NewEncoder(c.stdout).Encode(out)
	}
	fmt.Fprintf(c.stdout, "scope.single, decimation 1, both channels, Go client, %d requests\n", r.Count)
	fmt.Fprintf(c.stdout, "p50 %.1f us  p90 %.1f us  p99 %.1f us  (acquisition %.1f us; p50 minus acquisition %.1f us, target <= 600)\n",
		r.P50, r.P90, r.P99, acq, r.P50-acq)
	if floor.Count > 0 {
		fmt.Fprintf(c.stdout, "a bare NATS request with a 64 KiB reply, same server: p50 %.1f us  p90 %.1f us\n", floor.P50, floor.P90)
	}
	if c.rates {
		fmt.Fprintf(c.stdout, "sustained, %d concurrent requesters: %.0f traces/s (target >= 1000)\n", c.concurrency, rate)
		fmt.Fprintf(c.stdout, "continuous, one subscriber: %.0f traces/s, %d sequence gaps (target >= 1000, none)\n", crate, gaps)
	}
	return nil
}

// sustained runs count singles from c.concurrency requesters at once and
// returns the rate.
func (c *benchCmd) sustained(ctx context.Context, cl *client.Client, subject string, s api.ScopeSettings) (float64, error) {
	var wg sync.WaitGroup
	errc := make(chan error, c.concurrency)
	per := c.count / c.concurrency
	t0 := time.Now()
	for range c.concurrency {
		wg.Go(func() {
			var tr api.ScopeTrace
			for range per {
				rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				err := cl.Request(rctx, subject, s, &tr)
				cancel()
				if err != nil {
					errc <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		return 0, err
	}
	return float64(per*c.concurrency) / time.Since(t0).Seconds(), nil
}

// continuous streams count traces at decimation 1 to one subscriber and
// returns the rate and the gaps in their sequence numbers.
func (c *benchCmd) continuous(ctx context.Context, cl *client.Client) (float64, int, error) {
	sc := cl.Board(c.board).Scope()
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	traces, err := sc.Traces(sctx)
	if err != nil {
		return 0, 0, err
	}
	rctx, rcancel := context.WithTimeout(ctx, 5*time.Second)
	defer rcancel()
	if _, err := sc.Continuous(rctx, api.ScopeSettings{Decimation: 1}); err != nil {
		return 0, 0, err
	}
	defer sc.Stop(context.WithoutCancel(rctx))
	var first, last uint64
	var t0 time.Time
	gaps := 0
	timeout := time.After(time.Duration(c.count)*10*time.Millisecond + 5*time.Second)
	for n := 0; n < c.count; n++ {
		select {
		case tr := <-traces:
			if first == 0 {
				first, t0 = tr.Seq, time.Now()
			} else if tr.Seq != last+1 {
				gaps++
			}
			last = tr.Seq
		case <-timeout:
			return 0, gaps, fmt.Errorf("continuous: %d of %d traces arrived in time", n, c.count)
		}
	}
	return float64(last-first) / time.Since(t0).Seconds(), gaps, nil
}
