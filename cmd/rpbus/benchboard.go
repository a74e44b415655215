package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/client"
	"github.com/rpbus/rpbus/internal/lanproxy"
	"github.com/rpbus/rpbus/internal/num"
	"github.com/rpbus/rpbus/natsserver"
	"github.com/rpbus/rpbus/regmap"
	"github.com/rpbus/rpbus/services/na"
)

// benchBoardCmd is `rpbus bench board`: the two ways to put a real board
// on the bus, compared in one run across a LAN stand-in (lanproxy):
//
//   - on-board: the bridge (sim backend) in its own process, as on the
//     board, its NATS link through the stand-in;
//   - monitor: `rpbus up --backend monitor` in its own process on the PC,
//     its monitor link through the stand-in to `rpbus simboard` in its
//     own process, as PyRPL's monitor_server on the board.
//
// The stand-in carries at most --lan-mbps each way (1 Gbit/s, the
// board's Ethernet port, by default): a trace's bytes cost their wire
// time, 0.56 ms for 64 KiB, which a stand-in that only delayed did not
// charge. For on-board, the NATS server and the instrument services run in this
// process, as `rpbus up` runs them on the PC. The client is a TCP
// connection from this process, which also runs the stand-ins. The
// monitor path is also measured through the stand-in with no delay, so
// that the round trips per trace can be counted: (scope single p50 at the
// delay - at 0) / (1-word hw.txn read p50 at the delay - at 0). With
// --baseline, another rpbus binary's `up --backend monitor` (the code
// before a change) is measured beside ours, on the same simboard, run
// exactly as ours is: a process of its own each. (A bridge in this
// process, next to the client, answered about 100 us sooner per exchange
// than the same code in a process of its own, which flattered whichever
// ran here by 0.04 in an NA sweep's ratio.) Every figure of a round is
// taken from each deployment in turn before the next figure, and the
// rounds repeat that; the table shows medians over the rounds.
type benchBoardCmd struct {
	stdout   io.Writer
	delay    time.Duration
	mbps     lanMbps // the stand-in's line rate
	rounds   int
	count    int
	sweeps   int
	baseline string
	exe      string
	asJSON   bool
	sim      boardFlags // the simulated boards' model and bus, for both deployments

	readout float64 // s the board's bus takes for one trace's two buffers
	cleanup []func()
}

func (c *benchBoardCmd) ParseFlags(args []string) error {
	fs := flag.NewFlagSet("rpbus bench board", flag.ContinueOnError)
	fs.DurationVar(&c.delay, "lan-delay", lanproxy.DefaultDelay, "one-way delay of the LAN stand-in")
	c.mbps.register(fs, "line rate of the LAN stand-in in Mbit/s, each direction, also at 0 delay (0: no limit)")
	fs.IntVar(&c.rounds, "rounds", 3, "rounds; every figure is taken from each deployment in turn in each round")
	fs.IntVar(&c.count, "count", 200, "scope traces and 1-word reads per figure and round")
	fs.IntVar(&c.sweeps, "sweeps", 3, "NA sweeps and spectra per figure and round")
	fs.StringVar(&c.baseline, "baseline", "", "another rpbus binary whose `up --backend monitor` is measured beside this one (e.g. a build of the code before a change; one whose up has --http, since b33301a)")
	fs.StringVar(&c.exe, "exe", "", "rpbus binary for the board-side processes (default: this one)")
	fs.BoolVar(&c.asJSON, "json", false, "print the figures as one JSON object")
	c.sim.registerSim(fs)
	if err := parseWithEnv(fs, args, nil); err != nil {
		return err
	}
	cfg, err := c.sim.simConfigFromFlags()
	if err != nil {
		return err
	}
	c.readout = 2 * regmap.ScopeBufferLen * cfg.BusRead
	if err := c.mbps.check(); err != nil {
		return err
	}
	switch {
	case c.delay < 0 || c.delay > time.Second:
		return usageError{fmt.Sprintf("--lan-delay %v: want 0..1s", c.delay)}
	case c.rounds < 1:
		return usageError{"--rounds must be at least 1"}
	case c.count < 10:
		return usageError{"--count must be at least 10"}
	case c.sweeps < 1:
		return usageError{"--sweeps must be at least 1"}
	}
	return nil
}

func (c *benchBoardCmd) Close() error {
	for i := len(c.cleanup) - 1; i >= 0; i-- {
		c.cleanup[i]()
	}
	c.cleanup = nil
	return nil
}

