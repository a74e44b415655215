package hwbridge_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/board"
	"github.com/rpbus/rpbus/board/monitor"
	"github.com/rpbus/rpbus/internal/testrig"
	"github.com/rpbus/rpbus/regmap"
	"github.com/rpbus/rpbus/rperr"
)

// opByOp hides the backend's Batch: the bridge then sends one op at a
// time, as it did before pipelining.
type opByOp struct{ board.FPGA }

// registerTxn writes and reads back registers of several modules, writes
// a whole generator table (which the bitstream cannot read back), reads a
// scope buffer, and has waits that hold at once between the runs.
func registerTxn() []api.Op {
	r := rand.New(rand.NewPCG(5, 6))
	table := make([]uint32, regmap.ScopeBufferLen)
	for i := range table {
		table[i] = r.Uint32() & 0x3fff
	}
	sc, iq := regmap.ScopeBase, regmap.Slot(5)
	asgTable := regmap.ASGBase + regmap.ASGDataA
	return []api.Op{
		api.Write(sc+regmap.ScopeThreshold, 123),
		api.Write(sc+regmap.ScopeDelay, 4000),
		api.Write(sc+regmap.ScopeDecimation, 64),
		api.Write(sc+regmap.ScopeHysteresis, 9),
		api.Write(iq+regmap.IQFrequency, 0x1234567),
		api.Write(asgTable, table...),
		api.Read(sc+regmap.ScopeThreshold, 1),
		api.Wait(sc+regmap.ScopeControl, regmap.ScopeArm, 0, 1),
		api.Read(sc+regmap.ScopeDelay, 2), // delay, decimation
		api.Read(sc+regmap.ScopeHysteresis, 1),
		api.Read(iq+regmap.IQFrequency, 1),
		api.Read(sc+regmap.ScopeCh1Data, len(table)), // the last trace, unchanged while disarmed
		api.Read16(sc+regmap.ScopeCh1Data, len(table)),
		api.WaitAfter(sc+regmap.ScopeControl, regmap.ScopeArm, 0, 1e-4, 1),
		api.Read(regmap.HKBase+regmap.HKID, 1),
	}
}

func TestPipelinedTxnMatchesOpByOp(t *testing.T) {
	b, _ := newSim(t)
	addr := testrig.ServeMonitor(t, b)
	piped := start(t, testrig.DialMonitor(t, addr), "monitor")
	single := start(t, opByOp{testrig.DialMonitor(t, addr)}, "monitor")
	ctx := ctxT(t)
	got, err := piped.board.HW.Txn(ctx, registerTxn()...)
	if err != nil {
		t.Fatalf("pipelined: %v", err)
	}
	want, err := single.board.HW.Txn(ctx, registerTxn()...)
	if err != nil {
		t.Fatalf("one op at a time: %v", err)
	}
	if len(got.Results) != len(want.Results) {
		t.Fatalf("%d results, want %d", len(got.Results), len(want.Results))
	}
	for i := range got.Results {
		g, w := got.Results[i], want.Results[i]
		if !slices.Equal(g.Words, w.Words) || !slices.Equal(g.Halves, w.Halves) {
			t.Errorf("ops[%d]: pipelined %v/%v, one op at a time %v/%v", i, head(g.Words), head(g.Halves), head(w.Words), head(w.Halves))
		}
	}
	if w := got.Results[8].Words; fmt.Sprint(w) != "[4000 64]" {
		t.Errorf("delay and decimation read back %v, want [4000 64]", w)
	}
	for i, w := range got.Results[11].Words {
		if uint16(w) != got.Results[12].Halves[i] {
			t.Fatalf("buffer word %d: %#x, its 16-bit read %#x", i, w, got.Results[12].Halves[i])
		}
	}
}

func head[T any](s []T) []T { return s[:min(len(s), 4)] }

// faulty fails every access at addr, as a bus error would: the server
// closes the connection at that request (the protocol has no error
// frame).
type faulty struct {
	board.FPGA
	addr uint32
}

func (f faulty) Read(addr uint32, dst []uint32) error {
	if addr == f.addr {
		return errors.New("bus error")
	}
	return f.FPGA.Read(addr, dst)
}

func (f faulty) Write(addr uint32, src []uint32) error {
	if addr == f.addr {
		return errors.New("bus error")
	}
	return f.FPGA.Write(addr, src)
}

