package lanproxy

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"runtime"
	"slices"
	"testing"
	"time"
)

// echoServer echoes every byte back until the client closes.
func echoServer(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.(*net.TCPConn).SetNoDelay(true)
			go func() {
				defer c.Close()
				io.Copy(c, c)
			}()
		}
	}()
	return ln.Addr().String()
}

func dialProxy(tb testing.TB, p *Proxy) net.Conn {
	tb.Helper()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		tb.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	tb.Cleanup(func() { c.Close() })
	return c
}

// Bytes pass both ways intact and in order, however they are chunked, and
// never sooner than the delay each way; with no delay too (forwarded at
// once, a path of its own).
func TestProxyPassesBytesAfterTheDelay(t *testing.T) {
	for _, delay := range []time.Duration{2 * time.Millisecond, 0} {
		t.Run(delay.String(), func(t *testing.T) { testPassesBytes(t, Config{Delay: delay}) })
	}
}

// With a rate too, the bytes pass intact, and 1 MiB each way takes at
// least its wire time at 200 Mbit/s (44 ms, framing counted), one way
// behind the other in the echo (the last byte back follows the last byte
// there), and no sooner with no delay.
func TestProxyCarriesAtMostTheRate(t *testing.T) {
	for _, delay := range []time.Duration{2 * time.Millisecond, 0} {
		t.Run(delay.String(), func(t *testing.T) {
			cfg := Config{Delay: delay, Rate: 200e6}
			if d := testPassesBytes(t, cfg); d < wireTime(1<<20, cfg.Rate)+2*delay {
				t.Errorf("1 MiB there and back took %v, less than its wire time of %v at %g bit/s", d, wireTime(1<<20, cfg.Rate), cfg.Rate)
			}
		})
	}
	// 64 KiB: 46 segments of at most 1448 bytes, 90 bytes of framing each.
	if got, want := wireTime(64<<10, 1e9), time.Duration(8*(65536+46*90)); got != want {
		t.Errorf("wireTime(64 KiB, 1 Gbit/s) = %v, want %v", got, want)
	}
}

// testPassesBytes sends 1 MiB through an echo behind a proxy of cfg and
// returns how long it took to come back.
func testPassesBytes(t *testing.T, cfg Config) time.Duration {
	delay := cfg.Delay
	cfg.Target = echoServer(t)
	p, err := Listen("127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c := dialProxy(t, p)
	r := rand.New(rand.NewPCG(1, 2))
	want := make([]byte, 1<<20)
	for i := range want {
		want[i] = byte(r.Uint32())
	}
	t0 := time.Now()
	go func() {
		for b := want; len(b) > 0; {
			k := min(len(b), 1+r.IntN(20000))
			c.Write(b[:k])
			b = b[k:]
		}
	}()
	got := make([]byte, len(want))
	if _, err := io.ReadFull(c, got[:1]); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(t0); d < 2*delay {
		t.Errorf("first byte back after %v, before two delays of %v", d, delay)
	}
	if _, err := io.ReadFull(c, got[1:]); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("the bytes came back changed")
	}
	return time.Since(t0)
}

// A side that closes its write half is seen as EOF on the other side, after
// the bytes before it; Close ends every connection and goroutine.
func TestProxyHalfCloseAndClose(t *testing.T) {
	for _, delay := range []time.Duration{100 * time.Microsecond, 0} {
		t.Run(delay.String(), func(t *testing.T) { testHalfCloseAndClose(t, delay) })
	}
}

func testHalfCloseAndClose(t *testing.T, delay time.Duration) {
	before := runtime.NumGoroutine()
	p, err := Listen("127.0.0.1:0", Config{Target: echoServer(t), Delay: delay})
	if err != nil {
		t.Fatal(err)
	}
	c := dialProxy(t, p)
	c.Write([]byte("last words"))
	c.(*net.TCPConn).CloseWrite()
	got, err := io.ReadAll(c) // the echo server closes after echoing: EOF comes back
	if err != nil || string(got) != "last words" {
		t.Fatalf("read %q, %v; want the words, then EOF", got, err)
	}
	open := dialProxy(t, p)
	open.Write([]byte("x"))
	io.ReadFull(open, make([]byte, 1))
	p.Close()
	if _, err := open.Read(make([]byte, 1)); err == nil {
		t.Fatal("a connection survived Close")
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before+1 { // +1: the echo server's accept loop
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines after Close, %d before", runtime.NumGoroutine(), before)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestListenValidates(t *testing.T) {
	for _, cfg := range []Config{{}, {Target: "nohost"}, {Target: "127.0.0.1:1", Delay: -1}, {Target: "127.0.0.1:1", Delay: time.Hour},
		{Target: "127.0.0.1:1", Rate: -1}, {Target: "127.0.0.1:1", Rate: 10}, {Target: "127.0.0.1:1", Rate: 1e13}} {
		if _, err := Listen("127.0.0.1:0", cfg); !errors.Is(err, ErrConfigValidation) {
			t.Errorf("%+v: %v, want ErrConfigValidation", cfg, err)
		}
	}
}

// BenchmarkRoundTrip reports a 16-byte ping-pong through the proxy: p50
// and what it adds beyond the two delays.
func BenchmarkRoundTrip(b *testing.B) {
	for _, d := range []time.Duration{0, 125 * time.Microsecond} {
		b.Run(d.String(), func(b *testing.B) {
			p, err := Listen("127.0.0.1:0", Config{Target: echoServer(b), Delay: d})
			if err != nil {
				b.Fatal(err)
			}
			defer p.Close()
			c, err := net.Dial("tcp", p.Addr())
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			c.(*net.TCPConn).SetNoDelay(true)
			buf := make([]byte, 16)
			var lat []float64
			for b.Loop() {
				t0 := time.Now()
				c.Write(buf)
				if _, err := io.ReadFull(c, buf); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, float64(time.Since(t0).Microseconds()))
			}
			slices.Sort(lat)
			b.ReportMetric(lat[len(lat)/2], "p50-us")
			b.ReportMetric(lat[len(lat)/2]-2*float64(d.Microseconds()), "p50-over-2delay-us")
			b.ReportMetric(lat[len(lat)*9/10], "p90-us")
			b.ReportMetric(lat[len(lat)*99/100], "p99-us")
		})
	}
}
