// Package natsserver starts the embedded nats-server that `rpbus up` and
// the tests run: loopback by default, JetStream on a data directory when
// one is given, no signal handlers of its own (the command owns signals).
package natsserver
