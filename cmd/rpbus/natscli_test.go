package main

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// natsCLI finds natscli: $RPBUS_NATS_CLI, else .tools/bin/nats, which
// scripts/setup installs. Without it the test fails, unless the caller
// opts out explicitly with RPBUS_SKIP_NATSCLI=1.
func natsCLI(t *testing.T) string {
	t.Helper()
	path := os.Getenv("RPBUS_NATS_CLI")
	if path == "" {
		path, _ = filepath.Abs("../../.tools/bin/nats")
	}
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("RPBUS_SKIP_NATSCLI") == "1" {
			t.Skipf("natscli not found at %s; skipped as RPBUS_SKIP_NATSCLI=1 asks", path)
		}
		t.Fatalf("natscli not found at %s: run scripts/setup, or set RPBUS_SKIP_NATSCLI=1 to skip this test", path)
	}
	return path
}

// startUp runs `rpbus up` in process on a random port, with the flags
// extra, and returns its URL.
func startUp(t *testing.T, extra ...string) string {
	t.Helper()
	up, stop, err := startUpInProcess(context.Background(), io.Discard, append([]string{"--listen", "127.0.0.1:0", "--data", ""}, extra...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return up.URL()
}

// run runs natscli and returns stdout and stderr (it writes headers and
// status lines to stderr).
func run(t *testing.T, cli, url string, args ...string) (string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, cli, append([]string{"-s", url, "--timeout", "10s"}, args...)...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("nats %s: %v\n%s%s", strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String(), errb.String()
}

func TestNatsCLI(t *testing.T) {
	cli := natsCLI(t)
	url := startUp(t)

	out, _ := run(t, cli, url, "req", "rp.sim.hw.info", "")
	var info struct {
		Backend string  `json:"backend"`
		Clock   float64 `json:"clock"`
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &info); err != nil || info.Backend != "sim" || info.Clock != 125e6 {
		t.Fatalf("hw.info: %v: %q", err, out)
	}

	// nats req exits 0 on a service error: the header tells.
	_, stderr := run(t, cli, url, "req", "rp.sim.hw.txn", `{"ops":[{"op":"poke","addr":"0x40100000"}]}`)
	if !strings.Contains(stderr, "Nats-Service-Error-Code: 400") || !strings.Contains(stderr, `ops[0].op`) {
		t.Fatalf("bad op: no 400 naming the op in the headers:\n%s", stderr)
	}
	_, stderr = run(t, cli, url, "req", "rp.nosuch.hw.info", "")
	if !strings.Contains(stderr, "No responders") {
		t.Fatalf("unknown board: %s", stderr)
	}

	out, _ = run(t, cli, url, "micro", "ls", "--json")
	var services []struct {
		Name string `json:"name"`
	}
	if err := json.Unmarshal([]byte(out), &services); err != nil {
		t.Fatalf("micro ls: %v: %q", err, out)
	}
	names := map[string]bool{}
	for _, s := range services {
		names[s.Name] = true
	}
	want := []string{"hwbridge"}
	for _, in := range instruments {
		want = append(want, in.name)
	}
	for _, n := range want {
		if !names[n] {
			t.Errorf("micro ls lacks %s: %v", n, names)
		}
	}

	for _, n := range want {
		out, _ = run(t, cli, url, "micro", "info", n, "--json")
		// natscli v0.5.0 answers {"info": ..., "stats": ...} for one instance.
		var info struct {
			Info struct {
				Endpoints []struct {
					Subject  string            `json:"subject"`
					Metadata map[string]string `json:"metadata"`
				} `json:"endpoints"`
			} `json:"info"`
		}
		if err := json.Unmarshal([]byte(out), &info); err != nil || len(info.Info.Endpoints) == 0 {
			t.Fatalf("micro info %s: %v: %q", n, err, out)
		}
		for _, ep := range info.Info.Endpoints {
			if ep.Metadata["request"] == "" {
				t.Errorf("%s endpoint %s has no request metadata", n, ep.Subject)
			}
		}
	}

	out, _ = run(t, cli, url, "micro", "stats", "hwbridge", "--json")
	var stats []struct {
		Endpoints []struct {
			Subject     string `json:"subject"`
			NumRequests int    `json:"num_requests"`
			NumErrors   int    `json:"num_errors"`
			Data        struct {
				Errors map[string]int `json:"errors"`
			} `json:"data"`
		} `json:"endpoints"`
	}
	if err := json.Unmarshal([]byte(out), &stats); err != nil || len(stats) == 0 {
		t.Fatalf("micro stats: %v: %q", err, out)
	}
	for _, ep := range stats[0].Endpoints {
		if ep.Subject == "rp.sim.hw.txn" && (ep.NumRequests != 1 || ep.NumErrors != 1 || ep.Data.Errors["400"] != 1) {
			t.Errorf("stats of hw.txn: %+v, want one request, one error, a 400", ep)
		}
	}
}
