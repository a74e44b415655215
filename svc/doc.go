// Package svc runs rpbus endpoints as NATS services that `nats micro`
// lists, describes and measures.
//
// An endpoint is a queue subscription whose callback takes each request
// and answers it on a goroutine of its own (at most Config.MaxInFlight at
// once; past that the subscription buffers), taken from idle workers that
// outlive their requests so that their grown stacks are reused: an
// acquisition that waits for hardware holds up no other request. svc
// decodes requests and encodes replies with the codec the request asked
// for (wire.CodecOf), turns returned errors into micro's error headers,
// turns panics into 500 replies, and sees to it that every request gets
// exactly one reply, including at shutdown. A handler's context ends when
// the requester is gone (requester.go: checked after a second, every
// second, by asking the server whether anyone listens beside the reply
// subject), so nobody's abandoned acquisition holds a board; Detach
// exempts a request whose result outlives its requester.
// ConnectionLog makes a connection log its disconnects and reconnects.
//
// svc answers the service discovery subjects ($SRV.PING, $SRV.INFO,
// $SRV.STATS) itself, with nats.go micro's types: micro's own STATS are
// taken in the subscription callback, so they would count neither the
// errors nor the processing time of replies sent later. svc's count every
// request, every error reply and the time from taking a request to
// sending its reply; the data field adds the requests in flight and the
// errors by code.
package svc
