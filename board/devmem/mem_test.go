//go:build linux

package devmem_test

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rpbus/rpbus/board"
	"github.com/rpbus/rpbus/board/devmem"
	"github.com/rpbus/rpbus/internal/cputime"
	"github.com/rpbus/rpbus/regmap"
	"github.com/rpbus/rpbus/rperr"
)

// open maps a fresh mem-file and returns it with its path.
func open(tb testing.TB) (*devmem.Mem, string) {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "regs")
	m, err := devmem.OpenFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { m.Close() })
	return m, path
}

// second maps the same file again: the FPGA's side of a test.
func second(tb testing.TB, path string) *devmem.Mem {
	tb.Helper()
	m, err := devmem.OpenFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { m.Close() })
	return m
}

func TestOpenFileCreatesAndSizes(t *testing.T) {
	_, path := open(t)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() != int64(devmem.Size) || devmem.Size != 5<<20 {
		t.Fatalf("mem-file is %d bytes, want %d (5 blocks of 1 MiB)", fi.Size(), devmem.Size)
	}
}

// TestRoundTrip writes into every block and reads back through the same
// mapping, a second mapping and the file's bytes, where word addr lives at
// offset addr-0x40000000, little endian.
func TestRoundTrip(t *testing.T) {
	m, path := open(t)
	other := second(t, path)
	cases := []struct {
		addr  uint32
		words []uint32
	}{
		{regmap.HKBase, []uint32{0x1}},
		{regmap.ScopeBase + regmap.ScopeCh1Data, []uint32{0x1FFF, 0x2000, 0xFFFFFFFF, 0}},
		{regmap.ASGBase + regmap.ASGDataB + 4*(regmap.ASGDataLen-2), []uint32{7, 8}}, // the end of the asg block
		{regmap.Slot(regmap.SlotIQ2) + regmap.IQFrequency, []uint32{0xDEADBEEF}},
		{regmap.AMSBase + regmap.BlockSize - 4, []uint32{0xCAFEF00D}}, // the last word mapped
	}
	for _, c := range cases {
		if err := m.Write(c.addr, c.words); err != nil {
			t.Fatalf("write %#x: %v", c.addr, err)
		}
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		for _, f := range []*devmem.Mem{m, other} {
			got := make([]uint32, len(c.words))
			if err := f.Read(c.addr, got); err != nil {
				t.Fatalf("read %#x: %v", c.addr, err)
			}
			for i := range got {
				if got[i] != c.words[i] {
					t.Errorf("%#x+%d: read %#x, wrote %#x", c.addr, i, got[i], c.words[i])
				}
			}
		}
		for i, w := range c.words {
			off := int(c.addr-devmem.Base) + 4*i
			if got := binary.LittleEndian.Uint32(raw[off:]); got != w {
				t.Errorf("file offset %#x: %#x, want %#x", off, got, w)
			}
		}
	}
}

func TestHalves(t *testing.T) {
	m, _ := open(t)
	addr := regmap.ScopeBase + regmap.ScopeCh2Data
	words := []uint32{0xABCD1234, 0x00003FFF, 0xFFFF2000, 0x0001FFFF}
	if err := m.Write(addr, words); err != nil {
		t.Fatal(err)
	}
	got := make([]uint16, len(words))
	if err := m.ReadHalves(addr, got); err != nil {
		t.Fatal(err)
	}
	for i, w := range words {
		if got[i] != uint16(w) {
			t.Errorf("half %d = %#x, want %#x", i, got[i], uint16(w))
		}
	}
	if err := m.ReadHalves(addr+2, got); !isInvalid(err, "not word aligned") {
		t.Errorf("half read at an odd half: %v, want an invalid error about alignment", err)
	}
}

func isInvalid(err error, text string) bool {
	return rperr.ErrorCode(err) == rperr.EInvalid && strings.Contains(err.Error(), text)
}

