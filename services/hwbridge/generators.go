package hwbridge

import (
	"context"
	"fmt"
	"sync"

	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/services/hwbridge/asg"
	"github.com/rpbus/rpbus/svc"
)

// setupMetadata describes the generators' setup endpoints.
var setupMetadata = map[string]string{
	"request": `{"waveform":"sin","frequency":1e6,"amplitude":0.5,"offset":0,"start_phase":0,"output_direct":"out1","trigger_source":"immediately","cycles_per_burst":0}`,
	"reply":   "the generator's settings as applied, rounded to the hardware's steps",
	"fields":  "waveform sin|cos|ramp|halframp|square|dc|noise; frequency Hz 0..62.5e6; amplitude V 0..1; offset V -1..1; start_phase deg; output_direct off|out1|out2|both; trigger_source off|immediately|ext_positive_edge|ext_negative_edge|ext_raw|high",
}

// generator is one signal generator behind the bridge's module locks. Its
// asg.Generator, which writes the generator's defaults, is made once the
// FPGA has passed the design check.
type generator struct {
	name string
	ch   int
	exec *executor
	b    *Bridge

	mu sync.Mutex
	g  *asg.Generator
}

func newGenerators(b *Bridge) []*generator {
	var gens []*generator
	for ch := 0; ch < 2; ch++ {
		gens = append(gens, &generator{name: fmt.Sprintf("asg%d", ch), ch: ch, exec: b.exec, b: b})
	}
	return gens
}

func asgModules(ch int) []string {
	if ch == 0 {
		return []string{"asg", "asg0"}
	}
	return []string{"asg", "asg1"}
}

// init makes the asg.Generator on first use.
func (g *generator) init(ctx context.Context) (*asg.Generator, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.g != nil {
		return g.g, nil
	}
	unlock, err := g.exec.locks.lock(ctx, asgModules(g.ch))
	if err != nil {
		return nil, err
	}
	defer unlock()
	a, err := asg.New(g.exec.fpga, g.ch)
	if err != nil {
		return nil, err
	}
	g.g = a
	return a, nil
}

func (g *generator) handleSetup(ctx context.Context, req *svc.Request) (any, error) {
	var s api.ASGSetup
	if err := req.Decode(&s); err != nil {
		return nil, err
	}
	if err := g.b.ready(); err != nil {
		return nil, err
	}
	a, err := g.init(ctx)
	if err != nil {
		return nil, err
	}
	unlock, err := g.exec.locks.lock(ctx, a.Modules())
	if err != nil {
		return nil, err
	}
	defer unlock()
	return a.Setup(s)
}
