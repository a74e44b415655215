package client_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/client"
	"github.com/rpbus/rpbus/internal/natstest"
	"github.com/rpbus/rpbus/internal/testrig"
	"github.com/rpbus/rpbus/rperr"
	"github.com/rpbus/rpbus/services/scope"
	"github.com/rpbus/rpbus/services/specan"
)

func specanBoard(t *testing.T) *client.Board {
	return testrig.Start(t, nil,
		func(nc *nats.Conn) (testrig.Service, error) { return scope.Start(nc, scope.Config{}) },
		func(nc *nats.Conn) (testrig.Service, error) { return specan.Start(nc, specan.Config{}) },
	).Board
}

func TestSpecanSingleCancelsWhenItsContextEnds(t *testing.T) {
	b := specanBoard(t)
	sa := b.Specan()
	pctx, pcancel := context.WithCancel(context.Background())
	defer pcancel()
	prog, err := sa.Progress(pctx)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		// 3 traces of 8.6 s each
		_, err := sa.Single(ctx, api.SpecanSettings{ID: "mine", Decimation: 65536, TraceAverage: 3})
		errc <- err
	}()
	natstest.WaitFor(t, 5*time.Second, "the spectrum to run", func() bool {
		select {
		case p := <-prog:
			return p.ID == "mine"
		default:
			return false
		}
	})
	cancel()
	err = <-errc
	if rperr.ErrorCode(err) != rperr.ECancelled {
		t.Fatalf("Single after its context ended: %v, want cancelled", err)
	}
	// The service has let it go: cancelling it again finds nothing.
	cctx, ccancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer ccancel()
	if _, err := sa.Cancel(cctx, "mine"); rperr.ErrorCode(err) != rperr.ENotFound {
		t.Errorf("cancel after Single returned: %v, want not_found", err)
	}
}

func TestSpecanSubscriptionsCloseWithTheirContext(t *testing.T) {
	b := specanBoard(t)
	sa := b.Specan()
	ctx, cancel := context.WithCancel(context.Background())
	prog, err := sa.Progress(ctx)
	if err != nil {
		t.Fatal(err)
	}
	done, err := sa.Done(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sp, err := sa.Single(context.Background(), api.SpecanSettings{TraceAverage: 2})
	if err != nil {
		t.Fatal(err)
	}
	var got api.Spectrum
	natstest.WaitFor(t, 2*time.Second, "the done event", func() bool {
		select {
		case ev := <-done:
			got = ev.Value
			return ev.Err == nil
		default:
			return false
		}
	})
	if got.ID != sp.ID || got.Traces != 2 {
		t.Errorf("done event %s with %d traces, want %s with 2", got.ID, got.Traces, sp.ID)
	}
	cancel()
	for _, ch := range []func() bool{
		func() bool { _, ok := <-prog; return !ok },
		func() bool { _, ok := <-done; return !ok },
	} {
		natstest.WaitFor(t, 2*time.Second, "the channel to close", ch)
	}
}

func TestSpecanNoService(t *testing.T) {
	ns := natstest.Server(t)
	c, _ := client.New(natstest.Connect(t, ns))
	_, err := c.Board("sim").Specan().Single(context.Background(), api.SpecanSettings{})
	var re *rperr.Error
	if !errors.As(err, &re) || re.Code != rperr.ENotFound {
		t.Errorf("no service: %v, want not_found", err)
	}
}
