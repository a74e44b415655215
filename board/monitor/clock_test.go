package monitor

import (
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rpbus/rpbus/board"
	"github.com/rpbus/rpbus/internal/lanproxy"
	"github.com/rpbus/rpbus/regmap"
)

// Readings taken over paths of random length make due exact: a request
// sent at due(b, d) that travels as quickly as the quickest reading of the
// window arrives d past board time b, give or take the drift allowance
// (a slower one arrives later by how much slower it is, never sooner).
func TestBoardClockDue(t *testing.T) {
	const hz = 125e6
	rng := rand.New(rand.NewPCG(1, 2))
	c := newBoardClock(clockedAddr, hz)
	host0 := time.Unix(1000, 0)
	offset := 3 * time.Second    // host time of board count 0
	count0 := uint32(0xFFFF0000) // the 32-bit count wraps during the test
	var fwds []time.Duration
	at := host0
	for k := range 500 {
		at = at.Add(time.Duration(1000+rng.IntN(500)) * time.Microsecond)
		fwd := 100*time.Microsecond + time.Duration(rng.ExpFloat64()*float64(50*time.Microsecond))
		fwds = append(fwds, fwd)
		quickest := slices.Min(fwds[max(len(fwds)-clockWindow, 0):])
		performed := at.Add(fwd) // host time the board read its clock
		count := count0 + uint32(performed.Sub(host0.Add(-offset)).Seconds()*hz)
		b := c.at(count, at)
		c.sample(b, at)
		d := 800 * time.Microsecond
		due, ok := c.due(b, d, performed)
		if ok != (k+1 >= clockWarm) {
			t.Fatalf("reading %d: due given %v after %d samples, want it from %d on", k, ok, k+1, clockWarm)
		}
		if !ok {
			continue
		}
		arrives := due.Add(quickest)
		off := arrives.Sub(performed.Add(d))
		if off < -time.Microsecond || off > 10*time.Microsecond {
			t.Fatalf("reading %d: a request sent at due as quick as the quickest reading arrives %v from d past the reading, want 0 to 10 us", k, off)
		}
	}
}

// After a pause longer than the count can bridge, the estimate starts
// again instead of trusting a count that may have wrapped.
func TestBoardClockResetsAfterGap(t *testing.T) {
	c := newBoardClock(clockedAddr, 125e6)
	t0 := time.Unix(1000, 0)
	c.sample(c.at(100, t0), t0)
	if b := c.at(100+125000, t0.Add(time.Millisecond)); b != 1e6 {
		t.Fatalf("board time %d ns a millisecond on, want 1e6", b)
	}
	if b := c.at(5, t0.Add(time.Minute)); b != 0 || c.n != 0 {
		t.Fatalf("after a minute's pause: board time %d with %d samples, want 0 and none", b, c.n)
	}
}

// clockedFPGA is a register memory with PyRPL's clock word that holds up
// some writes before performing them, as a server that wakes late would,
// and records when the board performed each write and read.
type clockedFPGA struct {
	mu     sync.Mutex
	start  time.Time
	regs   map[uint32]uint32
	rng    *rand.Rand
	hold   time.Duration
	events []clockedEvent
}

type clockedEvent struct {
	write bool
	at    time.Duration // since start
}

const clockedAddr = regmap.ScopeBase + regmap.ScopeTimeLow

func (f *clockedFPGA) Read(addr uint32, dst []uint32) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Since(f.start)
	for i := range dst {
		a := addr + 4*uint32(i)
		if a == clockedAddr {
			dst[i] = uint32(now.Seconds() * regmap.Clock)
			continue
		}
		dst[i] = f.regs[a]
		f.events = append(f.events, clockedEvent{at: now})
	}
	return nil
}

func (f *clockedFPGA) Write(addr uint32, src []uint32) error {
	f.mu.Lock()
	hold := time.Duration(0)
	if f.rng.IntN(3) == 0 {
		hold = time.Duration(f.rng.Int64N(int64(f.hold)))
	}
	f.mu.Unlock()
	time.Sleep(hold) // the write reaches the board late
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, v := range src {
		f.regs[addr+4*uint32(i)] = v
	}
	f.events = append(f.events, clockedEvent{write: true, at: time.Since(f.start)})
	return nil
}

// A timed read after a write reaches the board no sooner than its After
// past when the board performed the write, however late the write came,
// when the client times by the board's clock.
func TestTimedReadsFollowTheBoardClock(t *testing.T) {
	f := &clockedFPGA{start: time.Now(), regs: map[uint32]uint32{}, rng: rand.New(rand.NewPCG(3, 4)), hold: 2 * time.Millisecond}
	_, addr := startServer(t, f)
	c := dial(t, addr, PyRPLClock())
	const d = 3 * time.Millisecond
	const points = 40
	var run []board.Access
	got := make([]uint32, points)
	for k := range points {
		run = append(run,
			board.Access{Addr: base, Write: true, Words: []uint32{uint32(k)}},
			board.Access{Addr: base, Words: got[k : k+1], After: d})
	}
	if k, err := c.Batch(run); err != nil {
		t.Fatalf("access %d: %v", k, err)
	}
	for k := range points {
		if got[k] != uint32(k) {
			t.Fatalf("point %d read %d", k, got[k])
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.events) != 2*points {
		t.Fatalf("%d accesses performed, want %d", len(f.events), 2*points)
	}
	// The sleeps aim at their instant and may wake a few tens of
	// microseconds early; a read that followed the sending clock would be
	// early by the write's hold-up, up to 2 ms.
	const slack = 150 * time.Microsecond
	for k := range points {
		w, r := f.events[2*k], f.events[2*k+1]
		if gap := r.at - w.at; gap < d-slack {
			t.Errorf("point %d: read %v after its write was performed, want >= %v", k, gap, d)
		}
	}
}

func (f *clockedFPGA) Close() error { return nil }

var _ board.FPGA = (*clockedFPGA)(nil)

// Steps timed shorter than a round trip, over a link slower than them,
// go by the board clock's forecast without waiting for each answer, in
// one run and in the runs after it (which start with the samples of the
// first): every run ends, and reads what was written.
func TestShortTimedStepsAcrossRuns(t *testing.T) {
	f := &clockedFPGA{start: time.Now(), regs: map[uint32]uint32{}, rng: rand.New(rand.NewPCG(5, 6)), hold: time.Microsecond}
	_, addr := startServer(t, f)
	lan, err := lanproxy.Listen("127.0.0.1:0", lanproxy.Config{Target: addr, Delay: 300 * time.Microsecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lan.Close() })
	c := dial(t, lan.Addr(), PyRPLClock())
	const steps = 20
	for run := range 4 {
		var accesses []board.Access
		got := make([]uint32, steps)
		for k := range steps {
			accesses = append(accesses,
				board.Access{Addr: base, Write: true, Words: []uint32{uint32(100*run + k)}},
				board.Access{Addr: base, Words: got[k : k+1], After: 100 * time.Microsecond})
		}
		done := make(chan error, 1)
		go func() {
			_, err := c.Batch(accesses)
			done <- err
		}()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("run %d: %v", run, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("run %d of %d timed steps of 100 us did not end in 10 s", run, steps)
		}
		for k := range steps {
			if got[k] != uint32(100*run+k) {
				t.Fatalf("run %d step %d read %d", run, k, got[k])
			}
		}
	}
}
