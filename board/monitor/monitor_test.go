package monitor

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rpbus/rpbus/internal/logtest"
	"github.com/rpbus/rpbus/rperr"
)

func header(cmd byte, n uint16, addr uint32) []byte {
	b := make([]byte, HeaderSize)
	Header{Cmd: cmd, N: n, Addr: addr}.Put(b)
	return b
}

func randomWords(seed uint64, n int) []uint32 {
	r := rand.New(rand.NewPCG(seed, 1))
	w := make([]uint32, n)
	for i := range w {
		w[i] = r.Uint32()
	}
	return w
}

func TestHeaderRoundTrip(t *testing.T) {
	b := header(CmdRead, 0x1234, 0x40100014)
	want := []byte{'r', 0, 0x34, 0x12, 0x14, 0x00, 0x10, 0x40}
	if !bytes.Equal(b, want) {
		t.Fatalf("Put: % x, want % x", b, want)
	}
	h, err := ParseHeader(b)
	if err != nil || h != (Header{CmdRead, 0x1234, 0x40100014}) {
		t.Fatalf("ParseHeader: %+v, %v", h, err)
	}
	if _, err := ParseHeader(b[:7]); !errors.Is(err, ErrShortHeader) {
		t.Fatalf("short header: %v, want ErrShortHeader", err)
	}
	if n := testing.AllocsPerRun(100, func() {
		var a [HeaderSize]byte
		Header{CmdWrite, 3, base}.Put(a[:])
		h, _ = ParseHeader(a[:])
	}); n != 0 {
		t.Fatalf("header codec allocates %v times", n)
	}
}

func TestRoundTrip(t *testing.T) {
	_, addr := startServer(t, newMem())
	c := dial(t, addr)
	for _, n := range []int{1, 16384} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			want := randomWords(uint64(n), n)
			a := uint32(base + 0x100000)
			if err := c.Write(a, want); err != nil {
				t.Fatal(err)
			}
			got := make([]uint32, n)
			if err := c.Read(a, got); err != nil {
				t.Fatal(err)
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("word %d: %#x, want %#x", i, got[i], want[i])
				}
			}
		})
	}
}

func TestChunkWords(t *testing.T) {
	for _, c := range []struct {
		addr     uint32
		n, limit int
		want     int
	}{
		{base, 1, MaxReadWords, 1},
		{base, 100000, MaxReadWords, Window / 4},
		{base, 100000, 10, 10},
		{base + Window - 8, 100, MaxWriteWords, 2},
		{base + Window - 4, 100, MaxWriteWords, 1},
		{base + Window - 2, 100, MaxWriteWords, 1}, // unaligned: still progresses
		{base + Window, 100, MaxWriteWords, 100},
		{0xFFFFFFFC, 1, MaxReadWords, 1},
	} {
		if got := chunkWords(c.addr, c.n, c.limit); got != c.want {
			t.Errorf("chunkWords(%#x, %d, %d) = %d, want %d", c.addr, c.n, c.limit, got, c.want)
		}
	}
}

// Requests stay inside one 128 KiB window: the original server maps only
// the window holding the start address.
func TestChunking(t *testing.T) {
	const w = Window / 4
	for _, c := range []struct {
		addr uint32
		n    int
		want []int
	}{
		{base, 16384, []int{16384}},
		{base, 70000, []int{w, w, 70000 - 2*w}},
		{base + Window - 8, 2 + w + 5, []int{2, w, 5}},
	} {
		mem := newMem()
		_, addr := startServer(t, mem)
		c2 := dial(t, addr)
		want := randomWords(uint64(c.n), c.n)
		if err := c2.Write(c.addr, want); err != nil {
			t.Fatal(err)
		}
		got := make([]uint32, c.n)
		if err := c2.Read(c.addr, got); err != nil {
			t.Fatal(err)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%#x+%d: word %d: %#x, want %#x", c.addr, c.n, i, got[i], want[i])
			}
		}
		reads, writes := mem.calls()
		if fmt.Sprint(writes) != fmt.Sprint(c.want) || fmt.Sprint(reads) != fmt.Sprint(c.want) {
			t.Errorf("%#x+%d: requests of %v words (writes) and %v (reads), want %v", c.addr, c.n, writes, reads, c.want)
		}
	}
}

