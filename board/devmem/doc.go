// Package devmem is the backend of a bridge that runs on the Red Pitaya
// itself: it maps the PyRPL design's register space (the five blocks hk,
// scope, asg, dsp and ams, 0x40000000..0x404FFFFF, 1 MiB each) from
// /dev/mem and reads and writes the FPGA's registers directly, with no
// network in between.
//
// Bus discipline. The PL's AXI slaves decode 32-bit words only, so every
// access is one 32-bit load or store of one register: sync/atomic's
// LoadUint32 and StoreUint32 on the mapping, which the compiler can
// neither drop, merge, widen nor split. On linux/arm (Go 1.26,
// internal/runtime/atomic/sys_linux_arm.s) they are a plain LDR or STR
// with DMB barriers, no LDREX/STREX, which the PL's slaves would not
// support. Nothing else touches the mapping: no copy, no byte or 64-bit
// access. A half read (HalfReader) loads whole words and keeps their low
// 16 bits. Every range is checked with regmap.CheckRange before the bus
// sees it: word aligned, inside one module.
//
// A bus access that faults (a file mapping truncated under the bridge, a
// device that does not answer) becomes an rperr.EUnavailable error
// instead of killing the process: accesses run with
// debug.SetPanicOnFault.
//
// Waits (board.Waiter) poll the register locally. They sleep first
// through the time the caller predicted (board.Cond.Earliest), then read
// every board.MinPollStep, backing off once the wait runs past the
// prediction to an eighth of the overrun and at most 1 ms between reads:
// a condition that holds is seen at most that late, and a long wait (a
// trigger that does not come) costs at most a thousand reads and wake-ups
// a second, never a spinning core. Sleeps shorter than a couple of
// milliseconds use nanosleep with a 1 us timer slack, because the Go
// runtime's timers wake an idle process up to a millisecond late, which
// would cost a decimation-1 trace (131 us) most of its rate.
//
// For tests and dry runs OpenFile maps a plain file instead of /dev/mem:
// byte 4k of the file is the register at 0x40000000 + 4k. Two mappings of
// the same file see each other's writes, which is how a test plays the
// FPGA's side.
package devmem
