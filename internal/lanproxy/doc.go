// Package lanproxy stands in for a LAN between two hosts on one machine:
// a TCP proxy that delays every byte by a fixed one-way delay in each
// direction and carries at most a line rate (1 Gbit/s by default, the
// Red Pitaya's Ethernet port; 0 for none).
//
// Each direction of a proxied connection reads whatever has arrived (up
// to 64 KiB at a time), stamps it with its arrival time, and sends it on
// at arrival + delay. Chunks are delayed side by side, not one behind the
// other: a burst of many requests arrives delay later as a burst, as on
// a switched LAN whose link is much faster than the traffic, and a
// request/response exchange costs two delays more than on loopback. With
// a rate, a chunk leaves once its last byte has crossed the link behind
// the chunks before it, TCP's and Ethernet's framing counted: a trace's
// 64 KiB take 560 us at 1 Gbit/s, which a LAN stand-in without a rate
// did not charge. With neither delay nor rate, each direction writes
// what it read from the goroutine that read it: a hand-off to a writing
// goroutine would add a thread's wake-up to every exchange, which a wire
// does not. The delay is kept to a few microseconds with package precise (the runtime's
// timers alone would round 125 us up to a millisecond). Both sides of the
// proxy set TCP_NODELAY, as the protocols it carries (NATS, PyRPL's
// monitor_server) do themselves.
//
// A proxy serves on loopback for benchmarks (`rpbus bench board`) and from
// the command line (`rpbus lanproxy --target HOST:PORT --lan-delay 125us --lan-mbps 1000`).
package lanproxy
