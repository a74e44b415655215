package main

import (
	"io"
	"strings"
	"testing"

	"github.com/rpbus/rpbus/board/sim"
)

// TestBusFlags: every command that makes a simulated board takes the bus
// times as flags (seconds or a duration) over the config file, with the
// environment as fallback.
func TestBusFlags(t *testing.T) {
	cmds := map[string]func() (command, *boardFlags){
		"up":       func() (command, *boardFlags) { c := &upCmd{stdout: io.Discard}; return c, &c.board },
		"hwbridge": func() (command, *boardFlags) { c := &hwbridgeCmd{stdout: io.Discard}; return c, &c.board },
		"simboard": func() (command, *boardFlags) { c := &simboardCmd{stdout: io.Discard}; return c, &c.board },
	}
	for name, mk := range cmds {
		c, bf := mk()
		if err := c.ParseFlags([]string{"--bus-read", "80ns", "--bus-write", "1e-7"}); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		cfg, err := bf.simConfigFromFlags()
		if err != nil || cfg.BusRead != 80e-9 || cfg.BusWrite != 1e-7 {
			t.Errorf("%s --bus-read 80ns --bus-write 1e-7: read %g write %g, %v", name, cfg.BusRead, cfg.BusWrite, err)
		}
	}
	t.Setenv("RPBUS_BUS_READ", "0")
	c, bf := cmds["simboard"]()
	if err := c.ParseFlags(nil); err != nil {
		t.Fatal(err)
	}
	if cfg, err := bf.simConfigFromFlags(); err != nil || cfg.BusRead != 0 || cfg.BusWrite != sim.DefaultBusWrite || cfg.BusOn() {
		t.Errorf("RPBUS_BUS_READ=0: read %g write %g on %v, %v", cfg.BusRead, cfg.BusWrite, cfg.BusOn(), err)
	}
	c, _ = cmds["up"]()
	if err := c.ParseFlags([]string{"--bus-read", "fast"}); err == nil || !strings.Contains(err.Error(), "bus-read") {
		t.Errorf("--bus-read fast: %v", err)
	}
	c, bf = cmds["hwbridge"]()
	if err := c.ParseFlags([]string{"--bus-write", "2ms"}); err != nil {
		t.Fatal(err)
	}
	if _, err := bf.simConfigFromFlags(); err == nil || !strings.Contains(err.Error(), "bus_write") {
		t.Errorf("--bus-write 2ms: %v", err)
	}
}
