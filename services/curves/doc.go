// Package curves is the curve store: scope traces, NA sweeps and spectra
// that outlive their replies, kept in JetStream and served on
// rp.curves.list, get, update, delete, save (uploads) and room
// (docs/curves.md).
//
// An instrument saves (save: true) with a Saver before it answers: it
// writes the msgpack reply it already encoded, byte for byte, and the
// curve's metadata into JetStream itself, in one round trip, and the
// reply then carries the curve id; a curve read back is bit-exact with
// the reply, dtypes included. The Saver asks the service for room
// (rp.curves.room) only when the store is full.
//
// Layout: each trace is one message of stream RPBUS_CURVES (subject
// rpbus.curves.<id>, max_bytes the store's size), read with a direct get;
// each curve's metadata is a JSON value of KV bucket rpbus_curves. Every
// instance of the service keeps all metadata in memory, fed by a watch on
// the bucket, so a list is a walk over a slice, and eviction takes the
// oldest curve not marked keep.
package curves
