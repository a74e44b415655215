package sim

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rpbus/rpbus/regmap"
)

// TestBusClaims: long accesses queue; a short one goes at once and pushes
// the long ones back by its time; shorts queue among themselves.
func TestBusClaims(t *testing.T) {
	u := newBus(DefaultConfig())
	const us = int64(time.Microsecond)
	long1 := u.claim(0, 3000*us)
	long2 := u.claim(1000*us, 3000*us) // behind long1
	short1 := u.claim(1000*us, 1*us)   // alongside long1
	short2 := u.claim(1000*us, 2*us)   // behind short1
	long3 := u.claim(7000*us, 3000*us) // the bus is free again
	short3 := u.claim(8000*us, 1*us)   // alongside long3: pushes it
	cases := []struct {
		name       string
		slot       *busSlot
		start, end int64
	}{
		{"long1", long1, 0, 3003 * us},
		{"long2", long2, 3003 * us, 6003 * us}, // waiting its turn: pushed whole
		{"short1", short1, 1000 * us, 1001 * us},
		{"short2", short2, 1001 * us, 1003 * us},
		{"long3", long3, 7000 * us, 10001 * us},
		{"short3", short3, 8000 * us, 8001 * us},
	}
	for _, c := range cases {
		if c.slot.start.Load() != c.start || c.slot.end.Load() != c.end {
			t.Errorf("%s: [%d, %d) us, want [%d, %d)", c.name, c.slot.start.Load()/us, c.slot.end.Load()/us, c.start/us, c.end/us)
		}
	}
	for _, s := range []*busSlot{long1, long2, long3} {
		u.release(s)
	}
	if len(u.long) != 0 {
		t.Errorf("%d long accesses left after release", len(u.long))
	}
}

// TestBufferReadTime: reading or writing n words takes at least n times
// the configured bus time, however the words are read, and two buffer
// reads at once take at least the sum (the bus carries one word at a
// time).
func TestBufferReadTime(t *testing.T) {
	b := newBoard(t)
	cfg := b.Config()
	n := bufLen
	minRead := time.Duration(float64(n) * cfg.BusRead * 1e9)
	minWrite := time.Duration(float64(regmap.ASGDataLen) * cfg.BusWrite * 1e9)
	words := make([]uint32, n)
	halves := make([]uint16, n)
	for _, c := range []struct {
		name string
		min  time.Duration
		f    func() error
	}{
		{"Read", minRead, func() error { return b.Read(regmap.ScopeBase+regmap.ScopeCh1Data, words) }},
		{"ReadHalves", minRead, func() error { return b.ReadHalves(regmap.ScopeBase+regmap.ScopeCh2Data, halves) }},
		{"Write", minWrite, func() error { return b.Write(regmap.ASGBase+regmap.ASGData(0), words[:regmap.ASGDataLen]) }},
	} {
		s0 := b.BusStats()
		t0 := time.Now()
		if err := c.f(); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(t0); d < c.min {
			t.Errorf("%s of %d words took %v, less than the bus's %v", c.name, n, d, c.min)
		}
		if s := b.BusStats().Sub(s0); s.Time != c.min || s.Reads+s.Writes != uint64(n) {
			t.Errorf("%s: bus counted %+v, want %d words in %v", c.name, s, n, c.min)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	t0 := time.Now()
	for ch := range 2 {
		wg.Go(func() {
			errs <- b.ReadHalves(regmap.ScopeBase+regmap.ScopeCh1Data+uint32(ch)*0x10000, make([]uint16, n))
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(t0); d < 2*minRead {
		t.Errorf("two concurrent reads of %d words took %v, less than twice the bus's %v", n, d, minRead)
	}
}

// TestPartsComeAsTheBusCarriesThem: a read in parts is one access of the
// whole read's bus time; each part is handed over no sooner than the bus
// has carried it, and the parts are the words a plain read gets.
func TestPartsComeAsTheBusCarriesThem(t *testing.T) {
	b := newBoard(t)
	const n = 2 * bufLen
	cuts := []int{4096, 8192, 20000, 31744}
	addr := regmap.ScopeBase + regmap.ScopeCh1Data
	per := time.Duration(b.Config().BusRead * 1e9)
	want := make([]uint16, n)
	if err := b.ReadHalves(addr, want); err != nil {
		t.Fatal(err)
	}
	got := make([]uint16, n)
	var calls []int
	s0 := b.BusStats()
	t0 := time.Now()
	err := b.ReadHalvesParts(addr, got, cuts, func(k int) error {
		if d := time.Since(t0); d < time.Duration(k)*per {
			t.Errorf("words ..%d handed over after %v, before the bus carried them (%v)", k, d, time.Duration(k)*per)
		}
		if !slices.Equal(got[:k], want[:k]) {
			t.Errorf("words ..%d handed over differ from a plain read", k)
		}
		calls = append(calls, k)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(t0); d < n*per {
		t.Errorf("the read took %v, less than the bus's %v", d, n*per)
	}
	if s := b.BusStats().Sub(s0); s.Reads != n || s.Time != n*per {
		t.Errorf("bus counted %+v, want %d words in %v", s, n, n*per)
	}
	if !slices.Equal(calls, cuts) || !slices.Equal(got, want) {
		t.Errorf("parts handed over at %v; words equal: %v", calls, slices.Equal(got, want))
	}
}

// Without bus time (simulator only) every part is handed over at once,
// in order.
func TestPartsWithoutBusTime(t *testing.T) {
	cfg := DefaultConfig()
	cfg.BusRead, cfg.BusWrite = 0, 0
	b, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var calls []int
	cuts := []int{100, 200}
	if err := b.ReadHalvesParts(regmap.ScopeBase+regmap.ScopeCh1Data, make([]uint16, 300), cuts, func(n int) error {
		calls = append(calls, n)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(calls, cuts) {
		t.Errorf("handed over at %v, want %v", calls, cuts)
	}
}
