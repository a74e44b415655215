// Package testrig starts what an end-to-end test needs, for real: an
// embedded nats-server on a random loopback port, a simulated board behind
// the hardware bridge, the instrument services a test asks for, and a
// client, each on a connection of its own (TCP by default; StartWith
// takes another server, such as one with JetStream, and InProcess
// connects as `rpbus up` does). Everything stops when the test ends.
package testrig
