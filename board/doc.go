// Package board is what the hardware bridge drives: a Red Pitaya's
// register space (FPGA) and the optional faster paths a backend may offer
// (HalfReader, Waiter, Batcher). The backends are its subpackages, each
// named after what it wraps: board/sim (the simulated board, the default),
// board/monitor (PyRPL's monitor_server protocol over TCP) and
// board/devmem (the registers mapped from /dev/mem, on the board itself).
// board/design loads and checks the FPGA design they drive.
package board
