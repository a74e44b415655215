package design

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/rpbus/rpbus/rperr"
)

// Loader names.
const (
	XDevCfg  = "xdevcfg"  // Red Pitaya OS 0.9x and 1.x: write the bitstream to the device
	FPGAUtil = "fpgautil" // Red Pitaya OS 2.x: fpgautil -b, through the kernel's FPGA manager
)

// Defaults of a Loader's paths on the board.
const (
	DefaultXDevCfg = "/dev/xdevcfg"
	// RedPitayaFPGAUtil is where OS 2.x keeps fpgautil when it is not on
	// PATH (a systemd service's PATH does not have it).
	RedPitayaFPGAUtil = "/opt/redpitaya/bin/fpgautil"
	DefaultSys        = "/sys"
)

// programTimeout bounds the wait for the PL to report itself programmed
// after a load.
const programTimeout = 5 * time.Second

// Loader loads a bitstream into the PL. The zero value looks for the
// board's loader at the usual places.
type Loader struct {
	// Use is "" (or "auto") for whichever loader the board has: xdevcfg
	// when its device exists, else fpgautil; or XDevCfg or FPGAUtil.
	Use string
	// XDevCfg is the device (DefaultXDevCfg when empty).
	XDevCfg string
	// FPGAUtil is the fpgautil program: a path, or a name looked up on
	// PATH and then at RedPitayaFPGAUtil ("fpgautil" when empty).
	FPGAUtil string
	// Sys is the sysfs root asked whether the PL is programmed after the
	// load (DefaultSys when empty).
	Sys string
}

// Loaded describes a bitstream that was loaded.
type Loaded struct {
	Loader    string // "xdevcfg /dev/xdevcfg" or "fpgautil /opt/redpitaya/bin/fpgautil"
	Bitstream string // the file, absolute
	SHA256    string // hex
	Bytes     int64
}

// Load programs the PL with the bitstream file (PyRPL's red_pitaya.bin, or
// a .bit). Errors are rperr.EUnavailable and say which step failed.
func (l Loader) Load(ctx context.Context, bitstream string) (Loaded, error) {
	abs, err := filepath.Abs(bitstream)
	if err != nil {
		return Loaded{}, loadErr("bitstream %s: %v", bitstream, err)
	}
	sum, size, err := inspect(abs)
	if err != nil {
		return Loaded{}, err
	}
	out := Loaded{Bitstream: abs, SHA256: sum, Bytes: size}
	use, path, err := l.choose()
	if err != nil {
		return out, err
	}
	out.Loader = use + " " + path
	switch use {
	case XDevCfg:
		err = writeDevice(path, abs)
	case FPGAUtil:
		err = runFPGAUtil(ctx, path, abs)
	}
	if err != nil {
		return out, err
	}
	return out, l.awaitProgrammed(ctx, use, abs)
}

func loadErr(format string, args ...any) error {
	return rperr.Errorf(rperr.EUnavailable, "loading the FPGA design: "+format, args...)
}

// syncWord starts the configuration data of every Xilinx bitstream; a
// .bin for the Zynq's devcfg may have its bytes swapped in 32-bit words.
var (
	syncWord        = []byte{0xAA, 0x99, 0x55, 0x66}
	syncWordSwapped = []byte{0x66, 0x55, 0x99, 0xAA}
)

// syncWithin: the sync word follows a .bit's header and the padding of a
// .bin within a few hundred bytes.
const syncWithin = 4096

// inspect checks that path looks like a Xilinx bitstream and returns its
// SHA-256 and size.
func inspect(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, loadErr("%v", err)
	}
	defer f.Close()
	head := make([]byte, syncWithin)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return "", 0, loadErr("reading %s: %v", path, err)
	}
	head = head[:n]
	if !bytes.Contains(head, syncWord) && !bytes.Contains(head, syncWordSwapped) {
		return "", 0, loadErr("%s is not an FPGA bitstream (no Xilinx sync word 0xAA995566 in its first %d bytes); PyRPL's is red_pitaya.bin in the fpga folder of its Python package", path, syncWithin)
	}
	h := sha256.New()
	h.Write(head)
	rest, err := io.Copy(h, f)
	if err != nil {
		return "", 0, loadErr("reading %s: %v", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), int64(n) + rest, nil
}

// choose returns the loader to use and its path.
func (l Loader) choose() (string, string, error) {
	dev := l.XDevCfg
	if dev == "" {
		dev = DefaultXDevCfg
	}
	switch l.Use {
	case XDevCfg:
		if _, err := os.Stat(dev); err != nil {
			return "", "", loadErr("loader xdevcfg: %v (Red Pitaya OS 0.9x and 1.x have it; OS 2.x loads with fpgautil)", err)
		}
		return XDevCfg, dev, nil
	case FPGAUtil:
		p, err := l.fpgautil()
		return FPGAUtil, p, err
	case "", "auto":
		if _, err := os.Stat(dev); err == nil {
			return XDevCfg, dev, nil
		}
		p, err := l.fpgautil()
		if err != nil {
			return "", "", loadErr("this board has no FPGA loader: neither %s (Red Pitaya OS 0.9x and 1.x) nor fpgautil (OS 2.x, on PATH or at %s)", dev, RedPitayaFPGAUtil)
		}
		return FPGAUtil, p, nil
	}
	return "", "", rperr.Invalidf("fpga loader %q: want auto, %s or %s", l.Use, XDevCfg, FPGAUtil)
}

