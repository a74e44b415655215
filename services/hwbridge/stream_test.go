package hwbridge_test

import (
	"encoding/binary"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/board/sim"
	"github.com/rpbus/rpbus/client"
	"github.com/rpbus/rpbus/regmap"
	"github.com/rpbus/rpbus/wire"
)

// traceRead is a scope trace's readout: both buffers, 2 x 16384 halves.
func traceRead() api.Op { return api.Read16(regmap.ScopeBase+regmap.ScopeCh1Data, 2*16384) }

// armAndWait takes a trace, so the buffers hold signal (not zeros).
func armAndWait() []api.Op {
	scope := func(off uint32) uint32 { return regmap.ScopeBase + off }
	return []api.Op{
		api.Write(scope(regmap.ScopeControl), regmap.ScopeReset),
		api.Write(scope(regmap.ScopeDecimation), 1),
		api.Write(scope(regmap.ScopeDelay), regmap.ScopeBufferLen),
		api.Write(scope(regmap.ScopeControl), regmap.ScopeArm),
		api.Write(scope(regmap.ScopeTriggerSource), regmap.TrigImmediately),
		api.Wait(scope(regmap.ScopeControl), regmap.ScopeArm|regmap.ScopeDelayRunning, 0, 1),
	}
}

// TestStreamedReadSendsPartsWhileReading reads a trace with stream set
// over a plain NATS subscription, as any client would see it: four parts
// in order (8192, 8192, 8192 and 7168 halves), each sent while the board
// was still read, then the reply with the last 1024 and parts 4. Put
// together they are the words an unstreamed read gets.
func TestStreamedReadSendsPartsWhileReading(t *testing.T) {
	// A slow bus (1 us a word: 33 ms for the trace) spreads the parts far
	// wider than a busy machine's scheduling can bunch them.
	cfg := sim.DefaultConfig()
	cfg.Seed, cfg.BusRead = 1, 1e-6
	b, err := sim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	e := start(t, b, "sim")
	ctx := ctxT(t)
	if _, err := e.board.HW.Txn(ctx, armAndWait()...); err != nil {
		t.Fatal(err)
	}
	plain, err := e.board.HW.Txn(ctx, traceRead())
	if err != nil {
		t.Fatal(err)
	}
	want := plain.Results[0].Halves
	if len(want) != 2*16384 || plain.Results[0].Parts != 0 {
		t.Fatalf("unstreamed read: %d halves, parts %d", len(want), plain.Results[0].Parts)
	}

	inbox := nats.NewInbox()
	sub, err := e.nc.SubscribeSync(inbox)
	if err != nil {
		t.Fatal(err)
	}
	body, err := wire.Msgpack.Marshal(api.Txn{Ops: []api.Op{api.Read(regmap.ScopeBase+regmap.ScopeControl, 1), traceRead()}})
	if err != nil {
		t.Fatal(err)
	}
	hdr := wire.Msgpack.Header()
	hdr.Set(api.StreamHeader, "1")
	if err := e.nc.PublishMsg(&nats.Msg{Subject: "rp.sim.hw.txn", Reply: inbox, Data: body, Header: hdr}); err != nil {
		t.Fatal(err)
	}
	var got []uint16
	var arrived []time.Time
	for {
		m, err := sub.NextMsg(5 * time.Second)
		if err != nil {
			t.Fatalf("after %d parts: %v", len(arrived), err)
		}
		v := m.Header.Get(api.PartHeader)
		if v == "" {
			var r api.TxnReply
			if err := wire.Msgpack.Unmarshal(m.Data, &r); err != nil {
				t.Fatal(err)
			}
			if r.Results[0].Parts != 0 || len(r.Results[0].Words) != 1 {
				t.Fatalf("the 1-word read: %+v", r.Results[0])
			}
			res := r.Results[1]
			if res.Parts != len(arrived) || res.Parts != 4 || len(res.Halves) != api.StreamTail {
				t.Fatalf("reply: parts %d with %d halves, after %d part messages; want 4 parts and %d halves", res.Parts, len(res.Halves), len(arrived), api.StreamTail)
			}
			got = append(got, res.Halves...)
			arrived = append(arrived, time.Now())
			break
		}
		op, first, err := api.ParsePart(v)
		cuts := []int{8192, 16384, 24576, 31744}
		if err != nil || op != 1 || first != len(got) || len(arrived) >= len(cuts) || first+len(m.Data)/2 != cuts[len(arrived)] {
			t.Fatalf("part %d: %s %q with %d bytes (%v), want op 1 from word %d", len(arrived), api.PartHeader, v, len(m.Data), err, len(got))
		}
		for b := 0; b < len(m.Data); b += 2 {
			got = append(got, binary.LittleEndian.Uint16(m.Data[b:]))
		}
		arrived = append(arrived, time.Now())
	}
	if !slices.Equal(got, want) {
		t.Fatal("the parts and the reply differ from the unstreamed read")
	}
	// Sent as read: the reply comes about 25 ms after the first part, not
	// together with it.
	if spread := arrived[len(arrived)-1].Sub(arrived[0]); spread < 10*time.Millisecond {
		t.Fatalf("the parts and the reply arrived within %v: not sent while the board was read", spread)
	}
}

