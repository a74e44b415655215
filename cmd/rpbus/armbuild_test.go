package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// The Red Pitaya's target: a Zynq-7010, two Cortex-A9 cores.
var armEnv = []string{"GOOS=linux", "GOARCH=arm", "GOARM=7", "CGO_ENABLED=0"}

// armBuild is the ARM build of rpbus the tests share: built once per test
// binary, removed by TestMain.
var armBuild struct {
	once sync.Once
	dir  string
	path string
	err  error
	out  []byte
}

// armBinary cross-builds this command for the board, once per test binary.
func armBinary(tb testing.TB) string {
	tb.Helper()
	armBuild.once.Do(func() {
		if armBuild.dir, armBuild.err = os.MkdirTemp("", "rpbus-arm-"); armBuild.err != nil {
			return
		}
		armBuild.path = filepath.Join(armBuild.dir, "rpbus")
		cmd := exec.Command("go", "build", "-o", armBuild.path, ".")
		cmd.Env = append(os.Environ(), armEnv...)
		armBuild.out, armBuild.err = cmd.CombinedOutput()
	})
	if armBuild.err != nil {
		tb.Fatalf("cross-building rpbus for linux/arm (GOARM=7): %v\n%s", armBuild.err, armBuild.out)
	}
	return armBuild.path
}