// deployment is one column of the table: a board as a client sees it.
type deployment struct {
	Name  string  `json:"name"`
	Delay float64 `json:"lan_delay_us"`
	cl    *client.Client
	board string
}

// Figures measured per deployment.
const (
	figRead1      = "hw_read1_p50_us"
	figSingle     = "scope_single_p50_us"
	figRate       = "scope_traces_per_s"
	figNA101      = "na_101pt_rbw1k_sweep_over_hw"
	figNA1001     = "na_1001pt_rbw10k_sweep_over_hw"
	figSpecanAcq  = "specan_100avg_dec8_over_acq"
	figSpecanLim  = "specan_100avg_dec8_over_board_limit"
	benchRateConc = 4 // concurrent requesters of the sustained scope rate
)

var figureOrder = []string{figRead1, figSingle, figRate, figNA101, figNA1001, figSpecanAcq, figSpecanLim}

var figureTitles = map[string]string{
	figRead1:     "hw.txn 1-word read p50 (us)",
	figSingle:    "scope single p50, dec 1 (us)",
	figRate:      fmt.Sprintf("scope traces/s, dec 1, %d requesters", benchRateConc),
	figNA101:     "NA 101 pt rbw 1 kHz: sweep / hw time",
	figNA1001:    "NA 1001 pt rbw 10 kHz: sweep / hw time",
	figSpecanAcq: "specan 100 avg dec 8: time / acq",
	figSpecanLim: "specan 100 avg dec 8: time / limit",
}

// The settings measured. Timeouts are generous: a figure is a time, and a
// busy machine (CI under -race) must not turn it into an error.
var (
	benchNA101  = api.NASettings{StartFreq: 100e3, StopFreq: 5e6, Points: 101, RBW: 1e3, Timeout: 60}
	benchNA1001 = api.NASettings{StartFreq: 100e3, StopFreq: 5e6, Points: 1001, RBW: 10e3, Timeout: 60}
	benchSpecan = api.SpecanSettings{Decimation: 8, TraceAverage: 100, Timeout: 60}
	benchScope  = api.ScopeSettings{Decimation: 1, TriggerSource: "immediately", Timeout: 10}
)

func (c *benchBoardCmd) Run(ctx context.Context) error {
	deps, err := c.start(ctx)
	if err != nil {
		return err
	}
	// per deployment, per figure: one value per round
	got := make([]map[string][]float64, len(deps))
	for i := range got {
		got[i] = map[string][]float64{}
	}
	for range c.rounds {
		for _, fig := range []string{figRead1, figSingle, figRate, figNA101, figNA1001, figSpecanAcq} {
			for i, d := range deps {
				vals, err := c.measure(ctx, d, fig)
				if err != nil {
					return fmt.Errorf("%s, %s: %w", d.Name, fig, err)
				}
				for k, v := range vals {
					got[i][k] = append(got[i][k], v)
				}
			}
		}
	}
	return c.report(deps, got)
}

