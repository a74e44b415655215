package chaos

import (
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

var users = []string{"hwbridge", "instruments", "operator", "observer", "curves", "admin"}

// securitySubjects are what each user tries to publish to and subscribe
// to: every rpbus request and event, the services' internal subjects,
// micro's, every user's inbox and the wildcards that would snoop on them.
var securitySubjects = []string{
	"rp.sim.hw.txn", "rp.sim.hw.cancel", "rp.sim.hw.info", "rp.sim.hw.held", "rp.sim.asg0.setup", "rp.sim.asg1.setup",
	"rp.sim.scope.single", "rp.sim.scope.continuous", "rp.sim.scope.cancel", "rp.sim.scope.stop",
	"rp.sim.na.single", "rp.sim.na.stop", "rp.sim.specan.single", "rp.sim.specan.cancel",
	"rp.sim.scope.done", "rp.sim.scope.trace", "rp.sim.na.progress", "rp.sim.specan.done",
	"_RPBUS.scope.stop.sim", "_RPBUS.scope.continuous.sim", "$SRV.PING.scope", "$SRV.INFO.hwbridge", "$SRV.STATS.na",
	"_INBOX.x.y", "_INBOX_operator.x.y", "_INBOX_instruments.x.y", "_INBOX_hwbridge.x.y", "_INBOX_observer.x.y", "_INBOX_curves.x.y",
	"rp.curves.list", "rp.curves.delete", "$KV.rpbus_curves.x", "$JS.API.STREAM.DELETE.RPBUS_CURVES",
	"rp.other.board.thing",
}

var snoopSubjects = []string{"_INBOX.>", "_INBOX_operator.>", "_INBOX_instruments.>", "_INBOX_hwbridge.>", "_INBOX_curves.>", "_INBOX_*.>", ">", "rp.>", "rp.*.hw.*", "$SRV.>"}

// security checks every user against every subject, publish and
// subscribe, against what the accounts file allows, and then watches for
// replies read by anyone but their requester while two users work.
func (s *Suite) security(d *deployment) []*Row {
	row := newRow(fmt.Sprintf("security: %d users x %d subjects, pub and sub", len(users), len(securitySubjects)+len(snoopSubjects)))
	opts, err := server.ProcessConfigFile(filepath.Join(d.dir, "n1", "accounts.conf"))
	if err != nil {
		row.problem("reading the accounts: %v", err)
		return []*Row{row}
	}
	perms := map[string]*server.Permissions{}
	for _, u := range opts.Users {
		perms[u.Username] = u.Permissions
	}
	for _, user := range users {
		s.checkUser(d, user, perms[user], row)
	}
	row.Note = fmt.Sprintf("%d checks as the accounts file says", row.Answered)
	snoop := s.snoop(d)
	s.checkCrashes(d, row)
	s.progress(row)
	s.progress(snoop)
	return []*Row{row, snoop}
}

// violations collects the permission errors the server sends a connection.
type violations struct {
	mu  sync.Mutex
	pub map[string]bool
	sub map[string]bool
}

func (v *violations) handler(_ *nats.Conn, _ *nats.Subscription, err error) {
	msg := err.Error()
	subject := msg
	if i := strings.Index(msg, `"`); i >= 0 {
		subject = msg[i+1:]
		if j := strings.Index(subject, `"`); j >= 0 {
			subject = subject[:j]
		}
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	switch {
	case strings.Contains(msg, "for Publish to"):
		v.pub[subject] = true
	case strings.Contains(msg, "for Subscription to"):
		v.sub[subject] = true
	}
}

func (s *Suite) checkUser(d *deployment, user string, p *server.Permissions, row *Row) {
	v := &violations{pub: map[string]bool{}, sub: map[string]bool{}}
	nc, err := nats.Connect(d.url(0), nats.UserInfo(user, d.passwords[user]), nats.CustomInboxPrefix("_INBOX_"+user),
		nats.ErrorHandler(v.handler), nats.Timeout(10*time.Second))
	if err != nil {
		row.problem("%s: connect: %v", user, err)
		return
	}
	defer nc.Close()
	for _, subject := range securitySubjects {
		// An empty body: a request any service refuses or ignores.
		_ = nc.Publish(subject, []byte("{}"))
	}
	var subs []*nats.Subscription
	for _, subject := range append(append([]string{}, securitySubjects...), snoopSubjects...) {
		if sub, err := nc.SubscribeSync(subject); err == nil {
			subs = append(subs, sub)
		}
	}
	_ = nc.Flush()
	time.Sleep(time.Second)
	for _, sub := range subs {
		_ = sub.Unsubscribe()
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	check := func(op, subject string, refused, allowed bool) {
		row.Tries++
		if refused == allowed {
			row.problem("%s %s %s: refused %v, the accounts file allows %v", user, op, subject, refused, allowed)
			return
		}
		row.Answered++
		if refused {
			row.Codes["refused"]++
		} else {
			row.Codes["allowed"]++
		}
	}
	for _, subject := range securitySubjects {
		check("pub", subject, v.pub[subject], allowed(p, true, subject))
	}
	for _, subject := range append(append([]string{}, securitySubjects...), snoopSubjects...) {
		check("sub", subject, v.sub[subject], allowed(p, false, subject))
	}
}

// allowed says what the permissions let a user do with subject, matched
// as the server matches it (a subscription's wildcards as literal tokens).
func allowed(p *server.Permissions, publish bool, subject string) bool {
	if p == nil {
		return true
	}
	sp := p.Subscribe
	if publish {
		sp = p.Publish
	}
	if sp == nil {
		return true
	}
	ok := len(sp.Allow) == 0
	for _, pat := range sp.Allow {
		ok = ok || matches(pat, subject)
	}
	for _, pat := range sp.Deny {
		if matches(pat, subject) {
			return false
		}
	}
	return ok
}

func matches(pattern, subject string) bool {
	pt, st := strings.Split(pattern, "."), strings.Split(subject, ".")
	for i, p := range pt {
		if p == ">" {
			return len(st) > i
		}
		if i >= len(st) || (p != "*" && p != st[i]) {
			return false
		}
	}
	return len(pt) == len(st)
}

// snoop: every user subscribes to what it may of the inboxes and to
// everything, while operator and instruments each make requests; a reply
// that reaches anyone but its requester is a leak.
func (s *Suite) snoop(d *deployment) *Row {
	row := newRow("security: inbox snooping")
	var mu sync.Mutex
	seen := map[string]int{} // reply subjects seen by a snooper
	for _, user := range users {
		nc, err := d.connect(user, 0)
		if err != nil {
			row.problem("%s: %v", user, err)
			continue
		}
		defer nc.Close()
		for _, subject := range snoopSubjects {
			_, _ = nc.Subscribe(subject, func(m *nats.Msg) {
				if strings.HasPrefix(m.Subject, "_INBOX") && !strings.HasPrefix(m.Subject, "_INBOX_"+user+".") {
					mu.Lock()
					seen[user+" read "+m.Subject]++
					mu.Unlock()
				}
			})
		}
		_ = nc.Flush()
	}
	t := &tally{row: row}
	for _, c := range []struct{ user, verb, body string }{
		{"operator", "hw.info", "{}"}, {"operator", "scope.single", `{"decimation":1}`},
		{"instruments", "hw.txn", `{"ops":[{"op":"read","addr":"0x40100000","n":1}]}`},
	} {
		nc, err := d.connect(c.user, 0)
		if err != nil {
			row.problem("%s: %v", c.user, err)
			continue
		}
		for range 10 {
			t.ask(nc, "rp."+Board+"."+c.verb, []byte(c.body), nil, 10*time.Second)
		}
		nc.Close()
	}
	t.close(500 * time.Millisecond)
	mu.Lock()
	for k, n := range seen {
		row.problem("%s (%d)", k, n)
	}
	row.Note = fmt.Sprintf("replies read by another user: %d", len(seen))
	mu.Unlock()
	return row
}
