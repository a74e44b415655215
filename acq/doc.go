// Package acq is the acquisition bookkeeping the instrument services
// share: ids, cancel and stop across service instances, and events.
//
// An instrument service may run as several instances in one queue group.
// A request reaches one of them, but cancel and stop must act wherever the
// acquisition runs:
//
//   - ids are <module>-<96 random bits in hex>, which nobody can guess
//     ahead, or chosen by the client (the "id" field of a request, at most
//     128 characters) so it can cancel before the reply arrives; an id is
//     scoped to its board, and a cancel that overtakes its request is
//     remembered for 10 s (Precancels);
//   - rp.<board>.<module>.cancel and .stop (queue group: one instance
//     takes the request) ask every instance on
//     _RPBUS.<module>.cancel.<board> or .stop.<board> (no queue group),
//     gather their answers until none came for 50 ms, and reply once: the
//     sum, or 404 when no instance had the id.
//
// A cancelled acquisition's context ends with an *rperr.Error of code
// cancelled as its cause; handlers return Handle.Err and the requester gets
// 499. Events (done, progress, trace) are published in msgpack with a
// Content-Type header, like msgpack replies.
package acq