// start brings up the simboard, the stand-ins, the NATS server, the
// services and every deployment's bridge.
func (c *benchBoardCmd) start(ctx context.Context) ([]deployment, error) {
	exe := c.exe
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return nil, err
		}
	}
	line, err := c.child(ctx, exe, "simboard: ", append([]string{"simboard", "--listen", "127.0.0.1:0"}, c.simArgs()...)...)
	if err != nil {
		return nil, fmt.Errorf("simboard: %w", err)
	}
	// "simboard: simulated Red Pitaya on ADDR (monitor_server protocol)"
	simAddr := strings.Fields(strings.TrimPrefix(line, "simboard: simulated Red Pitaya on "))[0]
	simD, err := c.proxy(simAddr, c.delay)
	if err != nil {
		return nil, err
	}
	// The monitor links: across the stand-in at the delay and at 0, so
	// that the stand-in's own cost is in both.
	sim0, err := c.proxy(simAddr, 0)
	if err != nil {
		return nil, err
	}
	// And with no stand-in at all: the path with no LAN, whose figures
	// are the ones to hold against a bridge next to its board.
	links := []struct {
		addr  string
		delay time.Duration
		name  string
	}{{simD, c.delay, ""}, {sim0, 0, ""}, {simAddr, 0, " direct"}}

	ns, err := natsserver.Start(natsserver.Options{Listen: "127.0.0.1:0"})
	if err != nil {
		return nil, err
	}
	c.cleanup = append(c.cleanup, func() { ns.Shutdown(); ns.WaitForShutdown() })
	inproc := func(name string) (*nats.Conn, error) {
		nc, err := nats.Connect("", nats.InProcessServer(ns), nats.Name("rpbus-bench-"+name))
		if err == nil {
			c.cleanup = append(c.cleanup, func() { nc.Drain() })
		}
		return nc, err
	}
	for _, in := range instruments {
		nc, err := inproc(in.name)
		if err != nil {
			return nil, err
		}
		heard, err := natsserver.Interest(ns, nc)
		if err != nil {
			return nil, err
		}
		s, err := in.start(nc, heard)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", in.name, err)
		}
		c.cleanup = append(c.cleanup, func() { s.Stop(context.Background()) })
	}
	// The on-board bridge, its NATS link across the stand-in.
	natsD, err := c.proxy(strings.TrimPrefix(ns.ClientURL(), "nats://"), c.delay)
	if err != nil {
		return nil, err
	}
	if _, err := c.child(ctx, exe, "hwbridge: ", append([]string{"hwbridge", "--backend", "sim", "--board", "onboard", "--nats", "nats://" + natsD}, c.simArgs()...)...); err != nil {
		return nil, fmt.Errorf("on-board bridge: %w", err)
	}
	cl, err := c.client(ns.ClientURL())
	if err != nil {
		return nil, err
	}
	us := float64(c.delay.Microseconds())
	deps := []deployment{{Name: "on-board", Delay: us, cl: cl, board: "onboard"}}
	ups := []struct{ name, exe string }{{"monitor", exe}}
	if c.baseline != "" {
		ups = append(ups, struct{ name, exe string }{"baseline monitor", c.baseline})
	}
	for _, u := range ups {
		for _, m := range links {
			mcl, err := c.upMonitor(ctx, u.exe, m.addr)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", u.name, err)
			}
			deps = append(deps, deployment{Name: u.name + m.name, Delay: float64(m.delay.Microseconds()), cl: mcl, board: "monitor"})
		}
	}
	for _, d := range deps {
		if err := waitInfo(ctx, d.cl.Board(d.board)); err != nil {
			return nil, fmt.Errorf("%s: %w", d.Name, err)
		}
	}
	return deps, nil
}

// upMonitor starts exe's `rpbus up --backend monitor` for the board at
// addr, in a process of its own with its own NATS server, and connects a
// client to it.
func (c *benchBoardCmd) upMonitor(ctx context.Context, exe, addr string) (*client.Client, error) {
	const ready = "rpbus up: NATS listening on "
	line, err := c.child(ctx, exe, ready, "up", "--listen", "127.0.0.1:0", "--data", "", "--http", "",
		"--board", "monitor", "--backend", "monitor", "--board-addr", addr)
	if err != nil {
		return nil, err
	}
	return c.client(strings.TrimPrefix(line, ready))
}

// simArgs are the flags that give both deployments' simulated boards
// the model and bus this command was given.
func (c *benchBoardCmd) simArgs() []string {
	cfg, _ := c.sim.simConfigFromFlags() // validated by ParseFlags
	args := []string{"--bus-read", strconv.FormatFloat(cfg.BusRead, 'g', -1, 64), "--bus-write", strconv.FormatFloat(cfg.BusWrite, 'g', -1, 64)}
	if c.sim.simConfig != "" {
		args = append(args, "--sim-config", c.sim.simConfig)
	}
	if c.sim.seedSet {
		args = append(args, "--seed", strconv.FormatUint(c.sim.seed, 10))
	}
	return args
}

// proxy starts a LAN stand-in in front of target and returns its address.
// It runs in this process: as a process of its own it woke about 50 us
// later per round trip on this busy machine (two idle threads to wake per
// chunk), an artefact a real network does not have.
func (c *benchBoardCmd) proxy(target string, delay time.Duration) (string, error) {
	p, err := lanproxy.Listen("127.0.0.1:0", lanproxy.Config{Target: target, Delay: delay, Rate: c.mbps.bitsPerSecond()})
	if err != nil {
		return "", err
	}
	c.cleanup = append(c.cleanup, func() { p.Close() })
	return p.Addr(), nil
}

// client connects over TCP, as a user's program would.
func (c *benchBoardCmd) client(url string) (*client.Client, error) {
	nc, err := nats.Connect(url, nats.Name("rpbus-bench-board"))
	if err != nil {
		return nil, err
	}
	c.cleanup = append(c.cleanup, nc.Close)
	return client.New(nc)
}

