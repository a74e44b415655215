package scope_test

import (
	"context"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/board/sim"
	"github.com/rpbus/rpbus/regmap"
)

// dec1 is the benchmarks' request: decimation 1 (131.072 us), trigger
// immediately, both channels.
var dec1 = api.ScopeSettings{Decimation: 1, TriggerSource: "immediately"}

// limit measures what the board's bus carries while run makes traces
// traces, and reports the rate as a fraction of the board's limit for
// them, 1/(acquisition + readout). Without the simulated bus time the
// figures are the simulator's only, and the benchmark says so.
func (e *env) limit(b *testing.B, traces int, run func()) {
	if !e.cfg.BusOn() {
		b.Log("simulator only: the bus time is off")
	}
	s0 := e.sim.BusStats()
	t0 := time.Now()
	run()
	rate := float64(traces) / time.Since(t0).Seconds()
	lim := sim.TraceRateLimit(regmap.Duration(1), e.sim.BusStats().Sub(s0), traces)
	b.ReportMetric(rate, "traces/s")
	b.ReportMetric(lim, "limit-traces/s")
	b.ReportMetric(rate/lim, "of-limit")
}

// BenchmarkSingleDec1 is scope.single end to end with the Go client over
// TCP loopback (bridge and service in this process, each on its own TCP
// connection). It reports the p50 and p90 latency minus the 131 us
// acquisition and the readout's bus time, and the rate of singles one
// after another against the board's limit. Allocations are the whole
// process's: client, service, bridge and simulated board.
func BenchmarkSingleDec1(b *testing.B) {
	e := newEnv(b, 1)
	sc := e.board.Scope()
	ctx := context.Background()
	for i := 0; i < 50; i++ { // warm up pools and connections
		if _, err := sc.Single(ctx, dec1); err != nil {
			b.Fatal(err)
		}
	}
	lat := make([]float64, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	s0 := e.sim.BusStats()
	e.limit(b, b.N, func() {
		for i := 0; i < b.N; i++ {
			t0 := time.Now()
			if _, err := sc.Single(ctx, dec1); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, float64(time.Since(t0).Nanoseconds())/1e3)
		}
	})
	b.StopTimer()
	sort.Float64s(lat)
	floor := (regmap.Duration(1) + e.sim.BusStats().Sub(s0).Time.Seconds()/float64(b.N)) * 1e6
	b.ReportMetric(lat[len(lat)/2]-floor, "p50-minus-acq-bus-us")
	b.ReportMetric(lat[len(lat)*9/10]-floor, "p90-minus-acq-bus-us")
}

// BenchmarkSustained4 is the rate of traces with 4 concurrent requesters
// at decimation 1, each on its own connection.
func BenchmarkSustained4(b *testing.B) {
	e := newEnv(b, 1)
	const requesters = 4
	scs := make([]interface {
		Single(context.Context, api.ScopeSettings) (api.ScopeTrace, error)
	}, requesters)
	for i := range scs {
		scs[i] = e.newClient(b).Board("sim").Scope()
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	e.limit(b, b.N, func() {
		var wg sync.WaitGroup
		for r := 0; r < requesters; r++ {
			n := b.N / requesters
			if r < b.N%requesters {
				n++
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < n; i++ {
					if _, err := scs[r].Single(ctx, dec1); err != nil {
						b.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
	})
	b.StopTimer()
}

// BenchmarkContinuous is continuous mode at decimation 1 delivered to one
// subscriber (the Go client's Traces): traces per second and sequence
// gaps.
func BenchmarkContinuous(b *testing.B) {
	e := newEnv(b, 1)
	sc := e.board.Scope()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	traces, err := sc.Traces(ctx)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := sc.Continuous(ctx, dec1); err != nil {
		b.Fatal(err)
	}
	<-traces // the run is going
	b.ReportAllocs()
	b.ResetTimer()
	var last uint64
	gaps := 0
	e.limit(b, b.N, func() {
		for i := 0; i < b.N; i++ {
			tr := <-traces
			if last != 0 && tr.Seq != last+1 {
				gaps++
			}
			last = tr.Seq
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(gaps), "gaps")
	if _, err := sc.Stop(ctx); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkBridgeFloor is the floor under BenchmarkSingleDec1: the same
// acquisition as one raw transaction on the bridge (Go client over TCP,
// no scope service), p50 minus the acquisition and the readout's bus time.
func BenchmarkBridgeFloor(b *testing.B) {
	e := newEnv(b, 0)
	s := regmap.ScopeBase
	ops := []api.Op{
		api.Write(regmap.Slot(regmap.SlotScope1), regmap.SlotIn1), api.Write(regmap.Slot(regmap.SlotScope2), regmap.SlotIn2),
		api.Write(s+regmap.ScopeControl, regmap.ScopeReset), api.Write(s+regmap.ScopeDecimation, 1),
		api.Write(s+regmap.ScopeDelay, 16384), api.Write(s+regmap.ScopeControl, regmap.ScopeArm),
		api.Write(s+regmap.ScopeTriggerSource, regmap.TrigImmediately),
		api.Wait(s+regmap.ScopeControl, regmap.ScopeArm|regmap.ScopeDelayRunning, 0, 1),
		api.Read(s+regmap.ScopeCh1Data, 16384), api.Read(s+regmap.ScopeCh2Data, 16384),
	}
	lat := make([]float64, 0, b.N)
	b.ResetTimer()
	s0 := e.sim.BusStats()
	e.limit(b, b.N, func() {
		for i := 0; i < b.N; i++ {
			t0 := time.Now()
			if _, err := e.board.HW.Txn(context.Background(), ops...); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, float64(time.Since(t0).Nanoseconds())/1e3)
		}
	})
	b.StopTimer()
	sort.Float64s(lat)
	floor := (regmap.Duration(1) + e.sim.BusStats().Sub(s0).Time.Seconds()/float64(b.N)) * 1e6
	b.ReportMetric(lat[len(lat)/2]-floor, "p50-minus-acq-bus-us")
}
