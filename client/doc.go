// Package client is the Go client of rpbus: typed, context-aware calls to a
// board's services over NATS.
//
//	c := client.New(nc)
//	board := c.Board("sim")
//	info, err := board.Info(ctx)
//	reply, err := board.HW.Txn(ctx, api.Read(regmap.ScopeBase, 1))
//
// Requests travel in msgpack (arrays as little-endian bytes); service
// errors come back as *rperr.Error carrying the code (rperr.ErrorCode(err)), "no
// responders" as rperr.ENotFound, a context that ends as rperr.ETimeout or
// rperr.ECancelled. A call whose context has no deadline gets a default
// timeout, so nothing waits forever.
package client
