package chaos

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
)

// Row is one line of the suite's table.
type Row struct {
	Name      string
	Tries     int
	Answered  int            // requests with exactly one reply
	Codes     map[string]int // replies by code: 200, 400, ... "nr" (no responders)
	Hung      int            // requests with no reply within their bound
	Dup       int            // requests with more than one reply
	Crashed   int            // processes that ended on their own
	Recovered float64        // s from the fault's repair to the first success; < 0: not a fault
	Note      string
	Problems  []string // goals missed, with examples
}

func newRow(name string) *Row { return &Row{Name: name, Codes: map[string]int{}, Recovered: -1} }

// problem records a missed goal (the first few of each row are kept).
func (r *Row) problem(format string, args ...any) {
	if len(r.Problems) < 8 {
		r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
	} else if len(r.Problems) == 8 {
		r.Problems = append(r.Problems, "...")
	}
}

// codes renders the reply codes, most frequent first.
func (r *Row) codes() string {
	keys := make([]string, 0, len(r.Codes))
	for k := range r.Codes {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if r.Codes[keys[i]] != r.Codes[keys[j]] {
			return r.Codes[keys[i]] > r.Codes[keys[j]]
		}
		return keys[i] < keys[j]
	})
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s:%d", k, r.Codes[k])
	}
	return b.String()
}

// tally sends requests and counts their replies into a row: each request
// has a reply subject of its own, kept open after its first reply so a
// second one is seen (close counts them).
type tally struct {
	mu   sync.Mutex
	row  *Row
	subs []*nats.Subscription
}

// reply is what came back for one request.
type reply struct {
	code string // "200", "400", ... "nr" for no responders, "" when none came
	msg  *nats.Msg
}

// ask publishes data to subject with a reply subject of its own on nc and
// waits up to bound for the first reply.
func (t *tally) ask(nc *nats.Conn, subject string, data []byte, h nats.Header, bound time.Duration) reply {
	t.mu.Lock()
	t.row.Tries++
	t.mu.Unlock()
	inbox := nc.NewInbox()
	sub, err := nc.SubscribeSync(inbox)
	if err == nil {
		err = sub.AutoUnsubscribe(2)
	}
	if err == nil {
		err = nc.PublishMsg(&nats.Msg{Subject: subject, Reply: inbox, Data: data, Header: h})
	}
	if err != nil {
		t.mu.Lock()
		t.row.Hung++
		t.row.problem("%s: could not send: %v", subject, err)
		t.mu.Unlock()
		return reply{}
	}
	m, err := sub.NextMsg(bound)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.subs = append(t.subs, sub)
	if err != nil {
		t.row.Hung++
		t.row.problem("%s: no reply in %v (%.80q)", subject, bound, data)
		return reply{}
	}
	code := codeOf(m)
	t.row.Answered++
	t.row.Codes[code]++
	return reply{code: code, msg: m}
}

// codeOf is a reply's code: its service error code, "nr" for the server's
// no-responders status, "200" for a plain reply.
func codeOf(m *nats.Msg) string {
	if c := m.Header.Get(micro.ErrorCodeHeader); c != "" {
		return c
	}
	if m.Header.Get("Status") == "503" && len(m.Data) == 0 {
		return "nr"
	}
	return "200"
}

// close waits grace for late second replies, then counts every request
// that got more than one as a duplicate (and not as answered).
func (t *tally) close(grace time.Duration) {
	time.Sleep(grace)
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, s := range t.subs {
		if n, _, _ := s.Pending(); n > 0 {
			t.row.Dup++
			t.row.Answered--
			t.row.problem("%s: %d replies more", s.Subject, n)
		}
		_ = s.Unsubscribe()
	}
	t.subs = nil
}
