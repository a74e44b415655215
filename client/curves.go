package client

import (
	"context"

	"github.com/rpbus/rpbus/api"
)

// Curves is the curve store (rp.curves.*): the traces, sweeps and
// spectra saved with save: true.
type Curves struct{ c *Client }

// Curves returns the curve store.
func (c *Client) Curves() *Curves { return &Curves{c: c} }

// List returns one page of curve metadata, newest first; pass the
// reply's Next as q.Cursor for the following page.
func (cs *Curves) List(ctx context.Context, q api.CurveQuery) (api.CurveList, error) {
	var l api.CurveList
	err := cs.c.Request(ctx, api.CurvesList, q, &l)
	return l, err
}

// Get returns a curve with its trace, as the instrument's reply carried
// it: d.Scope, d.NA or d.Specan (d.Trace() is the one set).
func (cs *Curves) Get(ctx context.Context, id string) (api.CurveData, error) {
	var d api.CurveData
	err := cs.c.Request(ctx, api.CurvesGet, api.CurveID{ID: id}, &d)
	return d, err
}

// Update changes the fields of u that are set and returns the curve as
// updated.
func (cs *Curves) Update(ctx context.Context, u api.CurveUpdate) (api.Curve, error) {
	var c api.Curve
	err := cs.c.Request(ctx, api.CurvesUpdate, u, &c)
	return c, err
}

// Delete deletes a curve; an unknown id gives rperr.ENotFound.
func (cs *Curves) Delete(ctx context.Context, id string) error {
	return cs.c.Request(ctx, api.CurvesDelete, api.CurveID{ID: id}, nil)
}