func TestClientInvalid(t *testing.T) {
	mem := newMem()
	_, addr := startServer(t, mem)
	c := dial(t, addr)
	if err := c.Read(0xFFFFFFFC, make([]uint32, 2)); rperr.ErrorCode(err) != rperr.EInvalid {
		t.Errorf("read past 4 GiB: %v, want %s", err, rperr.EInvalid)
	}
	if err := c.Read(0xFFFFFFFC, make([]uint32, 1)); err != nil {
		t.Errorf("last word: %v", err)
	}
	if err := c.Write(base, nil); err != nil {
		t.Errorf("empty write: %v", err)
	}
	if reads, writes := mem.calls(); len(reads) != 1 || len(writes) != 0 {
		t.Errorf("FPGA saw reads %v writes %v, want one read", reads, writes)
	}
	for _, opt := range []Option{WithPoolSize(0), WithTimeout(-1), WithBackoff(0, 1), WithBackoff(2, 1), WithDialTimeout(0)} {
		if _, err := Dial(context.Background(), addr, opt); !errors.Is(err, ErrConfigValidation) {
			t.Errorf("bad option: %v, want ErrConfigValidation", err)
		}
	}
	if _, err := NewServer(mem, WithMaxConns(0)); !errors.Is(err, ErrConfigValidation) {
		t.Errorf("bad server option: %v", err)
	}
}

// The original ignores n = 0 without answering; the next request must be
// served normally.
func TestZeroLengthIgnored(t *testing.T) {
	mem := newMem()
	mem.Write(base+8, []uint32{0xCAFE})
	_, addr := startServer(t, mem)
	c := rawConn(t, addr)
	var req []byte
	req = append(req, header(CmdRead, 0, base)...)
	req = append(req, header(CmdWrite, 0, base)...)
	req = append(req, header('x', 0, base)...) // unknown, but n = 0: ignored too
	req = append(req, header(CmdRead, 1, base+8)...)
	if _, err := c.Write(req); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, HeaderSize+4)
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatal(err)
	}
	want := append(header(CmdRead, 1, base+8), 0xFE, 0xCA, 0, 0)
	if !bytes.Equal(got, want) {
		t.Fatalf("answer % x, want % x", got, want)
	}
}

func TestEchoIsVerbatim(t *testing.T) {
	_, addr := startServer(t, newMem())
	c := rawConn(t, addr)
	req := header(CmdWrite, 1, base)
	req[1] = 0x5A // reserved byte: echoed as sent, like the original
	req = append(req, 1, 2, 3, 4)
	c.Write(req)
	got := make([]byte, HeaderSize)
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, req[:HeaderSize]) {
		t.Fatalf("echo % x, want % x", got, req[:HeaderSize])
	}
}

func expectClosed(t *testing.T, c net.Conn) {
	t.Helper()
	var b [1]byte
	if n, err := c.Read(b[:]); err == nil {
		t.Fatalf("read %d bytes, want the connection closed", n)
	} else if !isConnReset(err) {
		t.Fatalf("read: %v, want EOF or reset", err)
	}
}

func TestUnknownCommandClosesOnlyThatConnection(t *testing.T) {
	_, addr := startServer(t, newMem())
	good := dial(t, addr)
	bad := rawConn(t, addr)
	bad.Write(header('x', 1, base))
	expectClosed(t, bad)
	if err := good.Write(base, []uint32{1}); err != nil {
		t.Fatalf("other client after unknown command: %v", err)
	}
	fresh := dial(t, addr)
	if err := fresh.Read(base, make([]uint32, 1)); err != nil {
		t.Fatalf("new client after unknown command: %v", err)
	}
}

