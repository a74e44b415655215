package monitor

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/rpbus/rpbus/board"
	"github.com/rpbus/rpbus/internal/precise"
	"github.com/rpbus/rpbus/rperr"
)

var (
	_ board.FPGA    = (*Client)(nil)
	_ board.Batcher = (*Client)(nil)
)

// Option configures a Client.
type Option func(*clientOpts) error

type clientOpts struct {
	timeout     time.Duration
	dialTimeout time.Duration
	backoffMin  time.Duration
	backoffMax  time.Duration
	poolSize    int
	dial        func(ctx context.Context, network, addr string) (net.Conn, error)
	clockAddr   uint32  // the board clock's low word (WithBoardClock)
	clockHz     float64 // 0: no board clock
}

// WithTimeout sets the deadline of each request/response exchange (one
// chunk of at most MaxReadWords or MaxWriteWords words); 0 means none.
// Default 2 s.
func WithTimeout(d time.Duration) Option {
	return func(o *clientOpts) error {
		if d < 0 {
			return fmt.Errorf("%w: timeout %v, want >= 0", ErrConfigValidation, d)
		}
		o.timeout = d
		return nil
	}
}

// WithDialTimeout bounds each reconnection attempt (default 3 s). Dial's
// first connection is bounded by its context instead.
func WithDialTimeout(d time.Duration) Option {
	return func(o *clientOpts) error {
		if d <= 0 {
			return fmt.Errorf("%w: dial timeout %v, want > 0", ErrConfigValidation, d)
		}
		o.dialTimeout = d
		return nil
	}
}

// WithBackoff sets the exponential backoff between failed reconnection
// attempts: min after the first failure, doubling up to max (default 50 ms
// to 5 s). Operations inside a backoff window fail at once.
func WithBackoff(min, max time.Duration) Option {
	return func(o *clientOpts) error {
		if min <= 0 || max < min {
			return fmt.Errorf("%w: backoff %v..%v, want 0 < min <= max", ErrConfigValidation, min, max)
		}
		o.backoffMin, o.backoffMax = min, max
		return nil
	}
}

// WithPoolSize sets how many connections the Client may open (default 1),
// each carrying one request at a time. PyRPL's own server accepts only one
// client: use more than 1 only against this package's Server.
func WithPoolSize(n int) Option {
	return func(o *clientOpts) error {
		if n < 1 {
			return fmt.Errorf("%w: pool size %d, want >= 1", ErrConfigValidation, n)
		}
		o.poolSize = n
		return nil
	}
}

// WithDialFunc replaces the dialer (default a net.Dialer); TCP_NODELAY is
// still set on *net.TCPConn results.
func WithDialFunc(dial func(ctx context.Context, network, addr string) (net.Conn, error)) Option {
	return func(o *clientOpts) error {
		if dial == nil {
			return fmt.Errorf("%w: nil dial func", ErrConfigValidation)
		}
		o.dial = dial
		return nil
	}
}

// Client is an board.FPGA reached through a monitor_server. It is safe for
// concurrent use; each connection carries one request at a time.
type Client struct {
	addr string
	opts clientOpts
	pool chan *clientConn // free connection slots

	mu       sync.Mutex
	closed   bool
	slots    []*clientConn
	failures int       // failed dials in a row
	nextDial time.Time // no dial before this after a failure
	lastErr  error     // the last dial error
}

// clientConn is one connection slot; c is nil until dialled and after a
// failure. Only the goroutine holding the slot touches it, except that
// Close closes c under Client.mu (which also guards changes of c).
type clientConn struct {
	c       net.Conn
	br      *bufio.Reader
	buf     []byte    // the requests of a pipeline
	reqs    []request // what buf holds
	payload []byte    // a read's answer
	echo    [HeaderSize]byte
	// skip answers of a burst's reads (pollHdr) are still to come
	// before any other (see WaitFor).
	skip    int
	pollHdr [HeaderSize]byte
	used    bool // an exchange has succeeded since the dial
	// The board clock (nil: none), and per request of a timed pipeline:
	// when it went out, and when the answer of one before a timed request
	// arrived.
	clock              *boardClock
	sentAt, answeredAt []time.Time
	// rttMin is the shortest time from sending a request to the start of
	// its answer seen on this connection (ns; 0: none yet). The reader
	// stores it, a sender of timed requests loads it.
	rttMin atomic.Int64
}

