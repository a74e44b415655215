package hwbridge

import (
	"context"

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

// generator is one signal generator behind the bridge's module locks.
type generator struct {
	name string
	exec *executor
	g    *asg.Generator
}

func newGenerators(e *executor) ([]*generator, error) {
	var gens []*generator
	for ch := 0; ch < 2; ch++ {
		unlock, err := e.locks.lock(context.Background(), asgModules(ch))
		if err != nil {
			return nil, err
		}
		g, err := asg.New(e.fpga, ch)
		unlock()
		if err != nil {
			return nil, err
		}
		gens = append(gens, &generator{name: g.Name(), exec: e, g: g})
	}
	return gens, nil
}

func asgModules(ch int) []string {
	if ch == 0 {
		return []string{"asg", "asg0"}
	}
	return []string{"asg", "asg1"}
}

func (g *generator) handleSetup(ctx context.Context, req *svc.Request) (any, error) {
	var s api.ASGSetup
	if err := req.Decode(&s); err != nil {
		return nil, err
	}
	unlock, err := g.exec.locks.lock(ctx, g.g.Modules())
	if err != nil {
		return nil, err
	}
	defer unlock()
	return g.g.Setup(s)
}
