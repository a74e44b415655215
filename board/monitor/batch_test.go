package monitor

import (
	"context"
	"fmt"
	"net"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rpbus/rpbus/board"
	"github.com/rpbus/rpbus/rperr"
)

// countingDial counts the Write calls on every connection it dials: a
// pipelined run goes out in one.
type countingDial struct {
	writes atomic.Int64
}

type countingConn struct {
	net.Conn
	d *countingDial
}

func (c countingConn) Write(p []byte) (int, error) {
	c.d.writes.Add(1)
	return c.Conn.Write(p)
}

func (d *countingDial) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var nd net.Dialer
	c, err := nd.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return countingConn{c, d}, nil
}

// mixedRun is a run of writes and reads over a few registers, a long
// read that crosses a Window boundary, and writes that merge.
func mixedRun() []board.Access {
	long := make([]uint32, Window/4+10)
	return []board.Access{
		{Addr: base + 0x100, Write: true, Words: []uint32{1, 2}},
		{Addr: base + 0x108, Write: true, Words: []uint32{3}}, // merges with the first
		{Addr: base + 0x100, Words: make([]uint32, 3)},
		{Addr: base + 0x200, Write: true, Words: []uint32{7}},
		{Addr: base + 0x200, Words: make([]uint32, 1)},
		{Addr: base + Window - 8, Write: true, Words: []uint32{8, 9}},
		{Addr: base + Window, Write: true, Words: []uint32{10}}, // the next Window: not merged
		{Addr: base, Words: long},
	}
}

func TestBatchMatchesOneByOne(t *testing.T) {
	dialer := &countingDial{}
	piped := newMem()
	_, addr := startServer(t, piped)
	c := dial(t, addr, WithDialFunc(dialer.dial))
	run := mixedRun()
	before := dialer.writes.Load()
	if k, err := c.Batch(run); err != nil {
		t.Fatalf("Batch: access %d: %v", k, err)
	}
	if n := dialer.writes.Load() - before; n != 1 {
		t.Errorf("the run went out in %d writes, want 1", n)
	}

	single := newMem()
	_, addr2 := startServer(t, single)
	c2 := dial(t, addr2)
	want := mixedRun()
	for i, a := range want {
		var err error
		if a.Write {
			err = c2.Write(a.Addr, a.Words)
		} else {
			err = c2.Read(a.Addr, a.Words)
		}
		if err != nil {
			t.Fatalf("access %d one by one: %v", i, err)
		}
	}
	for i := range run {
		if fmt.Sprint(run[i].Words) != fmt.Sprint(want[i].Words) {
			t.Errorf("access %d: batch %v, one by one %v", i, run[i].Words, want[i].Words)
		}
	}
	if got := run[2].Words; fmt.Sprint(got) != "[1 2 3]" {
		t.Errorf("read after merged writes: %v, want [1 2 3]", got)
	}
	_, writes := piped.calls()
	// {1,2}+{3} merged; {7}; {8,9} and {10} on either side of a Window end.
	if fmt.Sprint(writes) != "[3 1 2 1]" {
		t.Errorf("server saw writes of %v words, want [3 1 2 1]", writes)
	}
}

func TestMergeStopsAtTheLimits(t *testing.T) {
	mem := newMem()
	_, addr := startServer(t, mem)
	c := dial(t, addr)
	// Writes that run past the end of a Window: the merge never makes a
	// request cross it, and goes on merging after it.
	const w = Window / 4
	first := randomWords(1, w-2)
	run := []board.Access{
		{Addr: base, Write: true, Words: first},
		{Addr: base + 4*(w-2), Write: true, Words: []uint32{1, 2, 3}},
		{Addr: base + 4*(w+1), Write: true, Words: []uint32{4}},
		{Addr: base + 0x40, Write: true, Words: []uint32{5}}, // not adjacent
	}
	if k, err := c.Batch(run); err != nil {
		t.Fatalf("Batch: access %d: %v", k, err)
	}
	_, writes := mem.calls()
	if want := fmt.Sprint([]int{w, 2, 1}); fmt.Sprint(writes) != want {
		t.Errorf("server saw writes of %v words, want %s", writes, want)
	}
	got := make([]uint32, 3)
	if err := c.Read(base+4*(w-1), got); err != nil || fmt.Sprint(got) != "[2 3 4]" {
		t.Errorf("words around the Window end: %v %v, want [2 3 4]", got, err)
	}
}

// failAt fails every access to one address: the server closes the
// connection at that request, as the original does on an error.
type failAt struct {
	*memFPGA
	addr uint32
}

func (f *failAt) Read(addr uint32, dst []uint32) error {
	if addr == f.addr {
		return rperr.Errorf(rperr.EInternal, "bus error at %#x", addr)
	}
	return f.memFPGA.Read(addr, dst)
}

func (f *failAt) Write(addr uint32, src []uint32) error {
	if addr == f.addr {
		return rperr.Errorf(rperr.EInternal, "bus error at %#x", addr)
	}
	return f.memFPGA.Write(addr, src)
}

