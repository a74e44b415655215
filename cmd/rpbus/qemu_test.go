//go:build linux

package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/board/devmem"
	"github.com/rpbus/rpbus/internal/natstest"
	"github.com/rpbus/rpbus/regmap"
	"github.com/rpbus/rpbus/rperr"
)

// skipQEMU is the explicit opt-out of the ARM test on machines without
// qemu-user; without it a missing qemu-arm fails the test.
const skipQEMU = "RPBUS_SKIP_QEMU"

// qemuARM finds Debian's qemu-arm (package qemu-user, which scripts/setup
// installs). It is run explicitly: binfmt may not be registered.
func qemuARM(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("qemu-arm")
	if err != nil {
		if os.Getenv(skipQEMU) == "1" {
			t.Skipf("qemu-arm not found and %s=1: the ARM build is not run", skipQEMU)
		}
		t.Fatalf("qemu-arm not found (%v): scripts/setup installs Debian's qemu-user; set %s=1 to skip this test knowingly", err, skipQEMU)
	}
	return p
}

// TestARMBridgeUnderQEMU runs the cross-built bridge with the devmem
// backend on a mem-file under qemu user-mode emulation, against the
// host's NATS server, and talks to it as a client on the PC would.
func TestARMBridgeUnderQEMU(t *testing.T) {
	qemu := qemuARM(t)
	bin := armBinary(t)
	ns := natstest.Server(t)
	nc := natstest.Connect(t, ns)
	dir := t.TempDir()
	mem := filepath.Join(dir, "regs")
	bit, sum := fakeBitstream(t, dir)
	xdevcfg := filepath.Join(dir, "xdevcfg")
	root := filepath.Join(dir, "root")
	for path, text := range map[string]string{
		xdevcfg: "",
		filepath.Join(root, "opt/redpitaya/version.txt"): "Build: 37\nVersion: 2.00\n",
		filepath.Join(root, "etc/os-release"):            "PRETTY_NAME=\"Ubuntu 22.04.4 LTS\"\n",
	} {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	cmd := exec.Command(qemu, bin, "hwbridge", "--nats", ns.ClientURL(), "--board", "arm",
		"--backend", "devmem", "--mem-file", mem, "--bitstream", bit, "--xdevcfg", xdevcfg, "--os-root", root)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	logged := make(chan string, 1)
	go func() {
		var lines []string
		for s := bufio.NewScanner(stderr); s.Scan(); {
			lines = append(lines, s.Text())
		}
		logged <- strings.Join(lines, "\n")
		exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-exited
		}
	})

	b := boardOn(t, nc, "arm")
	deadline := time.Now().Add(60 * time.Second)
	for !answers(b) {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("the ARM bridge did not answer within 60 s; its stderr:\n%s", <-logged)
		}
		time.Sleep(20 * time.Millisecond)
	}
	ctx := context.Background()

	info, err := b.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Backend != "devmem" || info.OS != "Red Pitaya OS 2.00 build 37 (Ubuntu 22.04.4 LTS)" ||
		info.Design == nil || info.Design.Name != "PyRPL" || info.Design.Loader != "xdevcfg "+xdevcfg || info.Design.SHA256 != sum {
		t.Fatalf("hw.info %+v, design %+v", info, info.Design)
	}
	if fileText(t, xdevcfg) != fileText(t, bit) {
		t.Fatal("the ARM bridge did not write the bitstream to xdevcfg")
	}

	// The host plays the FPGA through its own mapping of the file.
	fpga, err := devmem.OpenFile(mem)
	if err != nil {
		t.Fatal(err)
	}
	defer fpga.Close()
	trace := make([]uint32, regmap.ScopeBufferLen)
	for i := range trace {
		trace[i] = 0xABCD0000 | uint32(i*7)&0x3FFF
	}
	if err := fpga.Write(regmap.ScopeBase+regmap.ScopeCh1Data, trace); err != nil {
		t.Fatal(err)
	}
	r, err := b.HW.Txn(ctx, api.Read16(regmap.ScopeBase+regmap.ScopeCh1Data, regmap.ScopeBufferLen), api.Read(regmap.ScopeBase+regmap.ScopeCh1Data, 2))
	if err != nil {
		t.Fatal(err)
	}
	for i, h := range r.Results[0].Halves {
		if h != uint16(trace[i]) {
			t.Fatalf("half %d read %#x, the host wrote %#x", i, h, trace[i])
		}
	}
	if w := r.Results[1].Words; len(w) != 2 || w[0] != trace[0] || w[1] != trace[1] {
		t.Fatalf("words %x", w)
	}
	freq := regmap.Slot(regmap.SlotIQ1) + regmap.IQFrequency
	if err := b.HW.Write(ctx, freq, 0x12345678); err != nil {
		t.Fatal(err)
	}
	var got [1]uint32
	if err := fpga.Read(freq, got[:]); err != nil || got[0] != 0x12345678 {
		t.Fatalf("the host read %#x, %v after the ARM bridge wrote 0x12345678", got[0], err)
	}

	// A wait ends when the host sets the condition; another times out.
	ctrl := regmap.ScopeBase + regmap.ScopeControl
	if err := fpga.Write(ctrl, []uint32{regmap.ScopeArm}); err != nil {
		t.Fatal(err)
	}
	time.AfterFunc(50*time.Millisecond, func() { fpga.Write(ctrl, []uint32{0}) })
	if _, err := b.HW.Txn(ctx, api.WaitAfter(ctrl, regmap.ScopeArm, 0, 0.01, 20)); err != nil {
		t.Fatalf("a wait the host ends: %v", err)
	}
	if _, err := b.HW.Txn(ctx, api.Wait(ctrl, regmap.ScopeArm, regmap.ScopeArm, 0.05)); rperr.ErrorCode(err) != rperr.ETimeout {
		t.Fatalf("a wait that cannot end: %v, want a timeout", err)
	}

	// A mapping that faults is a 503, not a crash.
	if err := os.Truncate(mem, 0); err != nil {
		t.Fatal(err)
	}
	_, err = b.HW.Read(ctx, regmap.ScopeBase, 1)
	if rperr.ErrorCode(err) != rperr.EUnavailable || !strings.Contains(err.Error(), "faulted") {
		t.Fatalf("a read of the truncated mem-file: %v, want a 503 saying it faulted", err)
	}
	if err := os.Truncate(mem, int64(devmem.Size)); err != nil {
		t.Fatal(err)
	}
	if _, err := b.HW.Read(ctx, regmap.ScopeBase, 1); err != nil {
		t.Fatalf("a read once the file is back: %v", err)
	}
	if rss := vmRSS(cmd.Process.Pid); rss != "" {
		t.Logf("qemu-arm running the bridge: VmRSS %s (qemu's own memory included)", rss)
	}

	// SIGTERM stops it cleanly.
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	log := <-logged
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("the ARM bridge exited with %v; stderr:\n%s", err, log)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("the ARM bridge did not stop on SIGTERM; stderr:\n%s", log)
	}
	if !strings.Contains(log, "loaded "+bit) {
		t.Errorf("stderr does not report the load:\n%s", log)
	}
}

// vmRSS returns the resident set of a process, as /proc reports it.
func vmRSS(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return ""
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
