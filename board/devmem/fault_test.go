//go:build linux && !race

// The race detector performs atomic accesses in its own C code, where a
// fault cannot be turned into a panic; without it the fault path is tested
// here, and with the ARM binary under qemu in cmd/rpbus.

package devmem_test

import (
	"os"
	"strings"
	"testing"

	"github.com/rpbus/rpbus/board/devmem"
	"github.com/rpbus/rpbus/regmap"
	"github.com/rpbus/rpbus/rperr"
)

// TestFaultIsAnError: a mem-file truncated under the mapping faults on
// access (SIGBUS); the access fails with unavailable instead of killing
// the process, and works again once the file is back.
func TestFaultIsAnError(t *testing.T) {
	m, path := open(t)
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	err := m.Read(regmap.ScopeBase, make([]uint32, 4))
	if rperr.ErrorCode(err) != rperr.EUnavailable || !strings.Contains(err.Error(), "faulted") {
		t.Fatalf("read of a truncated mapping: %v, want unavailable: faulted", err)
	}
	if err := m.Write(regmap.ScopeBase, []uint32{1}); rperr.ErrorCode(err) != rperr.EUnavailable {
		t.Fatalf("write to a truncated mapping: %v", err)
	}
	if err := os.Truncate(path, int64(devmem.Size)); err != nil {
		t.Fatal(err)
	}
	if err := m.Write(regmap.ScopeBase, []uint32{1}); err != nil {
		t.Fatalf("write once the file is back: %v", err)
	}
}
