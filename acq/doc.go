// Package acq is the acquisition bookkeeping the instrument services
// share: ids, cancel and stop across service instances, and events.
//
// An instrument service may run as several instances in one queue group.
// A request reaches one of them, but cancel and stop must act wherever the
// acquisition runs:
//
//   - ids are <module>-<instance>-<n>, so the instance that owns one is
//     known from the id alone;
//   - rp.<board>.<module>.cancel (queue group) cancels locally, or forwards
//     to the owner on _RPBUS.<module>.cancel.<instance> and relays its
//     answer: one reply, 404 if the owner is gone;
//   - rp.<board>.<module>.stop (queue group) asks every instance on
//     _RPBUS.<module>.stop.<board> (no queue group) and answers with the
//     sum of what they cancelled.
//
// A cancelled acquisition's context ends with an *rp.Error of code
// cancelled as its cause; handlers return Acq.Err and the requester gets
// 499. Events (done, progress, trace) are published in msgpack with a
// Content-Type header, like msgpack replies.
package acq
