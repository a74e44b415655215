package sim

import (
	"sync"
	"sync/atomic"
	"time"

	"gonum.org/v1/gonum/dsp/fourier"

	"github.com/rpbus/rpbus/board"
	"github.com/rpbus/rpbus/regmap"
	"github.com/rpbus/rpbus/rperr"
)

var (
	_ board.FPGA   = (*Board)(nil)
	_ board.Waiter = (*Board)(nil)
)

func newFFT(n int) *fourier.FFT { return fourier.NewFFT(n) }

// Board is a simulated Red Pitaya with the PyRPL bitstream. Board time is
// the time since New in 125 MHz cycles. It is safe for concurrent use.
type Board struct {
	mu     sync.Mutex
	cfg    Config
	start  time.Time
	closed bool
	ver    uint64 // bumped by every write: invalidates cached models

	hk    hkState
	scope scopeState
	asg   [2]asgState
	dsp   dspState
	iq    [3]iqState
	pid   [3]pidState
	trig  trigState
	iir   iirState
	ams   [4]uint32
	slow  slowState

	models     map[int]model
	modelsVer  uint64
	modelBusy  [iqDirectKey + 3]bool   // signals whose model is being made (loop guard)
	modelCuts  int                     // loops opened so far
	modelLoop  [iqDirectKey + 3]bool   // a loop through the signal was opened (model)
	modelProbe [iqDirectKey + 3]*model // the probe a loop's second evaluation meets (closeLoop)
	modelDepth int
	noises     map[int]*stream // noise streams by signal (noisepath.go)
	noisesVer  uint64
	psdBusy    map[int]bool // noise densities being computed (loop guard)
	noiseBuf   []float64    // addNoisePath's scratch
	synths     map[synthKey]*synthState
	synthsVer  uint64
	ffts       map[int]*fourier.FFT
	gen        [2]genScratch // one per generating goroutine (scope channels are made at once)
	help       helper
	tmp16      []uint16
	tmpTrig    []int64
	pfdBuf     []uint16   // the PFD's input samples (pfd.go)
	pfdGen     genScratch // and their scratch

	bus   bus
	nowFn func() int64 // board time
	slack atomic.Int64 // learned oversleep of preciseSleep [ns], see noteOversleep
}

// New returns a board in the bitstream's reset state.
func New(cfg Config) (*Board, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	// The noise tapes take about 20 ms to build, once per process: built
	// on the first noisy sample, they stalled the first acquisition, which
	// a board does not do (its trigger came that much late).
	tapes()
	b := &Board{cfg: cfg, start: time.Now(), ffts: map[int]*fourier.FFT{}, models: map[int]model{}, psdBusy: map[int]bool{}}
	b.ffts[regmap.ASGDataLen] = fourier.NewFFT(regmap.ASGDataLen)
	b.nowFn = func() int64 { return time.Since(b.start).Nanoseconds() / 8 }
	b.slack.Store(int64(50 * time.Microsecond)) // until the wake-up lateness is learned
	b.bus = newBus(cfg)
	b.slowEval(0)
	s := &b.scope
	s.dly, s.dec, s.hyst, s.deb = regmap.ScopeDefaultDelay, regmap.ScopeDefaultDecimation, regmap.ScopeDefaultHysteresis, regmap.ScopeDefaultDebounce
	s.swAt = -1
	for ch := range b.asg {
		a := &b.asg[ch]
		a.ch, a.amp, a.size = ch, 0x2000, regmap.ASGDefaultWrap
	}
	for n := range b.dsp.inputSel {
		b.dsp.inputSel[n] = regmap.SlotIn1
	}
	b.dsp.inputSel[regmap.SlotScope2] = regmap.SlotIn2
	b.dsp.inputSel[regmap.SlotIn1+2] = regmap.SlotOff // pwm inputs default off
	b.dsp.inputSel[regmap.SlotIn1+3] = regmap.SlotOff
	b.dsp.sync = 0xFF
	b.trig.hyst, b.trig.armedAt = 20, -1
	for k := range b.pid {
		p := &b.pid[k]
		p.min, p.max, p.pause = 0x2000, 0x1FFF, 7 // -1 V, +1 V, all gains paused on sync
	}
	for k := range b.iq {
		b.iq[k].acc = acc{m: 1 << 32}
		b.iq[k].ctrl = 2 // pfd_on, as at reset
	}
	return b, nil
}

// Config returns the board's configuration.
func (b *Board) Config() Config { return b.cfg }

// Now returns the board time in 125 MHz cycles.
func (b *Board) Now() int64 { return b.nowFn() }

// Close stops the board; later calls fail with rperr.EUnavailable.
func (b *Board) Close() error {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	return nil
}

// Read fills dst with the words at addr, addr+4, ..., in the bus time of
// len(dst) reads.
func (b *Board) Read(addr uint32, dst []uint32) error { return read(b, addr, dst) }