// TestBoundsAndAlignment: nothing outside one module reaches the mapping,
// and each refusal says why.
func TestBoundsAndAlignment(t *testing.T) {
	m, _ := open(t)
	one := make([]uint32, 1)
	cases := []struct {
		name string
		addr uint32
		n    int
		want string
	}{
		{"below the hk block", regmap.HKBase - 4, 1, "outside the mapped blocks"},
		{"above the ams block", regmap.AMSBase + regmap.BlockSize, 1, "outside the mapped blocks"},
		{"far away", 0x10000000, 1, "outside the mapped blocks"},
		{"misaligned", regmap.ScopeBase + 2, 1, "not word aligned"},
		{"misaligned by one", regmap.HKBase + 1, 1, "not word aligned"},
		{"across the scope's end", regmap.ScopeBase + regmap.BlockSize - 4, 2, "crosses out of module scope"},
		{"across a DSP slot", regmap.Slot(regmap.SlotIQ0) + regmap.SlotSize - 4, 2, "crosses out of module iq0"},
		{"no words", regmap.HKBase, 0, "at least 1"},
	}
	for _, c := range cases {
		buf := make([]uint32, c.n)
		if err := m.Read(c.addr, buf); !isInvalid(err, c.want) {
			t.Errorf("%s: read %#x n=%d: %v, want invalid %q", c.name, c.addr, c.n, err, c.want)
		}
		if err := m.Write(c.addr, buf); !isInvalid(err, c.want) {
			t.Errorf("%s: write %#x n=%d: %v, want invalid %q", c.name, c.addr, c.n, err, c.want)
		}
	}
	if _, err := m.WaitFor(context.Background(), board.Cond{Addr: regmap.ScopeBase + 1, Mask: 1, Timeout: time.Second}); !isInvalid(err, "not word aligned") {
		t.Errorf("wait at a misaligned address: %v", err)
	}
	if err := m.Read(regmap.HKBase, one); err != nil {
		t.Errorf("a good read after the bad ones: %v", err)
	}
}

// TestWaitEndsWhenTheOtherSideWrites: the condition is written through a
// second mapping of the file by another goroutine, as the FPGA would set
// a register.
func TestWaitEndsWhenTheOtherSideWrites(t *testing.T) {
	m, path := open(t)
	fpga := second(t, path)
	ctrl := regmap.ScopeBase + regmap.ScopeControl
	for _, earliest := range []time.Duration{0, 3 * time.Millisecond} {
		if err := fpga.Write(ctrl, []uint32{regmap.ScopeArm}); err != nil {
			t.Fatal(err)
		}
		written := make(chan time.Time, 1)
		go func() {
			time.Sleep(5 * time.Millisecond)
			fpga.Write(ctrl, []uint32{0})
			written <- time.Now()
		}()
		ok, err := m.WaitFor(context.Background(), board.Cond{Addr: ctrl, Mask: regmap.ScopeArm, Value: 0, Earliest: earliest, Timeout: 10 * time.Second})
		done := time.Now()
		if err != nil || !ok {
			t.Fatalf("earliest %v: WaitFor = %v, %v; want true once the other side cleared the bit", earliest, ok, err)
		}
		if w := <-written; done.Before(w) {
			t.Fatalf("earliest %v: the wait ended before the condition was written", earliest)
		}
	}
}

