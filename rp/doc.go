// Package rp holds the small core that every rpbus part shares: the FPGA
// backend interface that the hardware bridge drives, and the one error type
// whose codes travel over the wire.
//
// Implementations live in packages named after what they wrap: board/sim (a
// simulated Red Pitaya), board/monitor (PyRPL's monitor_server protocol), and
// the NATS transport in services/... and client.
package rp
