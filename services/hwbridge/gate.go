package hwbridge

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/board/design"
	"github.com/rpbus/rpbus/rperr"
)

// gate remembers the last design check.
type gate struct {
	mu      sync.Mutex
	checked time.Time
	found   design.Found
	err     error
}

// Ready tells whether the bridge serves: nil when the FPGA runs PyRPL's
// design, else the 503 error every request answers. It checks again as
// a request would.
func (b *Bridge) Ready() error { return b.ready() }

// ready returns nil when the last check passed and is recent enough (see
// Config.Recheck); otherwise it checks the FPGA again. The first check
// that passes writes the generators' defaults, as at a bridge's start.
func (b *Bridge) ready() error {
	g := &b.gate
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.err == nil && !g.checked.IsZero() && (b.cfg.Recheck <= 0 || time.Since(g.checked) < b.cfg.Recheck) {
		return nil
	}
	found, err := b.probe.Check()
	if err == nil {
		err = b.initGenerators()
	}
	g.checked, g.found, g.err = time.Now(), found, nil
	if err != nil {
		code := rperr.ErrorCode(err)
		if code == rperr.EInternal {
			code = rperr.EUnavailable // the backend failed: the board, not the request
		}
		g.err = rperr.Errorf(code, "board %s: %s", b.cfg.Board, rperr.ErrorMessage(err))
	}
	return g.err
}

func (b *Bridge) initGenerators() error {
	for _, g := range b.gens {
		if _, err := g.init(context.Background()); err != nil {
			return fmt.Errorf("generator %s: %w", g.name, err)
		}
	}
	return nil
}

// designInfo is hw.info's design: the last check's findings and what
// --bitstream loaded.
func (b *Bridge) designInfo() *api.HWDesign {
	b.gate.mu.Lock()
	found := b.gate.found
	b.gate.mu.Unlock()
	d := &api.HWDesign{Name: design.Name, Signature: design.Signature}
	if found.DNA != 0 {
		d.DNA = fmt.Sprintf("%014x", found.DNA)
	}
	if l := b.probe.Loaded; l != nil {
		d.Loader, d.Bitstream, d.SHA256 = l.Loader, l.Bitstream, l.SHA256
	}
	return d
}
