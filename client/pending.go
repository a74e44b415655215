package client

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nuid"

	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/rperr"
	"github.com/rpbus/rpbus/wire"
)

// replyMux routes replies addressed to <prefix>.<n> to the request that
// waits for them. nats.go's own request mux cannot be used here: Start
// must publish in the caller's goroutine and wait in another.
type replyMux struct {
	once   sync.Once
	err    error
	prefix string
	sub    *nats.Subscription
	seq    atomic.Uint64

	mu      sync.Mutex
	waiting map[string]*Pending
}

func (c *Client) replies() (*replyMux, error) {
	m := &c.mux
	m.once.Do(func() {
		m.prefix = c.nc.NewInbox()
		m.waiting = map[string]*Pending{}
		m.sub, m.err = c.nc.Subscribe(m.prefix+".*", func(msg *nats.Msg) {
			part := msg.Header.Get(api.PartHeader) != ""
			m.mu.Lock()
			p := m.waiting[msg.Subject]
			if !part {
				delete(m.waiting, msg.Subject)
			}
			m.mu.Unlock()
			switch {
			case p == nil:
			case part:
				// Kept until the reply: decode puts them in place. Only
				// this goroutine appends, and only before the reply.
				p.parts = append(p.parts, msg)
			default:
				p.msg = msg
				p.stopWatch()
				close(p.arrived)
			}
		})
		if m.err == nil {
			_ = m.sub.SetPendingLimits(1<<16, 512<<20)
			m.err = c.nc.Flush()
		}
	})
	return m, m.err
}

// Pending is a transaction sent to the bridge and not yet answered.
type Pending struct {
	h        *HW
	ctx      context.Context
	id       string
	inbox    string
	arrived  chan struct{} // closed once msg, the answer, is set
	msg      *nats.Msg
	deadline time.Time
	mux      *replyMux
	ops      []api.Op    // a streamed transaction's, to check its parts
	parts    []*nats.Msg // the parts of its streamed reads, in arrival order

	// While it waits, the bridge is checked (see watch): gone is closed,
	// goneErr set, when it is found gone.
	gone      chan struct{}
	goneErr   error
	stopWatch func()
}

// Start sends t at once, from the caller's goroutine, and returns without
// waiting: transactions started one after another reach the bridge in
// that order, and the bridge runs a module's transactions in the order
// they arrive, so a caller can keep the next one queued at the bridge
// while the current one runs. Wait collects the answer; ending ctx
// cancels the transaction on the bridge. t.ID is filled in when empty.
// With t.Stream the parts of its long reads are kept as they arrive and
// put in front of the reply's words by Wait, which fails with a 503 when
// one is missing.
func (h *HW) Start(ctx context.Context, t api.Txn) (*Pending, error) {
	m, err := h.b.c.replies()
	if err != nil {
		return nil, rperr.Errorf(rperr.EUnavailable, "hw.txn: %v", err)
	}
	if t.ID == "" {
		t.ID = nuid.Next()
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(TxnWait(t.Ops))
	}
	data, err := h.b.c.codec.Marshal(t)
	if err != nil {
		return nil, rperr.Invalidf("encoding transaction: %v", err)
	}
	p := &Pending{h: h, ctx: ctx, id: t.ID, arrived: make(chan struct{}), deadline: deadline, mux: m}
	if t.Stream {
		p.ops = t.Ops
	}
	p.inbox = m.prefix + "." + strconv.FormatUint(m.seq.Add(1), 10)
	p.gone = make(chan struct{})
	p.stopWatch = watch(h.b.heldProbe(t.ID), func(err error) { p.goneErr = err; close(p.gone) })
	m.mu.Lock()
	m.waiting[p.inbox] = p
	m.mu.Unlock()
	subject := h.b.subject("hw", "txn")
	hdr := h.b.c.codec.Header() // a map of its own
	if t.Stream {
		hdr.Set(api.StreamHeader, "1")
	}
	if err := h.b.c.nc.PublishMsg(&nats.Msg{Subject: subject, Reply: p.inbox, Data: data, Header: hdr}); err != nil {
		p.forget()
		return nil, requestError(subject, err)
	}
	return p, nil
}

// Arrived is closed once the bridge's answer is here: Wait then returns
// without waiting. A caller with other work selects on it.
func (p *Pending) Arrived() <-chan struct{} { return p.arrived }

// Gone is closed when the bridge was found gone while the transaction
// was out: Wait then returns a 503 that says so without waiting.
func (p *Pending) Gone() <-chan struct{} { return p.gone }

func (p *Pending) forget() {
	p.stopWatch()
	p.mux.mu.Lock()
	delete(p.mux.waiting, p.inbox)
	p.mux.mu.Unlock()
}

// Wait returns the transaction's answer. When the context given to Start
// ends first, it sends hw.cancel and waits for the bridge's own answer, so
// the modules are free again when Wait returns.
func (p *Pending) Wait() (api.TxnReply, error) {
	var r api.TxnReply
	err := p.WaitInto(&r)
	return r, err
}

