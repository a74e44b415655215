package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rpbus/rpbus/rperr"
)

// rpbus runs the command in process and returns its stdout.
func rpbus(t *testing.T, args ...string) (string, error) {
	t.Helper()
	out, _, err := rpbus2(t, args...)
	return out, err
}

// rpbus2 runs the command in process and returns its stdout and stderr.
func rpbus2(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	err := Main(ctx, args, &out, &errb)
	return out.String(), errb.String(), err
}

func TestClientVerbs(t *testing.T) {
	url := startUp(t)
	dir := t.TempDir()

	out, err := rpbus(t, "asg0", "--nats", url, "--waveform", "sin", "--frequency", "1e6", "--amplitude", "0.5", "--output-direct", "out1")
	if err != nil || !strings.Contains(out, "asg0 on sim: sin 1.000000 MHz, amplitude 500.0 mV") {
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

// TestConnectionErrors: a client command says within two seconds what it
// tried and why it failed; `rpbus up --nats-config` with an authorization
// block runs its services with the credentials it is given, and tells
// at once when they are missing or wrong.
func TestConnectionErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	nothing := "nats://" + ln.Addr().String()
	ln.Close()
	t0 := time.Now()
	_, err = rpbus(t, "scope", "single", "--nats", nothing)
	if took := time.Since(t0); err == nil || !strings.Contains(err.Error(), nothing) || !strings.Contains(err.Error(), "connection refused") || took > 3*time.Second {
		t.Errorf("nothing listening: %v after %v", err, took)
	}

	conf := filepath.Join(t.TempDir(), "auth.conf")
	if err := os.WriteFile(conf, []byte(`authorization {
  users: [
    { user: services, password: s-pw }
    { user: operator, password: o-pw, permissions: { publish: { deny: ["rp.*.hw.txn"] } } }
  ]
}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	up := &upCmd{stdout: io.Discard}
	if err := up.ParseFlags([]string{"--listen", "127.0.0.1:0", "--data", "", "--nats-config", conf}); err != nil {
		t.Fatal(err)
	}
	t0 = time.Now()
	err = up.Run(context.Background())
	up.Close()
	if err == nil || !strings.Contains(err.Error(), "asks for authorization") || !strings.Contains(err.Error(), "--user") || time.Since(t0) > 8*time.Second {
		t.Errorf("up without credentials: %v after %v", err, time.Since(t0))
	}
	up = &upCmd{stdout: io.Discard}
	if err := up.ParseFlags([]string{"--listen", "127.0.0.1:0", "--data", "", "--nats-config", conf, "--user", "services", "--password", "bad"}); err != nil {
		t.Fatal(err)
	}
	err = up.Run(context.Background())
	up.Close()
	if err == nil || !strings.Contains(err.Error(), `as user "services"`) || !strings.Contains(err.Error(), "authorization failed") {
		t.Errorf("up with a wrong password: %v", err)
	}

	url := startUp(t, "--nats-config", conf, "--user", "services", "--password", "s-pw")
	out, err := rpbus(t, "scope", "single", "--nats", url, "--user", "operator", "--password", "o-pw")
	if err != nil || !strings.Contains(out, "decimation 1") {
		t.Errorf("scope single as operator: %q %v", out, err)
	}
	if _, err := rpbus(t, "scope", "single", "--nats", url); err == nil || !strings.Contains(err.Error(), "authorization required") {
		t.Errorf("scope single without credentials: %v", err)
	}
}

// TestCommandLineAsPeopleTypeIt: connection flags before the command, a
// progress bar that ends on its final count, numbers with SI prefixes
// and sensible precision, and a spectrum summary that names the Nyquist
// frequency.
func TestCommandLineAsPeopleTypeIt(t *testing.T) {
	url := startUp(t)
	out, err := rpbus(t, "--nats", url, "asg0", "--frequency", "2e6", "--output-direct", "off")
	if err != nil || !strings.Contains(out, "2.000000 MHz") {
		t.Fatalf("rpbus --nats URL asg0: %q %v", out, err)
	}
	if _, err := rpbus(t, "--nats="+url, "--board", "nosuch", "scope", "single"); rperr.ErrorCode(err) != rperr.ENotFound {
		t.Fatalf("--board before the command: %v, want 404 for board nosuch", err)
	}
	for _, tc := range []struct{ args, want []string }{
		{[]string{"single", "--points", "3"}, []string{"single", "--nats=U", "--points", "3"}},
		{[]string{"rp.sim.>"}, []string{"--nats=U", "rp.sim.>"}},
		{[]string{"--count", "1", "rp.sim.>"}, []string{"--nats=U", "--count", "1", "rp.sim.>"}},
	} {
		if got := withGlobals([]string{"--nats=U"}, tc.args); !slices.Equal(got, tc.want) {
			t.Errorf("withGlobals(%q) = %q, want %q", tc.args, got, tc.want)
		}
	}
	if _, err := rpbus(t, "--json", "scope", "single"); err == nil || !strings.Contains(err.Error(), "only --nats") {
		t.Fatalf("a command's own flag before it: %v", err)
	}
	out, stderr, err := rpbus2(t, "--nats", url, "na", "single", "--start-freq", "5e5", "--stop-freq", "2e6", "--points", "21", "--rbw", "1000", "--progress")
	if err != nil || !strings.Contains(stderr, "] 21/21 points\n") || !strings.Contains(out, "21 points 500.0000 kHz .. 2.000000 MHz, rbw 1.214 kHz") {
		t.Fatalf("na single --progress:\n%s\nstderr %q\n%v", out, stderr, err)
	}
	out, stderr, err = rpbus2(t, "--nats", url, "specan", "single", "--decimation", "64", "--trace-average", "3", "--progress")
	if err != nil || !strings.Contains(stderr, "] 3/3 traces\n") || !strings.Contains(out, "Nyquist frequency 976.6 kHz") {
		t.Fatalf("specan single --progress:\n%s\nstderr %q\n%v", out, stderr, err)
	}
}

// TestWatch: rpbus watch prints the msgpack events as JSON lines, arrays
// as numbers or summaries, and a failed acquisition's error.
func TestWatch(t *testing.T) {
	url := startUp(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out bytes.Buffer
	w := &watchCmd{stdout: &out}
	if err := w.ParseFlags([]string{"--nats", url, "--count", "2", "rp.sim.scope.done"}); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- w.Run(ctx); w.Close() }()
	select {
	case <-w.subscribed:
	case err := <-errc:
		t.Fatal(err)
	}
	if _, err := rpbus(t, "scope", "single", "--nats", url, "--input1", "out1"); err != nil {
		t.Fatal(err)
	}
	if _, err := rpbus(t, "scope", "single", "--nats", url, "--trigger-source", "ext_positive_edge", "--timeout", "0.05"); rperr.ErrorCode(err) != rperr.ETimeout {
		t.Fatalf("a single that times out: %v", err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines:\n%s", len(lines), out.String())
	}
	var ok, failed struct {
		Subject string `json:"subject"`
		Error   *struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
		Data struct {
			ID  string `json:"id"`
			Ch1 struct {
				Length int `json:"length"`
			} `json:"ch1"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(lines[0]), &ok); err != nil || ok.Subject != "rp.sim.scope.done" || ok.Error != nil || ok.Data.Ch1.Length != 16384 {
		t.Errorf("done event: %v %.300s", err, lines[0])
	}
	if err := json.Unmarshal([]byte(lines[1]), &failed); err != nil || failed.Error == nil || failed.Error.Code != 408 || failed.Data.ID == "" {
		t.Errorf("failed event: %v %.300s", err, lines[1])
	}
}
