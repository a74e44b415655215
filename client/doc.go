// Package client is the Go client of rpbus: typed, context-aware calls to a
// board's services over NATS.
//
//	nc, err := client.Dial("nats://127.0.0.1:4222", client.Credentials{User: "bob", Password: pw})
//	c, _ := client.New(nc)
//	board := c.Board("sim")
//	info, err := board.Info(ctx)
//	reply, err := board.HW.Txn(ctx, api.Read(regmap.ScopeBase, 1))
//
// Dial connects once, within DialTimeout, and explains a failure: the URL,
// whom it logged in as, and why (connection refused, no answer,
// authorization, TLS). Credentials are a user and password, a token, a
// credentials file or an nkey seed file.
//
// Requests travel in msgpack (arrays as little-endian bytes); service
// errors come back as *rperr.Error carrying the code (rperr.ErrorCode(err)), "no
// responders" as rperr.ENotFound, a context that ends as rperr.ETimeout or
// rperr.ECancelled. A call whose context has no deadline waits as long as
// the rule of docs/protocol.md (Client deadlines) gives for its settings
// (ScopeWait, NAWait, SpecanWait, TxnWait), 5 s for the others, so nothing
// waits forever and a bad setting still reaches the service's 400.
package client
