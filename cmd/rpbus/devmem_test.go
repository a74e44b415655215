//go:build linux

package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/board/design"
	"github.com/rpbus/rpbus/board/devmem"
	"github.com/rpbus/rpbus/client"
	"github.com/rpbus/rpbus/internal/logtest"
	"github.com/rpbus/rpbus/internal/natstest"
	"github.com/rpbus/rpbus/regmap"
	"github.com/rpbus/rpbus/rperr"
)

// boardOn returns a client handle on board over nc.
func boardOn(t *testing.T, nc *nats.Conn, board string) *client.Board {
	t.Helper()
	c, err := client.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return c.Board(board)
}

// answers reports whether b's bridge answers hw.info at all: with its info
// or with an error of its own, not "no responders" (which the client
// reports as not_found).
func answers(b *client.Board) bool {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err := b.Info(ctx)
	code := rperr.ErrorCode(err)
	return code != rperr.ENotFound && code != rperr.ETimeout
}

// startBridge runs `rpbus hwbridge` in process against the server at url
// until the test ends, and returns once the bridge answers; its stderr is
// returned.
func startBridge(t *testing.T, nc *nats.Conn, board string, args ...string) *logtest.Buffer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr logtest.Buffer
	done := make(chan error, 1)
	go func() {
		done <- Main(ctx, append([]string{"hwbridge", "--nats", nc.ConnectedUrl(), "--board", board}, args...), &stdout, &stderr)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("hwbridge: %v", err)
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for b := boardOn(t, nc, board); !answers(b); {
		select {
		case err := <-done:
			t.Fatalf("hwbridge exited: %v\nstderr: %s", err, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("hwbridge did not answer\nstderr: %s", stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	return &stderr
}

// unavailable checks that err is a 503 that says each of texts.
func unavailable(t *testing.T, what string, err error, texts ...string) {
	t.Helper()
	if rperr.ErrorCode(err) != rperr.EUnavailable {
		t.Fatalf("%s: %v, want a 503 (%s)", what, err, rperr.EUnavailable)
	}
	for _, s := range texts {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("%s: %q does not say %q", what, err, s)
		}
	}
}

// everyRequestUnavailable checks hw.info, hw.txn and a generator's setup.
func everyRequestUnavailable(t *testing.T, b *client.Board, texts ...string) {
	t.Helper()
	ctx := context.Background()
	_, err := b.Info(ctx)
	unavailable(t, "hw.info", err, texts...)
	_, err = b.HW.Read(ctx, regmap.HKBase, 1)
	unavailable(t, "hw.txn", err, texts...)
	_, err = b.ASG0.Setup(ctx, api.ASGSetup{Amplitude: client.Ptr(0.5)})
	unavailable(t, "asg0.setup", err, texts...)
}

// TestDevmemDryRun: a new mem-file reads as PyRPL's design does, so the
// bridge serves it: info, transactions, generators.
func TestDevmemDryRun(t *testing.T) {
	ns := natstest.Server(t)
	nc := natstest.Connect(t, ns)
	mem := filepath.Join(t.TempDir(), "regs")
	startBridge(t, nc, "dry", "--backend", "devmem", "--mem-file", mem)
	b := boardOn(t, nc, "dry")
	ctx := context.Background()
	info, err := b.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Backend != "devmem" || info.Address != mem || info.Design == nil || info.Design.Name != "PyRPL" || info.Design.Loader != "" {
		t.Fatalf("hw.info %+v design %+v", info, info.Design)
	}
	if info.OS != design.OS("/") {
		t.Errorf("hw.info os %q, want this machine's %q", info.OS, design.OS("/"))
	}
	addr := regmap.Slot(regmap.SlotPID1) + regmap.PIDSetpoint
	r, err := b.HW.Txn(ctx, api.Write(addr, 0x1234, 0x5678), api.Read(addr, 2), api.Read16(addr, 2), api.Wait(addr, 0xFFFF, 0x1234, 1))
	if err != nil {
		t.Fatal(err)
	}
	if w := r.Results[1].Words; len(w) != 2 || w[0] != 0x1234 || w[1] != 0x5678 {
		t.Fatalf("read back %v", w)
	}
	if h := r.Results[2].Halves; len(h) != 2 || h[0] != 0x1234 {
		t.Fatalf("halves %v", h)
	}
	// The generator wrote its registers into the file.
	if _, err := b.ASG0.Setup(ctx, api.ASGSetup{Waveform: client.Ptr("dc"), Offset: client.Ptr(0.5), OutputDirect: client.Ptr("out1")}); err != nil {
		t.Fatal(err)
	}
	m, err := devmem.OpenFile(mem)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	var od [1]uint32
	if err := m.Read(regmap.Slot(regmap.SlotASG0)+regmap.DSPOutputDirect, od[:]); err != nil || od[0] != 1 {
		t.Fatalf("asg0 output_direct in the mem-file: %d, %v; want 1 (out1)", od[0], err)
	}
	_, err = b.HW.Read(ctx, regmap.HKBase+2, 1)
	if rperr.ErrorCode(err) != rperr.EInvalid || !strings.Contains(err.Error(), "not word aligned") {
		t.Fatalf("a misaligned read: %v", err)
	}
}

// TestDevmemWrongDesign: a mem-file whose signature is not PyRPL's gets
// 503s that say what to load; once the design is right (here written into
// the file, as a load by other means would) the next request is served.
func TestDevmemWrongDesign(t *testing.T) {
	ns := natstest.Server(t)
	nc := natstest.Connect(t, ns)
	mem := filepath.Join(t.TempDir(), "regs")
	m, err := devmem.OpenFile(mem) // exists, all zeros: no design answers
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	stderr := startBridge(t, nc, "wrong", "--backend", "devmem", "--mem-file", mem)
	b := boardOn(t, nc, "wrong")
	everyRequestUnavailable(t, b, "board wrong", "does not run PyRPL's design", "all read 0", "--bitstream", "red_pitaya.bin")
	if !strings.Contains(stderr.String(), "every request answers 503") {
		t.Errorf("the bridge did not say on stderr that it does not serve: %q", stderr.String())
	}
	if err := design.Imprint(m); err != nil {
		t.Fatal(err)
	}
	// Red Pitaya's own PID block: ISR 18.
	if err := m.Write(regmap.Slot(regmap.SlotPID0)+regmap.BuildConstantsBase+4, []uint32{18}); err != nil {
		t.Fatal(err)
	}
	_, err = b.Info(context.Background())
	unavailable(t, "hw.info, one constant off", err, "1 of its 23 signature registers differ", "0x40300204 reads 18, PyRPL's design has 32")
	if err := m.Write(regmap.Slot(regmap.SlotPID0)+regmap.BuildConstantsBase+4, []uint32{regmap.PIDISR}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Info(context.Background()); err != nil {
		t.Fatalf("hw.info once the design is right: %v", err)
	}
	if _, err := b.ASG1.Setup(context.Background(), api.ASGSetup{Amplitude: client.Ptr(0.25)}); err != nil {
		t.Fatalf("asg1.setup once the design is right: %v", err)
	}
}

// fakeBitstream writes a file shaped like a Zynq .bin (padding, the sync
// word, data) and returns its path and SHA-256.
func fakeBitstream(t *testing.T, dir string) (string, string) {
	t.Helper()
	data := bytes.Repeat([]byte{0xFF}, 32)
	data = append(data, 0xAA, 0x99, 0x55, 0x66)
	data = append(data, bytes.Repeat([]byte("configuration frames "), 1000)...)
	path := filepath.Join(dir, "red_pitaya.bin")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(data)
	return path, hex.EncodeToString(s[:])
}

// fakeFPGAUtil puts an fpgautil on PATH that logs its arguments and runs
// body.
func fakeFPGAUtil(t *testing.T, body string) (string, string) {
	t.Helper()
	dir := t.TempDir()
	prog, log := filepath.Join(dir, "fpgautil"), filepath.Join(dir, "calls")
	if err := os.WriteFile(prog, []byte("#!/bin/sh\necho \"$@\" >> "+log+"\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+":"+os.Getenv("PATH"))
	return prog, log
}

// TestBitstreamLoaders: with /dev/xdevcfg present the bitstream is written
// to it; without, fpgautil -b loads it; hw.info says which, and the
// bitstream's SHA-256.
func TestBitstreamLoaders(t *testing.T) {
	ns := natstest.Server(t)
	nc := natstest.Connect(t, ns)
	dir := t.TempDir()
	bin, sum := fakeBitstream(t, dir)
	prog, calls := fakeFPGAUtil(t, "echo 'BIN FILE loaded through FPGA manager successfully'")
	ctx := context.Background()

	xdevcfg := filepath.Join(dir, "xdevcfg")
	if err := os.WriteFile(xdevcfg, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	startBridge(t, nc, "old", "--backend", "devmem", "--mem-file", filepath.Join(dir, "old.regs"), "--bitstream", bin, "--xdevcfg", xdevcfg)
	info, err := boardOn(t, nc, "old").Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d := info.Design; d.Loader != "xdevcfg "+xdevcfg || d.Bitstream != bin || d.SHA256 != sum {
		t.Fatalf("OS 1.x board: design %+v", d)
	}
	if got, want := fileText(t, xdevcfg), fileText(t, bin); got != want {
		t.Fatalf("/dev/xdevcfg got %d bytes, not the bitstream's %d", len(got), len(want))
	}
	if _, err := os.Stat(calls); err == nil {
		t.Fatal("fpgautil ran on a board with /dev/xdevcfg")
	}

	startBridge(t, nc, "new", "--backend", "devmem", "--mem-file", filepath.Join(dir, "new.regs"), "--bitstream", bin, "--xdevcfg", filepath.Join(dir, "absent"))
	info, err = boardOn(t, nc, "new").Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d := info.Design; d.Loader != "fpgautil "+prog || d.SHA256 != sum {
		t.Fatalf("OS 2.x board: design %+v", d)
	}
	if got := strings.TrimSpace(fileText(t, calls)); got != "-b "+bin {
		t.Fatalf("fpgautil called with %q", got)
	}
}

func fileText(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestBitstreamLoadFails: a load that fails leaves the bridge up, answering
// every request with a 503 that quotes the loader.
func TestBitstreamLoadFails(t *testing.T) {
	ns := natstest.Server(t)
	nc := natstest.Connect(t, ns)
	dir := t.TempDir()
	bin, _ := fakeBitstream(t, dir)
	fakeFPGAUtil(t, "echo 'fpga_manager fpga0: Error after writing image data to FPGA' >&2; exit 1")
	stderr := startBridge(t, nc, "broken", "--backend", "devmem", "--mem-file", filepath.Join(dir, "regs"), "--bitstream", bin, "--xdevcfg", filepath.Join(dir, "absent"))
	everyRequestUnavailable(t, boardOn(t, nc, "broken"), "board broken", "loading the FPGA design", "exit status 1", "Error after writing image data", "restarted with a bitstream that loads")
	if !strings.Contains(stderr.String(), "exit status 1") {
		t.Errorf("stderr does not report the failed load: %q", stderr.String())
	}

	notBit := filepath.Join(dir, "red_pitaya.dtbo")
	if err := os.WriteFile(notBit, []byte("a device tree overlay"), 0o644); err != nil {
		t.Fatal(err)
	}
	startBridge(t, nc, "wrongfile", "--backend", "devmem", "--mem-file", filepath.Join(dir, "regs2"), "--bitstream", notBit)
	everyRequestUnavailable(t, boardOn(t, nc, "wrongfile"), "is not an FPGA bitstream")
}

func TestDevmemFlags(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"hwbridge", "--backend", "sim", "--mem-file", "x"}, "--mem-file is for --backend devmem"},
		{[]string{"hwbridge", "--backend", "monitor", "--board-addr", "127.0.0.1:1", "--bitstream", "x"}, "--bitstream is for --backend devmem"},
		{[]string{"hwbridge", "--backend", "devmem", "--fpga-loader", "jtag"}, `--fpga-loader "jtag"`},
		{[]string{"hwbridge", "--backend", "fpga"}, "want sim, monitor or devmem"},
	} {
		err := Main(ctx, c.args, &bytes.Buffer{}, &bytes.Buffer{})
		var ue usageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want a usage error saying %q", c.args, err, c.want)
		}
	}
}
