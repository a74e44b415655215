package hwbridge_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/rperr"
	"github.com/rpbus/rpbus/wire"
)

// The bridge's endpoints refuse what they do not take, naming the field:
// hw.info and hw.cancel bodies, hw.txn fields that do not belong to an op,
// addresses with spaces, ids of more than 128 characters, JSON names in
// the wrong case, msgpack numbers out of range, in JSON and msgpack alike.
func TestStrictBodies(t *testing.T) {
	e := startSim(t)
	ctx := ctxT(t)
	long := strings.Repeat("x", api.MaxTxnID+1)
	for _, c := range []struct {
		subject string
		body    any    // sent in both encodings
		raw     string // sent as JSON only
		want    string
	}{
		{subject: "rp.sim.hw.info", raw: "garbage", want: "hw.info takes no body"},
		{subject: "rp.sim.hw.info", body: map[string]any{"board": "x"}, want: `unknown field "board"`},
		{subject: "rp.sim.hw.info", raw: `{"a":"` + strings.Repeat("y", 900_000) + `"}`, want: `unknown field "a"`},
		{subject: "rp.sim.hw.cancel", body: map[string]any{"id": long}, want: "id: 193 characters, at most 192"},
		{subject: "rp.sim.hw.cancel", body: map[string]any{"ID": "x"}, want: `unknown field "ID"`},
		{subject: "rp.sim.hw.txn", body: map[string]any{"id": long, "ops": []any{map[string]any{"op": "read", "addr": 0x40100000, "n": 1}}}, want: "id: 193 characters"},
		{subject: "rp.sim.hw.txn", body: map[string]any{"ops": []any{map[string]any{"op": "read", "addr": 0x40100000, "n": 1, "words": []int{1}}}}, want: "ops[0].words: a read takes no words"},
		{subject: "rp.sim.hw.txn", body: map[string]any{"ops": []any{map[string]any{"op": "write", "addr": 0x40100000, "words": []int{1}, "timeout": 1}}}, want: "ops[0].timeout: a write takes no timeout"},
		{subject: "rp.sim.hw.txn", body: map[string]any{"ops": []any{map[string]any{"op": "wait", "addr": 0x40100000, "mask": 1, "n": 2}}}, want: "ops[0].n: a wait takes no n"},
		{subject: "rp.sim.hw.txn", raw: `{"ops":[{"op":"read","addr":" 0x40100000","n":1}]}`, want: "ops[0].addr"},
		{subject: "rp.sim.hw.txn", body: map[string]any{"ops": []any{map[string]any{"op": "read", "addr": uint64(1) << 63, "n": 1}}}, want: "ops[0].addr: 9223372036854775808 is outside 0..4294967295"},
		{subject: "rp.sim.hw.txn", body: map[string]any{"ops": []any{map[string]any{"op": "read", "addr": 0x40100000, "n": 1.5}}}, want: "ops[0].n: want a whole number"},
		{subject: "rp.sim.asg0.setup", body: map[string]any{"offset": uint64(1<<64 - 1)}, want: "offset"},
		{subject: "rp.sim.asg0.setup", body: map[string]any{"Offset": 0.1}, want: `unknown field "Offset"`},
		{subject: "rp.sim.asg0.setup", body: map[string]any{"cycles_per_burst": "3"}, want: "cycles_per_burst: want an integer, got a string"},
	} {
		bodies := map[wire.Codec][]byte{}
		if c.raw != "" {
			bodies[wire.JSON] = []byte(c.raw)
		} else {
			for _, codec := range []wire.Codec{wire.JSON, wire.Msgpack} {
				b, err := codec.Marshal(c.body)
				if err != nil {
					t.Fatal(err)
				}
				bodies[codec] = b
			}
		}
		for codec, data := range bodies {
			m, err := e.nc.RequestMsgWithContext(ctx, &nats.Msg{Subject: c.subject, Data: data, Header: codec.Header()})
			if err != nil {
				t.Fatalf("%s %v: %v", c.subject, codec, err)
			}
			err = wire.ErrorFromMsg(m)
			if rperr.ErrorCode(err) != rperr.EInvalid || !strings.Contains(rperr.ErrorMessage(err), c.want) {
				t.Errorf("%s %v %.60q: %v, want a 400 saying %q", c.subject, codec, data, err, c.want)
			}
			if bytes.Contains(m.Data, []byte("yyyy")) {
				t.Errorf("%s: the reply echoes the body", c.subject)
			}
		}
	}
	// Empty bodies, {} and null are what hw.info takes.
	for _, body := range []string{"", "{}", "null"} {
		m, err := e.nc.RequestWithContext(ctx, "rp.sim.hw.info", []byte(body))
		if err != nil || wire.ErrorFromMsg(m) != nil {
			t.Errorf("hw.info %q: %v %v", body, err, wire.ErrorFromMsg(m))
		}
	}
}

// hw.info says whether the board itself answers, not only the bridge: with
// the board's monitor_server gone it answers reachable false and why,
// promptly; and it names the bridge's instance.
func TestHWInfoReportsTheBoard(t *testing.T) {
	e := startMonitor(t)
	ctx := ctxT(t)
	info, err := e.board.Info(ctx)
	if err != nil || !info.Reachable || info.BoardError != "" || info.Instance == "" {
		t.Fatalf("with the board up: %+v, %v", info.Liveness, err)
	}
	e.unplug()
	t0 := time.Now()
	info, err = e.board.Info(ctx)
	if err != nil {
		t.Fatalf("hw.info with the board gone: %v", err)
	}
	if info.Reachable || info.BoardError == "" {
		t.Errorf("with the board gone: %+v", info.Liveness)
	}
	if d := time.Since(t0); d > 2*time.Second {
		t.Errorf("hw.info took %v with the board gone", d)
	}
	r, err := e.board.HW.Txn(ctx, api.Read(0x40100000, 1))
	if rperr.ErrorCode(err) != rperr.EUnavailable {
		t.Errorf("a transaction with the board gone: %+v %v, want 503", r, err)
	}
}
