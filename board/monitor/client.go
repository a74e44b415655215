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
	"syscall"
	"time"

	"github.com/rpbus/rpbus/board"
	"github.com/rpbus/rpbus/rperr"
)

var _ board.FPGA = (*Client)(nil)

// Option configures a Client.
type Option func(*clientOpts) error

type clientOpts struct {
	timeout     time.Duration
	dialTimeout time.Duration
	backoffMin  time.Duration
	backoffMax  time.Duration
	poolSize    int
	dial        func(ctx context.Context, network, addr string) (net.Conn, error)
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
	c    net.Conn
	br   *bufio.Reader
	buf  []byte // request, and for reads the response payload
	echo [HeaderSize]byte
	used bool // an exchange has succeeded since the dial
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
	if err := checkRange("read", addr, len(dst)); err != nil || len(dst) == 0 {
		return err
	}
	cc, err := c.acquire()
	if err != nil {
		return err
	}
	defer c.release(cc)
	for len(dst) > 0 {
		k := chunkWords(addr, len(dst), MaxReadWords)
		if err := c.exchange(cc, CmdRead, addr, dst[:k]); err != nil {
			return err
		}
		dst, addr = dst[k:], addr+uint32(4*k)
	}
	return nil
}

// Write stores src at len(src) consecutive words at addr, in requests of at
// most MaxWriteWords words that stay inside one Window. A write is never repeated: after a connection
// failure the caller cannot know whether the board applied it.
func (c *Client) Write(addr uint32, src []uint32) error {
	if err := checkRange("write", addr, len(src)); err != nil || len(src) == 0 {
		return err
	}
	cc, err := c.acquire()
	if err != nil {
		return err
	}
	defer c.release(cc)
	for len(src) > 0 {
		k := chunkWords(addr, len(src), MaxWriteWords)
		if err := c.exchange(cc, CmdWrite, addr, src[:k]); err != nil {
			return err
		}
		src, addr = src[k:], addr+uint32(4*k)
	}
	return nil
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
	cc.c, cc.used = conn, false
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
}

// exchange sends one request of len(words) <= MaxWords words and takes its
// answer, dialling first if needed. A read that fails on a reused
// connection before any answer byte (the server restarted meanwhile) is
// repeated once on a new connection.
func (c *Client) exchange(cc *clientConn, cmd byte, addr uint32, words []uint32) error {
	for attempt := 0; ; attempt++ {
		if cc.c == nil {
			ctx, cancel := context.WithTimeout(context.Background(), c.opts.dialTimeout)
			err := c.connect(ctx, cc)
			cancel()
			if err != nil {
				return err
			}
		}
		reused := cc.used
		answered, err := cc.roundTrip(cmd, addr, words, c.opts.timeout)
		if err == nil {
			cc.used = true
			return nil
		}
		c.drop(cc)
		if c.isClosed() {
			return c.errClosed()
		}
		if cmd == CmdRead && attempt == 0 && reused && !answered && isConnReset(err) {
			continue
		}
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
}

func isConnReset(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, syscall.ECONNABORTED)
}

// roundTrip performs one exchange on cc.c. answered reports whether any
// answer byte arrived, after which repeating the request is never safe.
func (cc *clientConn) roundTrip(cmd byte, addr uint32, words []uint32, timeout time.Duration) (answered bool, err error) {
	if timeout > 0 {
		if err := cc.c.SetDeadline(time.Now().Add(timeout)); err != nil {
			return false, err
		}
	}
	n := len(words)
	req := HeaderSize
	if cmd == CmdWrite {
		req += 4 * n
	}
	cc.buf = grow(cc.buf, HeaderSize+4*n)
	Header{Cmd: cmd, N: uint16(n), Addr: addr}.Put(cc.buf)
	if cmd == CmdWrite {
		putWords(cc.buf[HeaderSize:], words)
	}
	if _, err := cc.c.Write(cc.buf[:req]); err != nil {
		return false, err
	}
	if k, err := io.ReadFull(cc.br, cc.echo[:]); err != nil {
		return k > 0, err
	}
	if !bytes.Equal(cc.echo[:], cc.buf[:HeaderSize]) {
		return true, rperr.Errorf(rperr.EUnavailable, "echo mismatch: sent % x, got % x (server out of sync)",
			cc.buf[:HeaderSize], cc.echo[:])
	}
	if cmd == CmdRead {
		p := cc.buf[HeaderSize : HeaderSize+4*n]
		if _, err := io.ReadFull(cc.br, p); err != nil {
			return true, err
		}
		getWords(words, p)
	}
	if k := cc.br.Buffered(); k != 0 {
		return true, rperr.Errorf(rperr.EUnavailable, "%d unexpected bytes after the answer (server out of sync)", k)
	}
	return true, nil
}