func TestBatchFailureNamesTheAccess(t *testing.T) {
	f := &failAt{memFPGA: newMem(), addr: base + 0x300}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, _ := NewServer(f)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	c := dial(t, ln.Addr().String())
	for _, failing := range []board.Access{
		{Addr: f.addr, Words: make([]uint32, 1)},
		{Addr: f.addr, Write: true, Words: []uint32{1}},
	} {
		run := []board.Access{
			{Addr: base, Write: true, Words: []uint32{1}},
			{Addr: base + 4, Write: true, Words: []uint32{2}},
			{Addr: base, Words: make([]uint32, 2)},
			{Addr: base + 0x10, Write: true, Words: []uint32{3}},
			{Addr: base + 0x10, Words: make([]uint32, 1)},
			{Addr: base + 0x20, Words: make([]uint32, 4)},
			failing,
			{Addr: base + 0x30, Write: true, Words: []uint32{4}},
		}
		k, err := c.Batch(run)
		if k != 6 || rperr.ErrorCode(err) != rperr.EUnavailable {
			t.Fatalf("failing %+v: access %d, %v; want 6, %s", failing, k, err, rperr.EUnavailable)
		}
		if fmt.Sprint(run[2].Words) != "[1 2]" {
			t.Errorf("the accesses before the failure were answered: %v", run[2].Words)
		}
		// The next run redials and succeeds.
		got := make([]uint32, 1)
		if _, err := c.Batch([]board.Access{{Addr: base + 0x10, Words: got}}); err != nil || got[0] != 3 {
			t.Fatalf("run after the failure: %v %v, want [3] <nil>", got, err)
		}
	}
}

// A run larger than the socket buffers in both directions (many reads
// of a long buffer, then many writes) completes: the requests are written
// while the answers are read. Both ends have small socket buffers, so
// a client that wrote every request before reading an answer would block
// for ever.
func TestBatchLargerThanSocketBuffers(t *testing.T) {
	small := func(_, _ string, rc syscall.RawConn) error {
		var err error
		rc.Control(func(fd uintptr) {
			for _, opt := range []int{syscall.SO_RCVBUF, syscall.SO_SNDBUF} {
				if e := syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, opt, 16<<10); e != nil {
					err = e
				}
			}
		})
		return err
	}
	lc := net.ListenConfig{Control: small}
	ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mem := newMem()
	serveOn(t, ln, mem)
	nd := net.Dialer{Control: small}
	c := dial(t, ln.Addr().String(), WithDialFunc(nd.DialContext))
	var run []board.Access
	words := randomWords(1, 16384)
	dst := make([]uint32, 16384)
	for i := range 16 { // 1 MiB each way
		run = append(run, board.Access{Addr: base + 0x10000, Words: dst})
		run = append(run, board.Access{Addr: base + 0x100000 + uint32(i)*0x10000, Write: true, Words: words})
	}
	done := make(chan error, 1)
	go func() { _, err := c.Batch(run); done <- err }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("a large pipelined run deadlocks")
	}
}

// A Read or Write allocates nothing once its sizes were seen (the
// buffers are the connection's).
func TestCallsDoNotAllocate(t *testing.T) {
	_, addr := startServer(t, newMem())
	c := dial(t, addr)
	dst, src := make([]uint32, 16384), []uint32{1, 2, 3}
	if err := c.Read(base, dst); err != nil {
		t.Fatal(err)
	}
	if err := c.Write(base, src); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(50, func() { c.Read(base, dst) }); n != 0 {
		t.Errorf("Read allocates %v times", n)
	}
	if n := testing.AllocsPerRun(50, func() { c.Write(base, src) }); n != 0 {
		t.Errorf("Write allocates %v times", n)
	}
}

// Timed accesses leave when their time comes, in as many socket writes as
// there are timed accesses plus one; a timed write is not merged into the
// write before it; and an answer's deadline counts from when its request
// went out, so a run much longer than the timeout still succeeds.
func TestTimedBatch(t *testing.T) {
	dialer := &countingDial{}
	mem := newMem()
	_, addr := startServer(t, mem)
	// A timeout a loaded machine's round trip stays well inside, and
	// timed steps longer than it.
	c := dial(t, addr, WithDialFunc(dialer.dial), WithTimeout(300*time.Millisecond))
	const step = 400 * time.Millisecond // longer than the timeout
	got := make([]uint32, 2)
	run := []board.Access{
		{Addr: base + 0x100, Write: true, Words: []uint32{1}},
		{Addr: base + 0x104, Write: true, Words: []uint32{2}, After: step}, // adjacent, yet sent on its own
		{Addr: base + 0x100, Words: got, After: step},
		{Addr: base + 0x108, Write: true, Words: []uint32{3}, After: step},
	}
	before := dialer.writes.Load()
	t0 := time.Now()
	if k, err := c.Batch(run); err != nil {
		t.Fatalf("access %d: %v", k, err)
	}
	if d := time.Since(t0); d < 3*step {
		t.Errorf("the run took %v, its timed accesses %v", d, 3*step)
	}
	if n := dialer.writes.Load() - before; n != 4 {
		t.Errorf("%d socket writes, want 4 (one per timed access and the first)", n)
	}
	if got[0] != 1 || got[1] != 2 {
		t.Errorf("read back %v, want [1 2]", got)
	}
}
