// Package hwbridge is the hardware bridge: the only process that touches a
// board's FPGA registers. It serves, for one board named B:
//
//	rp.B.hw.txn      ordered register operations, atomic per FPGA module
//	rp.B.hw.info     backend, clock, what the bitstream provides
//	rp.B.asg0.setup  signal generator 0, PyRPL's settings and units
//	rp.B.asg1.setup  signal generator 1
//
// A transaction names no lock: the bridge derives the FPGA modules from the
// addresses (regmap.Module) and holds each module's mutex, taken in name
// order so two transactions can never deadlock. Transactions on different
// modules (the scope and iq0, say) run concurrently; two on the scope never
// interleave. Validation happens before any lock is taken, so a bad request
// costs nothing and the next good one runs as usual.
//
// Before it touches the FPGA otherwise, the bridge checks that it runs
// PyRPL's design (design.Probe: a bitstream that failed to load, a PL
// with no design, registers whose values PyRPL's design fixes). Until the
// check passes every request but hw.cancel answers 503 with a message that
// says what was found and what to load, and each request checks again, so
// the bridge serves as soon as the design is loaded by other means. The
// first check that passes writes the generators' defaults.
//
// The reads and writes between two waits go to the backend as one run: a
// board.Batcher (the monitor backend) pipelines them, others take them one
// at a time. A wait goes to the backend's board.Waiter, or else is polled
// (board.Poll); its hint (the op's earliest) counts from when the op
// before it was sent, so the time the run's answers took to come back is
// not slept again. A timed read or write (the op's after) leaves that long
// after the op before it, by the bridge's clock: inside a Batcher's run
// without waiting for answers, else after a sleep; a run whose timed ops
// add up to more than 100 ms is cut, and the bridge sleeps to the next
// part itself, where hw.cancel reaches it.
//
// A transaction that asks for it (api.Txn.Stream) gets a long read's words
// in parts while the board reads the rest: each part but the last is
// published to the reply subject as soon as the bus has carried it
// (board.PartReader keeps the read one bus access meanwhile), and the
// reply holds the last. A trace's bytes then travel during its readout;
// a Batcher's run is one round trip and sends no parts.
package hwbridge