func TestFailedOpNamesItsIndex(t *testing.T) {
	b, _ := newSim(t)
	sc := regmap.ScopeBase
	bad := sc + regmap.ScopeHysteresis
	e := start(t, testrig.DialMonitor(t, testrig.ServeMonitor(t, faulty{b, bad}), monitor.WithBackoff(time.Millisecond, time.Millisecond)), "monitor")
	ctx := ctxT(t)
	for _, seventh := range []api.Op{api.Read(bad, 1), api.Write(bad, 5)} {
		_, err := e.board.HW.Txn(ctx,
			api.Write(sc+regmap.ScopeThreshold, 1),
			api.Write(sc+regmap.ScopeDelay, 2),
			api.Read(sc+regmap.ScopeThreshold, 1),
			api.Write(sc+regmap.ScopeDecimation, 8),
			api.Read(sc+regmap.ScopeDelay, 2),
			api.Read(regmap.HKBase+regmap.HKID, 1),
			seventh,
			api.Write(sc+regmap.ScopeThreshold, 3),
		)
		if rperr.ErrorCode(err) != rperr.EUnavailable || !strings.Contains(err.Error(), "ops[6]") {
			t.Fatalf("7th op %s failing: %v; want %s naming ops[6]", seventh.Op, err, rperr.EUnavailable)
		}
		r, err := e.board.HW.Txn(ctx, api.Read(sc+regmap.ScopeDelay, 2))
		if err != nil {
			t.Fatalf("the next transaction: %v", err)
		}
		if fmt.Sprint(r.Results[0].Words) != "[2 8]" {
			t.Errorf("the ops before the failure took effect: delay, decimation %v, want [2 8]", r.Results[0].Words)
		}
	}
}

// cutter relays connections to target; once armed with n, it closes the
// connection in use after the server has sent n more bytes on it.
type cutter struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	left   int64 // bytes until the cut; < 0: not armed
}

func newCutter(tb testing.TB, target string) *cutter {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	c := &cutter{ln: ln, target: target, left: -1}
	var wg sync.WaitGroup
	tb.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			a, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { c.relay(a) })
		}
	})
	return c
}

func (c *cutter) arm(n int64) {
	c.mu.Lock()
	c.left = n
	c.mu.Unlock()
}

// budget returns how many of k bytes may pass, and whether to cut after.
func (c *cutter) budget(k int) (int, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.left < 0 {
		return k, false
	}
	pass := int(min(int64(k), c.left))
	c.left -= int64(pass)
	if c.left == 0 {
		c.left = -1
		return pass, true
	}
	return pass, false
}

func (c *cutter) relay(a net.Conn) {
	defer a.Close()
	b, err := net.Dial("tcp", c.target)
	if err != nil {
		return
	}
	defer b.Close()
	go func() { io.Copy(b, a); b.Close() }()
	buf := make([]byte, 4096)
	for {
		k, err := b.Read(buf)
		pass, cut := c.budget(k)
		if _, werr := a.Write(buf[:pass]); werr != nil || err != nil || cut {
			return
		}
	}
}

// A connection that ends in the middle of a transaction's answers fails
// it with 503 at once; the next transaction redials and succeeds.
func TestMidStreamDisconnectAnswers503(t *testing.T) {
	b, _ := newSim(t)
	addr := testrig.ServeMonitor(t, b)
	sc := regmap.ScopeBase
	buf := regmap.ScopeBufferLen
	// The answers: 8-byte echoes of the two writes (merged into one
	// request: decimation then average are not adjacent, so two), then
	// each read's echo and words.
	txn := []api.Op{
		api.Write(sc+regmap.ScopeDecimation, 4),
		api.Write(sc+regmap.ScopeAverage, 1),
		api.Read(sc+regmap.ScopeCh1Data, buf),
		api.Read16(sc+regmap.ScopeCh2Data, buf),
	}
	cut := newCutter(t, addr)
	e := start(t, testrig.DialMonitor(t, cut.ln.Addr().String(), monitor.WithBackoff(time.Millisecond, time.Millisecond)), "monitor")
	for _, n := range []int64{0, 3, 8, 12, 16 + 8 + 1000, 16 + 8 + 4*int64(buf) + 4, 16 + 8 + 4*int64(buf) + 8 + 4*int64(buf) - 1} {
		cut.arm(n)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := e.board.HW.Txn(ctx, txn...)
		if rperr.ErrorCode(err) != rperr.EUnavailable || ctx.Err() != nil {
			t.Fatalf("cut after %d bytes: %v, want %s", n, err, rperr.EUnavailable)
		}
		r, err := e.board.HW.Txn(ctx, txn...)
		cancel()
		if err != nil || len(r.Results[3].Halves) != buf {
			t.Fatalf("cut after %d bytes: the next transaction: %v", n, err)
		}
	}
}