// Dial connects to the monitor_server at addr (host:port; a bare host gets
// port 2222). ctx bounds this first connection only; later reconnections
// happen on demand, see WithBackoff and WithDialTimeout.
func Dial(ctx context.Context, addr string, opts ...Option) (*Client, error) {
	o := clientOpts{
		timeout:     2 * time.Second,
		dialTimeout: 3 * time.Second,
		backoffMin:  50 * time.Millisecond,
		backoffMax:  5 * time.Second,
		poolSize:    1,
	}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	if o.dial == nil {
		var d net.Dialer
		o.dial = d.DialContext
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		addr = net.JoinHostPort(addr, strconv.Itoa(DefaultPort))
	}
	c := &Client{addr: addr, opts: o, pool: make(chan *clientConn, o.poolSize)}
	for range o.poolSize {
		cc := &clientConn{br: bufio.NewReaderSize(nil, 4096)}
		if o.clockHz > 0 {
			cc.clock = newBoardClock(o.clockAddr, o.clockHz)
		}
		c.slots = append(c.slots, cc)
		c.pool <- cc
	}
	if err := c.connect(ctx, c.slots[0]); err != nil {
		return nil, err
	}
	return c, nil
}

// Addr returns the server address the Client dials.
func (c *Client) Addr() string { return c.addr }

// Read fills dst from len(dst) consecutive words at addr, in requests of at
// most MaxReadWords words that stay inside one Window.
func (c *Client) Read(addr uint32, dst []uint32) error {
	run := [1]board.Access{{Addr: addr, Words: dst}}
	_, err := c.Batch(run[:])
	return err
}

// Write stores src at len(src) consecutive words at addr, in requests of at
// most MaxWriteWords words that stay inside one Window. A write is never
// repeated: after a connection failure the caller cannot know whether the
// board applied it.
func (c *Client) Write(addr uint32, src []uint32) error {
	run := [1]board.Access{{Addr: addr, Write: true, Words: src}}
	_, err := c.Batch(run[:])
	return err
}

// Batch performs run on one connection as a pipeline: it sends every
// request back to back and then takes the answers in order, which the
// server sends in the order it read the requests, so a run costs about one
// round trip plus its transfer instead of one round trip per request.
// Writes to consecutive addresses are merged into one request where the
// protocol allows it (inside one Window, at most MaxWriteWords words).
// A timed access (Access.After) is sent when its time comes, by a second
// goroutine while the answers before it are read.
// Each answer's echo is checked as Read and Write check theirs. On a
// failure it returns the index of the access whose answer did not come
// (for merged writes, the first of them) and drops the connection, so no
// later call meets the rest of this stream; a run of reads alone that
// fails before any answer byte on a reused connection is repeated once on
// a new one, as Read is.
func (c *Client) Batch(run []board.Access) (int, error) {
	words := 0
	for i, a := range run {
		words += len(a.Words)
		op := "read"
		if a.Write {
			op = "write"
		}
		if err := checkRange(op, a.Addr, len(a.Words)); err != nil {
			return i, err
		}
	}
	if words == 0 {
		return 0, nil
	}
	cc, err := c.acquire()
	if err != nil {
		return 0, err
	}
	defer c.release(cc)
	return c.pipeline(cc, run)
}

// Close closes every connection, interrupting requests in flight; later
// operations fail with rperr.EUnavailable. The server is not sent a 'c'
// request: closing the socket ends the session for both servers.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	for _, cc := range c.slots {
		if cc.c != nil {
			cc.c.Close()
		}
	}
	return nil
}

func checkRange(op string, addr uint32, n int) error {
	if uint64(addr)+4*uint64(n) > 1<<32 {
		return rperr.Invalidf("monitor %s: %d words at %#x pass the end of the 32-bit address space", op, n, addr)
	}
	return nil
}

func (c *Client) errClosed() error {
	return rperr.Errorf(rperr.EUnavailable, "monitor %s: client closed", c.addr)
}

func (c *Client) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

func (c *Client) acquire() (*clientConn, error) {
	cc := <-c.pool
	if c.isClosed() {
		c.pool <- cc
		return nil, c.errClosed()
	}
	return cc, nil
}

func (c *Client) release(cc *clientConn) { c.pool <- cc }