// A request that panics in the FPGA backend (a bug) closes its own
// connection and is logged; the server goes on serving everyone else.
func TestPanicClosesOnlyThatConnection(t *testing.T) {
	mem := newMem()
	mem.boom = base + 0x100
	logger, log := logtest.Logger()
	_, addr := startServer(t, mem, WithLogger(logger))
	good := dial(t, addr)
	bad := rawConn(t, addr)
	bad.Write(header(CmdRead, 1, mem.boom))
	expectClosed(t, bad)
	if err := good.Write(base, []uint32{1}); err != nil {
		t.Fatalf("other client after a panic: %v", err)
	}
	if err := dial(t, addr).Read(base, make([]uint32, 1)); err != nil {
		t.Fatalf("new client after a panic: %v", err)
	}
	if !strings.Contains(log.String(), "a bug on purpose") {
		t.Fatalf("the panic was not logged: %q", log.String())
	}
}

func TestCloseCommand(t *testing.T) {
	_, addr := startServer(t, newMem())
	c := rawConn(t, addr)
	c.Write(header(CmdClose, 0, 0)) // what PyRPL's client sends on close
	expectClosed(t, c)
}

// Errors from the FPGA close the connection (no error frame); the client
// reports them as unavailable and the next call redials.
func TestFPGAErrorClosesConnection(t *testing.T) {
	mem := newMem()
	_, addr := startServer(t, mem)
	c := dial(t, addr)
	mem.setFail(true)
	err := c.Read(base, make([]uint32, 4))
	if rperr.ErrorCode(err) != rperr.EUnavailable {
		t.Fatalf("read with failing FPGA: %v, want %s", err, rperr.EUnavailable)
	}
	mem.setFail(false)
	if err := c.Read(base, make([]uint32, 4)); err != nil {
		t.Fatalf("read after FPGA recovered: %v", err)
	}
	raw := rawConn(t, addr)
	raw.Write(header(CmdRead, 1, base+1)) // unaligned: memFPGA refuses
	expectClosed(t, raw)
}

