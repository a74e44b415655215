package main

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"time"

	"github.com/rpbus/rpbus/board"
	"github.com/rpbus/rpbus/board/monitor"
	"github.com/rpbus/rpbus/board/sim"
)

// boardFlags choose and configure the FPGA backend of a bridge.
type boardFlags struct {
	name      string
	backend   string
	boardAddr string
	simConfig string
	seed      uint64
	seedSet   bool
	busRead   busTime
	busWrite  busTime
}

// busTime is a flag of the simulated board's bus: a time per word in
// seconds (2e-7) or as a Go duration (200ns); set tells it was given.
type busTime struct {
	s   float64
	set bool
}

func (t *busTime) String() string { return "" }

func (t *busTime) Set(v string) error {
	if d, err := time.ParseDuration(v); err == nil {
		t.s, t.set = d.Seconds(), true
		return nil
	}
	s, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return fmt.Errorf("%q: want seconds (2e-7) or a duration (200ns)", v)
	}
	t.s, t.set = s, true
	return nil
}

func (b *boardFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&b.name, "board", "sim", "board name: the second token of every subject, rp.<board>...")
	fs.StringVar(&b.backend, "backend", "sim", "FPGA backend: sim (the simulated board) or monitor (a real board running PyRPL's monitor_server)")
	fs.StringVar(&b.boardAddr, "board-addr", "", "monitor backend: the board's monitor_server, HOST:2222")
	b.registerSim(fs)
}

func (b *boardFlags) registerSim(fs *flag.FlagSet) {
	fs.StringVar(&b.simConfig, "sim-config", "", "simulated board: JSON file with the analog model (device under test, noise, seed); see docs/simulator.md")
	fs.Func("seed", "simulated board: noise seed (overrides the config file)", func(s string) error {
		_, err := fmt.Sscan(s, &b.seed)
		b.seedSet = err == nil
		return err
	})
	fs.Var(&b.busRead, "bus-read", fmt.Sprintf("simulated board: bus time of one 32-bit read, as the Zynq's CPU takes it (overrides the config file; 0: free, figures then hold for the simulator only) (default %v)", time.Duration(sim.DefaultBusRead*1e9)))
	fs.Var(&b.busWrite, "bus-write", fmt.Sprintf("simulated board: bus time of one 32-bit write (overrides the config file; 0: free) (default %v)", time.Duration(sim.DefaultBusWrite*1e9)))
}

// simArgs are the simulated board's flags that were set, for another
// command that makes the board.
func (b *boardFlags) simArgs() []string {
	var a []string
	if b.simConfig != "" {
		a = append(a, "--sim-config", b.simConfig)
	}
	if b.seedSet {
		a = append(a, "--seed", strconv.FormatUint(b.seed, 10))
	}
	if b.busRead.set {
		a = append(a, "--bus-read", strconv.FormatFloat(b.busRead.s, 'g', -1, 64))
	}
	if b.busWrite.set {
		a = append(a, "--bus-write", strconv.FormatFloat(b.busWrite.s, 'g', -1, 64))
	}
	return a
}

// simConfigFromFlags loads the sim's configuration.
func (b *boardFlags) simConfigFromFlags() (sim.Config, error) {
	cfg := sim.DefaultConfig()
	if b.simConfig != "" {
		var err error
		if cfg, err = sim.LoadConfig(b.simConfig); err != nil {
			return cfg, err
		}
	}
	if b.seedSet {
		cfg.Seed = b.seed
	}
	if b.busRead.set {
		cfg.BusRead = b.busRead.s
	}
	if b.busWrite.set {
		cfg.BusWrite = b.busWrite.s
	}
	return cfg, cfg.Validate()
}

// open builds the backend: the FPGA, and what hw.info reports about it.
func (b *boardFlags) open(ctx context.Context) (f board.FPGA, model any, err error) {
	switch b.backend {
	case "sim":
		cfg, err := b.simConfigFromFlags()
		if err != nil {
			return nil, nil, err
		}
		board, err := sim.New(cfg)
		if err != nil {
			return nil, nil, err
		}
		return board, cfg, nil
	case "monitor":
		if b.boardAddr == "" {
			return nil, nil, usageError{"--backend monitor needs --board-addr HOST:2222"}
		}
		dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		c, err := monitor.Dial(dctx, b.boardAddr)
		if err != nil {
			return nil, nil, err
		}
		return c, nil, nil
	}
	return nil, nil, usageError{fmt.Sprintf("--backend %q: want sim or monitor", b.backend)}
}