// connect dials a connection for cc unless a previous dial failed less than
// the backoff ago.
func (c *Client) connect(ctx context.Context, cc *clientConn) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return c.errClosed()
	}
	if wait := time.Until(c.nextDial); c.failures > 0 && wait > 0 {
		err := rperr.Errorf(rperr.EUnavailable, "monitor %s: unreachable (%v); next attempt in %v",
			c.addr, c.lastErr, wait.Round(time.Millisecond))
		c.mu.Unlock()
		return err
	}
	c.mu.Unlock()

	conn, err := c.opts.dial(ctx, "tcp", c.addr)

	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		c.failures++
		c.lastErr = err
		c.nextDial = time.Now().Add(c.backoff(c.failures))
		return rperr.Errorf(rperr.EUnavailable, "monitor %s: %v", c.addr, err)
	}
	if c.closed {
		conn.Close()
		return c.errClosed()
	}
	c.failures, c.lastErr = 0, nil
	if tc, ok := conn.(*net.TCPConn); ok {
		// Small requests: Nagle plus delayed ACK would add ~15 ms each.
		_ = tc.SetNoDelay(true)
	}
	cc.c, cc.used, cc.skip = conn, false, 0
	cc.rttMin.Store(0)
	if cc.clock != nil {
		cc.clock.reset()
	}
	cc.br.Reset(conn)
	return nil
}

// backoff returns the wait after the n-th failed dial in a row (n >= 1).
func (c *Client) backoff(n int) time.Duration {
	d := c.opts.backoffMin
	for i := 1; i < n && d < c.opts.backoffMax; i++ {
		d *= 2
	}
	return min(d, c.opts.backoffMax)
}

// drop closes cc's connection after a failure; the next exchange redials.
func (c *Client) drop(cc *clientConn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cc.c != nil {
		cc.c.Close()
		cc.c = nil
	}
	cc.skip = 0
}

// request is one protocol request of a pipeline.
type request struct {
	at     int    // offset of its header in the request bytes
	h      Header // as sent
	dst    []uint32
	access int           // index of the (first) access it carries
	after  time.Duration // sent no sooner than this after the request before it
	clock  clockReading  // a reading of the board clock (see readClock), or not
	count  [1]uint32     // a clock reading's count, as the answer brought it
}

// clockReading says whether a request reads the board clock, and why.
type clockReading uint8

const (
	notClock     clockReading = iota
	clockBehind               // when the board performed the request before it
	clockLeading              // leads a timed request: a sample of the way to the board
)

// inlineWrite: request bytes up to this size (less than any socket's
// send buffer, 4608 bytes at the least on Linux) are written before the
// answers are read; larger ones are written by a second goroutine while
// the answers are read, so that neither side can block the other with
// full socket buffers.
const inlineWrite = 4 << 10

// plan encodes run into cc.buf as requests (cc.reqs), chunked at the
// protocol's limits and Window ends, adjacent writes merged unless the
// later one is timed (Access.After). It reports whether any request
// writes, and whether any is timed.
func (cc *clientConn) plan(run []board.Access) (writes, timed bool) {
	cc.reqs = cc.reqs[:0]
	cc.buf = cc.buf[:0]
	for i, a := range run {
		addr, words, after := a.Addr, a.Words, max(a.After, 0)
		timed = timed || after > 0
		for len(words) > 0 {
			if a.Write {
				writes = true
				if after == 0 {
					if k := cc.merge(addr, words); k > 0 {
						words, addr = words[k:], addr+uint32(4*k)
						continue
					}
				}
				k := chunkWords(addr, len(words), MaxWriteWords)
				after = cc.readClock(i, after)
				cc.add(i, Header{Cmd: CmdWrite, N: uint16(k), Addr: addr}, nil, after)
				cc.buf = appendWords(cc.buf, words[:k])
				words, addr, after = words[k:], addr+uint32(4*k), 0
				continue
			}
			k := chunkWords(addr, len(words), MaxReadWords)
			after = cc.readClock(i, after)
			cc.add(i, Header{Cmd: CmdRead, N: uint16(k), Addr: addr}, words[:k], after)
			words, addr, after = words[k:], addr+uint32(4*k), 0
		}
	}
	return writes, timed
}

// readClock adds the board clock's readings for access i's request when
// that is timed, and returns the request's own After. One reading goes
// behind the request before (sent with it): when the board performed that
// request. One leads the timed request, taking its After (so the timed
// request goes right behind it, in the same write): a sample of how long
// a request takes to reach the board with nothing ahead of it (see
// boardClock).
func (cc *clientConn) readClock(i int, after time.Duration) time.Duration {
	if cc.clock == nil || after <= 0 {
		return after
	}
	if len(cc.reqs) > 0 {
		cc.add(i-1, Header{Cmd: CmdRead, N: 1, Addr: cc.clock.addr}, nil, 0)
		cc.reqs[len(cc.reqs)-1].clock = clockBehind
	}
	cc.add(i, Header{Cmd: CmdRead, N: 1, Addr: cc.clock.addr}, nil, after)
	cc.reqs[len(cc.reqs)-1].clock = clockLeading
	return 0
}

