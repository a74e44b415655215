package monitor

import (
	"fmt"
	"time"

	"github.com/rpbus/rpbus/regmap"
)

// WithBoardClock names a free-running counter of the board, its lowest 32
// bits at addr, counting hz a second. The client then times each timed
// request (board.Access.After) by the board's own clock: it reads the
// counter right behind the request before the timed one, which tells it
// when the board performed that request, and sends the timed request so
// that it cannot arrive sooner than After past that instant (see
// boardClock). Without a clock, it guesses that instant from how late the
// request's answer came, which must assume the worst of every late
// answer and so delays most timed requests by a round trip's spread.
func WithBoardClock(addr uint32, hz float64) Option {
	return func(o *clientOpts) error {
		if addr%4 != 0 || !(hz > 0) {
			return fmt.Errorf("%w: board clock at %#x counting %g Hz, want an aligned word and hz > 0", ErrConfigValidation, addr, hz)
		}
		o.clockAddr, o.clockHz = addr, hz
		return nil
	}
}

// PyRPLClock is WithBoardClock for PyRPL's FPGA design: the scope's
// current timestamp, a 64-bit count of the 125 MHz clock.
func PyRPLClock() Option { return WithBoardClock(regmap.ScopeBase+regmap.ScopeTimeLow, regmap.Clock) }

// Constants of the board clock's offset estimate.
const (
	// clockWindow is how many recent readings the estimate keeps: enough
	// that one of them had a quick way to the board, few enough that
	// the clocks' drift over them stays small.
	clockWindow = 32
	// clockDrift bounds how fast the board's clock and the host's drift
	// apart (two crystals of 50 ppm each); an old reading is trusted
	// that much less per second of age.
	clockDrift = 1e-4
	// clockWarm is how many samples the estimate needs before it is
	// trusted: one sample taken while the board's server woke late
	// would make it early by that much.
	clockWarm = 4
	// clockGap is the longest pause between readings that the 32-bit
	// count bridges (it wraps after 34 s at 125 MHz); after a longer
	// one the estimate starts again.
	clockGap = 10 * time.Second
)

// boardClock maps the board's clock to the host's for one connection.
//
// A reading of the counter sent at host instant s says the board read it
// at board time B, which happened at host time B + o, where o is the
// (unknown) offset between the clocks: s + fwd = B + o, fwd being that
// request's way to the board. So s - B = o - fwd, and the largest s - B
// among recent readings, lo, is o less the quickest way to the board seen
// (lo = o - fwdMin). A request sent at host time B' + d + lo then
// reaches the board at B' + d + (fwd' - fwdMin) in board time: d past B'
// when its own way fwd' is as quick as the quickest reading's, later by
// how much slower it is, whatever the delays of the way back or of the
// reading of B' itself were. No round trip's spread is charged, and no
// symmetry of the two directions is assumed. Only a way quicker than
// every recent reading's brings it sooner, by that difference: the
// caller's margin covers that.
//
// So that a reading's way is like a timed request's, only readings that
// lead the requests sent with them are samples of lo (see
// clientConn.readClock): one behind other requests was also held up by
// their work on the board, and would make lo too large.
type boardClock struct {
	addr       uint32 // the count's low word
	nsPerCount float64
	seen       bool
	last       uint32    // the last count read
	lastAt     time.Time // when it was sent
	board      int64     // board time of the last reading [ns since the estimate began]
	samples    [clockWindow]clockSample
	n, next    int
}

type clockSample struct {
	lo int64     // sent - board time [ns]
	at time.Time // when it was sent
}

func newBoardClock(addr uint32, hz float64) *boardClock {
	return &boardClock{addr: addr, nsPerCount: 1e9 / hz}
}

// reset forgets every reading (a new connection, or a long pause).
func (c *boardClock) reset() { c.seen, c.n, c.next = false, 0, 0 }

// at returns the board time [ns] of count, read by a request sent at
// sent; every reading goes through it, in order.
func (c *boardClock) at(count uint32, sent time.Time) int64 {
	if !c.seen || sent.Sub(c.lastAt) > clockGap || sent.Before(c.lastAt) {
		c.reset()
		c.seen, c.board = true, 0
	} else {
		c.board += int64(float64(count-c.last) * c.nsPerCount)
	}
	c.last, c.lastAt = count, sent
	return c.board
}

// sample records a leading reading: board time b, sent at sent.
func (c *boardClock) sample(b int64, sent time.Time) {
	c.samples[c.next] = clockSample{lo: sent.UnixNano() - b, at: sent}
	c.next = (c.next + 1) % clockWindow
	c.n = min(c.n+1, clockWindow)
}

// lateness returns how much slower than the quickest the way of the
// newest sample was, judged at now; false with fewer than clockWarm
// samples.
func (c *boardClock) lateness(now time.Time) (time.Duration, bool) {
	if c.n < clockWarm {
		return 0, false
	}
	newest := c.samples[(c.next+clockWindow-1)%clockWindow]
	return time.Duration(c.lo(now) - newest.lo), true
}

// lo is the largest lo of the samples, each aged by the clocks' possible
// drift since it was taken.
func (c *boardClock) lo(now time.Time) int64 {
	lo := int64(-1 << 62)
	for _, s := range c.samples[:c.n] {
		lo = max(lo, s.lo+int64(clockDrift*float64(now.Sub(s.at))))
	}
	return lo
}

// due returns the host instant at which a request may be sent to reach
// the board no sooner than d past board time b, judged at now: b + d +
// lo, each sample's lo aged by the clocks' possible drift since; false
// with fewer than clockWarm samples.
func (c *boardClock) due(b int64, d time.Duration, now time.Time) (time.Time, bool) {
	if c.n < clockWarm {
		return time.Time{}, false
	}
	return time.Unix(0, b+int64(d)+c.lo(now)), true
}
