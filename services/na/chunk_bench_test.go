package na

import (
	"context"
	"testing"
	"time"

	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/board/sim"
	"github.com/rpbus/rpbus/regmap"
)

// benchChunks runs the chunks of a 101-point sweep at rbw 1 kHz (about
// 25 ms of hardware time each) over the monitor backend, its link through
// the LAN stand-in at delay, open and closed loop in turn, and reports
// each loop's bridge time (the reply's elapsed) over the chunks' hardware
// time, and the share of points the open loop read early at a fixed
// margin of 100 us. The service's own overheads (claim, setup, redone
// points, NATS) are left out: this is the loop itself.
func benchChunks(b *testing.B, delay time.Duration) {
	b.StopTimer()
	hw := monitorHW(b, sim.DefaultConfig(), delay)
	p, err := newPlan(api.NASettings{StartFreq: 100e3, StopFreq: 5e6, Points: 101, RBW: 1e3}, 0, false)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if _, err := hw.Do(ctx, api.Txn{Ops: p.setupOps(iqBase(0))}); err != nil {
		b.Fatal(err)
	}
	var hwTime, open, closed float64
	points, early := 0, 0
	b.StartTimer()
	for range b.N {
		for _, ch := range p.chunks(DefaultChunkTime) {
			idx := ch.indices()
			for _, i := range idx {
				hwTime += float64(p.points[i].cycles()) / regmap.Clock
			}
			for _, loop := range []bool{true, false} {
				ops, reads := p.ops(iqBase(0), idx, loop, 100*time.Microsecond)
				r, err := hw.Do(ctx, api.Txn{Ops: ops})
				if err != nil {
					b.Fatal(err)
				}
				if !loop {
					closed += r.Elapsed
					continue
				}
				open += r.Elapsed
				points += len(reads)
				for _, at := range reads {
					if _, _, busy := regmap.NASums([4]uint32(r.Results[at].Words)); busy {
						early++
					}
				}
			}
		}
	}
	b.ReportMetric(open/hwTime, "open/hw")
	b.ReportMetric(closed/hwTime, "closed/hw")
	b.ReportMetric(float64(early)/float64(points), "early/point")
}

func BenchmarkChunksLAN125us(b *testing.B) { benchChunks(b, 125*time.Microsecond) }
func BenchmarkChunksLAN0(b *testing.B)     { benchChunks(b, 0) }
