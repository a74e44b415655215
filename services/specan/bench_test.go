package specan_test

import (
	"context"
	"runtime/debug"
	"sync"
	"testing"
	"time"

	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/board/sim"
	"github.com/rpbus/rpbus/internal/cputime"
	"github.com/rpbus/rpbus/regmap"
	"github.com/rpbus/rpbus/services/specan"
	"github.com/rpbus/rpbus/svc"
)

// benchSpectrum asks for spectra of 100 averages at decimation dec and
// reports the time per spectrum over 100 x the trace time ("x_acq"), the
// time beyond it per trace, and the rate of traces as a fraction of the
// board's limit, one every acquisition plus the bus time of its readout
// ("of_limit": 1 is a board that never idles).
func benchSpectrum(b *testing.B, dec int, cfg specan.Config) {
	benchSpectrumOn(b, newEnv(b, cfg), dec)
}

func benchSpectrumOn(b *testing.B, e *env, dec int) {
	const traces = 100
	s := api.SpecanSettings{Decimation: dec, TraceAverage: traces, Cross: true}
	e.spectrum(b, s) // warm: plans, connections
	acq := time.Duration(traces * regmap.Duration(uint32(dec)) * float64(time.Second))
	cpu0 := cputime.Process()
	bus0 := e.sim.BusStats()
	start := time.Now()
	for b.Loop() {
		if _, err := e.board.Specan().Single(context.Background(), s); err != nil {
			b.Fatal(err)
		}
	}
	per := time.Since(start) / time.Duration(b.N)
	reportLimit(b, e, per, dec, traces, e.sim.BusStats().Sub(bus0))
	b.ReportMetric(float64(per)/float64(acq), "x_acq")
	b.ReportMetric(float64(per-acq)/traces/1e3, "us_over/trace")
	// every part (board, bridge, services, client) runs in this process
	b.ReportMetric(float64(cputime.Process()-cpu0)/float64(b.N*traces)/1e3, "cpu_us/trace")
}

// reportLimit reports the rate of traces, one spectrum of traces taking
// per, against the board's limit for them (the bus carried bus over b.N
// spectra); without the bus time the figures are the simulator's only.
func reportLimit(b *testing.B, e *env, per time.Duration, dec, traces int, bus sim.BusStats) {
	if !e.cfg.BusOn() {
		b.Log("simulator only: the bus time is off")
	}
	lim := sim.TraceRateLimit(regmap.Duration(uint32(dec)), bus, b.N*traces)
	b.ReportMetric(lim, "limit_traces/s")
	b.ReportMetric(float64(traces)/per.Seconds()/lim, "of_limit")
}

// BenchmarkSpectrum100Dec8: 1.049 ms traces.
func BenchmarkSpectrum100Dec8(b *testing.B) { benchSpectrum(b, 8, specan.Config{}) }

// BenchmarkSpectrum100Dec64: 8.39 ms traces.
func BenchmarkSpectrum100Dec64(b *testing.B) { benchSpectrum(b, 64, specan.Config{}) }

// BenchmarkSpectrum100Dec8InProcess is Dec8 as `rpbus up` runs it: every
// service on an in-process connection of its own (no TCP hop for the
// readout), and the rpbus binary's GC target.
func BenchmarkSpectrum100Dec8InProcess(b *testing.B) {
	defer debug.SetGCPercent(debug.SetGCPercent(svc.GCPercent))
	benchSpectrumOn(b, newEnvUp(b, specan.Config{}), 8)
}

// BenchmarkSpectrum100Dec64InProcess is Dec64 in process.
func BenchmarkSpectrum100Dec64InProcess(b *testing.B) {
	defer debug.SetGCPercent(debug.SetGCPercent(svc.GCPercent))
	benchSpectrumOn(b, newEnvUp(b, specan.Config{}), 64)
}

// BenchmarkSpectrum100Dec8InFlight1 is Dec8 with one scope request at a
// time: what the overlap buys.
func BenchmarkSpectrum100Dec8InFlight1(b *testing.B) {
	benchSpectrum(b, 8, specan.Config{InFlight: 1})
}

// benchScope is the ceiling benchSpectrum's figures are held against: the
// same 100 traces through scope.single alone, with as many requests in
// flight as the service keeps and no transform. The scope reads each
// trace out of the board before it can arm the next, so its x_acq is
// above 1 by the readout (hw.txn of 2 x 16384 words) and the round trips.
func benchScope(b *testing.B, dec int) {
	e := newEnv(b, specan.Config{})
	const traces = 100
	s := api.ScopeSettings{Decimation: dec}
	acq := time.Duration(traces * regmap.Duration(uint32(dec)) * float64(time.Second))
	bus0 := e.sim.BusStats()
	start := time.Now()
	for b.Loop() {
		next := make(chan struct{}, traces)
		for range traces {
			next <- struct{}{}
		}
		close(next)
		var wg sync.WaitGroup
		for range specan.DefaultInFlight {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range next {
					if _, err := e.board.Scope().Single(context.Background(), s); err != nil {
						b.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
	}
	per := time.Since(start) / time.Duration(b.N)
	reportLimit(b, e, per, dec, traces, e.sim.BusStats().Sub(bus0))
	b.ReportMetric(float64(per)/float64(acq), "x_acq")
	b.ReportMetric(float64(per-acq)/traces/1e3, "us_over/trace")
}

func BenchmarkScopeOnly100Dec8(b *testing.B)  { benchScope(b, 8) }
func BenchmarkScopeOnly100Dec64(b *testing.B) { benchScope(b, 64) }
