package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rpbus/rpbus/rperr"
)

// rpbus runs the command in process and returns its stdout.
func rpbus(t *testing.T, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	err := Main(ctx, args, &out, &errb)
	return out.String(), err
}

func TestClientVerbs(t *testing.T) {
	url := startUp(t)
	dir := t.TempDir()

	out, err := rpbus(t, "asg0", "--nats", url, "--waveform", "sin", "--frequency", "1e6", "--amplitude", "0.5", "--output-direct", "out1")
	if err != nil || !strings.Contains(out, "asg0 on sim: sin 1e+06 Hz, amplitude 0.5 V") {
		t.Fatalf("asg0: %q %v", out, err)
	}
	if _, err := rpbus(t, "asg0", "--nats", url, "--amplitude", "2"); rperr.ErrorCode(err) != rperr.EInvalid || !strings.Contains(err.Error(), "amplitude") {
		t.Fatalf("asg0 --amplitude 2: %v", err)
	}

	csv, png := filepath.Join(dir, "t.csv"), filepath.Join(dir, "t.png")
	out, err = rpbus(t, "scope", "single", "--nats", url, "--duration", "1e-3", "--input2", "asg0", "--out", csv, "--png", png)
	if err != nil || !strings.Contains(out, "decimation 8") {
		t.Fatalf("scope single: %q %v", out, err)
	}
	data, err := os.ReadFile(csv)
	if err != nil || strings.Count(string(data), "\n") != 16385 || !strings.HasPrefix(string(data), "time_s,ch1_V,ch2_V") {
		t.Fatalf("trace CSV: %d lines, %v", strings.Count(string(data), "\n"), err)
	}
	if st, err := os.Stat(png); err != nil || st.Size() < 1000 {
		t.Fatalf("trace plot: %v", err)
	}
	if _, err := rpbus(t, "scope", "single", "--nats", url, "--decimation", "3"); rperr.ErrorCode(err) != rperr.EInvalid {
		t.Fatalf("scope single --decimation 3: %v", err)
	}
	if _, err := rpbus(t, "scope", "single", "--nats", url, "--out", "x.txt"); err == nil {
		t.Fatal("--out x.txt accepted")
	}

	out, err = rpbus(t, "na", "single", "--nats", url, "--start-freq", "5e5", "--stop-freq", "2e6", "--points", "21", "--rbw", "1000", "--json")
	var sweep struct {
		Frequencies []float64 `json:"frequencies"`
		Re          []float64 `json:"re"`
	}
	if err != nil || json.Unmarshal([]byte(out), &sweep) != nil || len(sweep.Re) != 21 {
		t.Fatalf("na single --json: %v %.200q", err, out)
	}

	out, err = rpbus(t, "specan", "single", "--nats", url, "--decimation", "64", "--trace-average", "2", "--out", filepath.Join(dir, "s.json"))
	if err != nil || !strings.Contains(out, "2 traces") {
		t.Fatalf("specan single: %q %v", out, err)
	}
}
