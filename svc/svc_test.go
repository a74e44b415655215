package svc_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/rpbus/rpbus/client"
	"github.com/rpbus/rpbus/internal/logtest"
	"github.com/rpbus/rpbus/internal/natstest"
	"github.com/rpbus/rpbus/rperr"
	"github.com/rpbus/rpbus/svc"
	"github.com/rpbus/rpbus/wire"
)

type echo struct {
	Text string `json:"text"`
}

func start(t *testing.T, h svc.Handler) (*svc.Service, *nats.Conn, *client.Client) {
	t.Helper()
	return startLogged(t, h, nil)
}

// startLogged is start with the service's log going to log.
func startLogged(t *testing.T, h svc.Handler, log *slog.Logger) (*svc.Service, *nats.Conn, *client.Client) {
	t.Helper()
	ns := natstest.Server(t)
	s, err := svc.New(natstest.Connect(t, ns), svc.Config{Name: "test", Version: "0.0.1", Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Add("echo", "t.echo", h, map[string]string{"request": `{"text":"hi"}`}); err != nil {
		t.Fatal(err)
	}
	nc := natstest.Connect(t, ns)
	c, _ := client.New(nc)
	return s, nc, c
}

func echoHandler(ctx context.Context, req *svc.Request) (any, error) {
	var e echo
	if err := req.Decode(&e); err != nil {
		return nil, err
	}
	switch e.Text {
	case "panic":
		panic("boom")
	case "bad":
		return nil, rperr.Invalidf("text: %q is not allowed", e.Text)
	case "slow":
		select {
		case <-time.After(300 * time.Millisecond):
		case <-ctx.Done():
			return nil, rperr.Errorf(rperr.ECancelled, "stopping")
		}
	}
	return e, nil
}

func TestCodecsAndErrors(t *testing.T) {
	s, nc, c := start(t, echoHandler)
	defer s.Stop(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	var out echo
	if err := c.Request(ctx, "t.echo", echo{"hi"}, &out); err != nil || out.Text != "hi" {
		t.Fatalf("msgpack: %+v %v", out, err)
	}
	m, err := nc.RequestWithContext(ctx, "t.echo", []byte(`{"text":"json"}`))
	if err != nil || wire.CodecOf(m.Header) != wire.JSON || string(m.Data) != `{"text":"json"}` {
		t.Fatalf("json: %q %v %v", m.Data, m.Header, err)
	}
	if err := c.Request(ctx, "t.echo", echo{"bad"}, nil); rperr.ErrorCode(err) != rperr.EInvalid {
		t.Fatalf("bad: %v", err)
	}
}

// A panicking handler answers 500 naming the subject, without the stack,
// which goes to the service's log; the service keeps serving.
func TestPanic(t *testing.T) {
	logger, log := logtest.Logger()
	s, _, c := startLogged(t, echoHandler, logger)
	defer s.Stop(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := c.Request(ctx, "t.echo", echo{"panic"}, nil)
	if rperr.ErrorCode(err) != rperr.EInternal || !strings.Contains(err.Error(), "t.echo") ||
		strings.Contains(err.Error(), "goroutine") || strings.Contains(err.Error(), ".go:") {
		t.Fatalf("panic answered %v; want an internal error naming t.echo without a stack", err)
	}
	if l := log.String(); !strings.Contains(l, "boom") || !strings.Contains(l, "svc_test.go") {
		t.Fatalf("the log lacks the panic and its stack:\n%s", l)
	}
	var out echo
	if err := c.Request(ctx, "t.echo", echo{"after"}, &out); err != nil || out.Text != "after" {
		t.Fatalf("after panic: %v", err)
	}
}

// TestHandlersRunConcurrently: micro alone would run these one at a time.
func TestHandlersRunConcurrently(t *testing.T) {
	release := make(chan struct{})
	var mu sync.Mutex
	running := 0
	s, _, c := start(t, func(ctx context.Context, req *svc.Request) (any, error) {
		mu.Lock()
		running++
		if running == 4 {
			close(release)
		}
		mu.Unlock()
		select {
		case <-release:
			return echo{"ok"}, nil
		case <-time.After(5 * time.Second):
			return nil, rperr.Errorf(rperr.ETimeout, "the others never came")
		}
	})
	defer s.Stop(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if err := c.Request(ctx, "t.echo", echo{}, nil); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
}

// TestStopAnswersRequestsInFlight: a graceful stop lets a running handler
// finish; a stop whose context ends cancels it, and it still answers.
func TestStopAnswersRequestsInFlight(t *testing.T) {
	for _, hard := range []bool{false, true} {
		s, _, c := start(t, echoHandler)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		errc := make(chan error, 1)
		go func() { errc <- c.Request(ctx, "t.echo", echo{"slow"}, nil) }()
		natstest.WaitFor(t, 5*time.Second, "the request to be in flight", func() bool {
			st := s.Stats()
			var d struct {
				InFlight int `json:"in_flight"`
			}
			return len(st.Endpoints) > 0 && json.Unmarshal(st.Endpoints[0].Data, &d) == nil && d.InFlight > 0
		})
		stopCtx, stopCancel := context.WithTimeout(context.Background(), 5*time.Second)
		if hard {
			stopCancel()
		}
		if err := s.Stop(stopCtx); err != nil {
			t.Fatal(err)
		}
		stopCancel()
		err := <-errc
		if hard && rperr.ErrorCode(err) != rperr.ECancelled {
			t.Errorf("hard stop: %v, want cancelled", err)
		}
		if !hard && err != nil {
			t.Errorf("graceful stop: %v", err)
		}
		cancel()
	}
}

// goroutineID is the number runtime.Stack prints for the calling goroutine.
func goroutineID() string {
	buf := make([]byte, 64)
	buf = buf[:runtime.Stack(buf, false)]
	id, _, _ := strings.Cut(strings.TrimPrefix(string(buf), "goroutine "), " ")
	return id
}

// TestWorkersAreReusedAndExit: requests one after another are handled on
// the same few goroutines (a new one per request grows its stack anew), and
// none is left once the service has stopped.
func TestWorkersAreReusedAndExit(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]bool{}
	s, _, c := start(t, func(ctx context.Context, req *svc.Request) (any, error) {
		mu.Lock()
		seen[goroutineID()] = true
		mu.Unlock()
		return echo{Text: "ok"}, nil
	})
	const n = 50
	for range n {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := c.Request(ctx, "t.echo", echo{Text: "hi"}, nil)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	workers := len(seen)
	mu.Unlock()
	if workers > n/10 {
		t.Errorf("%d sequential requests ran on %d goroutines, want a few", n, workers)
	}
	if err := s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	natstest.WaitFor(t, 5*time.Second, "the workers to exit", func() bool {
		buf := make([]byte, 1<<20)
		return !strings.Contains(string(buf[:runtime.Stack(buf, true)]), "svc.(*Service).worker")
	})
}

// TestStatsThroughSRV reads $SRV.STATS as `nats micro stats` does: the
// standard fields count every request, every error reply and the time
// from taking a request to its reply, though handlers answer outside the
// subscription callback.
func TestStatsThroughSRV(t *testing.T) {
	s, nc, c := start(t, echoHandler)
	defer s.Stop(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, text := range []string{"hi", "bad", "slow", "bad", "panic"} {
		_ = c.Request(ctx, "t.echo", echo{text}, nil)
	}
	m, err := nc.RequestWithContext(ctx, "$SRV.STATS.test", nil)
	if err != nil {
		t.Fatal(err)
	}
	var st micro.Stats
	if err := json.Unmarshal(m.Data, &st); err != nil {
		t.Fatalf("%v: %s", err, m.Data)
	}
	if st.Type != micro.StatsResponseType || st.Name != "test" || len(st.Endpoints) != 1 {
		t.Fatalf("stats: %s", m.Data)
	}
	e := st.Endpoints[0]
	if e.NumRequests != 5 || e.NumErrors != 3 || e.Subject != "t.echo" || e.QueueGroup != svc.DefaultQueueGroup {
		t.Errorf("requests %d errors %d subject %q queue %q; want 5, 3, t.echo, q", e.NumRequests, e.NumErrors, e.Subject, e.QueueGroup)
	}
	// The slow request alone took 300 ms between its arrival and its reply.
	if e.ProcessingTime < 300*time.Millisecond || e.AverageProcessingTime != e.ProcessingTime/5 {
		t.Errorf("processing %v, average %v: want at least 300 ms, a fifth of it on average", e.ProcessingTime, e.AverageProcessingTime)
	}
	if !strings.Contains(e.LastError, "t.echo") {
		t.Errorf("last error %q: want the panic's 500 naming t.echo", e.LastError)
	}
	var data struct {
		InFlight int            `json:"in_flight"`
		Errors   map[string]int `json:"errors"`
	}
	if err := json.Unmarshal(e.Data, &data); err != nil || data.InFlight != 0 || data.Errors["400"] != 2 || data.Errors["500"] != 1 {
		t.Errorf("data %s: want 0 in flight, 2 x 400 and 1 x 500", e.Data)
	}

	// PING and INFO answer for all services, by name and by id.
	for _, subject := range []string{"$SRV.PING", "$SRV.INFO.test", "$SRV.INFO.test." + st.ID} {
		m, err := nc.RequestWithContext(ctx, subject, nil)
		if err != nil {
			t.Fatalf("%s: %v", subject, err)
		}
		var id micro.ServiceIdentity
		if err := json.Unmarshal(m.Data, &id); err != nil || id.ID != st.ID || id.Version != "0.0.1" {
			t.Errorf("%s: %s", subject, m.Data)
		}
	}
	var info micro.Info
	m, _ = nc.RequestWithContext(ctx, "$SRV.INFO.test", nil)
	if err := json.Unmarshal(m.Data, &info); err != nil || info.Type != micro.InfoResponseType || len(info.Endpoints) != 1 || info.Endpoints[0].Metadata["request"] == "" {
		t.Errorf("info: %s", m.Data)
	}

	// A stopped service leaves discovery.
	if err := s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := nc.Request("$SRV.PING.test", nil, 200*time.Millisecond); err == nil {
		t.Error("a stopped service still answers PING")
	}
}

// A ReplyFirst's Then runs after its reply went out: an event it
// publishes on the service's connection reaches a client that hears both
// behind the reply.
func TestReplyFirstSendsTheReplyFirst(t *testing.T) {
	ns := natstest.Server(t)
	snc := natstest.Connect(t, ns)
	s, err := svc.New(snc, svc.Config{Name: "test", Version: "0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop(context.Background())
	err = s.Add("echo", "t.echo", func(ctx context.Context, req *svc.Request) (any, error) {
		var e echo
		if err := req.Decode(&e); err != nil {
			return nil, err
		}
		return svc.ReplyFirst{Reply: e, Then: func() { _ = snc.Publish("t.event", []byte("after")) }}, nil
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	nc := natstest.Connect(t, ns)
	ch := make(chan *nats.Msg, 4)
	for _, subj := range []string{"t.inbox", "t.event"} {
		if _, err := nc.ChanSubscribe(subj, ch); err != nil {
			t.Fatal(err)
		}
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if err := nc.PublishMsg(&nats.Msg{Subject: "t.echo", Reply: "t.inbox", Data: []byte(`{"text":"hi"}`)}); err != nil {
			t.Fatal(err)
		}
		var got []string
		for len(got) < 2 {
			select {
			case m := <-ch:
				got = append(got, m.Subject+" "+string(m.Data))
			case <-time.After(10 * time.Second):
				t.Fatalf("request %d: only %q arrived", i, got)
			}
		}
		if got[0] != `t.inbox {"text":"hi"}` || got[1] != "t.event after" {
			t.Fatalf("request %d: arrived in this order: %q; want the reply, then the event", i, got)
		}
	}
}
