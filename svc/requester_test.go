package svc_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/rpbus/rpbus/internal/logtest"
	"github.com/rpbus/rpbus/internal/natstest"
	"github.com/rpbus/rpbus/natsserver"
	"github.com/rpbus/rpbus/svc"
)

// A request whose requester gave up has its context ended with
// ErrRequesterGone (a long acquisition then stops holding the board),
// while one whose requester still waits runs to its end.
func TestRequesterGone(t *testing.T) {
	ended := make(chan error, 2)
	// The quitter's request would run 30 s, the patient one's 2 s: the
	// abandoned one must end early however long noticing takes (three
	// missed probes a second apart, more when a probe is slow).
	s, nc, _ := start(t, func(ctx context.Context, req *svc.Request) (any, error) {
		run := 2 * time.Second
		if string(req.Data()) == `{"run":30}` {
			run = 30 * time.Second
		}
		select {
		case <-ctx.Done():
			ended <- context.Cause(ctx)
			return nil, context.Cause(ctx)
		case <-time.After(run):
			ended <- nil
			return "done", nil
		}
	})
	// One requester gives up after 200 ms and goes away.
	quitter, err := nats.Connect(nc.ConnectedUrl())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	_, err = quitter.RequestWithContext(ctx, "t.echo", []byte(`{"run":30}`))
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("the quitter's request: %v", err)
	}
	quitter.Close()
	select {
	case cause := <-ended:
		if !errors.Is(cause, svc.ErrRequesterGone) {
			t.Fatalf("the abandoned request ended with %v, want ErrRequesterGone", cause)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the abandoned request of 30 s still runs 15 s later")
	}
	// A patient requester on a connection that stays keeps its request.
	if _, err := nc.Request("t.echo", []byte(`{}`), 10*time.Second); err != nil {
		t.Fatalf("the patient request: %v", err)
	}
	if cause := <-ended; cause != nil {
		t.Fatalf("the patient request was cancelled: %v", cause)
	}
	if err := s.Stop(context.Background()); err != nil { // no worker left for the tests after
		t.Fatal(err)
	}
}

// A service's connection logs its disconnect, its reconnect and the
// server it came back to.
func TestConnectionLog(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	ns, err := natsserver.Start(natsserver.Options{Listen: addr})
	if err != nil {
		t.Fatal(err)
	}
	log, buf := logtest.Logger()
	nc, err := nats.Connect("nats://"+addr, append(svc.ConnectionLog(log, "scope"),
		nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))...)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	ns.Shutdown()
	ns.WaitForShutdown()
	natstest.WaitFor(t, 5*time.Second, "the disconnect logged", func() bool { return strings.Contains(buf.String(), "nats: disconnected") })
	ns2, err := natsserver.Start(natsserver.Options{Listen: addr})
	if err != nil {
		t.Fatal(err)
	}
	defer ns2.Shutdown()
	natstest.WaitFor(t, 10*time.Second, "the reconnect logged", func() bool { return strings.Contains(buf.String(), "nats: reconnected") })
	out := buf.String()
	for _, want := range []string{"conn=scope", fmt.Sprintf("server=nats://%s", addr), "server_name=" + ns2.Name(), "reconnects=1"} {
		if !strings.Contains(out, want) {
			t.Errorf("log %q lacks %q", out, want)
		}
	}
}
