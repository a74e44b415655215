// Package board is what the hardware bridge drives: a Red Pitaya's
// register space (FPGA) and the optional faster paths a backend may offer
// (HalfReader, Waiter, Batcher). The backends are its subpackages, each
// named after what it wraps: board/sim (the simulated board, the default)
// and board/monitor (PyRPL's monitor_server protocol over TCP).
package board
