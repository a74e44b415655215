package natstest

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/rpbus/rpbus/natsserver"
)

// Server starts an embedded server on 127.0.0.1 with a random port and
// stops it when the test ends.
func Server(tb testing.TB) *server.Server {
	tb.Helper()
	return start(tb, natsserver.Options{Listen: "127.0.0.1:0"})
}

// JetStreamServer is Server with JetStream on, its store in a temporary
// folder of the test.
func JetStreamServer(tb testing.TB) *server.Server {
	tb.Helper()
	return start(tb, natsserver.Options{Listen: "127.0.0.1:0", DataDir: tb.TempDir()})
}

func start(tb testing.TB, o natsserver.Options) *server.Server {
	tb.Helper()
	ns, err := natsserver.Start(o)
	if err != nil {
		tb.Fatalf("natstest: %v", err)
	}
	tb.Cleanup(func() {
		ns.Shutdown()
		ns.WaitForShutdown()
	})
	return ns
}

// ServerConfig starts an embedded server from the nats-server
// configuration conf (authorization, accounts, TLS, ...) on 127.0.0.1
// with a random port, and stops it when the test ends.
func ServerConfig(tb testing.TB, conf string) *server.Server {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "nats.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		tb.Fatal(err)
	}
	return start(tb, natsserver.Options{Listen: "127.0.0.1:0", ConfigFile: path})
}

// TLSFiles are the test certificate for localhost and 127.0.0.1 and its
// key (testdata/tls at the repository's root).
func TLSFiles() (cert, key string) {
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), "..", "..", "testdata", "tls")
	return filepath.Join(dir, "localhost.pem"), filepath.Join(dir, "localhost-key.pem")
}

// Connect opens a connection to ns over TCP, closed when the test ends.
func Connect(tb testing.TB, ns *server.Server, opts ...nats.Option) *nats.Conn {
	tb.Helper()
	nc, err := nats.Connect(ns.ClientURL(), opts...)
	if err != nil {
		tb.Fatalf("natstest: connect: %v", err)
	}
	tb.Cleanup(nc.Close)
	return nc
}

// WaitFor polls cond every millisecond until it holds or timeout passes,
// and fails the test then.
func WaitFor(tb testing.TB, timeout time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("natstest: timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(time.Millisecond)
	}
}
