package monitor

import (
	"sync"

	"github.com/rpbus/rpbus/board"
	"github.com/rpbus/rpbus/rperr"
)

const pageWords = 1024

// memFPGA is a sparse register memory: 4 KiB pages allocated on first
// write, zero elsewhere. Unaligned addresses are an error, and fail makes
// every call fail, so tests can see how errors travel.
type memFPGA struct {
	mu    sync.Mutex
	pages map[uint32]*[pageWords]uint32
	fail  bool
	boom  uint32 // an address whose access panics, as a bug would (0: none)
	reads []int  // words per Read call
	wrs   []int  // words per Write call
}

var _ board.FPGA = (*memFPGA)(nil)

func newMem() *memFPGA { return &memFPGA{pages: make(map[uint32]*[pageWords]uint32)} }

func (m *memFPGA) check(addr uint32) error {
	if m.fail {
		return rperr.Errorf(rperr.EInternal, "mem: failing on purpose")
	}
	if m.boom != 0 && addr == m.boom {
		panic("mem: a bug on purpose")
	}
	if addr%4 != 0 {
		return rperr.Invalidf("mem: unaligned address %#x", addr)
	}
	return nil
}

func (m *memFPGA) Read(addr uint32, dst []uint32) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(addr); err != nil {
		return err
	}
	m.reads = append(m.reads, len(dst))
	w := addr / 4
	for len(dst) > 0 {
		p, off := w/pageWords, w%pageWords
		k := min(len(dst), int(pageWords-off))
		if pg := m.pages[p]; pg != nil {
			copy(dst[:k], pg[off:])
		} else {
			clear(dst[:k])
		}
		dst, w = dst[k:], w+uint32(k)
	}
	return nil
}

func (m *memFPGA) Write(addr uint32, src []uint32) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(addr); err != nil {
		return err
	}
	m.wrs = append(m.wrs, len(src))
	w := addr / 4
	for len(src) > 0 {
		p, off := w/pageWords, w%pageWords
		k := min(len(src), int(pageWords-off))
		pg := m.pages[p]
		if pg == nil {
			pg = new([pageWords]uint32)
			m.pages[p] = pg
		}
		copy(pg[off:], src[:k])
		src, w = src[k:], w+uint32(k)
	}
	return nil
}

func (m *memFPGA) Close() error { return nil }

func (m *memFPGA) setFail(v bool) {
	m.mu.Lock()
	m.fail = v
	m.mu.Unlock()
}

// calls returns copies of the per-call word counts.
func (m *memFPGA) calls() (reads, writes []int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]int(nil), m.reads...), append([]int(nil), m.wrs...)
}