func (cc *clientConn) add(access int, h Header, dst []uint32, after time.Duration) {
	at := len(cc.buf)
	cc.buf = append(cc.buf, make([]byte, HeaderSize)...)
	h.Put(cc.buf[at:])
	cc.reqs = append(cc.reqs, request{at: at, h: h, dst: dst, access: access, after: after})
}

// merge appends as many of words (to be written at addr) as fit to the
// last request when that is a write ending just before addr, and returns
// how many it took.
func (cc *clientConn) merge(addr uint32, words []uint32) int {
	if len(cc.reqs) == 0 {
		return 0
	}
	last := &cc.reqs[len(cc.reqs)-1]
	n := int(last.h.N)
	if last.h.Cmd != CmdWrite || uint64(last.h.Addr)+4*uint64(n) != uint64(addr) {
		return 0
	}
	k := chunkWords(last.h.Addr, n+len(words), MaxWriteWords) - n
	if k <= 0 {
		return 0
	}
	last.h.N += uint16(k)
	last.h.Put(cc.buf[last.at:])
	cc.buf = appendWords(cc.buf, words[:k])
	return k
}

// pipeline runs run on cc, dialling first if needed; see Batch.
func (c *Client) pipeline(cc *clientConn, run []board.Access) (int, error) {
	writes, timed := cc.plan(run)
	defer clear(cc.reqs) // holds the caller's buffers
	if len(cc.reqs) == 0 {
		return 0, nil
	}
	for attempt := 0; ; attempt++ {
		if cc.c == nil {
			ctx, cancel := context.WithTimeout(context.Background(), c.opts.dialTimeout)
			err := c.connect(ctx, cc)
			cancel()
			if err != nil {
				return 0, err
			}
		}
		reused := cc.used
		done, answered, err := cc.exchange(c.opts.timeout, timed)
		if err == nil {
			cc.used = true
			return 0, nil
		}
		c.drop(cc)
		failed := len(run) - 1
		if done < len(cc.reqs) {
			failed = cc.reqs[done].access
		}
		if c.isClosed() {
			return failed, c.errClosed()
		}
		if !writes && attempt == 0 && reused && !answered && isConnReset(err) {
			continue
		}
		return failed, c.wireError(err)
	}
}

// wireError makes an exchange's failure an *rperr.Error naming the board.
func (c *Client) wireError(err error) error {
	var re *rperr.Error
	if errors.As(err, &re) {
		return rperr.Errorf(re.Code, "monitor %s: %s", c.addr, re.Message)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return rperr.Errorf(rperr.EUnavailable, "monitor %s: no answer within %v", c.addr, c.opts.timeout)
	}
	return rperr.Errorf(rperr.EUnavailable, "monitor %s: %v", c.addr, err)
}

func isConnReset(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, syscall.ECONNABORTED)
}

// exchange sends cc.buf's requests and takes their answers in order. done
// is the number of requests fully answered, answered whether any answer
// byte arrived (after which repeating the run is never safe). With timed
// requests, a second goroutine sends each timed request and those up to
// the next one when its time comes while the answers are read.
func (cc *clientConn) exchange(timeout time.Duration, timed bool) (done int, answered bool, err error) {
	conn := cc.c
	if timeout > 0 {
		if err := conn.SetWriteDeadline(time.Now().Add(timeout)); err != nil {
			return 0, false, err
		}
	}
	if !timed && len(cc.buf) <= inlineWrite {
		if _, err := conn.Write(cc.buf); err != nil {
			return 0, false, err
		}
		return cc.answers(conn, timeout, nil)
	}
	n := len(cc.reqs)
	cc.sentAt = grow(cc.sentAt, n)
	clear(cc.sentAt) // a zero one: not sent (yet)
	cc.answeredAt = grow(cc.answeredAt, n)
	s := &sender{conn: conn, timeout: timeout, rttMin: &cc.rttMin, clock: cc.clock, reqs: cc.reqs,
		sentAt: cc.sentAt, answeredAt: cc.answeredAt,
		sent: make(chan int, n), answers: make(chan int, n), err: make(chan error, 1)}
	ctx, stop := context.WithCancel(context.Background())
	go s.run(ctx, cc.buf)
	done, answered, err = cc.answers(conn, timeout, s)
	stop()
	if err != nil {
		conn.Close() // unblocks the sender
	}
	if e := <-s.err; e != nil && err == nil {
		err = e
	}
	return done, answered, err
}

