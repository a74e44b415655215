//go:build linux

package design_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/rpbus/rpbus/board/design"
)

// skipPyRPL is the explicit opt-out of the test on PyRPL's own files,
// where scripts/setup has not installed PyRPL into .venv-pyrpl.
const skipPyRPL = "RPBUS_SKIP_PYRPL"

// pyrplFPGA returns the fpga folder of the PyRPL that scripts/setup
// installs (for PyRPL's own suite). PyRPL's files are GPL: they are read
// here, never copied into the repository.
func pyrplFPGA(t *testing.T) string {
	t.Helper()
	dirs, _ := filepath.Glob("../../.venv-pyrpl/lib/python3*/site-packages/pyrpl/fpga")
	if len(dirs) == 0 {
		if os.Getenv(skipPyRPL) == "1" {
			t.Skipf("PyRPL is not installed in .venv-pyrpl and %s=1", skipPyRPL)
		}
		t.Fatalf("PyRPL's fpga folder is not in .venv-pyrpl: run scripts/setup, or set %s=1 to skip this test knowingly", skipPyRPL)
	}
	return dirs[0]
}

// TestPyRPLsBitstream loads PyRPL's real red_pitaya.bin (a byte-swapped
// .bin) into a stand-in for /dev/xdevcfg, and refuses its device-tree
// overlay, the file most easily passed by mistake.
func TestPyRPLsBitstream(t *testing.T) {
	fpga := pyrplFPGA(t)
	bin := filepath.Join(fpga, "red_pitaya.bin")
	dev := filepath.Join(t.TempDir(), "xdevcfg")
	write(t, dev, "")
	l := design.Loader{XDevCfg: dev, Sys: t.TempDir()}
	got, err := l.Load(context.Background(), bin)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if got.SHA256 != sum(data) || got.Bytes != int64(len(data)) {
		t.Fatalf("loaded %+v, the file is %d bytes", got, len(data))
	}
	if loaded, _ := os.ReadFile(dev); string(loaded) != string(data) {
		t.Fatal("the device did not get the bitstream")
	}
	_, err = l.Load(context.Background(), filepath.Join(fpga, "red_pitaya.dtbo"))
	unavailable(t, err, "is not an FPGA bitstream")
}
