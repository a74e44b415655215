package monitor

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/rpbus/rpbus/board"
)

// ErrServerClosed is returned by Serve and ListenAndServe after Shutdown or
// Close.
var ErrServerClosed = errors.New("monitor: server closed")

// ErrConfigValidation is wrapped by every error from an invalid option.
var ErrConfigValidation = errors.New("monitor: invalid configuration")

// errCloseRequested ends a connection cleanly on a 'c' request.
var errCloseRequested = errors.New("close requested")

// ServerOption configures a Server.
type ServerOption func(*serverOpts) error

type serverOpts struct {
	maxConns int
	idle     time.Duration
	log      *slog.Logger
}

// WithMaxConns bounds the number of simultaneous client connections
// (default 64); connections beyond it are closed at once.
func WithMaxConns(n int) ServerOption {
	return func(o *serverOpts) error {
		if n < 1 {
			return fmt.Errorf("%w: max connections %d, want >= 1", ErrConfigValidation, n)
		}
		o.maxConns = n
		return nil
	}
}

// WithIdleTimeout closes a connection that sends nothing, or does not take
// its answer, for d (default 0: never; TCP keepalive still ends dead peers).
func WithIdleTimeout(d time.Duration) ServerOption {
	return func(o *serverOpts) error {
		if d < 0 {
			return fmt.Errorf("%w: idle timeout %v, want >= 0", ErrConfigValidation, d)
		}
		o.idle = d
		return nil
	}
}

// WithLogger logs connection ends that are not clean (default: no log).
func WithLogger(l *slog.Logger) ServerOption {
	return func(o *serverOpts) error {
		o.log = l
		return nil
	}
}

// Server serves an board.FPGA over the monitor_server protocol to any number of
// clients at once. It does not own the FPGA: Close leaves it open.
type Server struct {
	fpga board.FPGA
	opts serverOpts

	mu        sync.Mutex
	stopping  bool
	listeners map[net.Listener]struct{}
	conns     map[*serverConn]bool // value: idle, i.e. waiting for a header
	wg        sync.WaitGroup       // one per connection goroutine
}

type serverConn struct {
	c net.Conn
}

// NewServer returns a Server for fpga.
func NewServer(fpga board.FPGA, opts ...ServerOption) (*Server, error) {
	if fpga == nil {
		return nil, fmt.Errorf("%w: nil FPGA", ErrConfigValidation)
	}
	o := serverOpts{maxConns: 64}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	return &Server{
		fpga:      fpga,
		opts:      o,
		listeners: make(map[net.Listener]struct{}),
		conns:     make(map[*serverConn]bool),
	}, nil
}

// ListenAndServe listens on addr (":2222" when empty) and serves it.
func (s *Server) ListenAndServe(addr string) error {
	if addr == "" {
		addr = ":" + strconv.Itoa(DefaultPort)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return s.Serve(ln)
}

// Serve accepts connections on ln until Shutdown or Close, serving each in
// its own goroutine. It closes ln and returns ErrServerClosed after
// Shutdown or Close, or the accept error that stopped it.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.stopping {
		s.mu.Unlock()
		ln.Close()
		return ErrServerClosed
	}
	s.listeners[ln] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
		ln.Close()
	}()

	var pause time.Duration // after temporary accept errors, as net/http does
	for {
		c, err := ln.Accept()
		if err != nil {
			if s.isStopping() {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				pause = min(max(2*pause, 5*time.Millisecond), time.Second)
				time.Sleep(pause)
				continue
			}
			return err
		}
		pause = 0
		if tc, ok := c.(*net.TCPConn); ok {
			// Small requests: Nagle plus delayed ACK would add ~15 ms each.
			_ = tc.SetNoDelay(true)
		}
		sc := &serverConn{c: c}
		s.mu.Lock()
		switch {
		case s.stopping:
			s.mu.Unlock()
			c.Close()
			return ErrServerClosed
		case len(s.conns) >= s.opts.maxConns:
			s.mu.Unlock()
			s.logf("connection refused: limit reached", "remote", c.RemoteAddr(), "limit", s.opts.maxConns)
			c.Close()
			continue
		}
		s.conns[sc] = false
		s.wg.Add(1)
		s.mu.Unlock()
		go s.serveConn(sc)
	}
}

// Shutdown stops accepting, closes connections as soon as they are between
// requests, and waits for them. When ctx ends first it closes the rest and
// returns ctx.Err().
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.stopping = true
	for ln := range s.listeners {
		ln.Close()
	}
	past := time.Unix(1, 0)
	for sc, idle := range s.conns {
		if idle {
			// Wakes the header read; an active request restores its deadline.
			_ = sc.c.SetReadDeadline(past)
		}
	}
	s.mu.Unlock()

	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.closeConns()
		return ctx.Err()
	}
}