// Timed ops (after) leave the bridge when their time comes, on every
// backend and whether the backend pipelines or not: a read of an NA
// point's sums sent right behind the frequency write that starts the
// point finds it busy, one timed the point's length after the write finds
// it done, and the transaction lasts at least that long.
func TestTimedOpsWaitTheirTime(t *testing.T) {
	b, _ := newSim(t)
	addr := testrig.ServeMonitor(t, b)
	const avg, sleep = 50000, 25000 // 0.6 ms at 125 MHz
	d := float64(avg+sleep) / regmap.Clock
	iq := regmap.Slot(regmap.SlotIQ0 + 1)
	ops := []api.Op{
		api.Write(iq+regmap.IQNAAverages, avg),
		api.Write(iq+regmap.IQNASleepCycles, sleep),
		api.Write(iq+regmap.IQFrequency, 0x1000000),
		api.Read(iq+regmap.IQNAISumLow, 4),
		api.Delayed(d+50e-6, api.Read(iq+regmap.IQNAISumLow, 4)),
	}
	for _, c := range []struct {
		name string
		e    *env
	}{
		{"sim", start(t, b, "sim")},
		{"monitor", start(t, testrig.DialMonitor(t, addr), "monitor")},
		{"monitor op by op", start(t, opByOp{testrig.DialMonitor(t, addr)}, "monitor")},
	} {
		r, err := c.e.board.HW.Txn(ctxT(t), ops...)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if _, _, busy := regmap.NASums([4]uint32(r.Results[3].Words)); !busy {
			t.Errorf("%s: the point is over right after its start", c.name)
		}
		if _, _, busy := regmap.NASums([4]uint32(r.Results[4].Words)); busy {
			t.Errorf("%s: the point is still busy %g s after its start", c.name, d+50e-6)
		}
		if r.Elapsed < d {
			t.Errorf("%s: the transaction took %g s, its timed read alone %g s", c.name, r.Elapsed, d)
		}
	}
}

// A long timed op can be cancelled: the bridge sleeps to it itself,
// where hw.cancel reaches it, rather than inside a backend's run.
func TestLongTimedOpIsCancelled(t *testing.T) {
	for name, mk := range map[string]func(testing.TB) *env{"sim": startSim, "monitor": startMonitor} {
		t.Run(name, func(t *testing.T) {
			e := mk(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			id := regmap.HKBase + regmap.HKID
			p, err := e.board.HW.Start(ctx, api.Txn{Ops: []api.Op{api.Read(id, 1), api.Delayed(30, api.Read(id, 1))}})
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(200 * time.Millisecond)
			t0 := time.Now()
			cancel() // Wait sends hw.cancel and waits for the bridge's answer
			_, err = p.Wait()
			if rperr.ErrorCode(err) != rperr.ECancelled {
				t.Errorf("got %v, want the bridge's 499", err)
			}
			if d := time.Since(t0); d > 2*time.Second {
				t.Errorf("the bridge answered %v after the cancel", d)
			}
		})
	}
}

// A bad after is a 400 naming it.
func TestBadAfterIs400(t *testing.T) {
	e := startSim(t)
	id := regmap.HKBase + regmap.HKID
	for _, c := range []struct {
		op   api.Op
		want string
	}{
		{api.Delayed(-1e-3, api.Read(id, 1)), "ops[0].after: -0.001 s is outside 0..3600 s"},
		{api.Delayed(4000, api.Write(id, 1)), "ops[0].after: 4000 s is outside 0..3600 s"},
		{api.Delayed(1e-3, api.Wait(id, 1, 1, 0.1)), "ops[0].after: a wait takes no after"},
	} {
		_, err := e.board.HW.Txn(ctxT(t), c.op)
		if rperr.ErrorCode(err) != rperr.EInvalid || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want a 400 with %q", c.op, err, c.want)
		}
	}
}
