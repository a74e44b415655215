package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rpbus/rpbus/internal/natstest"
	"github.com/rpbus/rpbus/internal/sshdtest"
)

func TestBoardUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"board"}, "rpbus board needs a verb"},
		{[]string{"board", "reboot"}, "rpbus board needs a verb"},
		{[]string{"board", "status"}, "needs --ssh USER@HOST"},
		{[]string{"board", "status", "--ssh", "rp.local"}, "want USER@HOST"},
		{[]string{"board", "status", "--ssh", "root@rp.local:99999"}, "is not 1..65535"},
		{[]string{"board", "install", "--ssh", "root@rp.local"}, "needs --board NAME and --nats URL"},
		{[]string{"board", "logs", "--ssh", "root@rp.local", "extra"}, `unexpected "extra"`},
	} {
		var out, errb bytes.Buffer
		err := Main(context.Background(), tc.args, &out, &errb)
		if err == nil || !strings.Contains(err.Error(), tc.want) || exitCode(err) != 2 {
			t.Errorf("rpbus %s: %v (exit %d), want a usage error with %q", strings.Join(tc.args, " "), err, exitCode(err), tc.want)
		}
	}
}

func TestWithUser(t *testing.T) {
	for _, tc := range []struct{ urls, user, pass, want string }{
		{"nats://10.0.0.1:4222", "", "", "nats://10.0.0.1:4222"},
		{"nats://10.0.0.1:4222", "hwbridge", "p@ss w$rd", "nats://hwbridge:p%40ss%20w%24rd@10.0.0.1:4222"},
		{"nats://a:4222,nats://b:4222", "u", "", "nats://u@a:4222,nats://u@b:4222"},
		{"nats://x:y@a:4222", "u", "p", "nats://x:y@a:4222"},
	} {
		if got := withUser(tc.urls, tc.user, tc.pass); got != tc.want {
			t.Errorf("withUser(%q, %q, %q) = %q, want %q", tc.urls, tc.user, tc.pass, got, tc.want)
		}
	}
}

// TestBoardCommands runs install, status, logs and uninstall as a user
// types them, against a real sshd on loopback, with the plain service
// manager and the bridge mapping a file.
func TestBoardCommands(t *testing.T) {
	ns := natstest.Server(t)
	sshd := sshdtest.Start(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "rpbus")
	build := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	// Bytes shaped as a Xilinx bitstream (sync word first), loaded into a
	// file standing in for OS 1.x's /dev/xdevcfg; the bridge maps a file
	// it makes, reading as PyRPL's design does.
	bitstream, xdevcfg, mem := filepath.Join(dir, "red_pitaya.bin"), filepath.Join(dir, "xdevcfg"), filepath.Join(dir, "fpga.mem")
	if err := os.WriteFile(bitstream, bytes.Repeat([]byte{0xAA, 0x99, 0x55, 0x66}, 1<<10), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(xdevcfg, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	prefix := filepath.Join(dir, "opt", "rpbus")
	t.Cleanup(func() { _ = exec.Command(filepath.Join(prefix, "bin", "rpbus-hwbridge"), "stop").Run() })
	ssh := []string{"--ssh", sshd.Target(), "--identity", sshd.Identity, "--known-hosts", sshd.KnownHosts, "--no-agent", "--prefix", prefix}
	run := func(args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		var out, errb bytes.Buffer
		err := Main(ctx, append(args, ssh...), &out, &errb)
		return out.String() + errb.String(), err
	}

	out, err := run("board", "install", "--board", "cli1", "--nats", ns.ClientURL(), "--bitstream", bitstream,
		"--binary", bin, "--mem-file", mem, "--bridge-arg", "--xdevcfg="+xdevcfg, "--service-manager", "plain", "--wait", "20s")
	if err != nil || !strings.Contains(out, "[9/9] bus: rp.cli1.hw.info answered") {
		t.Fatalf("install: %v\n%s", err, out)
	}
	if out, err = run("board", "status"); err != nil || !strings.Contains(out, "rp.cli1.hw.info answered") {
		t.Fatalf("status: %v\n%s", err, out)
	}
	t.Logf("rpbus board status:\n%s", out)
	if out, err = run("board", "logs", "-n", "5"); err != nil || !strings.Contains(out, `board "cli1"`) {
		t.Fatalf("logs: %v\n%s", err, out)
	}
	if out, err = run("board", "uninstall"); err != nil || !strings.Contains(out, "[3/3] files: removed "+prefix) {
		t.Fatalf("uninstall: %v\n%s", err, out)
	}
	t.Logf("rpbus board uninstall:\n%s", out)
	if out, err = run("board", "status"); err == nil || !strings.Contains(err.Error(), "no rpbus install under "+prefix) || exitCode(err) != 1 {
		t.Fatalf("status after uninstall: %v\n%s", err, out)
	}
}

func TestShownURL(t *testing.T) {
	n := natsFlags{url: "nats://hwbridge:s3cret@10.0.0.1:4222,nats://10.0.0.2:4222"}
	if got := n.shown(); strings.Contains(got, "s3cret") || !strings.Contains(got, "hwbridge:xxxxx@10.0.0.1:4222") || !strings.HasSuffix(got, ",nats://10.0.0.2:4222") {
		t.Fatalf("shown() = %q", got)
	}
}
