package design

import (
	"github.com/rpbus/rpbus/board"
	"github.com/rpbus/rpbus/rperr"
)

// Probe decides whether a bridge may use its FPGA: not after a failed
// load, not while the PL holds no design, and only when Check finds
// PyRPL's.
type Probe struct {
	FPGA board.FPGA
	// Sys, when not empty, is the sysfs root asked whether the PL is
	// programmed before any access: reading an unconfigured PL can hang
	// the bus. Empty for a mem-file, the simulator and a remote board.
	Sys string
	// Loaded is what --bitstream loaded; nil when nothing was.
	Loaded *Loaded
	// LoadErr is why a load failed: Check returns it without touching the
	// FPGA, whose PL may be half programmed.
	LoadErr error
}

// Check returns what the FPGA runs, or an rperr.EUnavailable error that
// says why the bridge must not use it and what to load.
func (p *Probe) Check() (Found, error) {
	if p.LoadErr != nil {
		return Found{}, rperr.Errorf(rperr.EUnavailable, "%s; the bridge does not touch the FPGA until it is restarted with a bitstream that loads", rperr.ErrorMessage(p.LoadErr))
	}
	if p.Sys != "" {
		if st := PLState(p.Sys); st.Known && !st.Programmed {
			return Found{}, rperr.Errorf(rperr.EUnavailable, "the FPGA holds no design (%s): %s", st.Detail, fix)
		}
	}
	return Check(p.FPGA)
}
