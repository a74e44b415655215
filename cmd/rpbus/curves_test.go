package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/client"
	"github.com/rpbus/rpbus/rperr"
	"github.com/rpbus/rpbus/wire"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// buildBinary builds the rpbus command once for the tests that need a
// real process (to kill it).
func buildBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "rpbus-curves-test")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "rpbus")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// upProcess is `rpbus up` running as a process of its own.
type upProcess struct {
	cmd    *exec.Cmd
	url    string
	stderr *bytes.Buffer
}

var listening = regexp.MustCompile(`NATS listening on (nats://\S+)`)

// startUpProcess runs `rpbus up` on a free port with its store in data,
// and returns once it is ready.
func startUpProcess(t *testing.T, data string) *upProcess {
	t.Helper()
	cmd := exec.Command(buildBinary(t), "up", "--listen", "127.0.0.1:0", "--data", data)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &upProcess{cmd: cmd, stderr: &bytes.Buffer{}}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		url := ""
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				url = m[1]
			}
			if strings.HasPrefix(sc.Text(), "Ctrl-C stops") {
				ready <- url
			}
		}
		close(ready)
	}()
	select {
	case url, ok := <-ready:
		if !ok || url == "" {
			t.Fatalf("rpbus up exited: %s", p.stderr)
		}
		p.url = url
	case <-time.After(60 * time.Second):
		t.Fatalf("rpbus up not ready after 60 s: %s", p.stderr)
	}
	return p
}

// saved is one acquisition saved through the instrument: its curve id
// and the msgpack reply's bytes.
type saved struct {
	curve string
	reply []byte
}