// fpgautil finds the fpgautil program.
func (l Loader) fpgautil() (string, error) {
	name := l.FPGAUtil
	if name == "" {
		name = FPGAUtil
	}
	p, err := exec.LookPath(name)
	if err == nil {
		return p, nil
	}
	if !strings.Contains(name, "/") {
		if _, serr := os.Stat(RedPitayaFPGAUtil); serr == nil {
			return RedPitayaFPGAUtil, nil
		}
	}
	return "", loadErr("loader fpgautil: %v (Red Pitaya OS 2.x has it at %s; OS 0.9x and 1.x load through /dev/xdevcfg)", err, RedPitayaFPGAUtil)
}

// writeDevice copies the bitstream into the configuration device, as
// `cat red_pitaya.bin > /dev/xdevcfg` does; the driver programs the PL as
// the data arrives and checks the result when the device is closed.
func writeDevice(dev, bitstream string) error {
	src, err := os.Open(bitstream)
	if err != nil {
		return loadErr("%v", err)
	}
	defer src.Close()
	// No O_CREATE: a device that vanished must not become a file.
	dst, err := os.OpenFile(dev, os.O_WRONLY, 0)
	if err != nil {
		return loadErr("opening %s: %v", dev, err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return loadErr("writing %s to %s: %v", bitstream, dev, err)
	}
	if err := dst.Close(); err != nil {
		return loadErr("writing %s to %s: %v (the device refused the bitstream)", bitstream, dev, err)
	}
	return nil
}

// runFPGAUtil runs fpgautil -b; a non-zero exit, or output that reports a
// failure, is an error that quotes the program.
func runFPGAUtil(ctx context.Context, prog, bitstream string) error {
	out, err := exec.CommandContext(ctx, prog, "-b", bitstream).CombinedOutput()
	text := strings.TrimSpace(string(out))
	if err == nil && strings.Contains(strings.ToLower(text), "fail") {
		err = errors.New("it reported a failure")
	}
	if err != nil {
		return loadErr("%s -b %s: %v%s", prog, bitstream, err, quote(text))
	}
	return nil
}

// quote appends the last lines of a program's output to a message.
func quote(text string) string {
	if text == "" {
		return ""
	}
	lines := strings.Split(text, "\n")
	if len(lines) > 10 {
		lines = lines[len(lines)-10:]
	}
	return ": " + strings.Join(lines, " | ")
}

// awaitProgrammed waits until sysfs says the PL is programmed; where it
// cannot tell (no such entries), it trusts the loader.
func (l Loader) awaitProgrammed(ctx context.Context, use, bitstream string) error {
	deadline := time.Now().Add(programTimeout)
	for {
		st := PLState(l.Sys)
		if !st.Known || st.Programmed {
			return nil
		}
		if st.Failed || time.Now().After(deadline) {
			return loadErr("%s took %s but the PL is not programmed (%s); see dmesg", use, bitstream, st.Detail)
		}
		select {
		case <-ctx.Done():
			return loadErr("cancelled while waiting for the PL: %v", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// State is whether the PL holds a configuration.
type State struct {
	Known      bool   // sysfs has an entry that tells
	Programmed bool   // a design is loaded
	Failed     bool   // the FPGA manager reports an error
	Detail     string // the entry and its value
}

// PLState asks sysfs (root sys, DefaultSys when empty) whether the PL is
// programmed: the FPGA manager's state (OS 2.x: "operating") or the
// devcfg device's prog_done (OS 0.9x and 1.x: 1). Both read the
// hardware's done bit, whoever loaded the design.
func PLState(sys string) State {
	if sys == "" {
		sys = DefaultSys
	}
	managers, _ := filepath.Glob(filepath.Join(sys, "class/fpga_manager/*/state"))
	for _, p := range managers {
		if v, err := os.ReadFile(p); err == nil {
			s := strings.TrimSpace(string(v))
			return State{Known: true, Programmed: s == "operating", Failed: strings.Contains(s, "error"), Detail: fmt.Sprintf("%s: %s", p, s)}
		}
	}
	for _, pattern := range []string{"devices/*.devcfg/prog_done", "devices/*/*.devcfg/prog_done", "devices/*/*/*.devcfg/prog_done"} {
		done, _ := filepath.Glob(filepath.Join(sys, pattern))
		for _, p := range done {
			if v, err := os.ReadFile(p); err == nil {
				s := strings.TrimSpace(string(v))
				return State{Known: true, Programmed: s == "1", Detail: fmt.Sprintf("%s: %s", p, s)}
			}
		}
	}
	return State{}
}