// Close stops accepting, closes every connection at once, even mid-request,
// and waits for the connection goroutines.
func (s *Server) Close() error {
	s.mu.Lock()
	s.stopping = true
	for ln := range s.listeners {
		ln.Close()
	}
	s.mu.Unlock()
	s.closeConns()
	s.wg.Wait()
	return nil
}

func (s *Server) closeConns() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for sc := range s.conns {
		sc.c.Close()
	}
}

func (s *Server) isStopping() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stopping
}

// setIdle records whether sc waits for a header. It reports false when the
// server is stopping and sc should end instead of waiting.
func (s *Server) setIdle(sc *serverConn, idle bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if idle && s.stopping {
		return false
	}
	s.conns[sc] = idle
	// Deadlines are set under s.mu so that they cannot undo the past
	// deadline Shutdown sets to wake idle connections.
	switch {
	case s.opts.idle > 0:
		_ = sc.c.SetDeadline(time.Now().Add(s.opts.idle))
	case !idle && s.stopping:
		// Shutdown may have set a past deadline after the header arrived.
		_ = sc.c.SetReadDeadline(time.Time{})
	}
	return true
}

func (s *Server) logf(msg string, args ...any) {
	if s.opts.log != nil {
		s.opts.log.Info("monitor server: "+msg, args...)
	}
}

// logError logs what must be seen even without WithLogger.
func (s *Server) logError(msg string, args ...any) {
	l := s.opts.log
	if l == nil {
		l = slog.Default()
	}
	l.Error("monitor server: "+msg, args...)
}

func (s *Server) serveConn(sc *serverConn) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.conns, sc)
		s.mu.Unlock()
		sc.c.Close()
	}()
	defer func() {
		// A bug met by one client's request ends that connection, not
		// the server that every other client shares.
		if p := recover(); p != nil {
			s.logError("request panicked; connection closed", "remote", sc.c.RemoteAddr(), "panic", p, "stack", string(debug.Stack()))
		}
	}()
	br := bufio.NewReaderSize(sc.c, 4096)
	sess := session{fpga: s.fpga}
	var hdr [HeaderSize]byte
	for {
		if !s.setIdle(sc, true) {
			return
		}
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			if !errors.Is(err, io.EOF) && !s.isStopping() {
				s.logf("connection ended", "remote", sc.c.RemoteAddr(), "err", err)
			}
			return
		}
		if !s.setIdle(sc, false) {
			return
		}
		if err := sess.handle(&hdr, br, sc.c); err != nil {
			if err != errCloseRequested {
				s.logf("connection closed", "remote", sc.c.RemoteAddr(), "err", err)
			}
			return
		}
	}
}

// session is the protocol state of one connection: buffers reused across
// requests, grown to the largest request seen (at most 8+4*65535 bytes).
type session struct {
	fpga  board.FPGA
	buf   []byte
	words []uint32
}

// handle serves the request whose header is hdr, reading a write's payload
// from r and sending the answer to w. A non-nil error ends the connection:
// the protocol has no error frame, so a failing FPGA call can only be
// signalled by closing.
func (s *session) handle(hdr *[HeaderSize]byte, r io.Reader, w io.Writer) error {
	h, _ := ParseHeader(hdr[:])
	if h.Cmd == CmdClose {
		return errCloseRequested
	}
	if h.N == 0 {
		return nil // as the original: ignored, no answer
	}
	n := int(h.N)
	switch h.Cmd {
	case CmdRead:
		s.words = grow(s.words, n)
		if err := s.fpga.Read(h.Addr, s.words); err != nil {
			return fmt.Errorf("read %d words at %#x: %w", n, h.Addr, err)
		}
		s.buf = grow(s.buf, HeaderSize+4*n)
		copy(s.buf, hdr[:]) // the echo is the request as received
		putWords(s.buf[HeaderSize:], s.words)
		_, err := w.Write(s.buf) // one write: header and data in as few segments as possible
		return err
	case CmdWrite:
		s.buf = grow(s.buf, 4*n)
		if _, err := io.ReadFull(r, s.buf); err != nil {
			return fmt.Errorf("write payload: %w", err)
		}
		s.words = grow(s.words, n)
		getWords(s.words, s.buf)
		if err := s.fpga.Write(h.Addr, s.words); err != nil {
			return fmt.Errorf("write %d words at %#x: %w", n, h.Addr, err)
		}
		_, err := w.Write(hdr[:])
		return err
	}
	return fmt.Errorf("unknown command %q", h.Cmd)
}