// TestCurvesSurviveKill9 saves 200 curves of the three instruments
// through a real `rpbus up` process, kills it with SIGKILL, starts it
// again on the same data folder, and finds every curve listed and each
// stored trace the bytes its reply carried. Meanwhile a second `rpbus up`
// on the same folder is refused.
func TestCurvesSurviveKill9(t *testing.T) {
	data := t.TempDir()
	up := startUpProcess(t, data)
	nc, err := nats.Connect(up.url)
	if err != nil {
		t.Fatal(err)
	}
	requests := []struct{ subject, body string }{
		{"rp.sim.scope.single", `{"decimation":1,"save":true,"tags":["kill"]}`},
		{"rp.sim.scope.single", `{"decimation":8,"trace_average":2,"save":true,"name":"avg"}`},
		{"rp.sim.na.single", `{"start_freq":1e5,"stop_freq":1e6,"points":11,"rbw":10000,"save":true,"name":"bode"}`},
		{"rp.sim.specan.single", `{"decimation":64,"save":true,"name":"spectrum"}`},
		{"rp.sim.scope.single", `{"decimation":64,"save":true}`},
	}
	var all []saved
	for i := 0; i < 200; i++ {
		r := requests[i%len(requests)]
		var v map[string]any
		dec := json.NewDecoder(strings.NewReader(r.body))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		for k, x := range v {
			if n, ok := x.(json.Number); ok {
				if i, err := n.Int64(); err == nil {
					v[k] = i
				} else {
					v[k], _ = n.Float64()
				}
			}
		}
		body, _ := wire.Msgpack.Marshal(v)
		m, err := nc.RequestMsg(&nats.Msg{Subject: r.subject, Data: body, Header: wire.Msgpack.Header()}, 30*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if err := wire.ErrorFromMsg(m); err != nil {
			t.Fatalf("%s %s: %v", r.subject, r.body, err)
		}
		var id struct {
			Curve string `msgpack:"curve"`
		}
		d := msgpack.NewDecoder(bytes.NewReader(m.Data))
		if err := d.Decode(&id); err != nil || id.Curve == "" {
			t.Fatalf("%s: no curve id in the reply: %v", r.subject, err)
		}
		all = append(all, saved{curve: id.Curve, reply: m.Data})
	}
	nc.Close()

	// A second rpbus up on the same folder says so and exits.
	second := exec.Command(buildBinary(t), "up", "--listen", "127.0.0.1:0", "--data", data)
	out, err := second.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "in use") || !strings.Contains(string(out), fmt.Sprintf("pid %d", up.cmd.Process.Pid)) {
		t.Errorf("a second rpbus up on the same data folder: %v\n%s", err, out)
	}

	if err := up.cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	_ = up.cmd.Wait()

	up = startUpProcess(t, data)
	nc, err = nats.Connect(up.url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	cl, _ := client.New(nc)
	listed := map[string]bool{}
	q := api.CurveQuery{Limit: 1000}
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		l, err := cl.Curves().List(ctx, q)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range l.Curves {
			listed[c.ID] = true
		}
		if l.Next == "" {
			break
		}
		q.Cursor = l.Next
	}
	if len(listed) != len(all) {
		t.Errorf("after kill -9: %d curves listed, %d saved", len(listed), len(all))
	}
	for _, s := range all {
		if !listed[s.curve] {
			t.Errorf("curve %s not listed after kill -9", s.curve)
			continue
		}
		body, _ := wire.Msgpack.Marshal(api.CurveID{ID: s.curve})
		m, err := nc.RequestMsg(&nats.Msg{Subject: api.CurvesGet, Data: body, Header: wire.Msgpack.Header()}, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if err := wire.ErrorFromMsg(m); err != nil {
			t.Fatalf("get %s: %v", s.curve, err)
		}
		if raw := traceBytes(t, m.Data); !bytes.Equal(raw, s.reply) {
			t.Errorf("curve %s: %d stored bytes differ from the %d of its reply", s.curve, len(raw), len(s.reply))
		}
	}
}

// traceBytes is the trace of a msgpack rp.curves.get reply, as stored.
func traceBytes(t *testing.T, data []byte) []byte {
	t.Helper()
	r := bytes.NewReader(data)
	dec := msgpack.NewDecoder(r)
	n, err := dec.DecodeMapLen()
	if err != nil {
		t.Fatal(err)
	}
	var raw []byte
	for i := 0; i < n; i++ {
		key, err := dec.DecodeString()
		if err != nil {
			t.Fatal(err)
		}
		start := len(data) - r.Len()
		if err := dec.Skip(); err != nil {
			t.Fatal(err)
		}
		if key != "curve" {
			raw = data[start : len(data)-r.Len()]
		}
	}
	return raw
}

// TestCurvesCLI saves through the instruments and works on the curves
// with `rpbus curves ls|get|tag|rm`, and with natscli.
func TestCurvesCLI(t *testing.T) {
	up, stop, err := startUpInProcess(context.Background(), io.Discard, "--listen", "127.0.0.1:0", "--data", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	url := up.URL()
	dir := t.TempDir()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	cl, _ := client.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b := cl.Board("sim")
	out, err := rpbus(t, "scope", "single", "--nats", url, "--decimation", "8", "--save", "--name", "first trace", "--tag", "lab")
	m := regexp.MustCompile(`saved as curve (\S+) `).FindStringSubmatch(out)
	if err != nil || m == nil {
		t.Fatalf("rpbus scope single --save: %v\n%s", err, out)
	}
	tr := api.ScopeTrace{Curve: m[1]}
	sweep, err := b.NA().Single(ctx, api.NASettings{StartFreq: 1e5, StopFreq: 1e6, Points: 11, RBW: 10000, Save: true, Name: "bode"})
	if err != nil || sweep.Curve == "" {
		t.Fatalf("na single with save: %v", err)
	}
	sp, err := b.Specan().Single(ctx, api.SpecanSettings{Decimation: 64, Save: true})
	if err != nil || sp.Curve == "" {
		t.Fatalf("specan single with save: %v", err)
	}

	out, err = rpbus(t, "curves", "ls", "--nats", url)
	if err != nil || !strings.Contains(out, tr.Curve) || !strings.Contains(out, "first trace") || !strings.Contains(out, "3 curves") {
		t.Fatalf("curves ls: %v\n%s", err, out)
	}
	out, err = rpbus(t, "--nats", url, "curves", "ls", "--instrument", "na", "--json") // the global flag first, as people type it
	var page api.CurveList
	if err != nil || json.Unmarshal([]byte(out), &page) != nil || len(page.Curves) != 1 || page.Curves[0].ID != sweep.Curve {
		t.Fatalf("curves ls --instrument na --json: %v\n%s", err, out)
	}

	csv, png := filepath.Join(dir, "t.csv"), filepath.Join(dir, "t.png")
	out, err = rpbus(t, "curves", "get", tr.Curve, "--nats", url, "--out", csv, "--png", png)
	if err != nil || !strings.Contains(out, "ch1: <i2 [16384]") {
		t.Fatalf("curves get: %v\n%s", err, out)
	}
	if data, err := os.ReadFile(csv); err != nil || strings.Count(string(data), "\n") != 16385 {
		t.Fatalf("curve CSV: %v", err)
	}
	if st, err := os.Stat(png); err != nil || st.Size() < 1000 {
		t.Fatalf("curve plot: %v", err)
	}
	for _, id := range []string{sweep.Curve, sp.Curve} {
		if _, err := rpbus(t, "curves", "get", "--nats", url, "--png", filepath.Join(dir, id+".png"), "--out", filepath.Join(dir, id+".json"), id); err != nil {
			t.Fatalf("curves get %s: %v", id, err)
		}
	}

	out, err = rpbus(t, "curves", "tag", tr.Curve, "--nats", url, "--add", "good,checked", "--remove", "lab", "--keep", "true", "--note", "looks right")
	if err != nil || !strings.Contains(out, "tags good,checked, keep true") {
		t.Fatalf("curves tag: %v\n%s", err, out)
	}
	out, err = rpbus(t, "curves", "ls", "--nats", url, "--tag", "good", "--keep", "true")
	if err != nil || !strings.Contains(out, tr.Curve) || !strings.Contains(out, "1 shown") {
		t.Fatalf("curves ls --tag good --keep true: %v\n%s", err, out)
	}

	if _, err := rpbus(t, "curves", "rm", "--nats", url, sp.Curve); err != nil {
		t.Fatal(err)
	}
	if _, err := rpbus(t, "curves", "get", "--nats", url, sp.Curve); rperr.ErrorCode(err) != rperr.ENotFound {
		t.Errorf("get after rm: %v, want 404", err)
	}
	for _, args := range [][]string{
		{"curves", "get"}, {"curves", "rm"}, {"curves", "frobnicate"}, {"curves", "ls", "extra"},
		{"curves", "get", "a", "b"}, {"curves", "get", "x", "--out", "x.txt"}, {"curves", "ls", "--since", "yesterday"},
	} {
		if _, err := rpbus(t, append(args, "--nats", url)...); err == nil {
			t.Errorf("rpbus %s: no error", strings.Join(args, " "))
		}
	}

	// natscli, as from a shell.
	cli := natsCLI(t)
	out, _ = run(t, cli, url, "req", api.CurvesList, "{}")
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &page); err != nil || len(page.Curves) != 2 {
		t.Fatalf("nats req rp.curves.list: %v: %q", err, out)
	}
	out, _ = run(t, cli, url, "micro", "ls")
	if !strings.Contains(out, "curves") {
		t.Errorf("nats micro ls lacks curves:\n%s", out)
	}
}

// TestDefaultDataDir: rpbus up's store goes to the XDG data directory.
func TestDefaultDataDir(t *testing.T) {
	t.Setenv("XDG_DATA_HOME", "/srv/data")
	if got := defaultDataDir(); got != "/srv/data/rpbus" {
		t.Errorf("with XDG_DATA_HOME: %s", got)
	}
	t.Setenv("XDG_DATA_HOME", "relative")
	t.Setenv("HOME", "/home/someone")
	if got := defaultDataDir(); got != "/home/someone/.local/share/rpbus" {
		t.Errorf("without XDG_DATA_HOME: %s", got)
	}
}