// sender writes a pipeline's requests, each timed one (and the untimed
// ones after it) when its time comes, and tells the reader on sent how
// many requests are going out; the reader tells it on answers when the
// answer of the request before a timed one is in.
//
// A timed request is due its After past the request before it, which is
// the later of two times: After past when that request was sent, and
// After past when the board performed it. The second one holds back a
// read whose write was held up on its way to the board (a late wake-up
// of the server or of a hop), which would otherwise reach the board too
// soon after the write took effect. With a board clock (WithBoardClock)
// the request before is a reading of that clock, sent right behind the
// one that matters, and the board's own time says when it was performed
// (boardClock). Without one, that request's answer bounds it: the board
// performed it at the latest when its answer began to arrive less the
// shortest round trip seen, which charges every late answer in full.
type sender struct {
	conn       net.Conn
	timeout    time.Duration
	rttMin     *atomic.Int64
	clock      *boardClock // nil: none
	reqs       []request
	sentAt     []time.Time // per request: when it went out (sender)
	answeredAt []time.Time // per request: when its answer began to arrive (reader)
	sent       chan int    // requests written so far, counting the one being written
	answers    chan int    // i: the answer of request i-1 is in (request i is timed); closed when the reader ends
	err        chan error  // the write error, or nil, when done

	// The clock readings fed to clock so far (see feed) are those
	// before request fed; performed is the board time of the newest one
	// behind a request.
	fed       int
	performed int64
}

