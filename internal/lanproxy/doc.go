// Package lanproxy stands in for a LAN between two hosts on one machine:
// a TCP proxy that delays every byte by a fixed one-way delay in each
// direction, without limiting bandwidth.
//
// Each direction of a proxied connection reads whatever has arrived (up
// to 64 KiB at a time), stamps it with its arrival time, and sends it on
// at arrival + delay. Chunks are delayed side by side, not one behind the
// other: a burst of many requests arrives delay later as a burst, as on
// a switched LAN whose link is much faster than the traffic, and a
// request/response exchange costs two delays more than on loopback. With
// no delay, each direction writes what it read from the goroutine that
// read it: a hand-off to a writing goroutine would add a thread's wake-up
// to every exchange, which a wire does not. The
// delay is kept to a few microseconds with package precise (the runtime's
// timers alone would round 125 us up to a millisecond). Both sides of the
// proxy set TCP_NODELAY, as the protocols it carries (NATS, PyRPL's
// monitor_server) do themselves.
//
// A proxy serves on loopback for benchmarks (`rpbus bench board`) and from
// the command line (`rpbus lanproxy --target HOST:PORT --lan-delay 125us`).
package lanproxy
