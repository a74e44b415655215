// Package wire is the rpbus wire contract shared by services and clients:
// the two encodings, numeric arrays, and errors as micro's headers.
//
// Encoding: a request carrying the header "Content-Type: application/msgpack"
// is read and answered in msgpack; anything else is read and answered as
// JSON, so `nats req rp.sim.hw.info '{}'` works from a shell. Field names are
// the json struct tags in both encodings.
//
// Arrays (F32, F64, U32, U16): in JSON a plain number array (NaN travels
// as null); in msgpack a map {"dtype": "<f4"|"<f8"|"<u4"|"<u2", "shape": [n],
// "data": bin} of little-endian bytes, which numpy reads with
// frombuffer(data, dtype).reshape(shape) without a per-element loop.
// Q16 sends float32 values as 16-bit codes and a scale (dtype "<i2" and a
// "scale" key, half the bytes of "<f4"); F32 decodes either form.
//
// Errors: micro's Nats-Service-Error (the message) and
// Nats-Service-Error-Code (the number from rperr.Status) headers.
package wire
