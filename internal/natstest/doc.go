// Package natstest gives tests a real embedded nats-server on 127.0.0.1
// with a random port, and connections to it, cleaned up with t.Cleanup.
package natstest
