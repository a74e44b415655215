package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// startUpWithPage runs rpbus up with its dashboard on a free port and
// returns the banner.
func startUpWithPage(t *testing.T, extra ...string) string {
	t.Helper()
	var out bytes.Buffer
	_, stop, err := startUpInProcess(context.Background(), &out, append([]string{"--listen", "127.0.0.1:0", "--data", "", "--http", "127.0.0.1:0"}, extra...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return out.String()
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, res.Status)
	}
	if err := json.NewDecoder(res.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

var dashboardLine = regexp.MustCompile(`(?m)^Dashboard: (http://127\.0\.0\.1:\d+/) \(NATS over WebSocket on (ws://127\.0\.0\.1:\d+)\)$`)

// rpbus up prints the page's URL; the page is served from the binary and
// told the WebSocket listener, on which a NATS client reaches the board.
func TestUpServesTheDashboard(t *testing.T) {
	banner := startUpWithPage(t)
	m := dashboardLine.FindStringSubmatch(banner)
	if m == nil {
		t.Fatalf("no dashboard line in the banner:\n%s", banner)
	}
	page, ws := m[1], m[2]
	res, err := http.Get(page)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(body), "rpbus dashboard") {
		t.Fatalf("GET %s: %s", page, body)
	}
	var cfg struct {
		NATS []string `json:"nats"`
		Auth bool     `json:"auth"`
	}
	getJSON(t, page+"config.json", &cfg)
	if len(cfg.NATS) != 1 || cfg.NATS[0] != ws || cfg.Auth {
		t.Fatalf("config %+v, want nats [%s] without auth", cfg, ws)
	}
	nc, err := nats.Connect(ws)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	msg, err := nc.Request("rp.sim.hw.info", nil, 5*time.Second)
	if err != nil || !strings.Contains(string(msg.Data), `"board":"sim"`) {
		t.Fatalf("hw.info over WebSocket: %v %s", err, msg.Data)
	}

	// rpbus dashboard serves the same page for that deployment.
	var out bytes.Buffer
	d := &dashboardCmd{stdout: &out}
	if err := d.ParseFlags([]string{"--nats", ws, "--http", "127.0.0.1:0"}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- d.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-errc; err != nil {
			t.Error(err)
		}
		d.Close()
	}()
	select {
	case <-d.ready:
	case <-time.After(10 * time.Second):
		t.Fatal("rpbus dashboard did not serve")
	}
	getJSON(t, d.page.URL()+"config.json", &cfg)
	if len(cfg.NATS) != 1 || cfg.NATS[0] != ws {
		t.Fatalf("rpbus dashboard config %+v, want nats [%s]", cfg, ws)
	}
}

func TestUpRefusesThePageBeyondLoopbackWithoutAuthorization(t *testing.T) {
	up := &upCmd{stdout: io.Discard}
	if err := up.ParseFlags([]string{"--listen", "127.0.0.1:0", "--data", "", "--http", "0.0.0.0:0"}); err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	err := up.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "beyond loopback") || !strings.Contains(err.Error(), "accounts") {
		t.Fatalf("err %v, want a refusal naming the accounts", err)
	}
}

func TestDashboardWebSocketURLs(t *testing.T) {
	for _, c := range []struct{ in, want, err string }{
		{in: "ws://127.0.0.1:8080", want: "ws://127.0.0.1:8080"},
		{in: "wss://lab.example:443,ws://10.0.0.2:8080", want: "wss://lab.example:443,ws://10.0.0.2:8080"},
		{in: "nats://lab.example:4222", want: "ws://lab.example:8080"},
		{in: "lab.example:4222", want: "ws://lab.example:8080"},
		{in: "tls://lab.example:4222", want: "wss://lab.example:8080"},
		{in: "ws://lab.example", err: "port"},
		{in: "ws://operator:secret@lab.example:8080", err: "credentials"},
		{in: "http://lab.example:8080", err: "want ws://"},
		{in: " , ", err: "give the deployment's WebSocket URL"},
	} {
		urls, _, err := webSocketURLs(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: err %v, want %q", c.in, err, c.err)
			}
			if err != nil && strings.Contains(err.Error(), "secret") {
				t.Errorf("%q: the error shows the password: %v", c.in, err)
			}
			continue
		}
		if err != nil || strings.Join(urls, ",") != c.want {
			t.Errorf("%q: %v %v, want %s", c.in, urls, err, c.want)
		}
	}
}
