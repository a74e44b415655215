package lanproxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/rpbus/rpbus/internal/precise"
)

// DefaultDelay is a LAN's one-way delay between a PC and a Red Pitaya
// (about 250 us ping).
const DefaultDelay = 125 * time.Microsecond

// DefaultRate is the line rate of the Red Pitaya's Ethernet port, 1 Gbit/s
// (bit/s). A board's TCP stack may well send slower; a rate set lower
// models that.
const DefaultRate = 1e9

// ErrConfigValidation is wrapped by every error from an invalid Config.
var ErrConfigValidation = errors.New("lanproxy: invalid configuration")

// chunkSize is the most one read takes from a socket.
const chunkSize = 64 << 10

// queueChunks bounds the chunks in flight per direction; a full queue
// stops reading, so TCP's flow control reaches the sender.
const queueChunks = 4096

// maxBacklog bounds how far behind the line rate a direction may queue
// before it stops reading.
const maxBacklog = 20 * time.Millisecond

// Config describes a proxy.
type Config struct {
	Target string        // host:port every accepted connection is proxied to
	Delay  time.Duration // one way, each direction; 0 forwards at once
	// Rate is the link's line rate in bit/s, each direction (0: no
	// limit): a chunk is sent on once its last byte has crossed the
	// link, after the chunks before it (see wireTime).
	Rate float64
}

// Proxy forwards the connections of one listener to Target.
type Proxy struct {
	cfg Config
	ln  net.Listener

	mu     sync.Mutex
	closed bool
	conns  map[net.Conn]struct{}
	wg     sync.WaitGroup
}

// Listen starts a proxy on addr (host:port; port 0 picks one) for cfg.
func Listen(addr string, cfg Config) (*Proxy, error) {
	if cfg.Target == "" {
		return nil, fmt.Errorf("%w: no target address", ErrConfigValidation)
	}
	if _, _, err := net.SplitHostPort(cfg.Target); err != nil {
		return nil, fmt.Errorf("%w: target %q: %v", ErrConfigValidation, cfg.Target, err)
	}
	if cfg.Delay < 0 || cfg.Delay > time.Minute {
		return nil, fmt.Errorf("%w: delay %v, want 0..1m", ErrConfigValidation, cfg.Delay)
	}
	if !(cfg.Rate == 0 || cfg.Rate >= 1e3 && cfg.Rate <= 1e12) {
		return nil, fmt.Errorf("%w: rate %g bit/s, want 0 (no limit) or 1e3..1e12", ErrConfigValidation, cfg.Rate)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	p := &Proxy{cfg: cfg, ln: ln, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.serve()
	return p, nil
}

// Addr is the address the proxy listens on.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Ethernet's cost of a TCP segment beyond its payload: preamble and
// start (8 bytes), header (14), FCS (4), inter-frame gap (12), IPv4 (20)
// and TCP with timestamps (32); at a 1500-byte MTU a segment carries
// 1448 bytes.
const (
	segmentPayload  = 1448
	segmentOverhead = 90
)

// wireTime is how long n bytes of a TCP stream take on a link of rate
// bit/s, framing included: 64 KiB take 560 us at 1 Gbit/s.
func wireTime(n int, rate float64) time.Duration {
	segments := (n + segmentPayload - 1) / segmentPayload
	bits := 8 * float64(n+segments*segmentOverhead)
	return time.Duration(bits / rate * 1e9)
}

// Close stops accepting, closes every proxied connection and waits for
// the proxy's goroutines.
func (p *Proxy) Close() error {
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	err := p.ln.Close()
	p.wg.Wait()
	return err
}

// track registers c so Close reaches it; false when the proxy is closing.
func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		c.Close()
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	c.Close()
}

func (p *Proxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(5 * time.Millisecond)
				continue
			}
			return
		}
		if !p.track(c) {
			return
		}
		p.wg.Add(1)
		go p.proxy(c)
	}
}

// proxy dials the target for the accepted connection a and forwards both
// directions until both have ended.
func (p *Proxy) proxy(a net.Conn) {
	defer p.wg.Done()
	defer p.untrack(a)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	var d net.Dialer
	b, err := d.DialContext(ctx, "tcp", p.cfg.Target)
	cancel()
	if err != nil || !p.track(b) {
		return
	}
	defer p.untrack(b)
	for _, c := range []net.Conn{a, b} {
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetNoDelay(true)
		}
	}
	var wg sync.WaitGroup
	wg.Go(func() { p.pipe(b, a) })
	wg.Go(func() { p.pipe(a, b) })
	wg.Wait()
}

// chunk is what one read took, and when it arrived.
type chunk struct {
	data []byte
	at   time.Time
}

var chunkPool = sync.Pool{New: func() any { b := make([]byte, chunkSize); return &b }}

// pipe copies src to dst, each chunk delay after it has crossed the
// link: at once when it arrives, with no rate; else once its last byte
// is through, behind the chunks before it. When src ends, dst's write
// side is closed after the last chunk (the peer sees EOF); when either
// fails, both connections close.
func (p *Proxy) pipe(dst, src net.Conn) {
	if p.cfg.Delay == 0 && p.cfg.Rate == 0 {
		forward(dst, src)
		return
	}
	q := make(chan chunk, queueChunks)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for c := range q {
			precise.Near(c.at.Add(p.cfg.Delay))
			_, err := dst.Write(c.data)
			chunkPool.Put(&c.data)
			if err != nil {
				src.Close()
				dst.Close()
				for c := range q { // let the reader finish
					chunkPool.Put(&c.data)
				}
				return
			}
		}
		closeWrite(dst)
	}()
	var free time.Time // when the link has carried the chunks so far
	for {
		buf := *chunkPool.Get().(*[]byte)
		n, err := src.Read(buf[:chunkSize])
		if n > 0 {
			at := time.Now()
			if p.cfg.Rate > 0 {
				if free.After(at) {
					at = free
				}
				at = at.Add(wireTime(n, p.cfg.Rate))
				free = at
				// A link far behind stops reading, so TCP's flow
				// control reaches the sender rather than the queue
				// growing (4096 chunks of 64 KiB at a low rate).
				if behind := time.Until(at); behind > maxBacklog {
					time.Sleep(behind - maxBacklog)
				}
			}
			q <- chunk{data: buf[:n], at: at}
		} else {
			chunkPool.Put(&buf)
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				dst.Close()
			}
			break
		}
	}
	close(q)
	<-done
}

// forward copies src to dst as each read arrives, in one goroutine: with
// no delay to keep, a hand-off to a writing goroutine would only add a
// thread's wake-up to every exchange, which a wire does not. Ends as
// pipe does.
func forward(dst, src net.Conn) {
	bp := chunkPool.Get().(*[]byte)
	defer chunkPool.Put(bp)
	buf := *bp
	for {
		n, err := src.Read(buf[:chunkSize])
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				src.Close()
				dst.Close()
				return
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				dst.Close()
				return
			}
			break
		}
	}
	closeWrite(dst)
}

// closeWrite ends dst's write side, so the peer sees EOF after the last
// byte (a connection that has no half-close is closed).
func closeWrite(dst net.Conn) {
	if tc, ok := dst.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	} else {
		dst.Close()
	}
}