// TestStreamedReadThroughTheClient: client.HW.Do puts the parts back in
// front of the reply's words, for halves and for 32-bit words (the sim
// reads those a part at a time through the bridge), and a read no longer
// than a part is not split.
func TestStreamedReadThroughTheClient(t *testing.T) {
	e := startSim(t)
	ctx := ctxT(t)
	if _, err := e.board.HW.Txn(ctx, armAndWait()...); err != nil {
		t.Fatal(err)
	}
	words := api.Read(regmap.ScopeBase+regmap.ScopeCh2Data, 10000)
	short := api.Read16(regmap.ScopeBase+regmap.ScopeCh1Data, api.StreamPart) // one part: not cut
	ops := []api.Op{traceRead(), words, short}
	plain, err := e.board.HW.Txn(ctx, ops...)
	if err != nil {
		t.Fatal(err)
	}
	streamed, err := e.board.HW.Do(ctx, api.Txn{Ops: ops, Stream: true})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []int{4, 2, 0} {
		if got := streamed.Results[i].Parts; got != want {
			t.Errorf("ops[%d]: %d parts, want %d", i, got, want)
		}
	}
	if !slices.Equal(streamed.Results[0].Halves, plain.Results[0].Halves) ||
		!slices.Equal(streamed.Results[1].Words, plain.Results[1].Words) ||
		!slices.Equal(streamed.Results[2].Halves, plain.Results[2].Halves) {
		t.Fatal("a streamed read differs from the same read unstreamed")
	}
}

// TestStreamOnTheMonitorBackendAnswersWhole: a bridge that reads a remote
// board over the monitor protocol reads a run in one round trip, so it
// sends no parts; the client takes the whole reply as it is.
func TestStreamOnTheMonitorBackendAnswersWhole(t *testing.T) {
	e := startMonitor(t)
	ctx := ctxT(t)
	r, err := e.board.HW.Do(ctx, api.Txn{Ops: []api.Op{traceRead()}, Stream: true})
	if err != nil {
		t.Fatal(err)
	}
	if res := r.Results[0]; res.Parts != 0 || len(res.Halves) != 2*16384 {
		t.Fatalf("parts %d, %d halves; want the whole read in the reply", res.Parts, len(res.Halves))
	}
}

// TestLostPartIsAnError: a part that never reaches the client (a slow
// consumer's dropped message) fails the transaction with a 503 that says
// so, instead of handing on a trace with a hole. The bridge here is a
// plain responder on a real server that leaves the second part out.
func TestLostPartIsAnError(t *testing.T) {
	e := startSim(t)
	ctx := ctxT(t)
	fake := "lossy"
	const n = 3*api.StreamPart + 100
	cuts := api.StreamCuts(n) // 8192, 16384, 23652
	sub, err := e.nc.Subscribe("rp."+fake+".hw.txn", func(m *nats.Msg) {
		first := 0
		for k, cut := range cuts {
			if k != 1 { // part 1 is lost
				part := make([]byte, 2*(cut-first))
				_ = e.nc.PublishMsg(&nats.Msg{Subject: m.Reply, Data: part, Header: nats.Header{api.PartHeader: []string{api.PartValue(0, first)}}})
			}
			first = cut
		}
		body, _ := wire.Msgpack.Marshal(api.TxnReply{Results: []api.OpResult{{Halves: make([]uint16, n-first), Parts: len(cuts)}}})
		_ = e.nc.PublishMsg(&nats.Msg{Subject: m.Reply, Data: body, Header: wire.Msgpack.Header()})
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	c, err := client.New(e.nc)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Board(fake).HW.Do(ctx, api.Txn{Ops: []api.Op{api.Read16(regmap.ScopeBase+regmap.ScopeCh1Data, n)}, Stream: true})
	if err == nil || !strings.Contains(err.Error(), "part 1 of 3") {
		t.Fatalf("got %v, want an error naming the lost part", err)
	}
}

// TestStreamWithoutAReplySubject: a streamed transaction published with no
// reply subject (nobody to send parts to) still runs every op, as an
// unstreamed one does.
func TestStreamWithoutAReplySubject(t *testing.T) {
	e := startSim(t)
	ctx := ctxT(t)
	body, err := wire.Msgpack.Marshal(api.Txn{Ops: []api.Op{traceRead(), api.Write(regmap.ScopeBase+regmap.ScopeThreshold, 1234)}})
	if err != nil {
		t.Fatal(err)
	}
	hdr := wire.Msgpack.Header()
	hdr.Set(api.StreamHeader, "1")
	if err := e.nc.PublishMsg(&nats.Msg{Subject: "rp.sim.hw.txn", Data: body, Header: hdr}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		w, err := e.board.HW.Read(ctx, regmap.ScopeBase+regmap.ScopeThreshold, 1)
		if err != nil {
			t.Fatal(err)
		}
		if w[0] == 1234 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the write after the streamed read never ran")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestStreamIsOnlyAHeader: stream travels as a header, so the body is what
// every bridge has always taken, and a bridge from before it answers the
// whole read instead of refusing the field (the client then finds no
// parts and keeps the reply's words as they are).
func TestStreamIsOnlyAHeader(t *testing.T) {
	if _, err := wire.Msgpack.Marshal(api.Txn{Stream: true}); err != nil {
		t.Fatal(err)
	}
	b, _ := wire.Msgpack.Marshal(api.Txn{Ops: []api.Op{traceRead()}, Stream: true})
	var back map[string]any
	if err := wire.Msgpack.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if _, ok := back["stream"]; ok {
		t.Fatalf("the body carries stream: %v", back)
	}
	var txn api.Txn
	if err := wire.JSON.Unmarshal([]byte(`{"ops":[],"stream":true}`), &txn); err == nil || !strings.Contains(err.Error(), "stream") {
		t.Fatalf("a body with stream: %v, want it refused by name (it is a header)", err)
	}
}
