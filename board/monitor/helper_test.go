package monitor

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/rpbus/rpbus/board"
)

const base = 0x40000000 // first FPGA register address

// startServer serves fpga on a fresh 127.0.0.1 port, closed at cleanup.
func startServer(tb testing.TB, fpga board.FPGA, opts ...ServerOption) (*Server, string) {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	return serveOn(tb, ln, fpga, opts...), ln.Addr().String()
}

// serveOn serves fpga on ln until cleanup; Serve must end with
// ErrServerClosed.
func serveOn(tb testing.TB, ln net.Listener, fpga board.FPGA, opts ...ServerOption) *Server {
	tb.Helper()
	srv, err := NewServer(fpga, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	tb.Cleanup(func() {
		srv.Close()
		if err := <-done; !errors.Is(err, ErrServerClosed) {
			tb.Errorf("Serve returned %v, want ErrServerClosed", err)
		}
	})
	return srv
}

// dial connects a Client to addr, closed at cleanup.
func dial(tb testing.TB, addr string, opts ...Option) *Client {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := Dial(ctx, addr, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

// rawConn opens a plain TCP connection for speaking the protocol by hand.
func rawConn(tb testing.TB, addr string) net.Conn {
	tb.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		tb.Fatal(err)
	}
	// A hung test fails at the deadline instead of at the test timeout.
	c.SetDeadline(time.Now().Add(10 * time.Second))
	tb.Cleanup(func() { c.Close() })
	return c
}

// waitFor polls cond until it returns nil, failing after 10 s.
func waitFor(tb testing.TB, what string, cond func() error) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	pause := time.Millisecond
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("waiting for %s: %v", what, err)
		}
		time.Sleep(pause)
		pause = min(2*pause, 50*time.Millisecond)
	}
}

// checkNoLeak waits until the goroutine count is back to at most before.
func checkNoLeak(tb testing.TB, before int) {
	tb.Helper()
	waitFor(tb, "goroutines to end", func() error {
		if n := runtime.NumGoroutine(); n > before {
			return fmt.Errorf("%d goroutines, want <= %d", n, before)
		}
		return nil
	})
}
