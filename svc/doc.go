// Package svc runs rpbus endpoints on nats.go's micro package.
//
// micro calls an endpoint's handler from its subscription callback, one
// request at a time per endpoint; an acquisition that waits for hardware
// would hold up every other request. svc therefore answers each request
// on a goroutine of its own (at most Config.MaxInFlight at once; past that
// the subscription buffers), taken from idle workers that outlive their
// requests so that their grown stacks are reused, decodes requests and
// encodes replies with the codec the request asked for (wire.CodecOf),
// turns returned errors into micro's error headers, turns panics into 500
// replies, and sees to it that every request gets exactly one reply,
// including at shutdown.
//
// Because handlers leave the callback, micro's own processing times and
// error counts undercount; svc keeps its own per endpoint and reports them
// in the data field of `nats micro stats`.
package svc
