package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
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
	"github.com/rpbus/rpbus/board"
	"github.com/rpbus/rpbus/board/monitor"
	"github.com/rpbus/rpbus/board/sim"
	"github.com/rpbus/rpbus/client"
	"github.com/rpbus/rpbus/natsserver"
	"github.com/rpbus/rpbus/regmap"
	"github.com/rpbus/rpbus/services/hwbridge"
)

func init() {
	register("bench", "print benchmark figures: bench hw (the bridge), bench scope (scope.single latency and trace rates against the board's limit), bench board (on-board bridge against the monitor path)", func(stdout, stderr io.Writer) command {
		return &benchCmd{stdout: stdout}
	})
}

type benchCmd struct {
	stdout      io.Writer
	what        string
	count       int
	concurrency int
	decimation  uint
	rates       bool
	asJSON      bool
	nats        natsFlags
	board       string
	sim         boardFlags // the simulated boards bench makes

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
	fs.IntVar(&c.count, "count", 1000, "requests per figure")
	fs.IntVar(&c.concurrency, "concurrency", 4, "bench scope: concurrent requesters for the sustained rate")
	fs.UintVar(&c.decimation, "decimation", 1, "bench scope: the scope's decimation (1, 2, 4, ... 65536)")
	fs.BoolVar(&c.rates, "rates", true, "bench scope: also measure the sustained and continuous rates (--rates=false: the latency alone)")
	fs.BoolVar(&c.asJSON, "json", false, "print the figures as one JSON object")
	fs.StringVar(&c.board, "board", "sim", "board to measure (bench scope with --nats)")
	c.nats.register(fs)
	c.nats.url = "" // bench starts its own server unless --nats is given
	c.sim.registerSim(fs)
	if err := parseWithEnv(fs, args[1:], nil); err != nil {
		return err
	}
	if c.count < 10 {
		return usageError{"--count must be at least 10"}
	}
	if c.decimation == 0 || c.decimation > 1<<16 || c.decimation&(c.decimation-1) != 0 {
		return usageError{fmt.Sprintf("--decimation %d: want a power of two 1..65536", c.decimation)}
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
	// Rate is the calls per second over the measured calls, one at a time.
	Rate float64 `json:"per_s"`
}

// warmUp is how many calls measure makes before it times them.
func warmUp(count int) int { return min(50, count/10) }

// measure times f count times after warmUp(count) untimed calls.
func measure(ctx context.Context, count int, f func(context.Context) error) (figures, error) {
	for range warmUp(count) {
		if err := f(ctx); err != nil {
			return figures{}, err
		}
	}
	d := make([]float64, count)
	t0 := time.Now()
	for i := range d {
		t1 := time.Now()
		if err := f(ctx); err != nil {
			return figures{}, err
		}
		d[i] = float64(time.Since(t1).Nanoseconds()) / 1e3
		if ctx.Err() != nil {
			return figures{}, ctx.Err()
		}
	}
	rate := float64(count) / time.Since(t0).Seconds()
	sort.Float64s(d)
	q := func(p float64) float64 { return d[int(p*float64(len(d)-1))] }
	return figures{Count: count, P50: q(0.5), P90: q(0.9), P99: q(0.99), Rate: rate}, nil
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

func (c *benchCmd) bridge(nc *nats.Conn, board, backend string, f board.FPGA) error {
	br, err := hwbridge.Start(nc, hwbridge.Config{Board: board, Backend: backend, FPGA: f})
	if err != nil {
		return err
	}
	c.cleanup = append(c.cleanup, func() { br.Stop(context.Background()); f.Close() })
	return nil
}

// simLabel says what a simulated board's figures stand for: with its bus
// time they hold on a real board; without, for the simulator only.
func simLabel(cfg sim.Config) string {
	if !cfg.BusOn() {
		return fmt.Sprintf("simulator only (bus time off: %v a read, %v a write)",
			time.Duration(cfg.BusRead*1e9), time.Duration(cfg.BusWrite*1e9))
	}
	return fmt.Sprintf("simulated board with the Zynq's bus time (%v a read, %v a write)",
		time.Duration(cfg.BusRead*1e9), time.Duration(cfg.BusWrite*1e9))
}

// hwRow is one figure of bench hw: what it measures, its target, and
// what measure found.
type hwRow struct {
	name   string
	target string
	reads  int // words the call reads on the simulated board's bus
	call   func(context.Context) error
	got    figures
}

func (c *benchCmd) benchHW(ctx context.Context) error {
	cfg, err := c.sim.simConfigFromFlags()
	if err != nil {
		return err
	}
	nc, url, err := c.embedded()
	if err != nil {
		return err
	}
	board, err := sim.New(cfg)
	if err != nil {
		return err
	}
	if err := c.bridge(nc, "sim", "sim", board); err != nil {
		return err
	}
	// The same simulated board behind the monitor protocol on loopback, as
	// `rpbus simboard` serves it, driven by a second bridge.
	other, err := sim.New(cfg)
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
	mc, err := monitor.Dial(ctx, ln.Addr().String(), monitor.PyRPLClock())
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
	natsEcho := func(subject string) func(ctx context.Context) error {
		return func(ctx context.Context) error {
			_, err := cnc.RequestWithContext(ctx, subject, payload)
			return err
		}
	}
	rows := []hwRow{
		{name: "nats_echo_16B", target: "NATS alone", call: natsEcho("bench.echo")},
		{name: "nats_echo_64KiB", target: "NATS alone", call: natsEcho("bench.echo64k")},
		{name: "read1_sim", target: "p50 - bus <= 60 us", reads: 1, call: read(cl.Board("sim"), 1)},
		{name: "read16384_sim", target: "p50 - bus <= 300 us", reads: 16384, call: read(cl.Board("sim"), 16384)},
		{name: "read16384_monitor", target: "p50 - bus <= 600 us", reads: 16384, call: read(cl.Board("simmon"), 16384)},
	}
	for i := range rows {
		r := &rows[i]
		if r.got, err = measure(ctx, c.count, r.call); err != nil {
			return fmt.Errorf("%s: %w", r.name, err)
		}
	}
	rss, err := idleRSS(ctx)
	if err != nil {
		return fmt.Errorf("idle RSS of rpbus up: %w", err)
	}
	busUS := func(r hwRow) float64 { return float64(r.reads) * cfg.BusRead * 1e6 }
	if c.asJSON {
		out := map[string]any{"idle_rss_mb": rss, "bus_read_s": cfg.BusRead, "bus_write_s": cfg.BusWrite, "simulator_only": !cfg.BusOn()}
		for _, r := range rows {
			out[r.name] = map[string]any{"figures": r.got, "bus_us": busUS(r)}
		}
		return json.NewEncoder(c.stdout).Encode(out)
	}
	fmt.Fprintf(c.stdout, "hw.txn over TCP loopback, Go client, %d requests each; %s\n", c.count, simLabel(cfg))
	fmt.Fprintf(c.stdout, "%-20s %9s %9s %9s %9s %12s   %s\n", "figure", "p50 us", "p90 us", "p99 us", "bus us", "p50-bus us", "target")
	for _, r := range rows {
		f := r.got
		fmt.Fprintf(c.stdout, "%-20s %9.1f %9.1f %9.1f %9.1f %12.1f   %s\n", r.name, f.P50, f.P90, f.P99, busUS(r), f.P50-busUS(r), r.target)
	}
	fmt.Fprintf(c.stdout, "%-20s %9.1f MB %49s\n", "idle RSS rpbus up", rss, "<= 60 MB")
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

// startUpInProcess runs `rpbus up` with args in this process, its banner
// going to stdout, until ctx ends or stop is called, and returns once it
// serves.
func startUpInProcess(ctx context.Context, stdout io.Writer, args ...string) (up *upCmd, stop func(), err error) {
	up = &upCmd{stdout: stdout}
	if err := up.ParseFlags(args); err != nil {
		return nil, nil, err
	}
	uctx, cancel := context.WithCancel(ctx)
	errc := make(chan error, 1)
	go func() { errc <- up.Run(uctx) }()
	select {
	case <-up.ready:
	case err := <-errc:
		cancel()
		up.Close()
		return nil, nil, err
	case <-time.After(30 * time.Second):
		cancel()
		<-errc
		up.Close()
		return nil, nil, errors.New("rpbus up did not start within 30 s")
	}
	return up, func() { cancel(); <-errc; up.Close() }, nil
}

// traceLimit is the board's limit for a trace: one every acquisition
// plus the bus time of its readout (the next acquisition overwrites the
// buffer, so it cannot start before the last word is read).
type traceLimit struct {
	Acquisition float64 `json:"acquisition_s"`
	Reads       float64 `json:"reads_per_trace"`  // words
	Writes      float64 `json:"writes_per_trace"` // words
	Bus         float64 `json:"bus_s_per_trace"`
	PerS        float64 `json:"limit_per_s"` // 1/(acquisition + bus)
}

func newTraceLimit(acq float64, bus sim.BusStats, traces int) traceLimit {
	n := float64(traces)
	l := traceLimit{Acquisition: acq, Reads: float64(bus.Reads) / n, Writes: float64(bus.Writes) / n, Bus: bus.Time.Seconds() / n}
	l.PerS = sim.TraceRateLimit(acq, bus, traces)
	return l
}

// benchScope measures scope.single at --decimation, trigger immediately,
// both channels, end to end with the Go client: against --nats when given,
// else against an embedded `up` in this process, whose simulated board
// tells the words each trace reads and so the board's limit.
func (c *benchCmd) benchScope(ctx context.Context) error {
	url := c.nats.url
	var board *sim.Board
	if url == "" {
		up, stop, err := startUpInProcess(ctx, io.Discard, append([]string{"--listen", "127.0.0.1:0", "--data", ""}, c.sim.simArgs()...)...)
		if err != nil {
			return err
		}
		c.cleanup = append(c.cleanup, stop)
		board, _ = up.fpga.(*sim.Board) // nil on another backend: the limit is unknown
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
	settings := api.ScopeSettings{Decimation: int(c.decimation), TriggerSource: "immediately"}
	acq := regmap.Duration(uint32(c.decimation))
	timeout := 5*time.Second + time.Duration(acq*1e9)
	var trace api.ScopeTrace
	var bus0 sim.BusStats
	if board != nil {
		bus0 = board.BusStats()
	}
	single, err := measure(ctx, c.count, func(ctx context.Context) error {
		rctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		return cl.Request(rctx, subject, settings, &trace)
	})
	if err != nil {
		return err
	}
	var limit traceLimit
	if board != nil {
		limit = newTraceLimit(acq, board.BusStats().Sub(bus0), c.count+warmUp(c.count))
	}
	var rate, crate float64
	var gaps int
	continuous := acq <= 0.1 // longer traces roll (see docs/scope.md)
	if c.rates {
		if rate, err = c.sustained(ctx, cl, subject, settings, timeout); err != nil {
			return err
		}
		if continuous {
			if crate, gaps, err = c.continuous(ctx, cl, settings); err != nil {
				return err
			}
		}
	}
	of := func(r float64) float64 { return r / limit.PerS }
	if c.asJSON {
		out := map[string]any{
			"decimation": c.decimation, "count": single.Count, "p50_us": single.P50, "p90_us": single.P90, "p99_us": single.P99,
			"acquisition_us": acq * 1e6, "one_requester_traces_per_s": single.Rate,
		}
		if board != nil {
			out["limit"], out["simulator_only"] = limit, !board.Config().BusOn()
			out["p50_minus_acquisition_and_bus_us"] = single.P50 - (limit.Acquisition+limit.Bus)*1e6
			out["one_requester_of_limit"] = of(single.Rate)
		}
		if c.rates {
			out["sustained_traces_per_s"], out["concurrency"] = rate, c.concurrency
			if board != nil {
				out["sustained_of_limit"] = of(rate)
			}
			if continuous {
				out["continuous_traces_per_s"], out["continuous_gaps"] = crate, gaps
				if board != nil {
					out["continuous_of_limit"] = of(crate)
				}
			}
		}
		if floor.Count > 0 {
			out["nats_echo_64KiB_p50_us"] = floor.P50
		}
		return json.NewEncoder(c.stdout).Encode(out)
	}
	w := c.stdout
	fmt.Fprintf(w, "scope.single, decimation %d (acquisition %.1f us), trigger immediately, both channels, Go client, %d requests\n", c.decimation, acq*1e6, single.Count)
	ofLimit := func(r float64) string {
		if board == nil {
			return ""
		}
		return fmt.Sprintf(" = %.3f of the limit", of(r))
	}
	if board != nil {
		fmt.Fprintf(w, "board: %s\n", simLabel(board.Config()))
		fmt.Fprintf(w, "limit: a trace reads %.0f words and writes %.0f, %.1f us of bus time: 1/(%.1f + %.1f us) = %.1f traces/s\n",
			limit.Reads, limit.Writes, limit.Bus*1e6, acq*1e6, limit.Bus*1e6, limit.PerS)
	} else {
		fmt.Fprintf(w, "board %q over --nats: its limit is unknown here (bench measures it against its own simulated board)\n", c.board)
	}
	fmt.Fprintf(w, "single: p50 %.1f us  p90 %.1f us  p99 %.1f us", single.P50, single.P90, single.P99)
	if board != nil {
		fmt.Fprintf(w, "  (p50 minus acquisition and bus time %.1f us)", single.P50-(limit.Acquisition+limit.Bus)*1e6)
	}
	fmt.Fprintln(w)
	if floor.Count > 0 {
		fmt.Fprintf(w, "a bare NATS request with a 64 KiB reply, same server: p50 %.1f us  p90 %.1f us\n", floor.P50, floor.P90)
	}
	fmt.Fprintf(w, "one requester, one single after another: %.1f traces/s%s (goal >= 0.9)\n", single.Rate, ofLimit(single.Rate))
	if c.rates {
		fmt.Fprintf(w, "sustained, %d concurrent requesters: %.1f traces/s%s\n", c.concurrency, rate, ofLimit(rate))
		if continuous {
			fmt.Fprintf(w, "continuous, one subscriber: %.1f traces/s%s, %d sequence gaps (goal: none)\n", crate, ofLimit(crate), gaps)
		}
	}
	return nil
}

// sustained runs count singles from c.concurrency requesters at once and
// returns the rate.
func (c *benchCmd) sustained(ctx context.Context, cl *client.Client, subject string, s api.ScopeSettings, timeout time.Duration) (float64, error) {
	var wg sync.WaitGroup
	errc := make(chan error, c.concurrency)
	per := c.count / c.concurrency
	t0 := time.Now()
	for range c.concurrency {
		wg.Go(func() {
			var tr api.ScopeTrace
			for range per {
				rctx, cancel := context.WithTimeout(ctx, time.Duration(c.concurrency)*timeout)
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

// continuous streams count traces of settings s to one subscriber and
// returns the rate and the gaps in their sequence numbers.
func (c *benchCmd) continuous(ctx context.Context, cl *client.Client, s api.ScopeSettings) (float64, int, error) {
	sc := cl.Board(c.board).Scope()
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	traces, err := sc.Traces(sctx)
	if err != nil {
		return 0, 0, err
	}
	rctx, rcancel := context.WithTimeout(ctx, 5*time.Second)
	defer rcancel()
	if _, err := sc.Continuous(rctx, s); err != nil {
		return 0, 0, err
	}
	defer sc.Stop(context.WithoutCancel(rctx))
	var first, last uint64
	var t0 time.Time
	gaps := 0
	// A silence, not a total: other clients may share the scope (a
	// dashboard running continuous takes most of it), and then the traces
	// come slower but still come.
	silence := 2*time.Duration(regmap.Duration(uint32(s.Decimation))*1e9) + 5*time.Second
	for n := 0; n < c.count; n++ {
		timeout := time.After(silence)
		select {
		case tr := <-traces:
			if first == 0 {
				first, t0 = tr.Seq, time.Now()
			} else if tr.Seq != last+1 {
				gaps++
			}
			last = tr.Seq
		case <-timeout:
			return 0, gaps, fmt.Errorf("continuous: %d of %d traces arrived, then none for %v", n, c.count, silence)
		}
	}
	return float64(last-first) / time.Since(t0).Seconds(), gaps, nil
}
