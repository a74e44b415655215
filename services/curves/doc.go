// Package curves is the curve store: scope traces, NA sweeps and spectra
// that outlive their replies, kept in JetStream and served on
// rp.curves.save, list, get, update and delete (docs/curves.md).
//
// An instrument saves (save: true) by handing its msgpack reply to
// rp.curves.save before it answers, through a Saver, and the reply then
// carries the curve id; the store keeps the trace's bytes as they are,
// so a curve read back is bit-exact with the reply, dtypes included.
//
// Layout: each trace is one message of stream RPBUS_CURVES (subject
// rpbus.curves.<id>), read with a direct get; each curve's metadata is a
// JSON value of KV bucket rpbus_curves. Every instance of the service
// keeps all metadata in memory, fed by a watch on the bucket, so a list
// is a walk over a slice, and eviction takes the oldest curve not marked
// keep. MaxBytes bounds traces and metadata together.
package curves
