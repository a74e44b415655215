package na_test

import (
	"context"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/rpbus/rpbus/api"
)

// benchSweep runs 1001-point sweeps at rbw through the Go client over TCP
// loopback and reports the wall time of a sweep (request to reply) over
// its hardware time. With progress set, a client subscribes to the
// progress events too.
func benchSweep(b *testing.B, rbw float64, progress bool) {
	e := newEnv(b)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// With progress: the longest gap between two events of one sweep.
	var mu sync.Mutex
	var maxGap time.Duration
	if progress {
		ch, err := e.board.NA().Progress(ctx)
		if err != nil {
			b.Fatal(err)
		}
		go func() {
			var last time.Time
			var id string
			for p := range ch {
				now := time.Now()
				if p.ID == id {
					mu.Lock()
					maxGap = max(maxGap, now.Sub(last))
					mu.Unlock()
				}
				last, id = now, p.ID
			}
		}()
	}
	s := api.NASettings{StartFreq: 100e3, StopFreq: 5e6, Points: 1001, RBW: rbw}
	// one sweep first: connections, the simulated board's timer slack
	if _, err := e.board.NA().Single(ctx, s); err != nil {
		b.Fatal(err)
	}
	var ratios []float64
	var wall, hw float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		tr, err := e.board.NA().Single(ctx, s)
		d := time.Since(t0).Seconds()
		if err != nil {
			b.Fatal(err)
		}
		ratios = append(ratios, d/tr.HardwareTime)
		wall += d
		hw += tr.HardwareTime
	}
	b.StopTimer()
	sort.Float64s(ratios)
	b.ReportMetric(wall/hw, "sweep/hw")
	b.ReportMetric(ratios[len(ratios)/2], "p50_sweep/hw")
	b.ReportMetric(hw/float64(b.N)*1e3, "hw_ms")
	if progress {
		mu.Lock()
		b.ReportMetric(maxGap.Seconds()*1e3, "max_progress_gap_ms")
		mu.Unlock()
	}
}

func BenchmarkSweep1001RBW10k(b *testing.B)         { benchSweep(b, 10e3, false) }
func BenchmarkSweep1001RBW1k(b *testing.B)          { benchSweep(b, 1e3, false) }
func BenchmarkSweep1001RBW10kProgress(b *testing.B) { benchSweep(b, 10e3, true) }
func BenchmarkSweep1001RBW1kProgress(b *testing.B)  { benchSweep(b, 1e3, true) }
