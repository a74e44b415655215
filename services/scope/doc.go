// Package scope is the oscilloscope service: one instance serves every
// board (rp.*.scope.single, .continuous, .cancel, .stop; the board is the
// subject's second token) and never touches registers itself: each
// acquisition is ONE transaction on the board's hardware bridge
// (rp.<board>.hw.txn), atomic on the scope module, so several instances
// in one queue group never interleave their register sequences and each
// trace costs one round trip. The transaction reads both channels'
// buffers as one block of 2 x 16384 words (channel 2's buffer follows
// channel 1's in the address space), their low 16 bits only.
//
// # Settings and units (PyRPL's names)
//
//   - decimation D in 1, 2, 4, ... 65536; sampling time dt = D x 8 ns;
//     duration = 16384 x dt (131.072 us .. 8.589934592 s). A requested
//     duration rounds up to the next allowed value.
//   - threshold, hysteresis: volts, 14-bit registers with 1 V = 2^13
//     (applied values are rounded to 1/8192 V; hysteresis 0 means the
//     hardware default of 20 LSB = 2.44 mV).
//   - trigger delay register: 16384 for "immediately" (trigger_delay is
//     ignored), else round(trigger_delay/dt) + 8192, at least 1; the
//     applied trigger_delay is (register - 8192) x dt.
//   - average: boxcar mean over each decimation window (white noise std
//     / sqrt(D)); trace_average N: the service averages N traces (white
//     noise std / sqrt(N)).
//   - timeout: default 1 s + 2 x (acquisition time + readout) x N, where
//     the acquisition time is max(16384, delay register) x dt and the
//     readout client.ReadoutTime (2 x 16384 words at 200 ns).
//
// # Data
//
// ch1, ch2 are volts, sample = 14-bit two's complement / 8192. The
// buffer is rolled as PyRPL does (oldest sample first, starting at trigger
// pointer + delay + 1) and the time axis is t_i = t0 + i dt with t0 = 0
// for "immediately" and t0 = trigger_delay - duration/2 otherwise, so t =
// 0 is the trigger (the last sample written before it sits at -dt; an
// edge trigger fires 3 cycles after its crossing sample is written).
//
// # Queueing and overlap
//
// Requests queue per board in arrival order. One worker goroutine per
// board keeps up to three single acquisitions at the bridge, which runs
// them back to back; a single that arrives while the worker waits for an
// answer goes to the bridge at once. When one returns, the words go to
// the request's goroutine (conversion into pooled buffers, msgpack
// encoding once for the reply and the done event; with Config.Heard an
// event nobody subscribes to is not sent). After a 408 (no
// trigger in time) or a cancel with nothing queued behind it, the worker
// sends a reset transaction so the scope is disarmed; a transaction's
// time limit includes the worst case of those queued ahead of it.
//
// # Continuous mode
//
// rp.<board>.scope.continuous answers at once and publishes msgpack
// api.ScopeTrace on rp.<board>.scope.trace with Seq 1, 2, ... Up to 0.1 s
// of duration each trace is a full triggered acquisition; above it runs
// in rolling mode (trigger off, writing around the buffer, read every
// Config.RollingInterval; t0 = -(16384-1) dt so the newest sample is at
// 0, samples not yet written or overwritten during the read are NaN).
// Singles on the same board run between continuous traces. A new
// continuous request on a board replaces the running one (in every
// instance); stop ends it.
package scope
