package lanproxy

import (
	"io"
	"net"
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
			go func() { defer c.Close(); io.Copy(c, c) }()
		}
	}()
	return ln.Addr().String()
}

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
