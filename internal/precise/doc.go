// Package precise sleeps to within tens of microseconds of an instant.
// The Go runtime's timers wake a sleep shorter than a millisecond about a
// millisecond late when the process is otherwise idle (its poller waits
// in whole milliseconds; measured here: a 20 us time.Sleep took 1.1 ms).
// A register poll that must follow a predicted instant, or the LAN
// stand-in's delay of 125 us, cannot live with that. Sleep hands the bulk
// of a long pause to a runtime timer, which a context can interrupt, and
// the last stretch of at most Coarse to a kernel timer (a timerfd) that
// the runtime's poller waits on, so the sleeping goroutine holds no thread
// meanwhile. Until never returns early and is late by the kernel's
// wake-up latency (28 to 60 us at the median here); Near aims that
// latency early, for paces that must be right on average; UntilSpin
// sleeps to that latency before the instant and spins the rest (a
// bounded stretch), for a rare instant that must be neither early nor
// late. Elsewhere than on Linux
// it falls back to the runtime's timers.
package precise
