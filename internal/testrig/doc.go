// Package testrig starts what an end-to-end test needs, for real: an
// embedded nats-server on a random loopback port, a simulated board behind
// the hardware bridge, the instrument services a test asks for, and a
// client over its own TCP connection. Everything stops when the test ends.
package testrig