// ReadHalves is Read keeping the low 16 bits of each word (board.HalfReader):
// scope samples are copied straight from the buffers. Each half is a
// word's read on the bus.
func (b *Board) ReadHalves(addr uint32, dst []uint16) error { return read(b, addr, dst) }

// read checks the range and reads under b.mu in its turn on the bus.
func read[T uint32 | uint16](b *Board, addr uint32, dst []T) error {
	return readParts(b, addr, dst, nil, nil)
}

// ReadHalvesParts is ReadHalves that calls got(n) once the bus has carried
// the first n words, for each n of cuts (board.PartReader).
func (b *Board) ReadHalvesParts(addr uint32, dst []uint16, cuts []int, got func(n int) error) error {
	return readParts(b, addr, dst, cuts, got)
}

// readParts reads dst as one access; the words are taken at its start
// (the board's buffers hold still while they are read), and got(n) is
// called as the bus time of the first n passes.
func readParts[T uint32 | uint16](b *Board, addr uint32, dst []T, cuts []int, got func(n int) error) error {
	if err := regmap.CheckRange(addr, len(dst)); err != nil {
		return err
	}
	return b.accessParts(&b.bus.reads, len(dst), b.bus.read, func() error {
		b.mu.Lock()
		defer b.mu.Unlock()
		return readInto(b, addr, dst)
	}, cuts, got)
}

// readInto reads words, or their low halves, with b.mu held and the range
// checked: scope buffers are copied a stretch at a time, without the
// per-word register decode.
func readInto[T uint32 | uint16](b *Board, addr uint32, dst []T) error {
	if b.closed {
		return rperr.Errorf(rperr.EUnavailable, "simulated board is closed")
	}
	now := b.nowFn()
	b.slowAdvance(now)
	if addr >= regmap.ScopeBase && addr < regmap.ScopeBase+regmap.BlockSize {
		b.scopeAdvance(now)
		if end := addr + 4*uint32(len(dst)); end > regmap.ScopeBase+regmap.ScopeCh1Data {
			b.scopeSettle() // the buffers are read: the samples owed are made
		}
	}
	for i := 0; i < len(dst); {
		a := addr + 4*uint32(i)
		if src := b.dataAt(a); src != nil {
			i += copyCodes(dst[i:], src)
			continue
		}
		dst[i] = T(b.read(a, now))
		i++
	}
	return nil
}

// copyCodes copies 14-bit codes into words or halves; halves take a plain
// copy, 13 times faster than a loop (2 x 16384 of them per trace).
func copyCodes[T uint32 | uint16](dst []T, src []uint16) int {
	if d, ok := any(dst).([]uint16); ok {
		return copy(d, src)
	}
	n := min(len(dst), len(src))
	for k, v := range src[:n] {
		dst[k] = T(v)
	}
	return n
}

// Write stores src at addr, addr+4, ..., in the bus time of len(src)
// writes.
func (b *Board) Write(addr uint32, src []uint32) error {
	if err := regmap.CheckRange(addr, len(src)); err != nil {
		return err
	}
	return b.access(&b.bus.writes, len(src), b.bus.write, func() error { return b.store(addr, src) })
}

func (b *Board) store(addr uint32, src []uint32) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return rperr.Errorf(rperr.EUnavailable, "simulated board is closed")
	}
	now := b.nowFn()
	// the past is settled with the old configuration before it changes
	b.slowAdvance(now)
	b.trigAdvance(now)
	b.pfdWatch(now, addr)
	b.scopeAdvance(now)
	b.scopeSettle()
	b.naSettle(now)
	for i, v := range src {
		b.write(addr+4*uint32(i), v, now)
	}
	b.ver++
	b.slowEval(now)
	return nil
}

func lo32(x int64) uint32 { return uint32(uint64(x)) }
func hi32(x int64) uint32 { return uint32(uint64(x) >> 32) }

func (b *Board) read(a uint32, now int64) uint32 {
	switch {
	case a < regmap.ScopeBase:
		return b.readHK(a - regmap.HKBase)
	case a < regmap.ASGBase:
		return b.readScope(a-regmap.ScopeBase, now)
	case a < regmap.DSPBase:
		return b.readASG(a - regmap.ASGBase)
	case a < regmap.AMSBase:
		n := int((a - regmap.DSPBase) / regmap.SlotSize)
		return b.readDSP(n, a&(regmap.SlotSize-1), now)
	default:
		return b.readAMS(a - regmap.AMSBase)
	}
}

func (b *Board) write(a, v uint32, now int64) {
	switch {
	case a < regmap.ScopeBase:
		b.writeHK(a-regmap.HKBase, v)
	case a < regmap.ASGBase:
		b.writeScope(a-regmap.ScopeBase, v, now)
	case a < regmap.DSPBase:
		b.writeASG(a-regmap.ASGBase, v, now)
	case a < regmap.AMSBase:
		n := int((a - regmap.DSPBase) / regmap.SlotSize)
		b.writeDSP(n, a&(regmap.SlotSize-1), v, now)
	default:
		b.writeAMS(a-regmap.AMSBase, v)
	}
}
