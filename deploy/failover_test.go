package deploy_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/regmap"
	"github.com/rpbus/rpbus/rperr"
	"github.com/rpbus/rpbus/wire"
)

// TestNodeLossLosesNoReply kills (kill -9) the cluster node that the
// bridge and the scope are connected to while requests they have taken
// are still running: the services reconnect to another node and answer
// them there, and every request gets exactly one reply. With
// allow_responses instead of the services' publish rights to the inbox
// prefixes, the server refuses those replies ("permissions violation":
// the response permission belongs to the dead connection) and the
// requesters wait in vain.
func TestNodeLossLosesNoReply(t *testing.T) {
	t.Parallel()
	nodes := startCluster(t)
	all := func(first int) string {
		return fmt.Sprintf("%s,%s,%s", nodes[first].url, nodes[(first+1)%3].url, nodes[(first+2)%3].url)
	}
	bridge := connectAs(t, all(0), "hwbridge", nats.DontRandomize())
	startBridge(t, bridge.Conn, "a", 1)
	services := nodeOf(t, nodes, bridge)
	inst := connectAs(t, all(services), "instruments", nats.DontRandomize())
	startScope(t, inst)
	// The requesters on another node.
	other := (services + 1) % 3
	op := connectAs(t, all(other), "operator", nats.DontRandomize())
	raw := connectAs(t, all(other), "instruments", nats.DontRandomize())
	waitFor(t, 20*time.Second, "the bridge and the scope seen from the requesters' node", func() bool {
		m, err := op.Request("rp.a.hw.info", nil, 300*time.Millisecond)
		if err != nil || wire.ErrorFromMsg(m) != nil {
			return false
		}
		_, err = op.Request("$SRV.PING.scope", nil, 300*time.Millisecond)
		return err == nil
	})

	// Requests that take a while where they run: scope traces of 134 ms
	// queued behind each other, and transactions that wait 1.5 s each for
	// a condition that never holds, on modules of their own (they answer
	// 408).
	type pending struct {
		what string
		sub  *nats.Subscription
	}
	var reqs []pending
	send := func(c *conn, what, subject string, body any) {
		data, err := wire.Msgpack.Marshal(body)
		must(t, err, "encode")
		inbox := c.NewInbox()
		sub, err := c.SubscribeSync(inbox)
		must(t, err, "subscribe %s", inbox)
		must(t, c.PublishMsg(&nats.Msg{Subject: subject, Reply: inbox, Data: data, Header: wire.Msgpack.Header()}), "publish")
		reqs = append(reqs, pending{what, sub})
	}
	for i := range 8 {
		send(op, fmt.Sprintf("scope.single %d", i), "rp.a.scope.single", api.ScopeSettings{Decimation: 1024})
	}
	for k := range 3 {
		addr := regmap.Slot(regmap.SlotPID0+k) + regmap.DSPInputSelect
		send(raw, fmt.Sprintf("hw.txn wait on pid%d", k), "rp.a.hw.txn", api.Txn{Ops: []api.Op{api.Wait(addr, 1<<31, 1<<31, 1.5)}})
	}
	// Once a later request on the same connections is answered, the
	// services hold every one before it.
	for _, c := range []*conn{op, raw} {
		_, err := c.Request("rp.a.hw.info", nil, 5*time.Second)
		must(t, err, "barrier")
	}
	nodes[services].kill()

	var wg sync.WaitGroup
	for _, r := range reqs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Generous: the services log in again (bcrypt) on a loaded
			// machine before they answer.
			m, err := r.sub.NextMsg(45 * time.Second)
			if err != nil {
				t.Errorf("%s: no reply after the node's loss: %v", r.what, err)
				return
			}
			if e := wire.ErrorFromMsg(m); e != nil {
				switch rperr.ErrorCode(e) {
				case rperr.ETimeout, rperr.EUnavailable:
				default:
					t.Errorf("%s: %v", r.what, e)
				}
			}
			if extra, err := r.sub.NextMsg(500 * time.Millisecond); err == nil {
				t.Errorf("%s: a second reply %q", r.what, extra.Data)
			}
		}()
	}
	wg.Wait()
	for _, c := range []*conn{bridge, inst} {
		for _, err := range c.errs.all() {
			t.Errorf("%s: %v", c.Opts.Name, err)
		}
	}
}

// TestInboxes shows that each user reads only its own replies: it may
// subscribe to _INBOX_<user>.> and to no other user's inbox, nor to the
// shared _INBOX.> or to everything, and it may not publish into another
// user's inbox either, except the services answering their callers.
func TestInboxes(t *testing.T) {
	t.Parallel()
	ns, _ := composeServer(t)
	users := []string{"hwbridge", "instruments", "operator", "observer"}
	conns := map[string]*conn{}
	for _, u := range users {
		conns[u] = connectAs(t, ns.url, u)
	}
	for _, u := range users {
		c := conns[u]
		for _, subject := range []string{"_INBOX.>", "_INBOX.*.*", ">", "_INBOX_*.>"} {
			expectSubscribeRefused(t, c, subject)
		}
		for _, v := range users {
			own := "_INBOX_" + v + ".>"
			if v != u || u == "observer" {
				expectSubscribeRefused(t, c, own)
				continue
			}
			sub, err := c.SubscribeSync(own)
			must(t, err, "%s: subscribe %s", u, own)
			must(t, c.Flush(), "flush")
			if _, err := sub.NextMsg(200 * time.Millisecond); err != nats.ErrTimeout {
				t.Errorf("%s: subscribe to its own inbox: %v", u, err)
			}
			_ = sub.Unsubscribe()
		}
	}
	// Who may answer whom: the services their callers, nobody else.
	expectPublishRefused(t, conns["operator"], "_INBOX_instruments.x.y")
	expectPublishRefused(t, conns["operator"], "_INBOX_hwbridge.x.y")
	expectPublishRefused(t, conns["hwbridge"], "_INBOX_observer.x.y")
	for _, allowed := range []struct{ from, to string }{
		{"hwbridge", "instruments"}, {"hwbridge", "operator"}, {"instruments", "operator"}, {"instruments", "instruments"},
	} {
		sub, err := conns[allowed.to].SubscribeSync("_INBOX_" + allowed.to + ".test")
		must(t, err, "subscribe")
		must(t, conns[allowed.to].Flush(), "flush")
		must(t, conns[allowed.from].Publish("_INBOX_"+allowed.to+".test", []byte("reply")), "publish")
		if _, err := sub.NextMsg(2 * time.Second); err != nil {
			t.Errorf("%s answering %s: %v", allowed.from, allowed.to, err)
		}
		_ = sub.Unsubscribe()
	}
}