func TestWaitTimesOut(t *testing.T) {
	m, _ := open(t)
	addr := regmap.Slot(regmap.SlotIQ0) + regmap.IQNAISumLow
	if err := m.Write(addr, []uint32{regmap.IQNABusy}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []board.Cond{
		{Addr: addr, Mask: regmap.IQNABusy, Value: 0, Timeout: 20 * time.Millisecond},
		{Addr: addr, Mask: regmap.IQNABusy, Value: 0, Earliest: time.Second, Timeout: 20 * time.Millisecond}, // a prediction past the timeout
		{Addr: addr, Mask: regmap.IQNABusy, Value: 0},                                                        // no time at all: one read
	} {
		start := time.Now()
		ok, err := m.WaitFor(context.Background(), c)
		if ok || err != nil {
			t.Errorf("%+v: WaitFor = %v, %v; want false, nil", c, ok, err)
		}
		if waited := time.Since(start); waited < c.Timeout {
			t.Errorf("%+v: gave up after %v, before the timeout", c, waited)
		}
	}
	// A condition that already holds needs no time even with no timeout.
	if ok, err := m.WaitFor(context.Background(), board.Cond{Addr: addr, Mask: regmap.IQNABusy, Value: regmap.IQNABusy}); !ok || err != nil {
		t.Errorf("a condition that holds: WaitFor = %v, %v", ok, err)
	}
}

func TestWaitCancelled(t *testing.T) {
	m, _ := open(t)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(10*time.Millisecond, cancel)
	ok, err := m.WaitFor(ctx, board.Cond{Addr: regmap.ScopeBase, Mask: 1, Value: 1, Earliest: time.Minute, Timeout: time.Hour})
	if ok || !errors.Is(err, context.Canceled) {
		t.Fatalf("WaitFor after cancel = %v, %v; want false, context.Canceled", ok, err)
	}
}

// TestLongWaitDoesNotSpin: a wait that never ends uses a small share of a
// core. A spinning wait would use about all of one.
func TestLongWaitDoesNotSpin(t *testing.T) {
	m, _ := open(t)
	const wait = 400 * time.Millisecond
	cpu0, t0 := cputime.Process(), time.Now()
	ok, err := m.WaitFor(context.Background(), board.Cond{Addr: regmap.ScopeBase, Mask: 1, Value: 1, Timeout: wait})
	cpu, wall := cputime.Process()-cpu0, time.Since(t0)
	if ok || err != nil {
		t.Fatalf("WaitFor = %v, %v; want a timeout", ok, err)
	}
	if cpu > wall/4 {
		t.Fatalf("a %v wait used %v of CPU: it should sleep between reads", wall, cpu)
	}
	t.Logf("a %v wait used %v of CPU", wall.Round(time.Millisecond), cpu)
}

func TestClose(t *testing.T) {
	m, _ := open(t)
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	err := m.Read(regmap.HKBase, make([]uint32, 1))
	if rperr.ErrorCode(err) != rperr.EUnavailable || !strings.Contains(err.Error(), "closed") {
		t.Fatalf("read after Close: %v, want unavailable: closed", err)
	}
}

func TestOpenRefusals(t *testing.T) {
	dir := t.TempDir()
	if _, err := devmem.OpenFile("/dev/null"); rperr.ErrorCode(err) != rperr.EUnavailable || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("OpenFile(/dev/null) = %v", err)
	}
	if _, err := devmem.OpenFile(dir); rperr.ErrorCode(err) != rperr.EUnavailable || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("OpenFile(a directory) = %v", err)
	}
	if _, err := devmem.Open("/dev/null"); rperr.ErrorCode(err) != rperr.EUnavailable || !strings.Contains(err.Error(), "mapping") {
		t.Errorf("Open(/dev/null), a device that cannot be mapped = %v", err)
	}
	plain := filepath.Join(dir, "plain")
	if err := os.WriteFile(plain, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := devmem.Open(plain); rperr.ErrorCode(err) != rperr.EUnavailable || !strings.Contains(err.Error(), "not a character device") {
		t.Errorf("Open(a plain file) = %v", err)
	}
	if _, err := devmem.Open(filepath.Join(dir, "missing")); rperr.ErrorCode(err) != rperr.EUnavailable || !strings.Contains(err.Error(), "--mem-file") {
		t.Errorf("Open(a missing device) = %v", err)
	}
	if _, err := devmem.OpenFile(filepath.Join(dir, "no", "such", "dir")); rperr.ErrorCode(err) != rperr.EUnavailable {
		t.Errorf("OpenFile in a missing directory = %v", err)
	}
}
