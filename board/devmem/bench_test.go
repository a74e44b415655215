//go:build linux

package devmem_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rpbus/rpbus/board"
	"github.com/rpbus/rpbus/board/devmem"
	"github.com/rpbus/rpbus/regmap"
)

// BenchmarkReadHalves is a scope channel's read: 16384 32-bit loads kept
// as halves (on a mem-file here: the loop's own cost, not the PL bus's).
func BenchmarkReadHalves(b *testing.B) {
	m, _ := open(b)
	dst := make([]uint16, regmap.ScopeBufferLen)
	b.SetBytes(4 * regmap.ScopeBufferLen)
	for b.Loop() {
		if err := m.ReadHalves(regmap.ScopeBase+regmap.ScopeCh1Data, dst); err != nil {
			b.Fatal(err)
		}
	}
}

// fpgaEnv makes the test binary play the FPGA in a process of its own
// (see fpgaProcess): the bridge's process is then idle while it waits, as
// on the board, which is when the runtime's timers are late.
const fpgaEnv = "DEVMEM_BENCH_FPGA"

func TestMain(m *testing.M) {
	if path := os.Getenv(fpgaEnv); path != "" {
		os.Exit(fpgaProcess(path, os.Stdin, os.Stdout))
	}
	os.Exit(m.Run())
}

// fpgaProcess maps the mem-file path and, for each time (Unix ns) read
// from in, sleeps until then with nanosleep, clears the scope's armed bit
// and writes the time it did so to out.
func fpgaProcess(path string, in io.Reader, out io.Writer) int {
	m, err := devmem.OpenFile(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer m.Close()
	_ = unix.Prctl(unix.PR_SET_TIMERSLACK, 1000, 0, 0, 0)
	for s := bufio.NewScanner(in); s.Scan(); {
		ns, err := strconv.ParseInt(s.Text(), 10, 64)
		if err != nil {
			return 1
		}
		for d := time.Until(time.Unix(0, ns)); d > 0; d = time.Until(time.Unix(0, ns)) {
			ts := unix.NsecToTimespec(int64(d))
			unix.Nanosleep(&ts, nil)
		}
		m.Write(regmap.ScopeBase+regmap.ScopeControl, []uint32{0})
		fmt.Fprintln(out, time.Now().UnixNano())
	}
	return 0
}

// BenchmarkWaitLateness compares, interleaved in one run, how late a wait
// sees a register that another process (the FPGA's stand-in) changes
// 200 us after the wait began, the end predicted at 150 us (a decimation-1
// trace is 131 us): devmem's WaitFor (nanosleep) against board.Poll (the
// runtime's timers). It reports each one's median lateness after the
// change; ns/op covers both waits and the set-up between them.
func BenchmarkWaitLateness(b *testing.B) {
	m, path := open(b)
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), fpgaEnv+"="+path)
	cmd.Stderr = os.Stderr
	toFPGA, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	fromFPGA, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { toFPGA.Close(); cmd.Wait() }()
	done := bufio.NewScanner(fromFPGA)

	ctrl := regmap.ScopeBase + regmap.ScopeControl
	const setAfter = 200 * time.Microsecond
	cond := board.Cond{Addr: ctrl, Mask: regmap.ScopeArm, Value: 0, Earliest: 150 * time.Microsecond, Timeout: time.Second}
	variants := []struct {
		name string
		wait func() (bool, error)
	}{
		{"devmem", func() (bool, error) { return m.WaitFor(context.Background(), cond) }},
		{"poll", func() (bool, error) { return board.Poll(context.Background(), m, cond) }},
	}
	late := map[string][]time.Duration{}
	for b.Loop() {
		for _, v := range variants {
			m.Write(ctrl, []uint32{regmap.ScopeArm})
			at := time.Now().Add(5 * time.Millisecond)
			fmt.Fprintln(toFPGA, at.UnixNano())
			time.Sleep(3 * time.Millisecond)
			for time.Until(at) > setAfter { // the last stretch exactly
			}
			ok, err := v.wait()
			end := time.Now()
			if !ok || err != nil {
				b.Fatalf("%s: %v %v", v.name, ok, err)
			}
			if !done.Scan() {
				b.Fatal("the FPGA process ended")
			}
			ns, _ := strconv.ParseInt(done.Text(), 10, 64)
			late[v.name] = append(late[v.name], end.Sub(time.Unix(0, ns)))
		}
	}
	for name, l := range late {
		slices.Sort(l)
		b.ReportMetric(float64(l[len(l)/2])/1e3, name+"-late-us")
		b.ReportMetric(float64(l[len(l)*9/10])/1e3, name+"-late-p90-us")
	}
}
