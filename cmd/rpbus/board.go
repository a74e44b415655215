package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
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

	// devmem
	memFile   string
	bitstream string
	loader    design.Loader
	osRoot    string
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
	return cfg, nil
}

// open builds the backend and the bridge's configuration for it. The
// caller closes cfg.FPGA. Progress lines (a bitstream's load) go to log.
func (b *boardFlags) open(ctx context.Context, log io.Writer) (cfg hwbridge.Config, err error) {
	cfg = hwbridge.Config{Board: b.name, Backend: b.backend}
	if b.backend != "devmem" {
		for name, v := range map[string]string{"mem-file": b.memFile, "bitstream": b.bitstream} {
			if v != "" {
				return cfg, usageError{fmt.Sprintf("--%s is for --backend devmem, not %s", name, b.backend)}
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
		c, err := monitor.Dial(dctx, b.boardAddr)
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
