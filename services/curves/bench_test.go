package curves_test

import (
	"context"
	"fmt"
	"runtime/debug"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/client"
	"github.com/rpbus/rpbus/internal/natstest"
	"github.com/rpbus/rpbus/internal/testrig"
	"github.com/rpbus/rpbus/natsserver"
	"github.com/rpbus/rpbus/services/curves"
	"github.com/rpbus/rpbus/services/na"
	"github.com/rpbus/rpbus/services/scope"
	"github.com/rpbus/rpbus/services/specan"
	"github.com/rpbus/rpbus/svc"
)

// upBench is the topology of `rpbus up`: its collector setting, the
// server embedded with JetStream in a temporary folder, the bridge, the
// curve store and the instruments each on an in-process connection of its
// own, and the Go client over TCP loopback.
func upBench(b *testing.B) *client.Client {
	b.Helper()
	// As the rpbus binary sets it (svc.GCPercent).
	b.Cleanup(func(old int) func() { return func() { debug.SetGCPercent(old) } }(debug.SetGCPercent(svc.GCPercent)))
	ns := natstest.JetStreamServer(b)
	startScope := func(nc *nats.Conn) (testrig.Service, error) {
		heard, err := natsserver.Interest(ns, nc)
		if err != nil {
			return nil, err
		}
		return scope.Start(nc, scope.Config{Heard: heard})
	}
	testrig.StartWith(b, testrig.Options{Server: ns, Connect: testrig.InProcess},
		func(nc *nats.Conn) (testrig.Service, error) {
			return curves.Start(nc, curves.Config{MaxBytes: 4 << 30})
		},
		startScope,
		func(nc *nats.Conn) (testrig.Service, error) { return na.Start(nc, na.Config{}) },
		func(nc *nats.Conn) (testrig.Service, error) { return specan.Start(nc, specan.Config{}) },
	)
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(nc.Close)
	c, _ := client.New(nc)
	return c
}

// pair runs each of b.N rounds as one acquisition without saving and one
// with, in alternating order (the machine's load drifts; each round sees
// both the same), and reports both p50s in microseconds and their ratio.
func pair(b *testing.B, warm int, acquire func(save bool) error) (off, on []float64) {
	b.Helper()
	for i := 0; i < warm; i++ {
		if err := acquire(i%2 == 0); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, save := range [2]bool{i%2 == 0, i%2 != 0} {
			t0 := time.Now()
			if err := acquire(save); err != nil {
				b.Fatal(err)
			}
			us := float64(time.Since(t0).Nanoseconds()) / 1e3
			if save {
				on = append(on, us)
			} else {
				off = append(off, us)
			}
		}
	}
	b.StopTimer()
	sort.Float64s(off)
	sort.Float64s(on)
	b.ReportMetric(off[len(off)/2], "nosave-p50-us")
	b.ReportMetric(on[len(on)/2], "save-p50-us")
	b.ReportMetric(on[len(on)/2]/off[len(off)/2], "save/nosave-p50")
	return off, on
}

// BenchmarkScopeSave: scope.single at decimation 1 with and without
// save, interleaved; reports the p50s and what saving adds.
func BenchmarkScopeSave(b *testing.B) {
	sc := upBench(b).Board("sim").Scope()
	ctx := context.Background()
	var tr api.ScopeTrace
	off, on := pair(b, 50, func(save bool) error {
		return sc.SingleInto(ctx, api.ScopeSettings{Decimation: 1, Save: save}, &tr)
	})
	b.ReportMetric(on[len(on)/2]-off[len(off)/2], "added-p50-us")
	b.ReportMetric(on[len(on)*9/10]-off[len(off)*9/10], "added-p90-us")
}

// BenchmarkNASave: a 101-point sweep (rbw 10 kHz, about 30 ms) with and
// without save, interleaved.
func BenchmarkNASave(b *testing.B) {
	n := upBench(b).Board("sim").NA()
	ctx := context.Background()
	pair(b, 4, func(save bool) error {
		_, err := n.Single(ctx, api.NASettings{StartFreq: 1e5, StopFreq: 1e7, Points: 101, RBW: 10000, Save: save})
		return err
	})
}

// BenchmarkSpecanSave: a decimation-8 spectrum of 10 traces with and
// without save, interleaved.
func BenchmarkSpecanSave(b *testing.B) {
	sp := upBench(b).Board("sim").Specan()
	ctx := context.Background()
	pair(b, 4, func(save bool) error {
		_, err := sp.Single(ctx, api.SpecanSettings{Decimation: 8, TraceAverage: 10, Save: save})
		return err
	})
}

// BenchmarkListGet10k stores 10,000 curves (short uploaded scope traces,
// and among them decimation-1 singles: 2 x 16384 14-bit codes, and
// averaged ones: 2 x 16384 float32), then measures lists and gets.
func BenchmarkListGet10k(b *testing.B) {
	c := upBench(b)
	ctx := context.Background()
	cs := c.Curves()
	sc := c.Board("sim").Scope()
	var codes, floats []string
	for i := 0; i < 20; i++ {
		tr, err := sc.Single(ctx, api.ScopeSettings{Decimation: 1, Save: true, Name: "codes", Tags: []string{"full"}})
		if err != nil {
			b.Fatal(err)
		}
		codes = append(codes, tr.Curve)
		tr, err = sc.Single(ctx, api.ScopeSettings{Decimation: 1, TraceAverage: 2, Save: true, Name: "floats", Tags: []string{"full"}})
		if err != nil {
			b.Fatal(err)
		}
		floats = append(floats, tr.Curve)
	}
	const total, workers = 10000, 8
	small := api.ScopeTrace{Board: "sim", Ch1: make([]float32, 16), Ch2: make([]float32, 16), Dt: 8e-9}
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tr := small
			for i := w; i < total-len(codes)-len(floats); i += workers {
				tr.ID = fmt.Sprint("upload-", i)
				d := api.CurveData{Curve: api.Curve{Name: fmt.Sprintf("run-%04d", i), Tags: []string{fmt.Sprint("t", i%100)}}, Scope: &tr}
				if err := c.Request(ctx, api.CurvesSave, d, nil); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if l, err := cs.List(ctx, api.CurveQuery{Limit: 1}); err != nil || l.Store.Curves != total {
		b.Fatalf("%d curves stored, want %d: %v", l.Store.Curves, total, err)
	}
	measures := []struct {
		name string
		f    func(i int) error
	}{
		{"list-100-p50-us", func(int) error { _, err := cs.List(ctx, api.CurveQuery{}); return err }},
		{"list-tag-p50-us", func(int) error { _, err := cs.List(ctx, api.CurveQuery{Tag: "t42"}); return err }},
		{"list-name-1000-p50-us", func(int) error { _, err := cs.List(ctx, api.CurveQuery{NamePrefix: "run-1", Limit: 1000}); return err }},
		{"get-i2-p50-us", func(i int) error { _, err := cs.Get(ctx, codes[i%len(codes)]); return err }},
		{"get-f4-p50-us", func(i int) error { _, err := cs.Get(ctx, floats[i%len(floats)]); return err }},
	}
	lat := make([][]float64, len(measures))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for k, m := range measures {
			t0 := time.Now()
			if err := m.f(i); err != nil {
				b.Fatal(err)
			}
			lat[k] = append(lat[k], float64(time.Since(t0).Nanoseconds())/1e3)
		}
	}
	b.StopTimer()
	for k, m := range measures {
		sort.Float64s(lat[k])
		b.ReportMetric(lat[k][len(lat[k])/2], m.name)
	}
}
