package testrig

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/rpbus/rpbus/board"
	"github.com/rpbus/rpbus/board/monitor"
)

// ServeMonitor serves f over PyRPL's monitor_server protocol on a free
// loopback port, as `rpbus simboard` serves its simulated board, until the
// test ends, and returns the address.
func ServeMonitor(tb testing.TB, f board.FPGA) string {
	tb.Helper()
	addr, _ := UnpluggableMonitor(tb, f)
	return addr
}

// UnpluggableMonitor is ServeMonitor that also returns unplug, which
// takes the server and its listener away as an unplugged board would.
func UnpluggableMonitor(tb testing.TB, f board.FPGA) (addr string, unplug func()) {
	tb.Helper()
	srv, err := monitor.NewServer(f)
	if err != nil {
		tb.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	go srv.Serve(ln)
	tb.Cleanup(func() { srv.Close() })
	return ln.Addr().String(), func() { srv.Close(); ln.Close() }
}

// DialMonitor connects a monitor client to addr, closed when the test
// ends, with PyRPL's design's clock as rpbus's monitor backend has it.
func DialMonitor(tb testing.TB, addr string, opts ...monitor.Option) *monitor.Client {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	mc, err := monitor.Dial(ctx, addr, append([]monitor.Option{monitor.PyRPLClock()}, opts...)...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { mc.Close() })
	return mc
}