// modulesBack waits until every IQ module of b is unclaimed: a sweep
// gives its module back just after its reply, and the deployments share
// one simulated board but not one NATS server, so the next deployment's
// sweep would find the module held by an instance it cannot ask after,
// and take it over (see na's pool).
func modulesBack(ctx context.Context, b *client.Board) error {
	deadline := time.Now().Add(5 * time.Second)
	for k := 0; k < na.NumIQ; k++ {
		addr := regmap.Slot(regmap.SlotIQ0+k) + na.MarkerAddrOffset
		for {
			w, err := b.HW.Read(ctx, addr, 1)
			if err != nil {
				return err
			}
			if w[0]&na.MarkerHeld == 0 {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("iq%d still claimed (marker %#x) 5 s after the last sweep", k, w[0])
			}
			time.Sleep(time.Millisecond)
		}
	}
	return nil
}

// waitInfo waits until the board's bridge answers hw.info.
func waitInfo(ctx context.Context, b *client.Board) error {
	deadline := time.Now().Add(20 * time.Second)
	for {
		ictx, cancel := context.WithTimeout(ctx, time.Second)
		_, err := b.Info(ictx)
		cancel()
		if err == nil || time.Now().After(deadline) || ctx.Err() != nil {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// child starts exe with args and returns the first line of its standard
// output that starts with ready; it is stopped (SIGINT, then killed after
// 10 s) by Close.
func (c *benchBoardCmd) child(ctx context.Context, exe, ready string, args ...string) (string, error) {
	cmd := exec.Command(exe, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &limitedWriter{w: &stderr, left: 4 << 10}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", err
	}
	if err := cmd.Start(); err != nil {
		return "", err
	}
	exited := make(chan struct{})
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), ready) {
				lines <- sc.Text()
				break
			}
		}
		_, _ = io.Copy(io.Discard, out)
		_ = cmd.Wait()
		close(exited)
	}()
	c.cleanup = append(c.cleanup, func() {
		_ = cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	select {
	case line := <-lines:
		return line, nil
	case <-exited:
		return "", fmt.Errorf("%s %s exited: %s", exe, args[0], strings.TrimSpace(stderr.String()))
	case <-time.After(30 * time.Second):
		return "", fmt.Errorf("%s %s: no %q line within 30 s", exe, args[0], ready)
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// limitedWriter keeps the first left bytes (a child's error message).
type limitedWriter struct {
	mu   sync.Mutex
	w    io.Writer
	left int
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if k := min(len(p), l.left); k > 0 {
		l.left -= k
		_, _ = l.w.Write(p[:k])
	}
	return len(p), nil
}

// measure takes one round of fig from d: figSpecanAcq also yields
// figSpecanLim.
func (c *benchBoardCmd) measure(ctx context.Context, d deployment, fig string) (map[string]float64, error) {
	b := d.cl.Board(d.board)
	switch fig {
	case figRead1:
		r, err := measure(ctx, c.count, func(ctx context.Context) error {
			_, err := b.HW.Read(ctx, regmap.HKBase+regmap.HKID, 1)
			return err
		})
		return map[string]float64{fig: r.P50}, err
	case figSingle:
		var tr api.ScopeTrace
		r, err := measure(ctx, c.count, func(ctx context.Context) error {
			rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
			defer cancel()
			return b.Scope().SingleInto(rctx, benchScope, &tr)
		})
		return map[string]float64{fig: r.P50}, err
	case figRate:
		bc := &benchCmd{count: c.count, concurrency: benchRateConc}
		rate, err := bc.sustained(ctx, d.cl, api.Subject(d.board, "scope", "single"), benchScope, 10*time.Second)
		return map[string]float64{fig: rate}, err
	case figNA101, figNA1001:
		s := benchNA101
		if fig == figNA1001 {
			s = benchNA1001
		}
		var ratios []float64
		for range c.sweeps {
			t0 := time.Now()
			tr, err := b.NA().Single(ctx, s)
			if err != nil {
				return nil, err
			}
			ratios = append(ratios, time.Since(t0).Seconds()/tr.HardwareTime)
		}
		return map[string]float64{fig: median(ratios)}, modulesBack(ctx, b)
	case figSpecanAcq:
		var times []float64
		for range c.sweeps {
			t0 := time.Now()
			if _, err := b.Specan().Single(ctx, benchSpecan); err != nil {
				return nil, err
			}
			times = append(times, time.Since(t0).Seconds())
		}
		t := median(times)
		n := float64(benchSpecan.TraceAverage)
		acq := regmap.Duration(uint32(benchSpecan.Decimation))
		return map[string]float64{
			figSpecanAcq: t / (n * acq),
			figSpecanLim: t / (n * (acq + c.readout)),
		}, nil
	}
	return nil, fmt.Errorf("unknown figure %q", fig)
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}

// report prints the medians over the rounds.
func (c *benchBoardCmd) report(deps []deployment, got []map[string][]float64) error {
	acq := regmap.Duration(1)
	limit := acq + c.readout
	med := func(i int, fig string) float64 { return median(got[i][fig]) }
	// round trips per trace of a deployment at the delay, from its twin
	// at 0 (the next column)
	rtt := func(i int) float64 {
		r := (med(i, figSingle) - med(i+1, figSingle)) / (med(i, figRead1) - med(i+1, figRead1))
		if !num.Finite(r) {
			return 0 // no difference to divide by
		}
		return r
	}
	if c.asJSON {
		type col struct {
			deployment
			Figures    map[string]float64   `json:"figures"`
			RoundTrips float64              `json:"round_trips_per_trace,omitempty"`
			PerRound   map[string][]float64 `json:"per_round"`
		}
		var cols []col
		for i, d := range deps {
			cl := col{deployment: d, Figures: map[string]float64{}, PerRound: got[i]}
			for _, fig := range figureOrder {
				cl.Figures[fig] = med(i, fig)
			}
			if d.Name != "on-board" && d.Delay != 0 {
				cl.RoundTrips = rtt(i)
			}
			cols = append(cols, cl)
		}
		return json.NewEncoder(c.stdout).Encode(map[string]any{
			"lan_delay_us": c.delay.Microseconds(), "lan_mbps": c.mbps, "rounds": c.rounds,
			"scope_limit_us": limit * 1e6, "scope_limit_traces_per_s": 1 / limit,
			"readout_us": c.readout * 1e6, "simulator_only": c.readout == 0,
			"deployments": cols,
		})
	}
	w := c.stdout
	fmt.Fprintf(w, "rpbus bench board: LAN stand-in %v one way, %s; %d rounds, every figure from each deployment in turn; medians over the rounds\n", c.delay, c.mbps, c.rounds)
	fmt.Fprintf(w, "(the machine may be shared: compare columns of one run)\n\n")
	fmt.Fprintf(w, "%-40s", "figure")
	for _, d := range deps {
		fmt.Fprintf(w, " %18s", fmt.Sprintf("%s@%gus", d.Name, d.Delay))
	}
	fmt.Fprintf(w, " %14s\n", "board limit")
	limits := map[string]string{
		figSingle:    fmt.Sprintf("%.1f", limit*1e6),
		figRate:      fmt.Sprintf("%.0f", 1/limit),
		figSpecanLim: "1",
	}
	for _, fig := range figureOrder {
		fmt.Fprintf(w, "%-40s", figureTitles[fig])
		for i := range deps {
			fmt.Fprintf(w, " %18s", format(med(i, fig)))
		}
		fmt.Fprintf(w, " %14s\n", limits[fig])
	}
	fmt.Fprintf(w, "%-40s", "round trips per trace")
	for i, d := range deps {
		s := ""
		if d.Name != "on-board" && d.Delay != 0 && i+1 < len(deps) {
			s = fmt.Sprintf("%.1f", rtt(i))
		}
		fmt.Fprintf(w, " %18s", s)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "\nboard limit of a trace: acquisition %.1f us + readout %.1f us (2 x %d words at the simulated bus's %v a word)\n",
		acq*1e6, c.readout*1e6, regmap.ScopeBufferLen, time.Duration(c.readout/(2*regmap.ScopeBufferLen)*1e9))
	fmt.Fprintf(w, "round trips per trace = (scope single p50 at the delay - at 0) / (1-word read p50 at the delay - at 0)\n")
	fmt.Fprintf(w, "at 0: the monitor link goes through the stand-in with no delay, so its own cost is in both\n")
	if c.readout == 0 {
		fmt.Fprintf(w, "the simulated bus is off (--bus-read 0): these figures hold for the simulator only\n")
	}
	return nil
}

func format(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.3f", v)
}
