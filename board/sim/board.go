package sim

import (
	"math"
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

type hkState struct {
	digitalLoop, led, expPDir, expNDir, expPOut, expNOut uint32
}

type dspState struct {
	inputSel  [regmap.NumSlots]uint32
	outDirect [regmap.NumSlots]uint32
	sync      uint32
}

type pidState struct {
	ival, sp, p, i, d, filter, min, max, pause uint32
}

type trigState struct {
	armed, flags, source, outSel, phaseOffset, thresh, hyst, filter uint32
	tsTrig                                                          int64
	searched                                                        int64 // cycles searched by the scope's dsp source
	state, stateInit                                                bool
}

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
	ams   [4]uint32

	models    map[int]model
	modelsVer uint64
	ffts      map[int]*fourier.FFT
	gen       [2]genScratch // one per generating goroutine (scope channels are made at once)
	help      helper
	tmp16     []uint16
	tmpTrig   []int64

	nowFn func() int64 // board time
	slack atomic.Int64 // learned oversleep of preciseSleep [ns], see noteOversleep
}

// New returns a board in the bitstream's reset state.
func New(cfg Config) (*Board, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	b := &Board{cfg: cfg, start: time.Now(), ffts: map[int]*fourier.FFT{}, models: map[int]model{}}
	b.ffts[regmap.ASGDataLen] = fourier.NewFFT(regmap.ASGDataLen)
	b.nowFn = func() int64 { return time.Since(b.start).Nanoseconds() / 8 }
	b.slack.Store(int64(50 * time.Microsecond)) // until the wake-up lateness is learned
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
	b.trig.hyst = 20
	for k := range b.iq {
		b.iq[k].acc = acc{m: 1 << 32}
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

// Read fills dst with the words at addr, addr+4, ...
func (b *Board) Read(addr uint32, dst []uint32) error { return read(b, addr, dst) }

// ReadHalves is Read keeping the low 16 bits of each word (board.HalfReader):
// scope samples are copied straight from the buffers.
func (b *Board) ReadHalves(addr uint32, dst []uint16) error { return read(b, addr, dst) }

// read checks the range and reads under b.mu.
func read[T uint32 | uint16](b *Board, addr uint32, dst []T) error {
	if err := regmap.CheckRange(addr, len(dst)); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return readInto(b, addr, dst)
}

// readInto reads words, or their low halves, with b.mu held and the range
// checked: scope buffers are copied a stretch at a time, without the
// per-word register decode.
func readInto[T uint32 | uint16](b *Board, addr uint32, dst []T) error {
	if b.closed {
		return rperr.Errorf(rperr.EUnavailable, "simulated board is closed")
	}
	now := b.nowFn()
	if addr >= regmap.ScopeBase && addr < regmap.ScopeBase+regmap.BlockSize {
		b.scopeAdvance(now)
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

// dataAt is the scope buffer from address a to the end of its channel, or
// nil if a is not in a data buffer.
func (b *Board) dataAt(a uint32) []uint16 {
	off := a - regmap.ScopeBase
	if a < regmap.ScopeBase || off < regmap.ScopeCh1Data || off >= regmap.ScopeCh2Data+bufLen*4 {
		return nil
	}
	ch := 0
	if off >= regmap.ScopeCh2Data {
		ch = 1
	}
	return b.scope.buf[ch][int(off&0xFFFF)/4:]
}

// Write stores src at addr, addr+4, ...
func (b *Board) Write(addr uint32, src []uint32) error {
	if err := regmap.CheckRange(addr, len(src)); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return rperr.Errorf(rperr.EUnavailable, "simulated board is closed")
	}
	now := b.nowFn()
	// the past is settled with the old configuration before it changes
	b.scopeAdvance(now)
	b.naSettle(now)
	for i, v := range src {
		b.write(addr+4*uint32(i), v, now)
	}
	b.ver++
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
		off := a - regmap.AMSBase
		if off >= regmap.AMSDAC0 && off <= regmap.AMSDAC3 && off%4 == 0 {
			return b.ams[(off-regmap.AMSDAC0)/4]
		}
	}
	return 0
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
		off := a - regmap.AMSBase
		// dac0/dac1 are driven by the DSP pwm outputs in this bitstream
		if off == regmap.AMSDAC2 || off == regmap.AMSDAC3 {
			b.ams[(off-regmap.AMSDAC0)/4] = v & 0xFFFFFF
		}
	}
}

// ---- housekeeping ----

func (b *Board) readHK(off uint32) uint32 {
	h := &b.hk
	switch off {
	case regmap.HKID:
		return regmap.HKIDRelease1
	case regmap.HKDNALow:
		return uint32(b.cfg.Seed) ^ 0x5EED0001
	case regmap.HKDNAHigh:
		return uint32(b.cfg.Seed>>32) & 0x1FFFFFF
	case regmap.HKDigitalLoop:
		return h.digitalLoop
	case regmap.HKExpPDir:
		return h.expPDir
	case regmap.HKExpNDir:
		return h.expNDir
	case regmap.HKExpPOut:
		return h.expPOut
	case regmap.HKExpNOut:
		return h.expNOut
	case regmap.HKExpPIn: // outputs read back; inputs float low
		return h.expPOut & h.expPDir
	case regmap.HKExpNIn:
		return h.expNOut & h.expNDir
	case regmap.HKLED:
		return h.led
	}
	return 0
}

func (b *Board) writeHK(off, v uint32) {
	h := &b.hk
	switch off {
	case regmap.HKDigitalLoop:
		h.digitalLoop = v & 1
	case regmap.HKExpPDir:
		h.expPDir = v & 0xFF
	case regmap.HKExpNDir:
		h.expNDir = v & 0xFF
	case regmap.HKExpPOut:
		h.expPOut = v & 0xFF
	case regmap.HKExpNOut:
		h.expNOut = v & 0xFF
	case regmap.HKLED:
		h.led = v & 0xFF
	}
}

// ---- scope registers ----

func (b *Board) readScope(off uint32, now int64) uint32 {
	s := &b.scope
	if off >= regmap.ScopeCh1Data && off < regmap.ScopeCh2Data+bufLen*4 {
		ch := 0
		if off >= regmap.ScopeCh2Data {
			ch = 1
		}
		i := (off & 0xFFFF) / 4
		if i >= bufLen {
			return 0
		}
		return uint32(s.buf[ch][i])
	}
	switch off {
	case regmap.ScopeControl:
		var v uint32
		if s.armed {
			v |= regmap.ScopeArm
		}
		if s.armed && s.trig && !s.finished {
			v |= regmap.ScopeDelayRunning
		}
		if s.keep {
			v |= regmap.ScopeKeepWriting
		}
		return v
	case regmap.ScopeTriggerSource:
		return s.src
	case regmap.ScopeThreshold:
		return s.thresh
	case regmap.ScopeDelay:
		return s.dly
	case regmap.ScopeDecimation:
		return s.dec
	case regmap.ScopeWritePointer:
		return uint32(int64(s.wpBase)+s.nWritten(now)-1) & (bufLen - 1)
	case regmap.ScopeTriggerPointer:
		return s.wpTrig
	case regmap.ScopeHysteresis:
		return s.hyst
	case regmap.ScopeAverage:
		if s.avg {
			return 1
		}
		return 0
	case regmap.ScopeSamplesWritten:
		if s.trig {
			return uint32(min(s.trigSample+1, math.MaxUint32))
		}
		return uint32(min(s.nWritten(now), math.MaxUint32))
	case regmap.ScopeDebounce:
		return s.deb
	case regmap.ScopeADC1, regmap.ScopeADC2:
		ch := int(off-regmap.ScopeADC1) / 4
		return uint32(b.exactAt(b.scopeInput(ch), now)) & 0x3FFF
	case regmap.ScopeTimeLow:
		return lo32(now)
	case regmap.ScopeTimeHigh:
		return hi32(now)
	case regmap.ScopeTrigTimeLow:
		return lo32(s.tsTrig)
	case regmap.ScopeTrigTimeHigh:
		return hi32(s.tsTrig)
	case regmap.ScopePretrigger:
		n := s.nWritten(now)
		if s.trig {
			n = s.trigSample + 1
		}
		if s.pretrigOK(n) {
			return 1
		}
	}
	return 0
}

func (b *Board) writeScope(off, v uint32, now int64) {
	s := &b.scope
	switch off {
	case regmap.ScopeControl:
		s.keep = v&regmap.ScopeKeepWriting != 0
		if v&regmap.ScopeReset != 0 {
			s.armed, s.trig, s.finished = false, false, false
			s.wpBase, s.wpNext, s.wpTrig = 0, 0, 0
			s.tsTrig, s.src, s.swAt = now, regmap.TrigOff, -1
		}
		if v&regmap.ScopeArm != 0 {
			if s.armed {
				s.wpNext = s.addr(s.nWritten(now))
			}
			s.armed, s.trig, s.finished = true, false, false
			s.tArm, s.produced, s.endSample = now, 0, -1
			s.wpBase = s.wpNext
			s.schmittInit = false
		}
	case regmap.ScopeTriggerSource:
		s.src, s.tSrc = v&0xF, now
		s.swAt = -1
		if v&0xF == regmap.TrigImmediately {
			s.swAt = now + ScopeSWLatencyCycles
		}
		s.schmittInit = false
		b.wakeHelper()
		// the search starts at the samples written from now on
		if s.armed && !s.trig {
			s.produced = max(s.produced, s.nWritten(now)-bufLen)
			b.scopeProduce(s.produced, s.nWritten(now))
		}
	case regmap.ScopeThreshold:
		s.thresh = v & 0x3FFF
	case regmap.ScopeDelay:
		s.dly = v
	case regmap.ScopeDecimation:
		s.dec = v & 0x1FFFF
	case regmap.ScopeHysteresis:
		s.hyst = v & 0x3FFF
	case regmap.ScopeAverage:
		s.avg = v&1 != 0
	case regmap.ScopeDebounce:
		s.deb = v & 0xFFFFF
	}
}

// ---- generator registers ----

func (b *Board) readASG(off uint32) uint32 {
	if off >= regmap.ASGDataA {
		return 0 // table read-back is disabled in the bitstream
	}
	switch off {
	case regmap.ASGControl:
		return b.asg[0].half&0x1FF7 | (b.asg[1].half&0x1FF7)<<16
	case regmap.ASGTrigPointerA, regmap.ASGTrigPointerB:
		return 0
	}
	ch := 0
	if off > regmap.ASGBurstDelay {
		ch, off = 1, off-regmap.ASGChannelStride
	}
	if ch == 1 && off < regmap.ASGAmpOffset {
		return 0
	}
	a := &b.asg[ch]
	switch off {
	case regmap.ASGAmpOffset:
		return a.amp | a.dc<<16
	case regmap.ASGCounterWrap:
		return a.size
	case regmap.ASGStartOffset:
		return a.ofs
	case regmap.ASGStep:
		return a.step
	case regmap.ASGCycles:
		return a.ncyc
	case regmap.ASGBursts:
		return a.rnum
	case regmap.ASGBurstDelay:
		return a.rdly
	}
	return 0
}

func (b *Board) writeASG(off, v uint32, now int64) {
	if off >= regmap.ASGDataA && off < regmap.ASGDataB+regmap.ASGDataLen*4 {
		ch := 0
		if off >= regmap.ASGDataB {
			ch = 1
		}
		i := (off & 0xFFFF) / 4
		if i < regmap.ASGDataLen {
			b.asg[ch].table[i] = int16(regmap.ToSigned(v, 14))
			b.asg[ch].ver++
		}
		return
	}
	if off == regmap.ASGControl {
		for ch := range b.asg {
			a := &b.asg[ch]
			half := v >> regmap.ASGControlShift(ch) & 0xFFFF
			a.half = half & 0x1FF7
			a.ver++
			sw := half&1 != 0
			src := half & regmap.ASGTrigMask
			switch {
			case half&regmap.ASGSMReset != 0:
				if a.running {
					a.running = false
				}
				a.stopped = uint64(a.ofs)
			case (src == regmap.ASGTrigImmediately && sw) || src == regmap.ASGTrigHigh:
				if !a.playing(now) {
					a.start(now, src)
				}
			}
		}
		return
	}
	ch := 0
	if off > regmap.ASGBurstDelay {
		ch, off = 1, off-regmap.ASGChannelStride
	}
	a := &b.asg[ch]
	a.ver++
	switch off {
	case regmap.ASGAmpOffset:
		a.amp, a.dc = v&0x3FFF, v>>16&0x3FFF
	case regmap.ASGCounterWrap:
		a.size = v & (1<<30 - 1)
		a.rebase(now)
	case regmap.ASGStartOffset:
		a.ofs = v & (1<<30 - 1)
		if !a.running {
			a.stopped = uint64(a.ofs)
		}
	case regmap.ASGStep:
		a.step = v & (1<<30 - 1)
		a.rebase(now)
	case regmap.ASGCycles:
		a.ncyc = v
	case regmap.ASGBursts:
		a.rnum = v & 0xFFFF
	case regmap.ASGBurstDelay:
		a.rdly = v
	}
}

// ---- DSP registers ----

// buildConstants are what each module reports at +0x200...
func buildConstant(n int, off uint32) uint32 {
	switch {
	case n <= regmap.SlotPID2:
		switch off {
		case 0x200:
			return regmap.PIDPSR
		case 0x204:
			return regmap.PIDISR
		case 0x208:
			return regmap.PIDDSR
		case 0x20C:
			return regmap.PIDGainBits
		case regmap.InputFilterStages:
			return regmap.PIDFilterStages
		case regmap.InputFilterShift:
			return regmap.PIDFilterShiftBits
		case regmap.InputFilterMinBW:
			return regmap.PIDFilterMinBW
		}
	case n == regmap.SlotTrig:
		switch off {
		case regmap.InputFilterStages:
			return regmap.TrigFilterStages
		case regmap.InputFilterShift:
			return regmap.TrigFilterShift
		case regmap.InputFilterMinBW:
			return regmap.TrigFilterMinBW
		}
	case n >= regmap.SlotIQ0 && n <= regmap.SlotIQ2:
		quad := uint32(2)
		if n == regmap.SlotIQ2 {
			quad = 4
		}
		switch off {
		case regmap.IQLUTSize:
			return 11
		case regmap.IQLUTBits:
			return 17
		case regmap.IQPhaseBitsReg:
			return regmap.IQPhaseBits
		case regmap.IQGainBits:
			return regmap.IQAmplitudeBits
		case regmap.IQSignalBits:
			return 14
		case regmap.IQLPFBits:
			return regmap.IQLPFBitsValue
		case regmap.IQShiftBits:
			return 8
		case regmap.InputFilterStages:
			return 1
		case regmap.InputFilterShift:
			return regmap.IQFilterShiftBits
		case regmap.InputFilterMinBW:
			return regmap.IQInputFilterMinBW
		case regmap.IQQuadFilterStagesReg:
			return quad
		case regmap.IQQuadFilterShiftReg:
			return regmap.IQFilterShiftBits
		case regmap.IQQuadFilterMinBWReg:
			return regmap.IQQuadFilterMinBW
		}
	}
	return 0
}

func (b *Board) readDSP(n int, off uint32, now int64) uint32 {
	d := &b.dsp
	switch off {
	case regmap.DSPInputSelect:
		return d.inputSel[n]
	case regmap.DSPOutputDirect:
		return d.outDirect[n]
	case regmap.DSPSaturation:
		var v uint32
		if o := b.outSum(0, now); o > 8191 || o < -8192 {
			v |= 1
		}
		if o := b.outSum(1, now); o > 8191 || o < -8192 {
			v |= 2
		}
		return v
	case regmap.DSPSync:
		return d.sync
	case regmap.DSPOutputSignal:
		return uint32(b.exactAt(n, now)) & 0x3FFF
	}
	if off >= regmap.BuildConstantsBase {
		return buildConstant(n, off)
	}
	switch {
	case n <= regmap.SlotPID2:
		p := &b.pid[n]
		switch off {
		case regmap.PIDIntegrator:
			return p.ival
		case regmap.PIDSetpoint:
			return p.sp
		case regmap.PIDP:
			return p.p
		case regmap.PIDI:
			return p.i
		case regmap.PIDD:
			return p.d
		case regmap.PIDInputFilter:
			return p.filter
		case regmap.PIDMin:
			return p.min
		case regmap.PIDMax:
			return p.max
		case regmap.PIDPause:
			return p.pause
		}
	case n == regmap.SlotTrig:
		t := &b.trig
		switch off {
		case regmap.TrigArmed:
			return t.armed
		case regmap.TrigFlags:
			return t.flags
		case regmap.TrigSource:
			return t.source
		case regmap.TrigOutputSelect:
			return t.outSel
		case regmap.TrigPhaseOffset:
			return t.phaseOffset
		case regmap.TrigThreshold:
			return t.thresh
		case regmap.TrigHysteresis:
			return t.hyst
		case regmap.TrigInputFilter:
			return t.filter
		case regmap.TrigTimeLow:
			return lo32(now)
		case regmap.TrigTimeHigh:
			return hi32(now)
		case regmap.TrigTrigTimeLow:
			return lo32(t.tsTrig)
		case regmap.TrigTrigTimeHigh:
			return hi32(t.tsTrig)
		}
	case n >= regmap.SlotIQ0 && n <= regmap.SlotIQ2:
		return b.readIQ(n-regmap.SlotIQ0, off, now)
	}
	return 0
}

func (b *Board) writeDSP(n int, off, v uint32, now int64) {
	d := &b.dsp
	switch off {
	case regmap.DSPInputSelect:
		if n < regmap.SlotIn1+4 { // modules, scope inputs, pwm inputs
			d.inputSel[n] = v & 0xF
		}
		return
	case regmap.DSPOutputDirect:
		if n <= regmap.SlotASG1 {
			d.outDirect[n] = v & 3
		}
		return
	case regmap.DSPSync:
		old := d.sync
		d.sync = v & 0xFF
		for k := range b.iq {
			bit := uint32(1) << (regmap.SlotIQ0 + k)
			if old&bit == 0 && d.sync&bit != 0 { // phase restarts at 0
				b.iq[k].acc = acc{c0: now, step: b.iq[k].acc.step, m: 1 << 32}
			}
		}
		return
	}
	switch {
	case n <= regmap.SlotPID2:
		p := &b.pid[n]
		switch off {
		case regmap.PIDIntegrator:
			p.ival = v & 0xFFFF
		case regmap.PIDSetpoint:
			p.sp = v & 0x3FFF
		case regmap.PIDP:
			p.p = v & 0xFFFFFF
		case regmap.PIDI:
			p.i = v & 0xFFFFFF
		case regmap.PIDD:
			p.d = v & 0xFFFFFF
		case regmap.PIDInputFilter:
			p.filter = v
		case regmap.PIDMin:
			p.min = v & 0x3FFF
		case regmap.PIDMax:
			p.max = v & 0x3FFF
		case regmap.PIDPause:
			p.pause = v & 0xF
		}
	case n == regmap.SlotTrig:
		t := &b.trig
		switch off {
		case regmap.TrigArmed:
			t.armed = 1
		case regmap.TrigFlags:
			t.flags = v & 3
		case regmap.TrigSource:
			t.source = v & 3
		case regmap.TrigOutputSelect:
			t.outSel = v & 0xF
		case regmap.TrigPhaseOffset:
			t.phaseOffset = v & 0x3FFF
		case regmap.TrigThreshold:
			t.thresh = v & 0x3FFF
		case regmap.TrigHysteresis:
			t.hyst = v & 0x3FFF
		case regmap.TrigInputFilter:
			t.filter = v
		}
		t.stateInit = false
	case n >= regmap.SlotIQ0 && n <= regmap.SlotIQ2:
		b.writeIQ(n-regmap.SlotIQ0, off, v, now)
	}
}

// ---- signals ----

// pidOut is the simple PID model: the integrator register value (14-bit
// volts) clamped to [min, max]; the P, I and D terms are not simulated.
func (b *Board) pidOut(k int) int64 {
	p := &b.pid[k]
	v := regmap.ToSigned(p.ival, 14)
	lo, hi := regmap.ToSigned(p.min, 14), regmap.ToSigned(p.max, 14)
	if lo <= hi {
		v = max(lo, min(hi, v))
	}
	return v
}

// outSum is the unsaturated sum routed to out1 (ch 0) or out2 (ch 1).
func (b *Board) outSum(ch int, c int64) int64 {
	var sum int64
	bit := uint32(1) << ch
	for n := 0; n <= regmap.SlotASG1; n++ {
		if b.dsp.outDirect[n]&bit == 0 {
			continue
		}
		switch {
		case n <= regmap.SlotPID2:
			sum += b.pidOut(n)
		case n >= regmap.SlotIQ0 && n <= regmap.SlotIQ2:
			sum += b.iqOut(n-regmap.SlotIQ0, c)
		case n == regmap.SlotASG0 || n == regmap.SlotASG1:
			sum += b.asg[n-regmap.SlotASG0].outAt(b.cfg.Seed, c)
		}
	}
	return sum
}

// exactAt is the 14-bit value of DSP signal sig at cycle c.
func (b *Board) exactAt(sig int, c int64) int64 {
	switch {
	case sig <= regmap.SlotPID2:
		return b.pidOut(sig)
	case sig >= regmap.SlotIQ0 && sig <= regmap.SlotIQ2:
		if b.iq[sig-regmap.SlotIQ0].outSel == regmap.IQSignalOutputDirect {
			return b.iqOut(sig-regmap.SlotIQ0, c)
		}
	case sig == regmap.SlotASG0 || sig == regmap.SlotASG1:
		return b.asg[sig-regmap.SlotASG0].outAt(b.cfg.Seed, c)
	case sig == regmap.SlotOut1 || sig == regmap.SlotOut2:
		return sat14(b.outSum(sig-regmap.SlotOut1, c))
	case sig == regmap.SlotIn1 || sig == regmap.SlotIn2:
		if !b.noisy(sig) {
			return sat14(b.outSum(sig-regmap.SlotIn1, c))
		}
		v := b.model(sig).at(c) * regmap.VoltsNorm
		st := uint64(streamIn1)
		if sig == regmap.SlotIn2 {
			st = streamIn2
		}
		v += b.cfg.NoiseStd() * regmap.VoltsNorm * gaussAt(b.cfg.Seed, st, c)
		return sat14(int64(roundEven(v)))
	}
	return 0
}

// model returns the steady-state harmonic model of DSP signal sig [V]
// under the current configuration (cached until the next write).
func (b *Board) model(sig int) model {
	if b.modelsVer != b.ver+1 {
		clear(b.models)
		b.modelsVer = b.ver + 1
	}
	if m, ok := b.models[sig]; ok {
		return m
	}
	var m model
	switch {
	case sig <= regmap.SlotPID2:
		m.dc = float64(b.pidOut(sig)) / regmap.VoltsNorm
	case sig >= regmap.SlotIQ0 && sig <= regmap.SlotIQ2:
		if b.iq[sig-regmap.SlotIQ0].outSel == regmap.IQSignalOutputDirect {
			m = b.iqModel(sig - regmap.SlotIQ0)
		}
	case sig == regmap.SlotASG0 || sig == regmap.SlotASG1:
		m = b.asgModel(sig - regmap.SlotASG0)
	case sig == regmap.SlotOut1 || sig == regmap.SlotOut2:
		bit := uint32(1) << (sig - regmap.SlotOut1)
		for n := 0; n <= regmap.SlotASG1; n++ {
			if b.dsp.outDirect[n]&bit == 0 {
				continue
			}
			// The same slots as outSum; trig and iir add nothing (their
			// outputs are not modelled).
			switch {
			case n <= regmap.SlotPID2:
				m.dc += float64(b.pidOut(n)) / regmap.VoltsNorm
			case n >= regmap.SlotIQ0 && n <= regmap.SlotIQ2:
				m.add(b.iqModel(n - regmap.SlotIQ0))
			case n == regmap.SlotASG0 || n == regmap.SlotASG1:
				m.add(b.asgModel(n - regmap.SlotASG0))
			}
		}
	case sig == regmap.SlotIn1 || sig == regmap.SlotIn2:
		out := b.model(sig - regmap.SlotIn1 + regmap.SlotOut1)
		if b.noisy(sig) {
			ch := sig - regmap.SlotIn1 + 1
			m = out.transform(func(f float64) complex128 { return b.cfg.InResponse(ch, f) })
		} else {
			m = out
		}
	}
	b.models[sig] = m
	return m
}

// ---- the trig module (slot 3) ----

// trigEvent returns the first cycle in [from, to] at which the trig
// module fires (its Schmitt trigger on its input, every cycle, while
// armed), or -1. It disarms the module unless auto_rearm is set.
func (b *Board) trigEvent(from, to int64) int64 {
	t := &b.trig
	if t.armed == 0 && t.flags&1 == 0 || t.source == 0 || to < from {
		return -1
	}
	sig := int(b.dsp.inputSel[regmap.SlotTrig])
	th := regmap.ToSigned(t.thresh, 14)
	hy := regmap.ToSigned(t.hyst, 14)
	bound := b.model(sig).bound()*regmap.VoltsNorm + 2
	if b.noisy(sig) {
		bound += noiseClip*b.cfg.SampleNoiseStd(1, false)*regmap.VoltsNorm + 1
	}
	if float64(th) > bound && float64(th) < -bound {
		return -1
	}
	if (t.source == 1 && float64(th) > bound) || (t.source == 2 && float64(th) < -bound) ||
		(t.source == 3 && math.Abs(float64(th)) > bound) {
		return -1
	}
	from = max(from, t.searched)
	if to-from > maxSearchLag {
		from, t.stateInit = to-maxSearchLag, false
	}
	buf := b.tmpTrig
	defer func() { b.tmpTrig = buf }()
	for c := from; c <= to; c += 4096 {
		n := int(min(4096, to-c+1))
		buf = b.sampleBlock(sig, c, 1, false, n, buf[:0])
		for i, v := range buf {
			up, down := v >= th, v <= th
			if !t.stateInit {
				t.stateInit, t.state = true, up
				continue
			}
			fired := false
			if t.source&1 != 0 && up && !t.state {
				fired = true
			}
			if t.source&2 != 0 && down && t.state {
				fired = true
			}
			if up {
				t.state = true
			} else if v < th-hy {
				t.state = false
			}
			if fired {
				e := c + int64(i)
				t.tsTrig, t.searched = e, e+1
				if t.flags&1 == 0 {
					t.armed = 0
				}
				return e
			}
		}
	}
	t.searched = to + 1
	return -1
}

// Noiseless returns the noiseless model value [V] of DSP signal sig
// (regmap.SlotIn1, SlotOut1, SlotASG0, ...) at board cycle c under the
// current register settings: the exact digital value for generated
// signals, the steady-state DUT response (without noise and quantisation)
// for in1/in2.
func (b *Board) Noiseless(sig int, c int64) float64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.noisy(sig) {
		return b.model(sig).at(c)
	}
	return float64(b.exactAt(sig, c)) / regmap.VoltsNorm
}