func TestConcurrentClients(t *testing.T) {
	mem := newMem()
	srv, addr := startServer(t, mem)
	const clients, goroutines, rounds = 4, 4, 50
	var wg sync.WaitGroup
	errs := make(chan error, clients*goroutines)
	for i := range clients {
		c := dial(t, addr, WithPoolSize(2))
		for g := range goroutines {
			wg.Add(1)
			go func() {
				defer wg.Done()
				slot := uint32(base + (i*goroutines+g)*0x1000)
				buf := make([]uint32, 64)
				for r := range rounds {
					want := randomWords(uint64(r), 1+r%64)
					if err := c.Write(slot, want); err != nil {
						errs <- err
						return
					}
					got := buf[:len(want)]
					if err := c.Read(slot, got); err != nil {
						errs <- err
						return
					}
					for k := range want {
						if got[k] != want[k] {
							errs <- fmt.Errorf("client %d goroutine %d round %d word %d: %#x, want %#x", i, g, r, k, got[k], want[k])
							return
						}
					}
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	srv.mu.Lock()
	n := len(srv.conns)
	srv.mu.Unlock()
	if n < 2 || n > clients*2 {
		t.Errorf("server holds %d connections, want 2..%d", n, clients*2)
	}
}

func TestMaxConns(t *testing.T) {
	_, addr := startServer(t, newMem(), WithMaxConns(1))
	first := dial(t, addr)
	if err := first.Read(base, make([]uint32, 1)); err != nil {
		t.Fatal(err)
	}
	extra := rawConn(t, addr)
	extra.Write(header(CmdRead, 1, base))
	expectClosed(t, extra)
	if err := first.Read(base, make([]uint32, 1)); err != nil {
		t.Fatalf("first client after refused one: %v", err)
	}
}

func TestReconnectAfterServerRestart(t *testing.T) {
	mem := newMem()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	srv := serveOn(t, ln, mem)
	c := dial(t, addr, WithBackoff(time.Millisecond, 20*time.Millisecond))
	if err := c.Write(base, []uint32{42}); err != nil {
		t.Fatal(err)
	}
	srv.Close()

	// While nothing listens, calls fail fast as unavailable.
	if err := c.Write(base, []uint32{43}); rperr.ErrorCode(err) != rperr.EUnavailable {
		t.Fatalf("write with server down: %v, want %s", err, rperr.EUnavailable)
	}
	if err := c.Read(base, make([]uint32, 1)); rperr.ErrorCode(err) != rperr.EUnavailable {
		t.Fatalf("read with server down: %v, want %s", err, rperr.EUnavailable)
	}

	ln2, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	serveOn(t, ln2, mem)
	got := make([]uint32, 1)
	waitFor(t, "client to reconnect", func() error { return c.Read(base, got) })
	if got[0] != 42 {
		t.Fatalf("read %d after restart, want 42", got[0])
	}
}

// A read on a connection the restarted server dropped while idle is
// repeated once on a new connection, so the caller never sees the restart.
func TestStaleReadRetried(t *testing.T) {
	mem := newMem()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	srv := serveOn(t, ln, mem)
	c := dial(t, addr)
	if err := c.Write(base, []uint32{7}); err != nil {
		t.Fatal(err)
	}
	ln2, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serveOn(t, ln2, mem)
	c.addr = ln2.Addr().String() // the "restarted" server lives elsewhere
	srv.Close()
	got := make([]uint32, 1)
	if err := c.Read(base, got); err != nil || got[0] != 7 {
		t.Fatalf("read after server restart: %v %v, want 7 <nil>", got[0], err)
	}
}

func TestBackoff(t *testing.T) {
	var mu sync.Mutex
	dials := 0
	fail := false
	var d net.Dialer
	dialFn := func(ctx context.Context, network, addr string) (net.Conn, error) {
		mu.Lock()
		dials++
		f := fail
		mu.Unlock()
		if f {
			return nil, errors.New("board switched off")
		}
		return d.DialContext(ctx, network, addr)
	}
	srv, addr := startServer(t, newMem())
	c := dial(t, addr, WithDialFunc(dialFn), WithBackoff(time.Hour, time.Hour))
	mu.Lock()
	fail = true
	mu.Unlock()
	srv.Close()
	for range 5 {
		err := c.Read(base, make([]uint32, 1))
		if rperr.ErrorCode(err) != rperr.EUnavailable {
			t.Fatalf("read: %v, want %s", err, rperr.EUnavailable)
		}
		var re *rperr.Error
		if !errors.As(err, &re) {
			t.Fatalf("error %T is not *rperr.Error", err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	// One initial dial, one redial; the other reads fell in the backoff window.
	if dials != 2 {
		t.Fatalf("%d dials, want 2", dials)
	}
	if got := c.backoff(1); got != time.Hour {
		t.Errorf("backoff(1) = %v", got)
	}
	c.opts.backoffMin, c.opts.backoffMax = 10*time.Millisecond, time.Second
	for n, want := range map[int]time.Duration{1: 10 * time.Millisecond, 2: 20 * time.Millisecond, 4: 80 * time.Millisecond, 50: time.Second} {
		if got := c.backoff(n); got != want {
			t.Errorf("backoff(%d) = %v, want %v", n, got, want)
		}
	}
}

func TestDialUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, err = Dial(context.Background(), addr)
	if rperr.ErrorCode(err) != rperr.EUnavailable {
		t.Fatalf("Dial to closed port: %v, want %s", err, rperr.EUnavailable)
	}
}

// fakeServer answers every request with a corrupted echo.
func fakeServer(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				var h [HeaderSize]byte
				for {
					if _, err := io.ReadFull(c, h[:]); err != nil {
						return
					}
					hd, _ := ParseHeader(h[:])
					if hd.Cmd == CmdWrite {
						io.CopyN(io.Discard, c, 4*int64(hd.N))
					}
					binary.LittleEndian.PutUint32(h[4:], hd.Addr+4) // wrong address
					c.Write(h[:])
					if hd.Cmd == CmdRead {
						c.Write(make([]byte, 4*int(hd.N)))
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

func TestEchoMismatch(t *testing.T) {
	addr := fakeServer(t)
	c := dial(t, addr)
	for _, op := range []func() error{
		func() error { return c.Read(base, make([]uint32, 3)) },
		func() error { return c.Write(base, []uint32{1, 2}) },
	} {
		err := op()
		if rperr.ErrorCode(err) != rperr.EUnavailable || !strings.Contains(err.Error(), "echo mismatch") {
			t.Fatalf("got %v, want an unavailable echo mismatch", err)
		}
		if c.slots[0].c != nil {
			t.Fatalf("connection kept after echo mismatch")
		}
	}
}

func TestTimeout(t *testing.T) {
	// A listener that accepts but never answers.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	c := dial(t, ln.Addr().String(), WithTimeout(20*time.Millisecond))
	err = c.Read(base, make([]uint32, 1))
	if rperr.ErrorCode(err) != rperr.EUnavailable || !strings.Contains(err.Error(), "no answer") {
		t.Fatalf("got %v, want unavailable: no answer", err)
	}
}

func TestClientClose(t *testing.T) {
	_, addr := startServer(t, newMem())
	c := dial(t, addr, WithPoolSize(2))
	c.Close()
	c.Close()
	if err := c.Read(base, make([]uint32, 1)); rperr.ErrorCode(err) != rperr.EUnavailable {
		t.Fatalf("read after Close: %v", err)
	}
}

func TestShutdown(t *testing.T) {
	before := runtime.NumGoroutine()
	mem := newMem()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, _ := NewServer(mem)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	c, err := Dial(context.Background(), ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Write(base, []uint32{1}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown with an idle client: %v", err)
	}
	if err := <-done; !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Serve: %v", err)
	}
	if err := c.Read(base, make([]uint32, 1)); rperr.ErrorCode(err) != rperr.EUnavailable {
		t.Fatalf("read after Shutdown: %v", err)
	}
	if err := srv.Serve(ln); !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Serve after Shutdown: %v", err)
	}
	c.Close()
	checkNoLeak(t, before)
}

// Shutdown lets a request in progress finish.
func TestShutdownWaitsForRequest(t *testing.T) {
	mem := &slowFPGA{memFPGA: newMem(), entered: make(chan struct{}), release: make(chan struct{})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, _ := NewServer(mem)
	go srv.Serve(ln)
	c := dial(t, ln.Addr().String())
	res := make(chan error, 1)
	go func() { res <- c.Read(base, make([]uint32, 1)) }()
	<-mem.entered
	shut := make(chan error, 1)
	go func() { shut <- srv.Shutdown(context.Background()) }()
	waitFor(t, "listener to close", func() error {
		srv.mu.Lock()
		defer srv.mu.Unlock()
		if !srv.stopping {
			return errors.New("not stopping")
		}
		return nil
	})
	close(mem.release)
	if err := <-res; err != nil {
		t.Fatalf("read in flight during Shutdown: %v", err)
	}
	if err := <-shut; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}

type slowFPGA struct {
	*memFPGA
	once    sync.Once
	entered chan struct{}
	release chan struct{}
}

func (s *slowFPGA) Read(addr uint32, dst []uint32) error {
	s.once.Do(func() { close(s.entered) })
	<-s.release
	return s.memFPGA.Read(addr, dst)
}
