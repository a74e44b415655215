package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"testing"
	"time"
)

// runAsRPBUS, set in a child's environment, makes this test binary run
// as rpbus: `rpbus bench board` starts its board-side processes from the
// binary it is given.
const runAsRPBUS = "RPBUS_TEST_RUN_AS_RPBUS"

// TestMain runs the binary as rpbus when runAsRPBUS asks it to, and
// removes the ARM build (armBinary) after the tests.
func TestMain(m *testing.M) {
	if os.Getenv(runAsRPBUS) == "1" {
		main()
		os.Exit(0)
	}
	code := m.Run()
	if armBuild.dir != "" {
		os.RemoveAll(armBuild.dir)
	}
	os.Exit(code)
}

// `rpbus bench board` runs both deployments, each in its processes across
// the LAN stand-in (the monitor path also without it), and reports every
// figure of each.
func TestBenchBoard(t *testing.T) {
	t.Setenv(runAsRPBUS, "1")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out bytes.Buffer
	args := []string{"bench", "board", "--rounds", "1", "--count", "10", "--sweeps", "1", "--json", "--exe", exe, "--lan-delay", "50us"}
	if err := Main(ctx, args, &out, os.Stderr); err != nil {
		t.Fatalf("bench board: %v", err)
	}
	var got struct {
		Delay       int64 `json:"lan_delay_us"`
		Deployments []struct {
			Name       string             `json:"name"`
			Delay      float64            `json:"lan_delay_us"`
			Figures    map[string]float64 `json:"figures"`
			RoundTrips float64            `json:"round_trips_per_trace"`
		} `json:"deployments"`
	}
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("output %q: %v", out.String(), err)
	}
	if got.Delay != 50 || len(got.Deployments) != 4 {
		t.Fatalf("delay %d us, %d deployments; want 50 and 4: %s", got.Delay, len(got.Deployments), out.String())
	}
	// on-board, then monitor through the stand-in at the delay and at 0,
	// then with no stand-in.
	for i, want := range []struct {
		name  string
		delay float64
	}{{"on-board", 50}, {"monitor", 50}, {"monitor", 0}, {"monitor direct", 0}} {
		if d := got.Deployments[i]; d.Name != want.name || d.Delay != want.delay {
			t.Errorf("column %d: %s@%gus, want %s@%gus", i, d.Name, d.Delay, want.name, want.delay)
		}
	}
	for _, d := range got.Deployments {
		for _, fig := range figureOrder {
			if v := d.Figures[fig]; !(v > 0) {
				t.Errorf("%s@%gus: %s = %v", d.Name, d.Delay, fig, v)
			}
		}
		// A sweep cannot beat the hardware, nor a spectrum its traces.
		for _, fig := range []string{figNA101, figNA1001, figSpecanAcq} {
			if v := d.Figures[fig]; v < 1 {
				t.Errorf("%s@%gus: %s = %.3f, below the hardware time", d.Name, d.Delay, fig, v)
			}
		}
	}
	if rt := got.Deployments[1].RoundTrips; math.IsNaN(rt) || math.IsInf(rt, 0) {
		t.Errorf("monitor: round trips per trace %v", rt)
	}
}

func TestBenchBoardFlags(t *testing.T) {
	for _, args := range [][]string{{"--rounds", "0"}, {"--count", "5"}, {"--lan-delay", "-1us"}, {"--sweeps", "0"}, {"--lan-mbps", "-3"}, {"--lan-mbps", "0.5"}} {
		c := &benchBoardCmd{}
		if err := c.ParseFlags(args); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}