// wait holds request i, timed d, until it is due: d past last (when
// request i-1 went out), and d past when the board performed request i-1
// (see sender), whichever is later. It first waits for request i-1's
// answer, which usually comes well before last + d, and then sleeps once
// to the later instant: one wake-up, on time. The sleep never ends early
// and spins its last stretch (precise.UntilSpin, at most timedSpin), so it
// ends within microseconds of the instant rather than a wake-up late.
//
// A request timed shorter than the shortest round trip seen cannot have
// its predecessor's answer in time: waiting for it would stretch every
// such step to a round trip (a sweep of short points over a LAN). With a
// board clock, it goes by the newest reading that is in instead: d past
// last, plus how late that reading reached the board. That is a forecast,
// not a bound: a caller that times requests this short checks what they
// read (the NA's busy bit) and has a margin that learns.
func (s *sender) wait(ctx context.Context, i int, d time.Duration, last time.Time, taken *int) error {
	earliest := last.Add(d)
	if i == 0 {
		return precise.Until(ctx, earliest)
	}
	rtt := time.Duration(s.rttMin.Load())
	// With a clock, request i-1 is the reading behind the one before.
	forecast := s.clock != nil && d < rtt
	if forecast {
		if err := precise.Until(ctx, earliest); err != nil {
			return err
		}
	}
	for *taken < i {
		if forecast {
			select {
			case n, ok := <-s.answers:
				if !ok {
					return errors.New("the answers ended first")
				}
				*taken = n
				continue
			default:
			}
			break
		}
		select {
		case n, ok := <-s.answers:
			if !ok {
				return errors.New("the answers ended first")
			}
			*taken = n
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if s.clock != nil {
		s.feed(*taken)
	}
	due := earliest
	switch {
	case *taken < i: // a forecast without the answer
		if late, ok := s.clock.lateness(time.Now()); ok {
			// No later than waiting for the answer would be.
			due = earliest.Add(min(late, rtt))
		}
	case s.clock != nil:
		// Never later than d past the answer: the board had performed
		// the request by then, whatever its clock says. With too few
		// samples to trust the clock yet, that is the time.
		due = s.answeredAt[i-1].Add(d)
		if t, ok := s.clock.due(s.performed, d, time.Now()); ok {
			due = minTime(t, due)
		}
	case rtt > 0:
		due = s.answeredAt[i-1].Add(d - rtt)
	}
	if due.Before(earliest) {
		due = earliest
	}
	return precise.UntilSpin(ctx, due, timedSpin)
}

// timedSpin is the most a timed request's sleep spins at its end: a
// kernel timer wakes the sender 60 us late at the median on this
// project's VMs, which an open-loop sweep paid on every point (5 % of a
// 1.26 ms point). The spin costs at most that much CPU per timed request.
const timedSpin = 100 * time.Microsecond

// feed gives the clock the readings answered so far (those before
// request taken) that it has not had, in order: the newest reading behind
// a request says when the board performed it, the leading ones are
// samples.
func (s *sender) feed(taken int) {
	for ; s.fed < taken; s.fed++ {
		r := s.reqs[s.fed]
		if r.clock == notClock {
			continue
		}
		b := s.clock.at(r.count[0], s.sentAt[s.fed])
		if r.clock == clockBehind {
			s.performed = b
			continue
		}
		s.clock.sample(b, s.sentAt[s.fed])
	}
}

func (s *sender) run(ctx context.Context, buf []byte) {
	reqs := s.reqs
	var err error
	defer func() {
		if err != nil {
			s.conn.Close() // ends the answers' wait at once
		}
		close(s.sent)
		s.err <- err
	}()
	last := time.Now() // when the request before the next one went out
	taken := 0         // answers the reader has taken
	for i := 0; i < len(reqs); {
		j := i + 1
		for j < len(reqs) && reqs[j].after == 0 {
			j++
		}
		if d := reqs[i].after; d > 0 {
			if err = s.wait(ctx, i, d, last, &taken); err != nil {
				return
			}
		}
		end := len(buf)
		if j < len(reqs) {
			end = reqs[j].at
		}
		last = time.Now()
		for k := i; k < j; k++ {
			s.sentAt[k] = last
		}
		if s.timeout > 0 {
			if err = s.conn.SetWriteDeadline(last.Add(s.timeout)); err != nil {
				return
			}
		}
		// The answers' deadlines start now: a large write goes out
		// while they are read.
		s.sent <- j
		if _, err = s.conn.Write(buf[reqs[i].at:end]); err != nil {
			return
		}
		i = j
	}
}

// answers reads the answers to cc.reqs in order. With s (a sender), it
// waits for each request to go out before its answer's deadline starts,
// and tells s when each answer arrives.
func (cc *clientConn) answers(conn net.Conn, timeout time.Duration, s *sender) (done int, answered bool, err error) {
	if s != nil {
		defer close(s.answers)
	}
	if cc.skip > 0 {
		if err := cc.settle(conn, timeout); err != nil {
			return 0, true, err
		}
	}
	out := len(cc.reqs)
	if s != nil {
		out = 0
	}
	for i, r := range cc.reqs {
		for i >= out {
			n, ok := <-s.sent
			if !ok {
				out = len(cc.reqs) // the sender failed: the read below fails too
				break
			}
			out = n
		}
		if timeout > 0 {
			if err := conn.SetReadDeadline(time.Now().Add(timeout)); err != nil {
				return i, answered, err
			}
		}
		if k, err := io.ReadFull(cc.br, cc.echo[:]); err != nil {
			return i, answered || k > 0, err
		}
		answered = true
		if s != nil && !s.sentAt[i].IsZero() {
			now := time.Now()
			s.answeredAt[i] = now
			if rtt := now.Sub(s.sentAt[i]); rtt > 0 {
				if m := cc.rttMin.Load(); m == 0 || int64(rtt) < m {
					cc.rttMin.Store(int64(rtt))
				}
			}
		}
		if sent := cc.buf[r.at : r.at+HeaderSize]; !bytes.Equal(cc.echo[:], sent) {
			return i, true, rperr.Errorf(rperr.EUnavailable, "echo mismatch: sent % x, got % x (server out of sync)",
				sent, cc.echo[:])
		}
		if r.h.Cmd == CmdRead {
			dst := r.dst
			if r.clock != notClock {
				dst = cc.reqs[i].count[:]
			}
			cc.payload = grow(cc.payload, 4*len(dst))
			if _, err := io.ReadFull(cc.br, cc.payload); err != nil {
				return i, true, err
			}
			getWords(dst, cc.payload)
		}
		if s != nil && i+1 < len(cc.reqs) && cc.reqs[i+1].after > 0 {
			s.answers <- i + 1
		}
	}
	if k := cc.br.Buffered(); k != 0 {
		return len(cc.reqs), true, rperr.Errorf(rperr.EUnavailable, "%d unexpected bytes after the answer (server out of sync)", k)
	}
	return len(cc.reqs), answered, nil
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
