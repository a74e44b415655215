package specan_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/internal/natstest"
	"github.com/rpbus/rpbus/rperr"
	"github.com/rpbus/rpbus/services/specan"
)

// A scope that dies while a spectrum waits for its traces is noticed
// within about 2 s, whatever the traces' length: the requester gets a
// 503 that names the scope, not a 408 at the timeout.
func TestDeadScopeIs503(t *testing.T) {
	var conns []*nats.Conn
	var mu sync.Mutex
	e := newEnvConn(t, specan.Config{}, func(tb testing.TB, ns *server.Server, opts ...nats.Option) *nats.Conn {
		nc := natstest.Connect(tb, ns, opts...)
		mu.Lock()
		conns = append(conns, nc) // bridge, scope, specan, client
		mu.Unlock()
		return nc
	}, false)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		_, err := e.board.Specan().Single(ctx, api.SpecanSettings{Decimation: 65536, TraceAverage: 2})
		errc <- err
	}()
	time.Sleep(time.Second) // the spectrum waits on its first 8.6 s trace
	killed := time.Now()
	mu.Lock()
	conns[1].Close() // the scope's connection, as kill -9
	mu.Unlock()
	err := <-errc
	if rperr.ErrorCode(err) != rperr.EUnavailable || !strings.Contains(err.Error(), "scope service") {
		t.Fatalf("got %v, want a 503 naming the scope", err)
	}
	if d := time.Since(killed); d > 4*time.Second {
		t.Errorf("noticed after %v, want about 2 s", d)
	}
}
