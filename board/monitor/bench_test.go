package monitor

import (
	"slices"
	"testing"
	"time"
)

// benchRead measures Client.Read of n words against Server on loopback and
// reports the median and 99th percentile besides the mean (ns/op).
func benchRead(b *testing.B, n int) {
	mem := newMem()
	if err := mem.Write(base, randomWords(1, n)); err != nil {
		b.Fatal(err)
	}
	_, addr := startServer(b, mem)
	c := dial(b, addr)
	dst := make([]uint32, n)
	if err := c.Read(base, dst); err != nil { // warm buffers
		b.Fatal(err)
	}
	lat := make([]time.Duration, 0, 1<<16)
	b.SetBytes(int64(4 * n))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		if err := c.Read(base, dst); err != nil {
			b.Fatal(err)
		}
		if len(lat) < cap(lat) {
			lat = append(lat, time.Since(t0))
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
}

func BenchmarkRead1(b *testing.B)     { benchRead(b, 1) }
func BenchmarkRead16384(b *testing.B) { benchRead(b, 16384) }

func BenchmarkWrite1(b *testing.B) {
	_, addr := startServer(b, newMem())
	c := dial(b, addr)
	src := []uint32{1}
	b.ReportAllocs()
	for b.Loop() {
		if err := c.Write(base, src); err != nil {
			b.Fatal(err)
		}
	}
}
