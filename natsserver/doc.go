// Package natsserver starts the embedded nats-server that `rpbus up` and
// the tests run: loopback by default, JetStream on a data directory when
// one is given, no signal handlers of its own (the command owns signals).
// A server holds its data directory (a lock file, rpbus.lock) until it
// shuts down or its process ends: a second server on the same directory
// fails to start and says who holds it.
//
// Interest tells a service on an in-process connection whether anyone
// subscribes to a subject, so it can leave unsent what nobody would
// receive (the scope's 64 KiB done events).
package natsserver
