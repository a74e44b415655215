package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"time"

	"github.com/rpbus/rpbus/board/design"
	"github.com/rpbus/rpbus/board/devmem"
	"github.com/rpbus/rpbus/board/monitor"
	"github.com/rpbus/rpbus/board/sim"
	"github.com/rpbus/rpbus/services/hwbridge"
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

	// devmem
	memFile   string
	bitstream string
	loader    design.Loader
	osRoot    string
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

// devmemRecheck is how often the devmem backend checks again that the
// FPGA still runs PyRPL's design (something else on the board may load
// another): a check is 19 register reads, a few microseconds there.
const devmemRecheck = 5 * time.Second

func (b *boardFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&b.name, "board", "sim", "board name: the second token of every subject, rp.<board>...")
	fs.StringVar(&b.backend, "backend", "sim", "FPGA backend: sim (the simulated board), monitor (a real board running PyRPL's monitor_server) or devmem (on the board itself: the registers through /dev/mem)")
	fs.StringVar(&b.boardAddr, "board-addr", "", "monitor backend: the board's monitor_server, HOST:2222")
	fs.StringVar(&b.memFile, "mem-file", "", "devmem backend: map this plain file instead of /dev/mem (tests, dry runs); a missing one is created, 5 MiB, reading as PyRPL's design does once loaded")
	fs.StringVar(&b.bitstream, "bitstream", "", "devmem backend: load this FPGA design before serving (PyRPL's red_pitaya.bin); without it the bridge serves the design already loaded, once it is found to be PyRPL's")
	fs.StringVar(&b.loader.Use, "fpga-loader", "auto", "devmem with --bitstream: auto (whichever the board has), xdevcfg (Red Pitaya OS 0.9x/1.x) or fpgautil (OS 2.x)")
	fs.StringVar(&b.loader.XDevCfg, "xdevcfg", design.DefaultXDevCfg, "devmem with --bitstream: the FPGA configuration device of OS 0.9x/1.x")
	fs.StringVar(&b.loader.FPGAUtil, "fpgautil", design.FPGAUtil, "devmem with --bitstream: the fpgautil program of OS 2.x (a name looked up on PATH, then "+design.RedPitayaFPGAUtil+", or a path)")
	fs.StringVar(&b.osRoot, "os-root", "/", "devmem: where hw.info reads the board's OS version files (/opt/redpitaya/version.txt, /etc/os-release)")
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

// open builds the backend and the bridge's configuration for it. The
// caller closes cfg.FPGA. Progress lines (a bitstream's load) go to log.
func (b *boardFlags) open(ctx context.Context, log io.Writer) (cfg hwbridge.Config, err error) {
	cfg = hwbridge.Config{Board: b.name, Backend: b.backend}
	if b.backend != "devmem" {
		for _, f := range []struct{ name, value string }{{"mem-file", b.memFile}, {"bitstream", b.bitstream}} {
			if f.value != "" {
				return cfg, usageError{fmt.Sprintf("--%s is for --backend devmem, not %s", f.name, b.backend)}
			}
		}
	}
	switch b.backend {
	case "sim":
		sc, err := b.simConfigFromFlags()
		if err != nil {
			return cfg, err
		}
		board, err := sim.New(sc)
		if err != nil {
			return cfg, err
		}
		cfg.FPGA, cfg.Model = board, sc
		return cfg, nil
	case "monitor":
		if b.boardAddr == "" {
			return cfg, usageError{"--backend monitor needs --board-addr HOST:2222"}
		}
		dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		c, err := monitor.Dial(dctx, b.boardAddr, monitor.PyRPLClock())
		if err != nil {
			return cfg, err
		}
		cfg.FPGA, cfg.Address = c, b.boardAddr
		return cfg, nil
	case "devmem":
		return b.openDevmem(ctx, cfg, log)
	}
	return cfg, usageError{fmt.Sprintf("--backend %q: want sim, monitor or devmem", b.backend)}
}

// openDevmem loads --bitstream, if given, and maps the registers. A load
// that fails does not stop the bridge: it serves, answering 503 with the
// reason, so the failure shows where its users look.
func (b *boardFlags) openDevmem(ctx context.Context, cfg hwbridge.Config, log io.Writer) (hwbridge.Config, error) {
	switch b.loader.Use {
	case "auto", design.XDevCfg, design.FPGAUtil:
	default:
		return cfg, usageError{fmt.Sprintf("--fpga-loader %q: want auto, %s or %s", b.loader.Use, design.XDevCfg, design.FPGAUtil)}
	}
	probe := &design.Probe{}
	if b.bitstream != "" {
		fmt.Fprintf(log, "hwbridge: loading the FPGA design %s\n", b.bitstream)
		loaded, err := b.loader.Load(ctx, b.bitstream)
		if err != nil {
			probe.LoadErr = err
			fmt.Fprintf(log, "hwbridge: %v\n", err)
		} else {
			probe.Loaded = &loaded
			fmt.Fprintf(log, "hwbridge: loaded %s (%d bytes, sha256 %s) with %s\n", loaded.Bitstream, loaded.Bytes, loaded.SHA256, loaded.Loader)
		}
	}
	var m *devmem.Mem
	var err error
	if b.memFile != "" {
		_, statErr := os.Stat(b.memFile)
		if m, err = devmem.OpenFile(b.memFile); err == nil && errors.Is(statErr, fs.ErrNotExist) {
			// A new file reads as the FPGA does once PyRPL's design is
			// loaded, so a dry run serves.
			if err = design.Imprint(m); err != nil {
				m.Close()
			}
		}
	} else {
		m, err = devmem.Open(devmem.DevMem)
		probe.Sys = design.DefaultSys // a real PL: ask whether it is programmed before touching it
	}
	if err != nil {
		return cfg, err
	}
	probe.FPGA = m
	cfg.FPGA, cfg.Address, cfg.Probe, cfg.Recheck = m, m.Path(), probe, devmemRecheck
	cfg.OS = design.OS(b.osRoot)
	return cfg, nil
}
