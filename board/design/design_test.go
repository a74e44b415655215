//go:build linux

package design_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rpbus/rpbus/board/design"
	"github.com/rpbus/rpbus/board/devmem"
	"github.com/rpbus/rpbus/board/sim"
	"github.com/rpbus/rpbus/regmap"
	"github.com/rpbus/rpbus/rperr"
)

func memFile(tb testing.TB) *devmem.Mem {
	tb.Helper()
	m, err := devmem.OpenFile(filepath.Join(tb.TempDir(), "regs"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { m.Close() })
	return m
}

func unavailable(tb testing.TB, err error, texts ...string) {
	tb.Helper()
	if rperr.ErrorCode(err) != rperr.EUnavailable {
		tb.Fatalf("error %v, want code %s", err, rperr.EUnavailable)
	}
	for _, t := range texts {
		if !strings.Contains(err.Error(), t) {
			tb.Errorf("error %q does not say %q", err, t)
		}
	}
}

// TestSimulatorIsPyRPL: the simulated board reproduces the design's build
// constants, so it passes as the real design does.
func TestSimulatorIsPyRPL(t *testing.T) {
	b, err := sim.New(sim.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	found, err := design.Check(b)
	if err != nil {
		t.Fatal(err)
	}
	if found.HKID != 1 || len(found.Mismatches) != 0 {
		t.Fatalf("found %+v", found)
	}
}

func TestCheck(t *testing.T) {
	m := memFile(t)
	_, err := design.Check(m)
	unavailable(t, err, "all read 0", "--bitstream", "red_pitaya.bin")

	if err := design.Imprint(m); err != nil {
		t.Fatal(err)
	}
	if _, err := design.Check(m); err != nil {
		t.Fatalf("an imprinted register space: %v", err)
	}
	// Red Pitaya's own PID has an ISR of 18 where PyRPL's has 32.
	isr := regmap.Slot(regmap.SlotPID0) + regmap.BuildConstantsBase + 4
	if err := m.Write(isr, []uint32{18}); err != nil {
		t.Fatal(err)
	}
	found, err := design.Check(m)
	unavailable(t, err, "1 of its 23 signature registers differ", "pid0 build constants: 0x40300204 reads 18, PyRPL's design has 32", "--bitstream")
	if len(found.Mismatches) != 1 || found.HKID != 1 {
		t.Fatalf("found %+v", found)
	}
	if err := m.Write(regmap.HKBase+regmap.HKDNALow, []uint32{0x89ABCDEF, 0xFE001234}); err != nil {
		t.Fatal(err)
	}
	if found, _ := design.Check(m); found.DNA != 0x0001234_89ABCDEF {
		t.Errorf("DNA %#x, want the 57 bits of both words", found.DNA)
	}
}

func TestProbe(t *testing.T) {
	m := memFile(t)
	if err := design.Imprint(m); err != nil {
		t.Fatal(err)
	}
	p := &design.Probe{FPGA: m}
	if _, err := p.Check(); err != nil {
		t.Fatal(err)
	}
	// A PL that says it holds no design is not touched.
	sys := t.TempDir()
	state := filepath.Join(sys, "class/fpga_manager/fpga0/state")
	write(t, state, "unknown\n")
	p.Sys = sys
	_, err := p.Check()
	unavailable(t, err, "holds no design", "fpga0/state: unknown", "--bitstream")
	write(t, state, "operating\n")
	if _, err := p.Check(); err != nil {
		t.Fatalf("an operating PL: %v", err)
	}
	p.LoadErr = rperr.Errorf(rperr.EUnavailable, "loading the FPGA design: it broke")
	_, err = p.Check()
	unavailable(t, err, "it broke", "restarted with a bitstream that loads")
}

func TestPLState(t *testing.T) {
	sys := t.TempDir()
	if st := design.PLState(sys); st.Known {
		t.Fatalf("an empty sysfs: %+v", st)
	}
	done := filepath.Join(sys, "devices/soc0/amba/f8007000.devcfg/prog_done")
	write(t, done, "0\n")
	if st := design.PLState(sys); !st.Known || st.Programmed || !strings.Contains(st.Detail, "prog_done: 0") {
		t.Fatalf("devcfg prog_done 0: %+v", st)
	}
	write(t, done, "1\n")
	if st := design.PLState(sys); !st.Known || !st.Programmed {
		t.Fatalf("devcfg prog_done 1: %+v", st)
	}
}

func write(tb testing.TB, path, text string) {
	tb.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		tb.Fatal(err)
	}
}

// bitstream writes a file shaped like a Zynq .bin: padding, the bus width
// pattern, the sync word, then configuration data.
func bitstream(tb testing.TB, dir string) (string, []byte) {
	tb.Helper()
	data := make([]byte, 64<<10)
	rand.Read(data)
	for i := range 32 {
		data[i] = 0xFF
	}
	copy(data[32:], []byte{0x00, 0x00, 0x00, 0xBB, 0x11, 0x22, 0x00, 0x44, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xAA, 0x99, 0x55, 0x66})
	path := filepath.Join(dir, "red_pitaya.bin")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		tb.Fatal(err)
	}
	return path, data
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// fpgautil writes a program that logs its arguments to log and then runs
// the shell lines in body.
func fpgautil(tb testing.TB, dir, body string) (prog, log string) {
	tb.Helper()
	prog = filepath.Join(dir, "fpgautil")
	log = filepath.Join(dir, "fpgautil.log")
	script := "#!/bin/sh\necho \"$@\" >> " + log + "\n" + body + "\n"
	if err := os.WriteFile(prog, []byte(script), 0o755); err != nil {
		tb.Fatal(err)
	}
	return prog, log
}

func TestLoadChoosesXDevCfg(t *testing.T) {
	dir := t.TempDir()
	bin, data := bitstream(t, dir)
	dev := filepath.Join(dir, "xdevcfg")
	write(t, dev, "")
	prog, log := fpgautil(t, dir, "exit 0")
	t.Setenv("PATH", dir+":"+os.Getenv("PATH"))
	l := design.Loader{XDevCfg: dev, FPGAUtil: prog, Sys: t.TempDir()}
	got, err := l.Load(context.Background(), bin)
	if err != nil {
		t.Fatal(err)
	}
	if got.Loader != "xdevcfg "+dev || got.SHA256 != sum(data) || got.Bytes != int64(len(data)) || got.Bitstream != bin {
		t.Fatalf("loaded %+v", got)
	}
	if written, _ := os.ReadFile(dev); string(written) != string(data) {
		t.Fatalf("the device got %d bytes, not the bitstream", len(written))
	}
	if _, err := os.Stat(log); err == nil {
		t.Fatal("fpgautil ran although the board has /dev/xdevcfg")
	}
}

func TestLoadChoosesFPGAUtil(t *testing.T) {
	dir := t.TempDir()
	bin, data := bitstream(t, dir)
	_, log := fpgautil(t, dir, "echo 'BIN FILE loaded through FPGA manager successfully'")
	t.Setenv("PATH", dir+":"+os.Getenv("PATH"))
	// Relative, as a user types it.
	t.Chdir(dir)
	l := design.Loader{XDevCfg: filepath.Join(dir, "no-xdevcfg"), Sys: t.TempDir()}
	got, err := l.Load(context.Background(), "red_pitaya.bin")
	if err != nil {
		t.Fatal(err)
	}
	if got.Loader != "fpgautil "+filepath.Join(dir, "fpgautil") || got.SHA256 != sum(data) {
		t.Fatalf("loaded %+v", got)
	}
	args, _ := os.ReadFile(log)
	if strings.TrimSpace(string(args)) != "-b "+bin {
		t.Fatalf("fpgautil ran with %q, want -b and the absolute path", args)
	}
}

func TestLoadFailures(t *testing.T) {
	dir := t.TempDir()
	bin, _ := bitstream(t, dir)
	noDev := filepath.Join(dir, "no-xdevcfg")
	failing, _ := fpgautil(t, dir, "echo 'Error: failed to load bitstream: -22' >&2; exit 1")
	quiet := filepath.Join(dir, "quiet")
	if err := os.WriteFile(quiet, []byte("#!/bin/sh\necho 'FPGA Manager: programming failed'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	notBit := filepath.Join(dir, "red_pitaya.dtbo")
	write(t, notBit, "\xd0\x0d\xfe\xed device tree, not a bitstream")
	ctx := context.Background()
	cases := []struct {
		name string
		l    design.Loader
		file string
		want []string
	}{
		{"fpgautil exits 1", design.Loader{XDevCfg: noDev, FPGAUtil: failing}, bin, []string{"exit status 1", "failed to load bitstream: -22"}},
		{"fpgautil says it failed", design.Loader{XDevCfg: noDev, FPGAUtil: quiet}, bin, []string{"reported a failure", "programming failed"}},
		{"no loader", design.Loader{XDevCfg: noDev, FPGAUtil: filepath.Join(dir, "missing")}, bin, []string{"no FPGA loader", noDev, "fpgautil"}},
		{"xdevcfg asked for but missing", design.Loader{Use: design.XDevCfg, XDevCfg: noDev}, bin, []string{"loader xdevcfg", "OS 2.x loads with fpgautil"}},
		{"not a bitstream", design.Loader{XDevCfg: noDev, FPGAUtil: failing}, notBit, []string{"is not an FPGA bitstream", "sync word"}},
		{"no such file", design.Loader{XDevCfg: noDev, FPGAUtil: failing}, filepath.Join(dir, "nope.bin"), []string{"no such file"}},
	}
	for _, c := range cases {
		_, err := c.l.Load(ctx, c.file)
		if err == nil {
			t.Errorf("%s: loaded", c.name)
			continue
		}
		unavailable(t, err, append(c.want, "loading the FPGA design")...)
	}
	if _, err := (design.Loader{Use: "jtag"}).Load(ctx, bin); rperr.ErrorCode(err) != rperr.EInvalid {
		t.Errorf("an unknown loader: %v", err)
	}
}

// TestLoadChecksThePL: after the loader, the PL must say it is
// programmed; an FPGA manager in an error state fails the load at once.
func TestLoadChecksThePL(t *testing.T) {
	dir := t.TempDir()
	bin, _ := bitstream(t, dir)
	prog, _ := fpgautil(t, dir, "exit 0")
	sys := t.TempDir()
	write(t, filepath.Join(sys, "class/fpga_manager/fpga0/state"), "write error\n")
	_, err := design.Loader{XDevCfg: filepath.Join(dir, "none"), FPGAUtil: prog, Sys: sys}.Load(context.Background(), bin)
	unavailable(t, err, "the PL is not programmed", "state: write error")
}

func TestOS(t *testing.T) {
	root := t.TempDir()
	// Each step adds a file to what the previous ones wrote.
	for _, step := range []struct{ file, text, want string }{
		{"", "", ""},
		{"etc/os-release", "NAME=\"Ubuntu\"\nPRETTY_NAME=\"Ubuntu 22.04.4 LTS\"\n", "Ubuntu 22.04.4 LTS"},
		{"root/.version", "1.07\n", "Red Pitaya OS image 1.07 (Ubuntu 22.04.4 LTS)"},
		{"opt/redpitaya/version.txt", "Build: 37\nVersion: 2.00\nCommit: a0457d3aa\n", "Red Pitaya OS 2.00 build 37 (Ubuntu 22.04.4 LTS)"},
		{"opt/redpitaya/version.txt", "Version: 1.04-18\nBuild: 18\n", "Red Pitaya OS 1.04-18 (Ubuntu 22.04.4 LTS)"},
	} {
		if step.file != "" {
			write(t, filepath.Join(root, step.file), step.text)
		}
		if got := design.OS(root); got != step.want {
			t.Errorf("after %s: %q, want %q", step.file, got, step.want)
		}
	}
}