// WaitInto is Wait decoding the answer into *r, whose read buffers are
// reused when they are large enough: a caller that recycles its replies
// allocates no buffer memory per transaction. While it waits it checks
// that the bridge is still there (see watch): a bridge killed or
// restarted meanwhile (it no longer holds the transaction) ends the wait
// with a 503 within about 1.5 s.
func (p *Pending) WaitInto(r *api.TxnReply) error {
	subject := p.h.b.subject("hw", "txn")
	timer := time.NewTimer(time.Until(p.deadline) + cancelGrace)
	defer timer.Stop()
	defer p.stopWatch()
	select {
	case <-p.arrived:
		return p.decode(subject, r)
	case <-timer.C:
		p.forget()
		return rperr.Errorf(rperr.ETimeout, "%s: no reply in time", subject)
	case <-p.gone:
		p.forget()
		return goneError(subject, p.goneErr)
	case <-p.ctx.Done():
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(p.ctx), cancelGrace)
	defer cancel()
	_ = p.h.b.c.Request(cctx, p.h.b.subject("hw", "cancel"), api.TxnCancel{ID: p.id}, nil)
	select {
	case <-p.arrived:
		if err := p.decode(subject, r); err == nil {
			return nil // it finished before the cancel reached it
		}
	case <-cctx.Done():
		p.forget()
	}
	if errors.Is(p.ctx.Err(), context.DeadlineExceeded) {
		return rperr.Errorf(rperr.ETimeout, "transaction %s: no reply in time", p.id)
	}
	return rperr.Errorf(rperr.ECancelled, "transaction %s cancelled", p.id)
}

// decode reads the answer into r, with the parts of its streamed reads
// put in front of the words the reply holds.
func (p *Pending) decode(subject string, r *api.TxnReply) error {
	if err := decodeTxnReply(subject, p.msg, r); err != nil {
		return err
	}
	if err := assemble(p.ops, p.parts, r); err != nil {
		return rperr.Errorf(rperr.EUnavailable, "%s: %v", subject, err)
	}
	return nil
}

// assemble puts the parts of r's streamed reads (api.Txn.Stream) in front
// of the words r holds for them. Parts come in order (NATS keeps one
// publisher's order), so each must start where the one before ended; one
// missing (a slow consumer's dropped message) is an error.
func assemble(ops []api.Op, parts []*nats.Msg, r *api.TxnReply) error {
	next := 0 // the next part
	for i := range r.Results {
		res := &r.Results[i]
		if res.Parts == 0 {
			continue
		}
		if res.Parts < 0 {
			return fmt.Errorf("results[%d].parts: %d, want 0 or more", i, res.Parts)
		}
		if i >= len(ops) || ops[i].Op != api.OpRead {
			return fmt.Errorf("results[%d] has parts, but ops[%d] is not a read of this streamed transaction", i, i)
		}
		size := 4
		if ops[i].Width == 16 {
			size = 2
		}
		streamed := 0
		for k := 0; k < res.Parts; k, next = k+1, next+1 {
			if next >= len(parts) {
				return fmt.Errorf("ops[%d]: %d of its %d parts arrived (a slow consumer drops messages)", i, k, res.Parts)
			}
			op, first, err := api.ParsePart(parts[next].Header.Get(api.PartHeader))
			if err != nil {
				return fmt.Errorf("ops[%d]: part %d of %d: %v", i, k, res.Parts, err)
			}
			if op != i || first != streamed || len(parts[next].Data)%size != 0 {
				return fmt.Errorf("ops[%d]: part %d of %d is %q with %d bytes, want words %d.. of ops[%d] (a part was lost)", i, k, res.Parts, api.PartValue(op, first), len(parts[next].Data), streamed, i)
			}
			streamed += len(parts[next].Data) / size
		}
		n := streamed + len(res.Words) + len(res.Halves)
		if n != ops[i].N {
			return fmt.Errorf("ops[%d]: %d words in its parts and reply, want %d", i, n, ops[i].N)
		}
		data := parts[next-res.Parts : next]
		if size == 2 {
			res.Halves = prepend(res.Halves, streamed, data)
		} else {
			res.Words = prepend(res.Words, streamed, data)
		}
	}
	if next != len(parts) {
		return fmt.Errorf("%d parts arrived, the reply names %d", len(parts), next)
	}
	return nil
}

// prepend returns tail with the words of parts (streamed in all) in
// front, in tail's memory when it is large enough.
func prepend[S ~[]W, W uint16 | uint32](tail S, streamed int, parts []*nats.Msg) S {
	n := streamed + len(tail)
	var out S
	if cap(tail) >= n {
		out = tail[:n]
	} else {
		out = make(S, n)
	}
	copy(out[streamed:], tail) // overlapping: copy moves
	dst := out[:streamed]
	for _, m := range parts {
		dst = dst[api.PartWords(dst, m.Data):]
	}
	return out
}

func decodeTxnReply(subject string, m *nats.Msg, r *api.TxnReply) error {
	reset(r)
	if m.Header.Get("Status") == "503" && len(m.Data) == 0 {
		return requestError(subject, nats.ErrNoResponders)
	}
	if err := wire.ErrorFromMsg(m); err != nil {
		return err
	}
	if err := wire.CodecOf(m.Header).Unmarshal(m.Data, r); err != nil {
		return rperr.Errorf(rperr.EInternal, "decoding reply from %s: %s", subject, rperr.ErrorMessage(err))
	}
	return nil
}

// reset empties r for decoding into it, keeping its results' buffers:
// a field the next reply leaves out must not keep an old value.
func reset(r *api.TxnReply) {
	res := r.Results[:cap(r.Results)]
	for i := range res {
		res[i] = api.OpResult{Words: res[i].Words[:0], Halves: res[i].Halves[:0]}
	}
	*r = api.TxnReply{Results: res[:0]}
}
